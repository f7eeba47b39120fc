"""L2 lab topologies in network namespaces, shared by the tests and the lab demo.

Layout built by :class:`Topology`::

    switch namespace "<prefix>sw":  bridge lan0 (mcast_snooping 0)   bridge lan1 ...
                                      |        |                        |
                              veth h1-eth0  h2-eth0 ...            h1-eth1 ...
                                      |        |                        |
    host namespaces "<prefix>h1", "<prefix>h2", ...: eth0, eth1, ... (+ lo up)

Inside every host namespace the interfaces are called ``eth0``, ``eth1``, ... so keepalived
configurations saying ``interface eth0`` work unchanged.  Addresses come from the documentation
ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).

Every namespace name starts with a per-topology prefix ``pk<pid hex>-<seq>-`` so that parallel
runs never collide and leftovers of crashed runs can be recognised (:func:`cleanup_stale`).
Teardown deletes everything it created, also when building fails; an ``atexit`` hook tears
down whatever is still alive when the interpreter exits.

The ``ip`` command (iproute2) does the work: each step is one readable command line.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from pathlib import Path
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
#: Matches the namespaces made by this module; group ``pid`` is the creating process.
STALE_PATTERN = r"pk(?P<pid>[0-9a-f]+)-"
DEFAULT_COMMAND_TIMEOUT_S = 30.0
LINK_READY_TIMEOUT_S = 10.0
_POLL_INTERVAL_S = 0.02
_IFNAMSIZ_MAX = 15
_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")


class TopologyError(Exception):
    """A namespace topology could not be built or torn down."""


class CommandError(TopologyError):
    """A command run for the topology (or inside one of its namespaces) failed."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(self.argv)!r} exited {returncode}: {stderr.strip()}")


# --------------------------------------------------------------------------------------------
# Specs (what to build)


@dataclass(frozen=True)
class SegmentSpec:
    """One L2 segment: a bridge in the switch namespace and the subnets used on it."""

    name: str
    ipv4_network: IPv4Network | None
    ipv6_network: IPv6Network | None


#: Segments numbered in order: the first is eth0's, the second eth1's, ...
DEFAULT_SEGMENTS: tuple[SegmentSpec, ...] = (
    SegmentSpec("lan0", IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8:0:1::/64")),
    SegmentSpec("lan1", IPv4Network("198.51.100.0/24"), IPv6Network("2001:db8:0:2::/64")),
    SegmentSpec("lan2", IPv4Network("203.0.113.0/24"), IPv6Network("2001:db8:0:3::/64")),
)


@dataclass(frozen=True)
class HostSpec:
    """A host namespace; interface ``eth<i>`` sits on segment ``segments[i]``.

    ``host_id`` is the host part of its addresses on every segment (h1 -> .1, h2 -> .2 by
    default) and the last byte of its MAC addresses.
    """

    name: str
    segments: tuple[str, ...] = ("lan0",)
    host_id: int | None = None


@dataclass(frozen=True)
class TopologySpec:
    """A whole lab: segments, hosts, and whether IPv6 duplicate address detection runs.

    With ``ipv6_dad`` False (the default) DAD is switched off by sysctl in the host
    namespaces, so addresses are usable at once; with True, building waits for DAD.
    """

    hosts: tuple[HostSpec, ...]
    segments: tuple[SegmentSpec, ...] = DEFAULT_SEGMENTS[:1]
    ipv6_dad: bool = False


def simple_spec(
    hosts: int | Sequence[str] = 2, segments: int = 1, *, ipv6_dad: bool = False
) -> TopologySpec:
    """Spec for ``hosts`` hosts (``h1``..``hN`` or the given names), each on every one of the
    first ``segments`` default segments (eth0 on lan0, eth1 on lan1, ...)."""
    if not 1 <= segments <= len(DEFAULT_SEGMENTS):
        raise TopologyError(f"segments must be 1..{len(DEFAULT_SEGMENTS)}, got {segments}")
    names = [f"h{i}" for i in range(1, hosts + 1)] if isinstance(hosts, int) else list(hosts)
    segs = DEFAULT_SEGMENTS[:segments]
    seg_names = tuple(s.name for s in segs)
    return TopologySpec(
        hosts=tuple(HostSpec(name, seg_names) for name in names), segments=segs, ipv6_dad=ipv6_dad
    )


# --------------------------------------------------------------------------------------------
# Built objects (what exists)


@dataclass(frozen=True)
class HostInterface:
    """An interface inside a host namespace, with the addresses the topology gave it."""

    name: str
    segment: str
    mac: str
    ipv4: IPv4Interface | None
    ipv6: IPv6Interface | None
    switch_port: str


@dataclass(frozen=True)
class Host:
    """A host namespace: ``netns`` is the full namespace name (with the run prefix)."""

    name: str
    netns: str
    interfaces: tuple[HostInterface, ...]

    def iface(self, name: str = "eth0") -> HostInterface:
        """The interface called ``name`` (KeyError if the host has none)."""
        for itf in self.interfaces:
            if itf.name == name:
                return itf
        raise KeyError(f"{self.name} has no interface {name}")

    def ipv4(self, iface: str = "eth0") -> IPv4Address:
        """The IPv4 address of ``iface``."""
        addr = self.iface(iface).ipv4
        if addr is None:
            raise KeyError(f"{self.name}:{iface} has no IPv4 address")
        return addr.ip

    def ipv6(self, iface: str = "eth0") -> IPv6Address:
        """The global IPv6 address of ``iface``."""
        addr = self.iface(iface).ipv6
        if addr is None:
            raise KeyError(f"{self.name}:{iface} has no IPv6 address")
        return addr.ip


# --------------------------------------------------------------------------------------------
# Command helpers


def _check(argv: Sequence[str], proc: subprocess.CompletedProcess[str]) -> None:
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or "")


