"""IPVS generic netlink messages (pure): what each diff op sends, and decoding dumps."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from pykeepalived.config.model.lvs import (
    AddressFamily,
    Forwarding,
    LbKind,
    Protocol,
    TunnelChecksum,
    TunnelType,
)
from pykeepalived.lvs.diff import AddDest, AddService, DelDest, DelService, EditDest, EditService
from pykeepalived.lvs.ipvs import (
    IpvsCmd,
    IpvsMsg,
    SyncDaemon,
    SyncState,
    decode_dest,
    decode_netmask,
    decode_service,
    describe,
    encode_netmask,
    op_request,
)
from pykeepalived.lvs.model import Dest, DestId, Service, ServiceAttrs, ServiceId

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address
SID4 = ServiceId.for_address(IP("192.0.2.1"), 80, Protocol.TCP)
SID6 = ServiceId.for_address(IP("2001:db8::1"), 443, Protocol.SCTP)
ATTRS = ServiceAttrs("wrr", flags=1, timeout_s=300, netmask=int(IP("255.255.255.0")))


def _attrs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    return dict(pairs)


def test_netmask_encoding_differs_by_family() -> None:
    assert encode_netmask(AddressFamily.INET, 0xFFFFFF00) == b"\xff\xff\xff\x00"
    assert encode_netmask(AddressFamily.INET6, 64) == struct.pack("=I", 64)
    for fam, mask in ((AddressFamily.INET, 0xFFFF0000), (AddressFamily.INET6, 48)):
        assert decode_netmask(int(fam), encode_netmask(fam, mask)) == mask


def test_add_service_sends_key_and_every_required_attribute() -> None:
    cmd, attrs = op_request(AddService(Service(SID4, ATTRS)))
    assert cmd is IpvsCmd.NEW_SERVICE
    svc = _attrs(attrs[0][1])
    assert svc["IPVS_SVC_ATTR_AF"] == 2
    assert svc["IPVS_SVC_ATTR_PROTOCOL"] == 6
    assert svc["IPVS_SVC_ATTR_ADDR"] == IP("192.0.2.1").packed
    assert svc["IPVS_SVC_ATTR_PORT"] == 80
    assert svc["IPVS_SVC_ATTR_SCHED_NAME"] == "wrr"
    assert svc["IPVS_SVC_ATTR_FLAGS"] == struct.pack("=II", 1, 0xFFFFFFFF)
    assert svc["IPVS_SVC_ATTR_TIMEOUT"] == 300
    assert svc["IPVS_SVC_ATTR_NETMASK"] == b"\xff\xff\xff\x00"
    assert "IPVS_SVC_ATTR_PE_NAME" not in svc
    assert op_request(EditService(Service(SID4, ATTRS)))[0] is IpvsCmd.SET_SERVICE  # not DEL


def test_fwmark_key_and_delete() -> None:
    cmd, attrs = op_request(DelService(ServiceId.for_fwmark(7, AddressFamily.INET6)))
    assert cmd is IpvsCmd.DEL_SERVICE
    assert _attrs(attrs[0][1]) == {"IPVS_SVC_ATTR_AF": 10, "IPVS_SVC_ATTR_FWMARK": 7}


def test_destinations_with_tunnels_and_deletes() -> None:
    fwd = Forwarding(LbKind.TUN, TunnelType.GUE, 6080, TunnelChecksum.REMCSUM)
    dest = Dest(DestId(IP("2001:db8::5"), 443), 5, fwd, 100, 10)
    cmd, attrs = op_request(AddDest(SID6, dest))
    assert cmd is IpvsCmd.NEW_DEST
    d = _attrs(attrs[1][1])
    assert d["IPVS_DEST_ATTR_ADDR_FAMILY"] == 10
    assert d["IPVS_DEST_ATTR_FWD_METHOD"] == 2
    assert d["IPVS_DEST_ATTR_WEIGHT"] == 5
    assert (d["IPVS_DEST_ATTR_U_THRESH"], d["IPVS_DEST_ATTR_L_THRESH"]) == (100, 10)
    assert d["IPVS_DEST_ATTR_TUN_TYPE"] == 1
    assert d["IPVS_DEST_ATTR_TUN_PORT"] == 6080
    assert d["IPVS_DEST_ATTR_TUN_FLAGS"] == 2
    assert op_request(EditDest(SID6, dest))[0] is IpvsCmd.SET_DEST
    cmd, attrs = op_request(DelDest(SID6, dest.id))
    assert cmd is IpvsCmd.DEL_DEST
    assert set(_attrs(attrs[1][1])) == {
        "IPVS_DEST_ATTR_ADDR",
        "IPVS_DEST_ATTR_PORT",
        "IPVS_DEST_ATTR_ADDR_FAMILY",
    }
    nat = Dest(DestId(IP("198.51.100.1"), 80), 1, Forwarding(LbKind.DR))
    assert "IPVS_DEST_ATTR_TUN_TYPE" not in _attrs(op_request(AddDest(SID4, nat))[1][1][1])
    assert "weight 5" in describe(AddDest(SID6, dest))


def test_decoding_a_dump_round_trips() -> None:
    _, attrs = op_request(AddService(Service(SID6, ServiceAttrs("sh", 0x10 | 0x2, 0, 128))))
    svc = _attrs(attrs[0][1])
    svc["IPVS_SVC_ATTR_ADDR"] = IP("2001:db8::1").packed  # the kernel pads to 16 bytes anyway
    sid, decoded = decode_service(svc)
    assert sid == SID6
    assert decoded == ServiceAttrs("sh", 0x10, 0, 128)  # HASHED is stripped
    fwd = Forwarding(LbKind.TUN, TunnelType.GRE, 0, TunnelChecksum.CSUM)
    dest = Dest(DestId(IP("198.51.100.9"), 0), 3, fwd, 0, 0)
    _, dattrs = op_request(AddDest(ServiceId.for_fwmark(5), dest))
    raw = _attrs(dattrs[1][1])
    raw["IPVS_DEST_ATTR_ADDR"] = IP("198.51.100.9").packed + b"\0" * 12
    raw["IPVS_DEST_ATTR_FWD_METHOD"] = 2 | 0x100  # other conn flags are masked off
    assert decode_dest(raw, 2) == dest


def test_messages_encode_with_pyroute2() -> None:
    _, attrs = op_request(AddDest(SID4, Dest(DestId(IP("198.51.100.1"), 8080), 3)))
    msg = IpvsMsg()
    msg["cmd"] = int(IpvsCmd.NEW_DEST)
    msg["version"] = 1
    msg["attrs"] = [(name, {"attrs": value}) for name, value in attrs]
    msg.encode()
    assert len(msg.data) > 40
    parsed = IpvsMsg(msg.data)
    parsed.decode()
    dest = parsed.get_attr("IPVS_CMD_ATTR_DEST")
    assert dest.get_attr("IPVS_DEST_ATTR_PORT") == 8080
    assert dest.get_attr("IPVS_DEST_ATTR_WEIGHT") == 3


def test_sync_daemon_attributes() -> None:
    d = SyncDaemon(SyncState.BACKUP, "eth0", syncid=9, port=8848, group=IP("224.0.0.81"))
    attrs = _attrs(d.attrs())
    assert attrs["IPVS_DAEMON_ATTR_STATE"] == 2
    assert attrs["IPVS_DAEMON_ATTR_MCAST_IFN"] == "eth0"
    assert attrs["IPVS_DAEMON_ATTR_MCAST_GROUP"] == IP("224.0.0.81").packed
    assert _attrs(d.attrs(full=False)) == {"IPVS_DAEMON_ATTR_STATE": 2}
