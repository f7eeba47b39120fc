"""What every health check probe returns, and the probe protocol the scheduler drives.

A *probe* is one attempt (connect, GET, run a script ...). It never raises for network
trouble: every outcome is a `CheckResult` with a short machine-readable ``reason`` (named like
keepalived's log messages: ``connect_timeout``, ``connect_refused``, ``status_code``,
``digest_mismatch`` ...) and a human ``detail``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Reason(enum.StrEnum):
    """Why a probe succeeded or failed."""

    OK = "ok"
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECT_REFUSED = "connect_refused"
    CONNECT_ERROR = "connect_error"
    NETWORK_UNREACHABLE = "network_unreachable"
    TIMEOUT = "timeout"
    READ_ERROR = "read_error"
    WRITE_ERROR = "write_error"
    NO_DATA = "no_data"
    TLS_ERROR = "tls_error"
    STATUS_CODE = "status_code"
    DIGEST_MISMATCH = "digest_mismatch"
    REGEX = "regex"
    BAD_BANNER = "bad_banner"
    BAD_HELO_REPLY = "bad_helo_reply"
    DNS_ID_MISMATCH = "dns_id_mismatch"
    DNS_NOT_RESPONSE = "dns_not_response"
    DNS_RCODE = "dns_rcode"
    BAD_REPLY = "bad_reply"
    ICMP_UNREACHABLE = "icmp_unreachable"
    SCRIPT_EXIT = "script_exit"
    SCRIPT_TIMEOUT = "script_timeout"
    SCRIPT_SIGNAL = "script_signal"
    SCRIPT_ERROR = "script_error"
    SOCKET_ERROR = "socket_error"


@dataclass(frozen=True)
class CheckResult:
    """One probe's outcome.

    - ``success``: whether this attempt counts as a success for the checker.
    - ``reason`` / ``detail``: why (``detail`` is free text for logs).
    - ``weight``: a new real-server weight (MISC_CHECK ``misc_dynamic`` exit codes 2..255).
    - ``url_index``: for HTTP/SSL checks, the URL this result is about.
    """

    success: bool
    reason: Reason
    detail: str = ""
    weight: int | None = None
    url_index: int = 0

    @classmethod
    def ok(cls, detail: str = "", *, weight: int | None = None, url_index: int = 0) -> CheckResult:
        return cls(True, Reason.OK, detail, weight, url_index)

    @classmethod
    def fail(cls, reason: Reason, detail: str = "", *, url_index: int = 0) -> CheckResult:
        return cls(False, reason, detail, None, url_index)


ProbeDone = Callable[[CheckResult], None]
"""Called exactly once with the outcome of an attempt started by ``begin``."""

Cancel = Callable[[], None]
"""Abandons an attempt in flight: its socket is closed and ``done`` is never called."""


def no_op() -> None:
    """The `Cancel` of an attempt that already finished."""


class Probe(Protocol):
    """One kind of health check attempt, bound to its target.

    ``key`` identifies identical probes (same type, target and options): the scheduler runs
    one attempt for all checkers sharing a key when they are due together.
    """

    @property
    def key(self) -> Hashable: ...

    async def run(self, url_index: int = 0) -> CheckResult:
        """Make one attempt; ``url_index`` selects the URL for HTTP/SSL checks."""
        ...


class CallbackProbe(Probe, Protocol):
    """A probe that can also run without a task: ``begin`` starts the attempt with loop
    callbacks and calls ``done`` (possibly before returning) instead of being awaited.

    This is the fast path the scheduler uses at 10,000 real servers: no task, future,
    ``asyncio.timeout`` or semaphore per attempt.
    """

    def begin(self, url_index: int, done: ProbeDone) -> Cancel: ...


def begin_via_task(
    run: Callable[[int], Coroutine[Any, Any, CheckResult]],
    url_index: int,
    done: ProbeDone,
    tasks: set[asyncio.Task[CheckResult]] | None = None,
) -> Cancel:
    """Start ``run(url_index)`` as a task and report its result through ``done``.

    A probe that raises (a bug: probes report network trouble as results) is reported as a
    ``socket_error`` failure so its checker keeps running. The task is kept in ``tasks``
    while it runs, so that a cancelled one (a script being killed) can be awaited.
    """
    task = asyncio.get_running_loop().create_task(run(url_index))
    if tasks is not None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def finished(t: asyncio.Task[CheckResult]) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is None:
            done(t.result())
            return
        log.error("probe failed: %r", exc, exc_info=exc)
        done(internal_error(exc, url_index))

    task.add_done_callback(finished)

    def cancel() -> None:
        task.cancel()

    return cancel


def internal_error(exc: BaseException, url_index: int = 0) -> CheckResult:
    """The result reported when a probe itself raised."""
    return CheckResult.fail(Reason.SOCKET_ERROR, f"internal error: {exc!r}", url_index=url_index)