def run_cmd(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell), capturing text stdout/stderr; CommandError if ``check`` fails."""
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        input=input_text,
        check=False,
    )
    if check:
        _check(argv, proc)
    return proc


def run_in(
    netns: str,
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside namespace ``netns`` (via ``ip netns exec``) and wait for it."""
    return run_cmd(
        ["ip", "netns", "exec", netns, *argv],
        check=check,
        timeout_s=timeout_s,
        input_text=input_text,
    )


def popen_in(netns: str, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``argv`` inside namespace ``netns`` without waiting; kwargs go to Popen."""
    return subprocess.Popen(["ip", "netns", "exec", netns, *argv], **popen_kwargs)


def list_netns() -> list[str]:
    """Names of all named network namespaces (``ip netns list``)."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_pids_in(netns: str) -> None:
    """SIGKILL the processes left running inside ``netns`` (started there by the test or lab)."""
    proc = run_cmd(["ip", "netns", "pids", netns], check=False)
    pids = [int(tok) for tok in proc.stdout.split() if tok.isdigit()]
    for pid in pids:
        if pid == os.getpid():
            continue
        log.warning("killing process %d left in namespace %s", pid, netns)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _pid_alive(pid) and not _is_zombie(pid)]
        if pids:
            time.sleep(_POLL_INTERVAL_S)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # the state follows the parenthesised command name, which may itself contain spaces
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def delete_netns(netns: str) -> bool:
    """Kill what runs in ``netns`` and delete it. True if it existed."""
    if not (NETNS_DIR / netns).exists():
        return False
    _kill_pids_in(netns)
    proc = run_cmd(["ip", "netns", "delete", netns], check=False)
    if proc.returncode != 0 and (NETNS_DIR / netns).exists():
        raise CommandError(["ip", "netns", "delete", netns], proc.returncode, proc.stderr)
    return True


def cleanup_stale(prefix_pattern: str = STALE_PATTERN, *, include_live: bool = False) -> list[str]:
    """Delete namespaces whose name starts with ``prefix_pattern`` (a regex) and return them.

    If the pattern has a ``pid`` group (hex), namespaces whose creating process is still alive
    are kept unless ``include_live``: they belong to a run in progress, not a crashed one.
    """
    regex = re.compile(prefix_pattern)
    removed: list[str] = []
    for name in list_netns():
        match = regex.match(name)
        if match is None:
            continue
        pid_hex = match.groupdict().get("pid")
        if pid_hex is not None and not include_live and _pid_alive(int(pid_hex, 16)):
            continue
        try:
            if delete_netns(name):
                removed.append(name)
        except CommandError as exc:
            log.warning("could not delete stale namespace %s: %s", name, exc)
    if removed:
        log.info("removed %d stale namespaces: %s", len(removed), ", ".join(removed))
    return removed


# --------------------------------------------------------------------------------------------
# The topology


_SEQ = itertools.count(1)
_LIVE: dict[int, Topology] = {}
_LIVE_LOCK = threading.Lock()


def _mac_for(segment_index: int, host_id: int) -> str:
    # locally administered unicast (02:...), readable: 02:70:6b:00:<segment>:<host>
    return f"02:70:6b:00:{segment_index:02x}:{host_id:02x}"


