"""The I/O side of tracking: scripts run, files read, processes counted, links watched.

Each source reports changes through a callback ``on_change(kind, name, value)`` with the value
:mod:`pykeepalived.vrrp.tracking` expects:

* :class:`ScriptRunner`: one ``vrrp_script``, run every ``interval`` (no shell, own process
  group, killed after ``timeout``; a run still going when the next is due is skipped, as
  keepalived logs "already running"). Exit 0 is success; the rise/fall counter decides the
  reported :class:`~pykeepalived.vrrp.tracking.ScriptStatus`. The first run starts at once.
* :class:`FileWatcher`: one ``track_file``; the file's directory is watched with inotify
  (``IN_CLOSE_WRITE``/``IN_MOVED_TO``/``IN_DELETE``/``IN_MOVED_FROM``, as keepalived), read with
  ``strtol(..., 0)`` semantics, a missing file counts as 0. ``init_file`` creates it.
* :class:`ProcessWatcher`: one ``vrrp_track_process``; ``/proc`` is scanned every
  ``PROCESS_SCAN_INTERVAL_S`` (keepalived uses the proc connector; this is the documented
  difference), quorum ``quorum <= n <= quorum_max``, with ``fork_delay``/``terminate_delay``.
* :class:`LinkMonitor`: rtnetlink RTMGRP_LINK events (no polling); an interface is up when
  IFF_UP and IFF_RUNNING are both set (keepalived's IF_ISUP); a deleted interface is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path

from pykeepalived.config.model.vrrp import ParamMatch, TrackFile, TrackProcess, VrrpScript
from pykeepalived.libc import LIBC
from pykeepalived.notify.scripts import ScriptSpec, run_script
from pykeepalived.vrrp.tracking import ScriptResult, ScriptStatus, TrackKind

__all__ = [
    "PROCESS_SCAN_INTERVAL_S",
    "FileWatcher",
    "LinkMonitor",
    "ProcessWatcher",
    "ScriptRunner",
    "count_processes",
    "parse_track_file_value",
]

log = logging.getLogger(__name__)

OnChange = Callable[[TrackKind, str, "bool | int | ScriptStatus"], None]

PROCESS_SCAN_INTERVAL_S = 0.5
FILE_POLL_INTERVAL_S = 1.0
"""Fallback polling period when inotify is not available."""


# --------------------------------------------------------------------------------------------
# vrrp_script


class ScriptRunner:
    """Runs one ``vrrp_script`` periodically and reports status changes."""

    def __init__(self, script: VrrpScript, spec: ScriptSpec, on_change: OnChange) -> None:
        self.script = script
        self.spec = spec
        self.on_change = on_change
        self.counter = ScriptResult(script.rise, script.fall, init_fail=script.init_fail)
        self._task: asyncio.Task[None] | None = None
        self._run: asyncio.Task[None] | None = None
        self.runs = 0

    @property
    def status(self) -> ScriptStatus:
        return self.counter.status

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name=f"vrrp_script-{self.script.name}"
        )

    async def stop(self) -> None:
        for task in (self._task, self._run):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._run = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = max(self.script.interval_s, 0.001)
        next_at = loop.time()
        while True:
            if self._run is not None and not self._run.done():
                log.info(
                    "Track script %s is already running, expect idle - skipping run",
                    self.script.name,
                )
            else:
                self._run = loop.create_task(self._once())
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _once(self) -> None:
        result = await run_script(self.spec, timeout_s=self.script.effective_timeout_s)
        self.runs += 1
        if result.timed_out:
            log.info("Track script %s timed out", self.script.name)
        changed = self.counter.record(result.succeeded)
        if changed is None:
            return
        if changed is ScriptStatus.OK:
            log.info("VRRP_Script(%s) succeeded", self.script.name)
        else:
            log.info(
                "VRRP_Script(%s) failed (exit status %s)",
                self.script.name,
                result.exit_code if result.exit_code is not None else "signal",
            )
        self.on_change(TrackKind.SCRIPT, self.script.name, changed)


# --------------------------------------------------------------------------------------------
# track_file


def parse_track_file_value(text: str) -> int:
    """``strtol(buf, NULL, 0)``: leading white space, sign, 0x/0 prefixes; junk gives 0."""
    s = text.strip().split()[0] if text.strip() else ""
    digits = ""
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    base = 10
    if s[:2].lower() == "0x":
        base, s = 16, s[2:]
    elif s[:1] == "0" and len(s) > 1:
        base, s = 8, s[1:]
    allowed = "0123456789abcdef"[:base]
    for ch in s.lower():
        if ch not in allowed:
            break
        digits += ch
    value = sign * int(digits, base) if digits else 0
    return max(-254, min(254, value))


_IN_CLOSE_WRITE = 0x8
_IN_MOVED_FROM = 0x40
_IN_MOVED_TO = 0x80
_IN_DELETE = 0x200
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_EVENT_HDR = struct.Struct("iIII")


class FileWatcher:
    """Watches one ``track_file`` and reports its value."""

    def __init__(self, tf: TrackFile, on_change: OnChange) -> None:
        self.tf = tf
        self.path = Path(tf.path)
        self.on_change = on_change
        self.value = 0
        self._fd: int | None = None
        self._poll: asyncio.Task[None] | None = None

    def read(self) -> int:
        try:
            with self.path.open("rb") as fh:
                data = fh.read(127)
        except OSError:
            return 0
        return parse_track_file_value(data.decode(errors="replace"))

    def _init_file(self) -> None:
        if not self.tf.init_file:
            return
        if self.path.exists() and not self.tf.init_overwrite:
            return
        value = self.tf.init_value if self.tf.init_value is not None else 0
        try:
            self.path.write_text(f"{value}\n")
        except OSError as exc:
            log.warning("cannot initialise track file %s: %s", self.path, exc)

    def start(self) -> int:
        """Create the file if asked, read it, start watching; return the initial value."""
        self._init_file()
        self.value = self.read()
        loop = asyncio.get_running_loop()
        libc = LIBC
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC) if libc is not None else -1
        wd = -1
        if fd >= 0 and libc is not None:
            mask = _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_MOVED_FROM | _IN_DELETE
            wd = libc.inotify_add_watch(fd, str(self.path.parent).encode(), mask)
        if fd >= 0 and wd >= 0:
            self._fd = fd
            loop.add_reader(fd, self._on_inotify)
        else:
            if fd >= 0:
                os.close(fd)
            log.info("inotify unavailable for %s - polling", self.path)
            self._poll = loop.create_task(self._polling())
        return self.value

    async def stop(self) -> None:
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None

    def _update(self, value: int) -> None:
        if value != self.value:
            log.info("Track file %s value changed from %d to %d", self.tf.name, self.value, value)
            self.value = value
            self.on_change(TrackKind.FILE, self.tf.name, value)

    def _on_inotify(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        offset = 0
        name_wanted = self.path.name
        while offset + _EVENT_HDR.size <= len(data):
            _wd, mask, _cookie, length = _EVENT_HDR.unpack_from(data, offset)
            raw = data[offset + _EVENT_HDR.size : offset + _EVENT_HDR.size + length]
            offset += _EVENT_HDR.size + length
            if raw.rstrip(b"\0").decode(errors="replace") != name_wanted:
                continue
            if mask & (_IN_DELETE | _IN_MOVED_FROM):
                self._update(0)
            else:
                self._update(self.read())

    async def _polling(self) -> None:
        while True:
            await asyncio.sleep(FILE_POLL_INTERVAL_S)
            self._update(self.read())


# --------------------------------------------------------------------------------------------
# vrrp_track_process


def _proc_identity(pid_dir: Path) -> tuple[str, list[str]] | None:
    try:
        comm = (pid_dir / "comm").read_text().rstrip("\n")
        cmdline = (pid_dir / "cmdline").read_bytes()
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in cmdline.split(b"\0")]
    if args and args[-1] == "":
        args.pop()
    return comm, args


def _params_match(tp: TrackProcess, args: list[str]) -> bool:
    if not tp.params:
        return True
    have = args[1:]
    want = list(tp.params)
    match tp.param_match:
        case ParamMatch.INITIAL:
            return have[: len(want)] == want
        case ParamMatch.PARTIAL:
            return " ".join(want) in " ".join(have)
        case _:
            return have == want


def count_processes(tp: TrackProcess, proc_root: Path = Path("/proc")) -> int:
    """How many processes match ``tp`` (name as ``comm``, or the full argv[0] path)."""
    count = 0
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        ident = _proc_identity(entry)
        if ident is None:
            continue
        comm, args = ident
        if tp.full_command:
            if not args or args[0] != tp.process:
                continue
        elif comm != tp.process[:15] and not (args and os.path.basename(args[0]) == tp.process):
            continue
        if _params_match(tp, args):
            count += 1
    return count


class ProcessWatcher:
    """Counts one tracked process and reports quorum changes (with the configured delays)."""

    def __init__(self, tp: TrackProcess, on_change: OnChange) -> None:
        self.tp = tp
        self.on_change = on_change
        self.have_quorum = False
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    def quorum(self, count: int) -> bool:
        upper = self.tp.quorum_max
        return count >= self.tp.quorum and (upper is None or count <= upper)

    def start(self) -> bool:
        self.count = count_processes(self.tp)
        self.have_quorum = self.quorum(self.count)
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self.have_quorum

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        pending_since: float | None = None
        while True:
            await asyncio.sleep(PROCESS_SCAN_INTERVAL_S)
            self.count = count_processes(self.tp)
            quorum = self.quorum(self.count)
            if quorum == self.have_quorum:
                pending_since = None
                continue
            delay = (self.tp.fork_delay_s if quorum else self.tp.terminate_delay_s) or 0.0
            now = loop.time()
            if pending_since is None:
                pending_since = now
            if now - pending_since < delay:
                continue
            pending_since = None
            self.have_quorum = quorum
            log.info(
                "Quorum %s for tracked process %s (%d running)",
                "gained" if quorum else "lost",
                self.tp.name,
                self.count,
            )
            self.on_change(TrackKind.PROCESS, self.tp.name, quorum)


# --------------------------------------------------------------------------------------------
# Link events

_RTMGRP_LINK = 1
_RTM_NEWLINK = 16
_RTM_DELLINK = 17
_IFLA_IFNAME = 3
_IFF_UP = 0x1
_IFF_RUNNING = 0x40
_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_RTA = struct.Struct("=HH")


def parse_link_messages(data: bytes) -> list[tuple[int, str | None, bool, bool]]:
    """(ifindex, name, up, deleted) for each RTM_NEWLINK/RTM_DELLINK in ``data``."""
    out: list[tuple[int, str | None, bool, bool]] = []
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, mtype, _flags, _seq, _pid = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size:
            break
        body = data[offset + _NLMSG.size : offset + length]
        offset += (length + 3) & ~3
        if mtype not in (_RTM_NEWLINK, _RTM_DELLINK) or len(body) < _IFINFO.size:
            continue
        _family, _type, index, flags, _change = _IFINFO.unpack_from(body, 0)
        name: str | None = None
        pos = _IFINFO.size
        while pos + _RTA.size <= len(body):
            rta_len, rta_type = _RTA.unpack_from(body, pos)
            if rta_len < _RTA.size:
                break
            if rta_type == _IFLA_IFNAME:
                name = body[pos + _RTA.size : pos + rta_len].rstrip(b"\0").decode(errors="replace")
            pos += (rta_len + 3) & ~3
        up = bool(flags & _IFF_UP) and bool(flags & _IFF_RUNNING)
        deleted = mtype == _RTM_DELLINK
        out.append((index, name, up and not deleted, deleted))
    return out


class LinkMonitor:
    """Reports interface up/down changes from rtnetlink multicast events.

    ``on_link(name, up)`` is called only when the up state of a watched name changes.
    """

    def __init__(self, on_link: Callable[[str, bool], None]) -> None:
        self.on_link = on_link
        self.states: dict[str, bool] = {}
        self._sock: socket.socket | None = None
        self.overruns = 0

    def watch(self, name: str, up: bool) -> None:
        """Start watching ``name``, currently ``up``."""
        self.states.setdefault(name, up)

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, _RTMGRP_LINK))
        self._sock = sock
        loop.add_reader(sock.fileno(), self._on_readable)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sock is not None:
            with contextlib.suppress(ValueError, OSError):
                loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _on_readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:  # ENOBUFS: events lost; the caller re-reads states
                self.overruns += 1
                log.warning("netlink link monitor: %s", exc)
                return
            for _index, name, up, _deleted in parse_link_messages(data):
                if name is None or name not in self.states:
                    continue
                if self.states[name] != up:
                    self.states[name] = up
                    log.info("Netlink reports %s %s", name, "up" if up else "down")
                    self.on_link(name, up)
