"""Issue 4 features on the wire with Debian's keepalived 2.2.7 as the peer: VMAC and sync groups."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.interop, pytest.mark.slow]

if "daemonlab" not in sys.modules:  # loaded by path: the tests are not packages
    _path = Path(__file__).parents[1] / "netns" / "daemonlab.py"
    _spec = importlib.util.spec_from_file_location("daemonlab", _path)
    assert _spec is not None and _spec.loader is not None
    sys.modules["daemonlab"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["daemonlab"])
daemonlab = sys.modules["daemonlab"]
wait_for = daemonlab.wait_for
NO_CONTROL_SOCKET = {"PYKEEPALIVED_CONTROL_SOCKET": "none"}

VIP = "192.0.2.100"
VIP2 = "198.51.100.100"


@pytest.fixture
def make_lab(topology: Callable[..., Any], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    if shutil.which("keepalived") is None:
        pytest.skip("Debian's keepalived is not installed")
    labs: list[Any] = []

    def make(segments: int = 1) -> Any:
        lab = daemonlab.Lab(topology(hosts=2, segments=segments), tmp_path, NO_CONTROL_SOCKET)
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.shutdown()


def inst(
    name: str, prio: int, *, iface: str = "eth0", vrid: int = 51, vip: str = VIP, extra: str = ""
) -> str:
    return f"""
vrrp_instance {name} {{
    state BACKUP
    interface {iface}
    virtual_router_id {vrid}
    priority {prio}
    version 3
    advert_int 0.5
    virtual_ipaddress {{
        {vip}/24
    }}
{extra}
}}
"""


def test_v4_vmac_failover_with_keepalived(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    lab.write("h1", inst("VI_1", 100, extra="    use_vmac"))
    lab.write("h2", inst("VI_1", 90, extra="    use_vmac"))
    lab.start("h2", "keepalived")
    lab.start("h1")
    wait_for(lambda: lab.has_vip("h1", VIP, "vrrp.51"), 15, "pykeepalived master on its VMAC")
    wait_for(lambda: not lab.has_vip("h2", VIP), 5, "keepalived backup")
    # keepalived saw our adverts (sent from the VMAC) and stays backup
    assert "Entering BACKUP STATE" in lab.log("h2")
    assert lab.stop("h1") == 0
    assert "vrrp.51" not in lab.links("h1")
    wait_for(lambda: lab.has_vip("h2", VIP, "vrrp.51"), 10, "keepalived takes over on its VMAC")
    lab.start("h1")
    wait_for(lambda: lab.has_vip("h1", VIP, "vrrp.51"), 15, "pykeepalived preempts")
    wait_for(lambda: not lab.has_vip("h2", VIP), 5, "keepalived released the VIP")


def _group(prio: int) -> str:
    return (
        "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
        + inst("VI_1", prio)
        + inst("VI_2", prio, iface="eth1", vrid=52, vip=VIP2)
    )


@pytest.mark.parametrize("master_impl", ["pykeepalived", "keepalived"])
def test_v4_sync_group_failover_with_keepalived(
    make_lab: Callable[..., Any], master_impl: str
) -> None:
    backup_impl = "keepalived" if master_impl == "pykeepalived" else "pykeepalived"
    lab = make_lab(segments=2)
    lab.write("h1", _group(100))
    lab.write("h2", _group(90))
    lab.start("h1", master_impl)
    lab.start("h2", backup_impl)

    def on(host: str) -> bool:
        return bool(lab.holders(VIP) == [host] and lab.holders(VIP2) == [host])

    wait_for(lambda: on("h1"), 15, f"{master_impl} master of both")
    lab.run("h1", ["ip", "link", "set", "eth1", "down"])
    wait_for(lambda: on("h2"), 15, f"{backup_impl} takes both when the group faults")
    lab.run("h1", ["ip", "link", "set", "eth1", "up"])
    wait_for(lambda: on("h1"), 20, f"{master_impl} master of both again")
