"""recvmmsg(2) through ctypes (:mod:`pykeepalived.vrrp.batch_recv`) on AF_UNIX datagram sockets.

``SO_PASSCRED`` makes the kernel attach an ``SCM_CREDENTIALS`` cmsg to every message, so the
ancillary data :class:`BatchReceiver` reads can be compared with what ``socket.recvmsg`` gives
for the same kind of message; abstract-namespace names of different lengths give sources of
different lengths.
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from pykeepalived.vrrp import batch_recv
from pykeepalived.vrrp.batch_recv import (
    SCM_TIMESTAMPNS,
    TIMESTAMP_CMSG_SPACE,
    BatchReceiver,
    batch_receiver_for,
    parse_cmsgs,
)

pytestmark = pytest.mark.unit

_UCRED = struct.Struct("@iII")
"""``struct ucred``: pid, uid, gid."""
_names = itertools.count()


def _abstract(tag: str) -> bytes:
    """A fresh abstract-namespace address (no file, gone with the socket)."""
    return f"\0pyka-test-{os.getpid()}-{next(_names)}-{tag}".encode()


def _sockaddr_un(name: bytes) -> bytes:
    """The raw ``sockaddr_un`` the kernel writes for ``name`` (no trailing NUL)."""
    return struct.pack("@H", socket.AF_UNIX) + name


def _own_creds() -> bytes:
    return _UCRED.pack(os.getpid(), os.getuid(), os.getgid())


class Endpoints:
    """A receiver bound to an abstract name, and senders bound to names of their own."""

    def __init__(self) -> None:
        self.receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.address = _abstract("rx")
        self.receiver.bind(self.address)
        self.receiver.setblocking(False)
        self.senders: list[tuple[socket.socket, bytes]] = []

    def sender(self, tag: str) -> tuple[socket.socket, bytes]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        name = _abstract(tag)
        sock.bind(name)
        self.senders.append((sock, name))
        return sock, name

    def close(self) -> None:
        self.receiver.close()
        for sock, _ in self.senders:
            sock.close()


@pytest.fixture
def ends() -> Iterator[Endpoints]:
    e = Endpoints()
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _receiver(
    sock: socket.socket,
    *,
    capacity: int = 8,
    buffer_len: int = 64,
    control_len: int = 0,
    with_source: bool = False,
) -> BatchReceiver:
    return BatchReceiver(
        sock.fileno(),
        capacity=capacity,
        buffer_len=buffer_len,
        control_len=control_len,
        with_source=with_source,
    )


# ---- counts and payloads ---------------------------------------------------------------------


def test_nothing_waiting_reads_zero(pair: tuple[socket.socket, socket.socket]) -> None:
    _, rx = pair
    batch = _receiver(rx)
    assert batch.receive() == 0
    assert batch.receive(3) == 0


def test_capacity_and_limit_bound_each_call(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    for n in range(10):
        tx.send(bytes([n]) * (n + 1))
    batch = _receiver(rx, capacity=4)
    got: list[bytes] = []
    assert batch.receive() == 4  # capacity
    got += [batch.payload(i) for i in range(4)]
    assert batch.receive(2) == 2  # limit below capacity
    got += [batch.payload(i) for i in range(2)]
    assert batch.receive(100) == 4  # limit above capacity: capacity
    got += [batch.payload(i) for i in range(4)]
    assert batch.receive() == 0
    # every datagram once, in order, with its exact length
    assert got == [bytes([n]) * (n + 1) for n in range(10)]


def test_payload_lengths_are_exact(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    sizes = [0, 1, 63, 64, 7, 0, 33]
    sent = [os.urandom(size) for size in sizes]
    for data in sent:
        tx.send(data)
    batch = _receiver(rx, capacity=16, buffer_len=64)
    assert batch.receive() == len(sent)
    assert [batch.payload(i) for i in range(len(sent))] == sent
    assert batch.payloads(len(sent)) == sent
    assert batch.payloads(3) == sent[:3]
    assert all(not batch.flags(i) & socket.MSG_TRUNC for i in range(len(sent)))


def test_long_datagram_is_cut_and_flagged_msg_trunc(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    tx, rx = pair
    long = os.urandom(100)
    tx.send(long)
    tx.send(b"short")
    batch = _receiver(rx, buffer_len=32)
    assert batch.receive() == 2
    assert batch.payload(0) == long[:32]
    assert batch.flags(0) & socket.MSG_TRUNC
    assert batch.payload(1) == b"short"
    assert not batch.flags(1) & socket.MSG_TRUNC
    assert batch.payloads(2) == [long[:32], b"short"]
    # the flags of the next call are the next message's own
    tx.send(b"fits")
    assert batch.receive() == 1
    assert batch.payload(0) == b"fits" and not batch.flags(0) & socket.MSG_TRUNC


def test_short_after_long_and_long_after_short_in_later_calls(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    tx, rx = pair
    batch = _receiver(rx, capacity=2, buffer_len=256)
    for data in (b"L" * 200, b"s", b"", b"M" * 255, b"t" * 3):
        tx.send(data)
        tx.send(data[::-1] + b"!")
        assert batch.receive() == 2
        assert batch.payload(0) == data
        assert batch.payload(1) == data[::-1] + b"!"
        assert batch.payloads(2) == [data, data[::-1] + b"!"]


# ---- sources ---------------------------------------------------------------------------------


def test_sources_are_the_raw_sockaddr_and_reset_between_calls(ends: Endpoints) -> None:
    batch = _receiver(ends.receiver, capacity=3, with_source=True)
    short_sock, short_name = ends.sender("s")
    long_sock, long_name = ends.sender("a-much-longer-name-" + "x" * 40)
    assert len(long_name) > len(short_name) + 40
    # long, then short at the same index in the next call, then long again
    for sock, name in ((long_sock, long_name), (short_sock, short_name), (long_sock, long_name)):
        sock.sendto(name[-4:], ends.address)
        assert batch.receive() == 1
        assert batch.source(0) == _sockaddr_un(name)
        assert batch.payload(0) == name[-4:]
    # several senders in one call
    for sock in (short_sock, long_sock, short_sock):
        sock.sendto(b"x", ends.address)
    assert batch.receive() == 3
    assert [batch.source(i) for i in range(3)] == [
        _sockaddr_un(short_name),
        _sockaddr_un(long_name),
        _sockaddr_un(short_name),
    ]
    # recvfrom agrees on who sent
    long_sock.sendto(b"y", ends.address)
    assert ends.receiver.recvfrom(8) == (b"y", long_name)


def test_no_source_without_with_source(ends: Endpoints) -> None:
    sock, _ = ends.sender("anon")
    sock.sendto(b"hi", ends.address)
    batch = _receiver(ends.receiver, with_source=False)
    assert batch.receive() == 1
    assert batch.source(0) == b""
    assert batch.payload(0) == b"hi"


def test_unnamed_sender_has_an_empty_source(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    batch = _receiver(rx, with_source=True)
    tx.send(b"a")
    assert batch.receive() == 1
    assert batch.source(0) == b""


# ---- ancillary data --------------------------------------------------------------------------

_CREDS_SPACE = socket.CMSG_SPACE(_UCRED.size)
_RIGHTS_SPACE = socket.CMSG_SPACE(struct.calcsize("@i"))


def _passcred(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)


def test_credentials_cmsg_matches_recvmsg(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    _passcred(rx)
    tx.send(b"one")
    one, expected_anc, expected_flags, _ = rx.recvmsg(64, 256)
    assert one == b"one"
    assert expected_anc == [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, _own_creds())]
    batch = _receiver(rx, control_len=256)
    for data in (b"two", b"three"):
        tx.send(data)
    assert batch.receive() == 2
    for i, data in enumerate((b"two", b"three")):
        assert batch.payload(i) == data
        assert parse_cmsgs(batch.control(i)) == expected_anc
        assert batch.flags(i) == expected_flags == 0
        assert len(batch.control(i)) == _CREDS_SPACE


def test_several_cmsgs_match_recvmsg(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    _passcred(rx)
    with open(os.devnull, "rb") as passed:
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("@i", passed.fileno()))]
        tx.sendmsg([b"fd"], rights)
        tx.sendmsg([b"fd"], rights)
        want_ino = os.fstat(passed.fileno()).st_ino
    _, anc, flags, _ = rx.recvmsg(64, 256)
    batch = _receiver(rx, control_len=256)
    assert batch.receive() == 1
    got = parse_cmsgs(batch.control(0))
    assert flags == batch.flags(0) == 0
    received_fds = [
        struct.unpack("@i", data)[0]
        for items in (anc, got)
        for level, ctype, data in items
        if (level, ctype) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
    ]
    try:
        assert len(received_fds) == 2
        assert all(os.fstat(fd).st_ino == want_ino for fd in received_fds)
        # the same cmsgs in the same order; only the (per-call) descriptor numbers differ
        assert [(lvl, typ, len(data)) for lvl, typ, data in got] == [
            (lvl, typ, len(data)) for lvl, typ, data in anc
        ]
        assert (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, _own_creds()) in got
        assert len(got) == 2
    finally:
        for fd in received_fds:
            os.close(fd)


def test_control_room_is_given_back_between_calls(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A short control area (credentials) and then a longer one (credentials + a descriptor) at
    the same index: the second must not be cut to the first one's length."""
    tx, rx = pair
    _passcred(rx)
    batch = _receiver(rx, capacity=2, control_len=_CREDS_SPACE + _RIGHTS_SPACE)
    with open(os.devnull, "rb") as passed:
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("@i", passed.fileno()))]
        for _ in range(3):
            tx.send(b"plain")
            assert batch.receive() == 1
            assert len(batch.control(0)) == _CREDS_SPACE
            assert parse_cmsgs(batch.control(0)) == [
                (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, _own_creds())
            ]
            tx.sendmsg([b"with fd"], rights)
            tx.send(b"plain")
            assert batch.receive() == 2
            assert not batch.flags(0) & socket.MSG_CTRUNC
            got = parse_cmsgs(batch.control(0))
            fds = [struct.unpack("@i", d)[0] for _, t, d in got if t == socket.SCM_RIGHTS]
            try:
                assert len(got) == 2 and len(fds) == 1
                assert len(batch.control(0)) == _CREDS_SPACE + _RIGHTS_SPACE
            finally:
                for fd in fds:
                    os.close(fd)
            assert len(batch.control(1)) == _CREDS_SPACE
            assert not batch.flags(1) & socket.MSG_CTRUNC


