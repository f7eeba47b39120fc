"""nftables rendering (pure): weighted slot maps, selectors, the refusal of what nft cannot do."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config.loader import load_text
from pykeepalived.config.model.lvs import AddressFamily, Forwarding, LbKind, Protocol, ServiceFlag
from pykeepalived.lvs.diff import diff
from pykeepalived.lvs.model import (
    Dest,
    DestId,
    LvsState,
    Service,
    ServiceAttrs,
    ServiceId,
    desired_state,
)
from pykeepalived.lvs.nft import (
    JHASH_SEED,
    MAX_SLOTS,
    NftRenderer,
    check_service,
    lookup_element,
    service_rule,
    skeleton,
    weighted_slots,
)

pytestmark = pytest.mark.unit

IP = ipaddress.ip_address
SID = ServiceId.for_address(IP("192.0.2.100"), 80, Protocol.TCP)


def _dest(last: int, weight: int, port: int = 8080) -> Dest:
    return Dest(DestId(IP(f"198.51.100.{last}"), port), weight)


@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=12))
def test_slots_are_consecutive_and_proportional(weights: list[int]) -> None:
    slots = weighted_slots(weights)
    assert len(slots) == len(weights)
    nxt = 0
    for w, (lo, hi) in zip(weights, slots, strict=True):
        if w == 0:
            assert hi < lo
            continue
        assert lo == nxt and hi >= lo
        nxt = hi + 1
    assert nxt <= MAX_SLOTS + len(weights)


def test_slots_reduce_by_gcd_and_rr_is_equal() -> None:
    assert weighted_slots([30, 20, 10]) == [(0, 2), (3, 4), (5, 5)]
    assert weighted_slots([30, 0, 10], equal=True) == [(0, 0), (1, 0), (1, 1)]


def test_wrr_rule_is_a_numgen_map_of_address_and_port() -> None:
    svc = Service(SID, ServiceAttrs("wrr"), (_dest(11, 3), _dest(12, 1), _dest(13, 0)))
    assert service_rule(svc) == (
        "meta l4proto tcp dnat ip addr . port to numgen random mod 4 map "
        "{ 0-2 : 198.51.100.11 . 8080, 3 : 198.51.100.12 . 8080 }"
    )


def test_sh_persistence_and_dh_hash_the_right_field() -> None:
    sh = Service(SID, ServiceAttrs("sh", flags=int(ServiceFlag.SH_PORT)), (_dest(11, 1),))
    assert f"jhash ip saddr . th sport mod 1 seed {JHASH_SEED:#x}" in (service_rule(sh) or "")
    persistent = Service(
        SID,
        ServiceAttrs("wrr", flags=1, timeout_s=300, netmask=int(IP("255.255.255.0"))),
        (_dest(11, 1), _dest(12, 1)),
    )
    assert "jhash ip saddr & 255.255.255.0 mod 2" in (service_rule(persistent) or "")
    dh = Service(SID, ServiceAttrs("dh"), (_dest(11, 1),))
    assert "jhash ip daddr mod 1" in (service_rule(dh) or "")


def test_fo_picks_the_highest_weight_and_empty_gives_no_rule() -> None:
    fo = Service(SID, ServiceAttrs("fo"), (_dest(11, 1), _dest(12, 5), _dest(13, 5)))
    assert service_rule(fo) == (
        "meta l4proto tcp dnat ip addr . port to numgen random mod 1 map "
        "{ 0 : 198.51.100.12 . 8080 }"
    )
    assert service_rule(Service(SID, ServiceAttrs("wrr"), (_dest(11, 0),))) is None


def test_ipv6_and_fwmark_services() -> None:
    sid6 = ServiceId.for_address(IP("2001:db8::100"), 443, Protocol.SCTP)
    svc6 = Service(sid6, ServiceAttrs("rr"), (Dest(DestId(IP("2001:db8::1"), 443), 1),))
    assert service_rule(svc6) == (
        "meta l4proto sctp dnat ip6 addr . port to numgen random mod 1 map "
        "{ 0 : [2001:db8::1] . 443 }"
    )
    assert lookup_element(svc6) == ("svc6", "sctp . 2001:db8::100 . 443")
    fwm = Service(ServiceId.for_fwmark(5), ServiceAttrs("rr"), (_dest(11, 1, 0),))
    assert service_rule(fwm) == "dnat ip to numgen random mod 1 map { 0 : 198.51.100.11 }"
    assert lookup_element(fwm) == ("fwm4", "5")
    portless = ServiceId.for_address(IP("192.0.2.1"), 0, Protocol.UDP)
    assert lookup_element(Service(portless, ServiceAttrs()))[0] == "any4"
    assert ServiceId.for_fwmark(5, AddressFamily.INET6).family is AddressFamily.INET6


def test_refusals_name_the_virtual_server_line() -> None:
    text = """