class Topology:
    """Builds a :class:`TopologySpec` in namespaces; a context manager that tears it down.

    ``hosts`` maps host names to :class:`Host` once built. With ``teardown_at_exit`` False
    (a lab meant to outlive the process, under a fixed ``prefix`` such as ``"pklab-"``) the
    atexit hook leaves it alone; ``cleanup_stale(re.escape(prefix))`` removes it later.
    """

    def __init__(
        self, spec: TopologySpec, *, prefix: str | None = None, teardown_at_exit: bool = True
    ) -> None:
        self.spec = spec
        self.prefix = prefix if prefix is not None else f"pk{os.getpid():x}-{next(_SEQ)}-"
        self.teardown_at_exit = teardown_at_exit
        self.switch_ns = f"{self.prefix}sw"
        self.hosts: dict[str, Host] = {}
        self._created: list[str] = []
        self._validate()

    # -- public API ---------------------------------------------------------------------------

    @classmethod
    def simple(
        cls, hosts: int | Sequence[str] = 2, segments: int = 1, *, ipv6_dad: bool = False
    ) -> Self:
        """An unbuilt topology of ``hosts`` hosts on ``segments`` segments (see simple_spec)."""
        return cls(simple_spec(hosts, segments, ipv6_dad=ipv6_dad))

    def __enter__(self) -> Self:
        return self.build()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

    def build(self) -> Self:
        """Create namespaces, bridges, veths and addresses; on failure delete what was made."""
        if self._created:
            raise TopologyError("topology already built")
        if self.teardown_at_exit:
            with _LIVE_LOCK:
                _LIVE[id(self)] = self
        try:
            self._build()
        except BaseException:
            log.error("building topology %s failed; tearing down", self.prefix)
            self.teardown()
            raise
        log.info("topology %s built: %s", self.prefix, ", ".join(self.hosts))
        return self

    def teardown(self) -> None:
        """Delete every namespace this topology created (processes inside are killed)."""
        errors: list[str] = []
        for name in reversed(self._created):
            try:
                delete_netns(name)
            except (CommandError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{name}: {exc}")
        leftovers = [n for n in self._created if (NETNS_DIR / n).exists()]
        self._created.clear()
        self.hosts.clear()
        with _LIVE_LOCK:
            _LIVE.pop(id(self), None)
        if leftovers:
            raise TopologyError(f"namespaces left behind: {leftovers} ({'; '.join(errors)})")

    @property
    def namespaces(self) -> list[str]:
        """Names of the namespaces created so far (switch first)."""
        return list(self._created)

    def host(self, name: str) -> Host:
        """The built host called ``name``."""
        return self.hosts[name]

    def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside host ``host`` (short name) and wait."""
        return run_in(self.hosts[host].netns, argv, check=check, timeout_s=timeout_s)

    def popen(self, host: str, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside host ``host`` (short name) without waiting."""
        return popen_in(self.hosts[host].netns, argv, **popen_kwargs)

    def ip_json(self, host: str, args: Sequence[str]) -> list[dict[str, Any]]:
        """``ip -j ARGS`` inside host ``host``, decoded."""
        out = run_cmd(["ip", "-n", self.hosts[host].netns, "-j", *args]).stdout
        decoded: list[dict[str, Any]] = json.loads(out) if out.strip() else []
        return decoded

    # -- building -----------------------------------------------------------------------------

    def _validate(self) -> None:
        seg_names = {s.name for s in self.spec.segments}
        if len(seg_names) != len(self.spec.segments):
            raise TopologyError("duplicate segment names")
        host_names = [h.name for h in self.spec.hosts]
        if len(set(host_names)) != len(host_names):
            raise TopologyError("duplicate host names")
        for seg in self.spec.segments:
            if not 1 <= len(seg.name) <= _IFNAMSIZ_MAX:
                raise TopologyError(f"bad segment name {seg.name!r}")
        for pos, h in enumerate(self.spec.hosts, start=1):
            if not _NAME_RE.match(h.name) or h.name == "sw":
                raise TopologyError(f"bad host name {h.name!r} (want [a-z][a-z0-9]{{0,7}}, not sw)")
            unknown = set(h.segments) - seg_names
            if unknown:
                raise TopologyError(f"host {h.name} on unknown segments {sorted(unknown)}")
            host_id = h.host_id if h.host_id is not None else pos
            if not 1 <= host_id <= 254:
                raise TopologyError(f"host {h.name}: host_id {host_id} not in 1..254")

    def _ip(self, *args: str) -> None:
        run_cmd(["ip", *args])

    def _sysctl(self, netns: str, settings: Mapping[str, str]) -> None:
        run_in(netns, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])

    def _add_netns(self, name: str) -> None:
        if (NETNS_DIR / name).exists():
            raise TopologyError(f"namespace {name} already exists")
        self._ip("netns", "add", name)
        self._created.append(name)
        self._ip("-n", name, "link", "set", "lo", "up")

    def _build(self) -> None:
        sw = self.switch_ns
        self._add_netns(sw)
        # the switch only bridges frames: keep it silent at L3
        self._sysctl(
            sw, {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
        )
        seg_index = {s.name: i for i, s in enumerate(self.spec.segments)}
        segments = {s.name: s for s in self.spec.segments}
        for seg in self.spec.segments:
            self._ip(
                "-n", sw, "link", "add", seg.name, "type", "bridge",
                "stp_state", "0", "mcast_snooping", "0",
            )  # fmt: skip
            self._ip("-n", sw, "link", "set", seg.name, "up")

        for pos, hspec in enumerate(self.spec.hosts, start=1):
            host_id = hspec.host_id if hspec.host_id is not None else pos
            ns = f"{self.prefix}{hspec.name}"
            self._add_netns(ns)
            if not self.spec.ipv6_dad:
                self._sysctl(
                    ns,
                    {"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"},
                )
            interfaces: list[HostInterface] = []
            for i, seg_name in enumerate(hspec.segments):
                seg = segments[seg_name]
                itf = self._wire(
                    ns,
                    host=hspec.name,
                    ifname=f"eth{i}",
                    seg=seg,
                    seg_idx=seg_index[seg_name],
                    host_id=host_id,
                )
                interfaces.append(itf)
            self.hosts[hspec.name] = Host(hspec.name, ns, tuple(interfaces))

        for host in self.hosts.values():
            for itf in host.interfaces:
                self._wait_link_ready(host.netns, itf.name)

    def _wire(
        self, ns: str, *, host: str, ifname: str, seg: SegmentSpec, seg_idx: int, host_id: int
    ) -> HostInterface:
        """Connect ``ns``:``ifname`` to bridge ``seg`` with a veth pair and address it."""
        sw = self.switch_ns
        port = f"{host}-{ifname}"
        mac = _mac_for(seg_idx, host_id)
        self._ip(
            "-n", sw, "link", "add", port, "type", "veth",
            "peer", "name", ifname, "address", mac, "netns", ns,
        )  # fmt: skip
        self._ip("-n", sw, "link", "set", port, "master", seg.name, "up")
        ipv4 = ipv6 = None
        if seg.ipv4_network is not None:
            ipv4 = IPv4Interface(f"{seg.ipv4_network[host_id]}/{seg.ipv4_network.prefixlen}")
            self._ip("-n", ns, "addr", "add", str(ipv4), "dev", ifname)
        if seg.ipv6_network is not None:
            ipv6 = IPv6Interface(f"{seg.ipv6_network[host_id]}/{seg.ipv6_network.prefixlen}")
            self._ip("-n", ns, "-6", "addr", "add", str(ipv6), "dev", ifname)
        self._ip("-n", ns, "link", "set", ifname, "up")
        return HostInterface(ifname, seg.name, mac, ipv4, ipv6, port)

    def _wait_link_ready(self, ns: str, ifname: str) -> None:
        """Wait until ``ifname`` is up with a link-local IPv6 address and nothing tentative."""
        deadline = time.monotonic() + LINK_READY_TIMEOUT_S
        state = "?"
        while True:
            out = run_cmd(["ip", "-n", ns, "-j", "addr", "show", "dev", ifname]).stdout
            links = json.loads(out) if out.strip() else []
            infos: list[dict[str, Any]] = links[0].get("addr_info", []) if links else []
            v6 = [a for a in infos if a.get("family") == "inet6"]
            if any(a.get("dadfailed") for a in v6):
                raise TopologyError(f"{ns}:{ifname}: IPv6 DAD failed: {v6}")
            state = links[0].get("operstate", "?") if links else "missing"
            ready = (
                state == "UP"
                and any(a.get("scope") == "link" for a in v6)
                and not any(a.get("tentative") for a in v6)
            )
            if ready:
                return
            if time.monotonic() >= deadline:
                raise TopologyError(f"{ns}:{ifname} not ready (operstate {state}, inet6 {v6})")
            time.sleep(_POLL_INTERVAL_S)


def _teardown_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE.values())
    for topo in live:
        try:
            topo.teardown()
        except (TopologyError, subprocess.TimeoutExpired) as exc:
            log.error("atexit teardown of %s failed: %s", topo.prefix, exc)


atexit.register(_teardown_all)