@pytest.mark.parametrize("room", [16, 20, socket.CMSG_LEN(_UCRED.size) - 1])
def test_control_area_too_small_is_flagged_and_parsed_as_recvmsg(
    pair: tuple[socket.socket, socket.socket], room: int
) -> None:
    tx, rx = pair
    _passcred(rx)
    tx.send(b"a")
    _, anc, flags, _ = rx.recvmsg(8, room)
    batch = _receiver(rx, control_len=room)
    tx.send(b"b")
    assert batch.receive() == 1
    assert batch.flags(0) == flags
    assert flags & socket.MSG_CTRUNC
    assert parse_cmsgs(batch.control(0)) == anc


def test_no_control_room_reads_no_control(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    _passcred(rx)
    tx.send(b"a")
    batch = _receiver(rx, control_len=0)
    assert batch.receive() == 1
    assert batch.control(0) == b""
    assert parse_cmsgs(batch.control(0)) == []
    assert batch.payload(0) == b"a"


# ---- parse_cmsgs on hand-built bytes --------------------------------------------------------

_HDR = struct.Struct("@Nii")


def _cmsg(
    level: int, ctype: int, data: bytes, *, pad: bool = True, length: int | None = None
) -> bytes:
    cmsg_len = socket.CMSG_LEN(len(data)) if length is None else length
    raw = _HDR.pack(cmsg_len, level, ctype) + data
    if pad:
        raw += bytes(socket.CMSG_SPACE(len(data)) - socket.CMSG_LEN(len(data)))
    return raw


def test_parse_hand_built_cmsgs() -> None:
    assert parse_cmsgs(b"") == []
    one = _cmsg(41, 8, struct.pack("@i", 255))
    assert parse_cmsgs(one) == [(41, 8, struct.pack("@i", 255))]
    # odd data lengths are padded between cmsgs; the last one may come unpadded
    data5, data20 = b"12345", bytes(range(20))
    built = _cmsg(1, 2, data5) + _cmsg(41, 50, data20) + _cmsg(0, 7, b"xyz", pad=False)
    assert parse_cmsgs(built) == [(1, 2, data5), (41, 50, data20), (0, 7, b"xyz")]
    assert parse_cmsgs(_cmsg(1, 1, b"")) == [(1, 1, b"")]


def test_parse_cut_short_control() -> None:
    good = _cmsg(41, 8, struct.pack("@i", 64))
    second = _cmsg(41, 50, bytes(20))
    whole = good + second
    # fewer bytes than a header after the first cmsg: the first one only
    for cut in range(len(good), len(good) + _HDR.size):
        assert parse_cmsgs(whole[:cut]) == [(41, 8, struct.pack("@i", 64))]
    # a header whose length runs past the end: ends the list
    for cut in range(len(good) + _HDR.size, len(good) + socket.CMSG_LEN(20)):
        assert parse_cmsgs(whole[:cut]) == [(41, 8, struct.pack("@i", 64))]
    assert parse_cmsgs(whole[: len(good) + socket.CMSG_LEN(20)]) == [
        (41, 8, struct.pack("@i", 64)),
        (41, 50, bytes(20)),
    ]
    # less than one header
    assert parse_cmsgs(good[: _HDR.size - 1]) == []


@pytest.mark.parametrize("bad_len", [0, 1, _HDR.size - 1])
def test_parse_stops_at_a_length_shorter_than_its_header(bad_len: int) -> None:
    """A nonsense cmsg_len must end the list, not loop forever or read garbage."""
    first = _cmsg(1, 2, b"abcd")
    bogus = _cmsg(41, 8, bytes(8), length=bad_len)
    assert parse_cmsgs(first + bogus + _cmsg(1, 2, b"efgh")) == [(1, 2, b"abcd")]


# ---- construction and errors -----------------------------------------------------------------


@pytest.mark.parametrize(("capacity", "buffer_len"), [(0, 64), (4, 0), (-1, 64)])
def test_rejects_empty_sizes(
    pair: tuple[socket.socket, socket.socket], capacity: int, buffer_len: int
) -> None:
    _, rx = pair
    with pytest.raises(ValueError):
        _receiver(rx, capacity=capacity, buffer_len=buffer_len)


def test_read_error_other_than_would_block_raises() -> None:
    read_fd, write_fd = os.pipe()
    try:
        batch = BatchReceiver(read_fd, capacity=2, buffer_len=16, control_len=0, with_source=False)
        with pytest.raises(OSError) as info:
            batch.receive()
        assert info.value.errno == errno.ENOTSOCK
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_batch_receiver_for_reads_the_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    tx, rx = pair
    batch = batch_receiver_for(rx, capacity=2, buffer_len=16, control_len=0, with_source=False)
    assert batch is not None and batch.fd == rx.fileno()
    tx.send(b"via helper")
    assert batch.receive() == 1 and batch.payload(0) == b"via helper"


def test_without_recvmmsg_there_is_no_receiver(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, rx = pair
    monkeypatch.setattr(batch_recv, "LIBC", None)
    assert (
        batch_receiver_for(rx, capacity=2, buffer_len=16, control_len=0, with_source=False) is None
    )
    with pytest.raises(OSError) as info:
        _receiver(rx)
    assert info.value.errno == errno.ENOSYS


def test_kernel_receive_timestamps_are_read_per_datagram(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = pair
    receiver.setsockopt(socket.SOL_SOCKET, SCM_TIMESTAMPNS, 1)
    batch = BatchReceiver(
        receiver.fileno(),
        capacity=8,
        buffer_len=64,
        control_len=TIMESTAMP_CMSG_SPACE,
        with_source=False,
    )
    before = time.time()
    for n in range(3):
        sender.send(bytes([n]))
        time.sleep(0.01)
    after = time.time()
    assert batch.receive() == 3
    stamps = [s for s in batch.timestamps(3) if s is not None]
    assert len(stamps) == 3 and all(before <= s <= after for s in stamps), (before, after)
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] >= 0.015  # sent 10 ms apart
    receiver.setsockopt(socket.SOL_SOCKET, SCM_TIMESTAMPNS, 0)
    sender.send(b"x")
    assert batch.receive() == 1 and batch.timestamp(0) is None
