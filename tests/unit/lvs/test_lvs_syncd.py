"""lvs_sync_daemon / lvs_timeouts: settings, role changes, the VRRP-side follower."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

import pytest

from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Config
from pykeepalived.lvs.backend import BackendError
from pykeepalived.lvs.ipvs import SyncDaemon, SyncState
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.select import start_ipvs_globals
from pykeepalived.lvs.syncd import (
    BOTH,
    SyncCommand,
    SyncDaemonFollower,
    SyncDaemonManager,
    SyncdSettings,
    plan,
    resolve,
    role_for,
    timeouts,
)

pytestmark = pytest.mark.unit

M, B = SyncState.MASTER, SyncState.BACKUP

VRRP = """
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10
  }
}
"""


def _config(global_defs: str, vrrp: str = VRRP) -> Config:
    return load_text(f"global_defs {{\n{global_defs}\n}}\n{vrrp}", filename="s.conf").config


class FakeControl:
    """Records start/stop calls; stopping a role that is not running fails like the kernel."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, SyncState]] = []
        self.running: dict[SyncState, SyncDaemon] = {}
        self.closed = False

    def start_sync_daemon(self, daemon: SyncDaemon) -> None:
        if daemon.state in self.running:
            raise BackendError("IPVS start sync daemon: File exists")
        self.calls.append(("start", daemon.state))
        self.running[daemon.state] = daemon

    def stop_sync_daemon(self, state: SyncState) -> None:
        self.calls.append(("stop", state))
        if self.running.pop(state, None) is None:
            raise BackendError("IPVS stop sync daemon: No such process")

    def close(self) -> None:
        self.closed = True


def test_resolve_defaults_like_keepalived(caplog: pytest.LogCaptureFixture) -> None:
    plain = resolve(_config("  lvs_sync_daemon eth9"))
    assert plain == SyncdSettings("eth9", 0)
    inst = resolve(_config("  lvs_sync_daemon eth9 VI_1 maxlen 1000 port 8850 ttl 3"))
    assert inst == SyncdSettings("eth9", 51, "VI_1", 1000, 8850, 3)
    explicit = resolve(_config("  lvs_sync_daemon eth9 inst VI_1 id 7 group 224.0.0.99"))
    assert explicit is not None and explicit.syncid == 7
    assert explicit.group == ipaddress.ip_address("224.0.0.99")
    with caplog.at_level(logging.INFO):
        assert resolve(_config("  lvs_sync_daemon eth9 inst VI_9")) is None
    assert "Unable to find vrrp instance VI_9 for lvs_syncd" in caplog.text
    assert resolve(_config("  router_id x")) is None


def test_timeouts_only_when_given() -> None:
    assert timeouts(_config("  router_id x")) is None
    assert timeouts(_config("  lvs_timeouts tcp 7200 udp 60")) == (7200, 0, 60)


def test_plan_stops_the_old_role_before_starting_the_new() -> None:
    assert plan({B}, {M}) == [SyncCommand(False, B), SyncCommand(True, M)]
    assert plan(set(), BOTH) == [SyncCommand(True, M), SyncCommand(True, B)]
    assert plan(BOTH, ()) == [SyncCommand(False, M), SyncCommand(False, B)]
    assert plan({M}, {M}) == []
    assert role_for("MASTER") is M
    assert all(role_for(s) is B for s in ("BACKUP", "FAULT", "INIT", "STOP"))


def test_manager_clears_leftovers_then_follows() -> None:
    control = FakeControl()
    control.running[M] = SyncDaemon(M, "old")  # left by a crashed run
    manager = SyncDaemonManager(control, SyncdSettings("eth9", 5))
    manager.start({B})
    assert control.calls == [("stop", M), ("stop", B), ("start", B)]
    assert control.running[B] == SyncDaemon(B, "eth9", 5)
    manager.follow({M})
    assert set(control.running) == {M} and manager.running == {M}
    manager.reconfigure(SyncdSettings("eth9", 5), {M})  # unchanged: nothing
    assert len(control.calls) == 5
    manager.reconfigure(SyncdSettings("eth8", 6), {M})  # changed: restart
    assert control.running[M].interface == "eth8"
    manager.stop()
    assert control.running == {}
    assert manager.status()["running"] == []


def test_manager_counts_kernel_errors_instead_of_raising() -> None:
    control = FakeControl()
    manager = SyncDaemonManager(control, SyncdSettings("eth9", 5))
    control.running[M] = SyncDaemon(M, "x")
    manager.running.clear()
    manager.follow({M})  # the kernel refuses: logged and counted
    assert manager.errors == 1 and manager.running == set()


class Status:
    def __init__(self, state: str) -> None:
        self.state = state

    def status(self) -> dict[str, Any]:
        return {"instances": [{"name": "VI_1", "state": self.state}]}


def test_follower_tracks_the_instance_state() -> None:
    config = _config("  lvs_sync_daemon eth9 VI_1")
    control = FakeControl()
    source = Status("INIT")

    async def scenario() -> None:
        follower = SyncDaemonFollower(config, source, open_control=lambda: control, poll_s=0.01)
        await follower.start()
        assert set(control.running) == {B}
        source.state = "MASTER"
        await asyncio.sleep(0.05)
        assert set(control.running) == {M}
        assert control.running[M].syncid == 51
        source.state = "FAULT"
        await asyncio.sleep(0.05)
        assert set(control.running) == {B}
        assert follower.status()["running"] == ["backup"]
        await follower.reload(_config("  lvs_sync_daemon eth9 VI_1 id 9"))
        assert control.running[B].syncid == 9
        await follower.stop()
        assert control.running == {} and control.closed

    asyncio.run(scenario())


def test_follower_is_idle_for_the_form_without_instance() -> None:
    control = FakeControl()

    async def scenario() -> None:
        follower = SyncDaemonFollower(
            _config("  lvs_sync_daemon eth9"), Status("MASTER"), open_control=lambda: control
        )
        await follower.start()
        await follower.stop()

    asyncio.run(scenario())
    assert control.calls == []


def test_nftables_data_plane_ignores_ipvs_globals(caplog: pytest.LogCaptureFixture) -> None:
    config = _config("  lvs_sync_daemon eth9\n  lvs_timeouts tcp 60")
    backend = NftBackend.__new__(NftBackend)  # no nft run: only its type matters here
    backend.name = "nftables"
    with caplog.at_level(logging.WARNING):
        assert start_ipvs_globals(config, backend) is None
    assert "need IPVS" in caplog.text
