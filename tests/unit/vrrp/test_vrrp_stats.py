"""DropReason -> keepalived counter mapping, and VrrpStats bookkeeping."""

from __future__ import annotations

import dataclasses

import pytest

from pykeepalived.vrrp.stats import Disposition, DropReason, VrrpStats

pytestmark = pytest.mark.unit

KEEPALIVED_COUNTERS = [
    # keepalived's vrrp_stats (vrrp.h) in declaration order; the last three are RFC 2787's.
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
    "chk_err",
    "vers_err",
    "vrid_err",
]


def test_counter_names_and_order() -> None:
    assert [f.name for f in dataclasses.fields(VrrpStats)] == KEEPALIVED_COUNTERS
    assert list(VrrpStats().as_dict()) == KEEPALIVED_COUNTERS
    assert all(v == 0 for v in VrrpStats().as_dict().values())


@pytest.mark.parametrize(
    ("reason", "counter"),
    [
        (DropReason.PACKET_LEN_ERR, "packet_len_err"),
        (DropReason.IP_TOT_LEN_ERR, "packet_len_err"),
        (DropReason.IP_TTL_ERR, "ip_ttl_err"),
        (DropReason.UNICAST_TTL_ERR, "ip_ttl_err"),
        (DropReason.VERS_ERR, "vers_err"),
        (DropReason.INVALID_TYPE_RCVD, "invalid_type_rcvd"),
        (DropReason.INVALID_AUTHTYPE, "invalid_authtype"),
        (DropReason.AUTHTYPE_MISMATCH, "authtype_mismatch"),
        (DropReason.AH_PRESENCE_MISMATCH, "authtype_mismatch"),
        (DropReason.AUTH_FAILURE, "auth_failure"),
        (DropReason.ADVERT_INTERVAL_ERR, "advert_interval_err"),
        (DropReason.CHK_ERR, "chk_err"),
        (DropReason.VRID_ERR, "vrid_err"),
        (DropReason.ADDR_COUNT_ERR, "addr_list_err"),
        (DropReason.ADDR_LIST_ERR, "addr_list_err"),
        (DropReason.DEST_TYPE_ERR, "addr_list_err"),
        (DropReason.IP_HDR_ERR, None),
        (DropReason.AH_NOT_VRRP, None),
        (DropReason.UNICAST_SRC_ERR, None),
    ],
)
def test_count_drop(reason: DropReason, counter: str | None) -> None:
    assert reason.counter == counter
    stats = VrrpStats()
    stats.count_drop(reason)
    stats.count_drop(reason)
    changed = {k: v for k, v in stats.as_dict().items() if v}
    assert changed == ({counter: 2} if counter else {})


def test_every_reason_has_a_mapping() -> None:
    counters = set(KEEPALIVED_COUNTERS)
    for reason in DropReason:
        assert reason.counter is None or reason.counter in counters
        assert isinstance(reason.disposition, Disposition)


def test_dispositions() -> None:
    ignored = {r for r in DropReason if r.disposition is Disposition.IGNORED}
    assert ignored == {DropReason.AH_NOT_VRRP, DropReason.ADVERT_INTERVAL_ERR, DropReason.VRID_ERR}


def test_record_received_accepted() -> None:
    stats = VrrpStats()
    stats.record_received(None, 100)
    stats.record_received(None, 0)
    assert (stats.advert_rcvd, stats.pri_zero_rcvd) == (2, 1)


def test_record_received_refused_before_counting() -> None:
    stats = VrrpStats()
    stats.record_received(DropReason.CHK_ERR, 0)
    assert (stats.advert_rcvd, stats.pri_zero_rcvd, stats.chk_err) == (0, 0, 1)


@pytest.mark.parametrize(
    "reason",
    [DropReason.ADDR_LIST_ERR, DropReason.UNICAST_SRC_ERR, DropReason.UNICAST_TTL_ERR],
)
def test_record_received_refused_after_counting(reason: DropReason) -> None:
    stats = VrrpStats()
    stats.record_received(reason, 0)
    assert stats.advert_rcvd == 1
    assert stats.pri_zero_rcvd == 0
    assert reason.counts_as_received
