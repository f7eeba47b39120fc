"""keepalived's per-checker up/down logic, as pure functions over a small state.

There is no "rise" count in keepalived: **one** success brings a checker up. ``retry`` is the
number of *extra* attempts, spaced by ``delay_before_retry``, made after a failure while the
checker is up, before it is declared down. At start every checker has ``retry_it = retry`` so
the very first failure is decisive; with ``alpha`` a checker starts down.

Three flavours exist in keepalived and are reproduced here:

- `tcp_epilog` (``tcp_epilog()`` in check_tcp.c; the same pattern in UDP, DNS, PING and SMTP),
- `misc_epilog` (check_misc.c: the next run is timed from the *start* of the script),
- `HttpUrlState` + `http_success` / `http_failure` (check_http.c ``epilog()`` /
  ``timeout_epilog()``: one URL per attempt, the failed URL is retried until it passes).

Each function mutates the `CheckerStatus`, calls ``report(alive)`` where keepalived calls
``update_svr_checker_state()`` and returns the delay until the next attempt. ``report`` is
given the status *before* ``has_run`` is set, exactly as keepalived does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

Report = Callable[[bool], None]


@dataclass
class CheckerStatus:
    """Mutable state of one checker.

    - ``is_up``: the checker's current verdict (what the real server sees).
    - ``has_run``: a verdict has been reached at least once.
    - ``retry_it``: failed attempts counted towards ``retry``.
    """

    is_up: bool
    has_run: bool = False
    retry_it: int = 0

    @classmethod
    def initial(cls, *, alpha: bool, retry: int) -> CheckerStatus:
        """keepalived's start state: up unless alpha, and one failure is enough at first."""
        return cls(is_up=not alpha, has_run=False, retry_it=retry)


@dataclass(frozen=True)
class Timing:
    """The three timers of a checker (seconds) and its retry count."""

    retry: int
    delay_loop_s: float
    delay_before_retry_s: float


class Anchor(enum.Enum):
    """Whether the next delay counts from the end of the attempt or from its start."""

    END = "end"
    START = "start"


@dataclass(frozen=True)
class Next:
    """When to run the next attempt: ``delay_s`` after ``anchor``."""

    delay_s: float
    anchor: Anchor = Anchor.END
    retrying: bool = False


def tcp_epilog(st: CheckerStatus, timing: Timing, success: bool, report: Report) -> Next:
    """The common epilog: success or enough retries ends a round, else retry soon."""
    if success or st.retry_it >= timing.retry:
        delay = timing.delay_loop_s
        st.retry_it = 0
        if success and (not st.is_up or not st.has_run):
            report(True)
        elif not success and (st.is_up or not st.has_run):
            report(False)
        retrying = False
    else:
        delay = timing.delay_before_retry_s
        st.retry_it += 1
        retrying = True
    st.has_run = True
    return Next(delay, Anchor.END, retrying)


def misc_epilog(st: CheckerStatus, timing: Timing, success: bool, report: Report) -> Next:
    """MISC_CHECK: ``retry`` failures are tolerated while up; the period counts from the start
    of the script run (``last_ran`` in check_misc.c)."""
    retrying = False
    if success:
        if not st.is_up or not st.has_run:
            report(True)
        st.retry_it = 0
    elif st.is_up or not st.has_run:
        if st.retry_it < timing.retry:
            st.retry_it += 1
            retrying = True
        else:
            report(False)
            st.retry_it = 0
    st.has_run = True
    delay = timing.delay_before_retry_s if st.retry_it else timing.delay_loop_s
    return Next(delay, Anchor.START, retrying)


class HttpMethod(enum.Enum):
    NEW = "new"  # REGISTER_CHECKER_NEW: the URL passed
    RETRY = "retry"  # REGISTER_CHECKER_RETRY: the URL failed while up (or never run)
    FAILED = "failed"  # REGISTER_CHECKER_FAILED: the URL failed while already down


@dataclass
class HttpUrlState:
    """Which URL is checked next and which one failed (check_http.c ``url_it``/``failed_url``).

    ``url_it`` is ``None`` after the last URL passed (keepalived's NULL iterator).
    """

    n_urls: int
    url_it: int | None = 0
    failed_url: int | None = None

    @property
    def current(self) -> int:
        return 0 if self.url_it is None else self.url_it


def _http_epilog(
    st: CheckerStatus,
    urls: HttpUrlState,
    timing: Timing,
    method: HttpMethod,
    report: Report,
    *,
    fast_recovery: bool,
) -> Next:
    if method is HttpMethod.NEW:
        cur = urls.current
        urls.url_it = None if cur >= urls.n_urls - 1 else cur + 1
        st.retry_it = 0
    elif method is HttpMethod.RETRY:
        st.retry_it += 1

    if method is HttpMethod.NEW and urls.url_it is None and urls.failed_url is None:
        # every URL passed
        if not st.is_up or not st.has_run:
            report(True)
            st.has_run = True
        urls.url_it = 0
        st.retry_it = 0
    elif method is HttpMethod.RETRY and st.retry_it > timing.retry:
        if st.is_up or not st.has_run:
            report(False)
        urls.failed_url = urls.current
    elif method is HttpMethod.NEW and urls.failed_url is not None:
        # the failed URL passes again: check them all from the first
        urls.failed_url = None
        urls.url_it = 0
        st.retry_it = 0

    retrying = False
    if method is HttpMethod.NEW:
        delay = timing.delay_loop_s
        if not st.has_run:
            st.retry_it = timing.retry
    elif urls.failed_url is not None:
        delay = max(timing.delay_before_retry_s, timing.delay_loop_s)
    else:
        delay = timing.delay_before_retry_s
        retrying = True

    if fast_recovery and (not st.has_run or (not st.is_up and urls.failed_url is None)):
        delay = 0.0
    return Next(delay, Anchor.END, retrying)


def http_success(
    st: CheckerStatus,
    urls: HttpUrlState,
    timing: Timing,
    report: Report,
    *,
    fast_recovery: bool = False,
) -> Next:
    """The current URL passed (``http_handle_response()`` → ``epilog(NEW)``)."""
    return _http_epilog(st, urls, timing, HttpMethod.NEW, report, fast_recovery=fast_recovery)


def http_failure(
    st: CheckerStatus,
    urls: HttpUrlState,
    timing: Timing,
    report: Report,
    *,
    fast_recovery: bool = False,
) -> Next:
    """The current URL failed (``timeout_epilog()``): retry while up, else wait."""
    if st.is_up or not st.has_run:
        st.has_run = True
        method = HttpMethod.RETRY
    else:
        method = HttpMethod.FAILED
    return _http_epilog(st, urls, timing, method, report, fast_recovery=fast_recovery)