virtual_server 192.0.2.1 80 {
  lb_algo wlc
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.1 80 {
    weight 1
  }
}
virtual_server 192.0.2.2 53 {
  lb_algo rr
  lb_kind DR
  protocol UDP
  ops
  real_server 198.51.100.1 53 {
    weight 1
  }
}
"""
    state = desired_state(load_text(text, filename="/etc/keepalived/x.conf").config.lvs)
    problems = [d.format() for s in state for d in check_service(s)]
    assert any("(/etc/keepalived/x.conf: Line 2" in p and "lb_algo wlc" in p for p in problems)
    assert any("Line 10" in p and "ops" in p for p in problems)
    assert any("Line 15" in p and "lb_kind DR" in p for p in problems)


def test_renderer_touches_only_the_changed_service() -> None:
    a = Service(SID, ServiceAttrs("wrr"), (_dest(11, 1), _dest(12, 1)))
    sid_b = ServiceId.for_address(IP("192.0.2.101"), 80, Protocol.TCP)
    b = Service(sid_b, ServiceAttrs("wrr"), (_dest(21, 1),))
    r = NftRenderer("t")
    first = r.transition(LvsState(), LvsState.of([a, b]))
    assert sum(line.startswith("add chain") for line in first) == 2
    changed = Service(SID, ServiceAttrs("wrr"), (_dest(11, 1), _dest(12, 4)))
    new = LvsState.of([changed, b])
    lines = r.transition(LvsState.of([a, b]), new)
    assert lines[0] == f"flush chain inet t {r.chains[SID]}"
    assert len(lines) == 2 and "mod 5" in lines[1]
    gone = r.transition(new, LvsState.of([b]))
    assert "delete element inet t svc4 { tcp . 192.0.2.100 . 80 }" in gone
    assert "delete element inet t vip4 { 192.0.2.100 }" in gone
    assert len(diff(LvsState.of([a, b]), new)) == 1


def test_skeleton_has_the_hooks_and_masquerade_only_when_asked() -> None:
    plain = skeleton("t", masquerade=False)
    assert "type nat hook prerouting priority dstnat" in plain
    assert "masquerade" not in plain
    assert "ct original ip daddr @vip4 masquerade" in skeleton("t", masquerade=True)


def test_non_nat_forwarding_on_one_real_server_is_refused() -> None:
    svc = Service(
        SID, ServiceAttrs("rr"), (Dest(DestId(IP("198.51.100.1"), 80), 1, Forwarding(LbKind.TUN)),)
    )
    assert any("lb_kind TUN" in d.message for d in check_service(svc))


def _persistent(weights: list[int], timeout_s: int = 50, scheduler: str = "wrr") -> Service:
    attrs = ServiceAttrs(scheduler, flags=1, timeout_s=timeout_s, netmask=int(IP("255.255.255.0")))
    return Service(SID, attrs, tuple(_dest(11 + i, w) for i, w in enumerate(weights)))


def test_persistence_uses_a_timed_client_set_per_destination() -> None:
    r = NftRenderer("t")
    lines = r.transition(LvsState(), LvsState.of([_persistent([2, 1])]))
    assert (
        "add set inet t s1p1 { type ipv4_addr; flags dynamic,timeout; timeout 50s; "
        "size 262144; }" in lines
    )
    assert "add rule inet t s1d1 update @s1p1 { ip saddr & 255.255.255.0 timeout 50s }" in lines
    assert "add rule inet t s1d1 meta l4proto tcp dnat ip to 198.51.100.11:8080" in lines
    rules = [line for line in lines if line.startswith("add rule inet t s1 ")]
    assert rules == [
        "add rule inet t s1 ip saddr & 255.255.255.0 @s1p1 goto s1d1",
        "add rule inet t s1 ip saddr & 255.255.255.0 @s1p2 goto s1d2",
        "add rule inet t s1 numgen random mod 3 vmap { 0-1 : goto s1d1, 2 : goto s1d2 }",
    ]


def test_persistent_weight_change_keeps_the_client_sets_of_remaining_servers() -> None:
    r = NftRenderer("t")
    old = _persistent([1, 1])
    r.transition(LvsState(), LvsState.of([old]))
    new = _persistent([3, 0])
    lines = r.transition(LvsState.of([old]), LvsState.of([new]))
    assert lines[0] == "flush chain inet t s1"
    assert "delete set inet t s1p2" in lines  # weight 0: its clients are scheduled afresh
    assert not any(
        line.endswith(("set inet t s1p1", "}")) and " set inet t s1p1" in line for line in lines
    )
    assert lines[-1] == "add rule inet t s1 numgen random mod 1 vmap { 0 : goto s1d1 }"
    # back to non-persistent: every destination chain and set goes
    plain = Service(SID, ServiceAttrs("wrr"), new.dests)
    lines = r.transition(LvsState.of([new]), LvsState.of([plain]))
    assert "delete set inet t s1p1" in lines
    assert lines[-1].startswith("add rule inet t s1 meta l4proto tcp dnat ip addr . port to")
    gone = r.transition(LvsState.of([plain]), LvsState())
    assert "delete chain inet t s1" in gone


def test_sh_persistence_hashes_the_first_choice() -> None:
    r = NftRenderer("t")
    lines = r.transition(LvsState(), LvsState.of([_persistent([1, 1], scheduler="sh")]))
    assert any("jhash ip saddr & 255.255.255.0 mod 2" in line for line in lines)


def test_fwmark_services_are_masqueraded_by_their_mark() -> None:
    assert "meta mark @fwmk4 ct status dnat masquerade" in skeleton("t", masquerade=True)
    fwm = Service(ServiceId.for_fwmark(5), ServiceAttrs("rr"), (_dest(11, 1, 0),))
    r = NftRenderer("t", masquerade=True)
    assert "add element inet t fwmk4 { 5 }" in r.transition(LvsState(), LvsState.of([fwm]))
    assert "delete element inet t fwmk4 { 5 }" in r.transition(LvsState.of([fwm]), LvsState())
