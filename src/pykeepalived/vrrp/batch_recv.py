"""Many datagrams in one system call: ``recvmmsg(2)`` for the raw VRRP sockets.

A backup of 200 instances at advert_int 0.01 s reads 20,000 adverts a second. Read one
``recv()`` at a time, each costs a system call, a fresh 2 KiB buffer and, at the end of every
wake-up, a ``BlockingIOError`` raised and caught; :class:`BatchReceiver` reads up to ``capacity``
datagrams with one ``recvmmsg(MSG_DONTWAIT)`` into buffers allocated once, and hands each back
as ``bytes`` of its real length. Python's :mod:`socket` has no ``recvmmsg``, so the call goes
through :mod:`ctypes` (the layouts come from ``ctypes.Structure``, so the offsets are the
platform's); where the C library lacks it, :func:`batch_receiver_for` returns None and the
caller reads one datagram at a time.

For IPv6 each message also gets its source address (``msg_name``) and its ancillary data
(``msg_control``), decoded by :func:`parse_cmsgs` into the ``(level, type, data)`` triples
``socket.recvmsg()`` returns.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import struct

from pykeepalived.libc import LIBC, last_error

__all__ = [
    "SCM_TIMESTAMPNS",
    "TIMESTAMP_CMSG_SPACE",
    "BatchReceiver",
    "batch_receiver_for",
    "parse_cmsgs",
]

_SIZE_T = ctypes.sizeof(ctypes.c_size_t)
_CMSG_HEADER = struct.Struct(f"@{'Q' if _SIZE_T == 8 else 'I'}ii")
"""``struct cmsghdr``: cmsg_len (size_t), cmsg_level, cmsg_type."""
_SOCKADDR_STORAGE_LEN = 128
SCM_TIMESTAMPNS = 35
"""``SO_TIMESTAMPNS`` / ``SCM_TIMESTAMPNS`` (``asm-generic/socket.h``; Python does not name it)."""
_TIMESPEC = struct.Struct("@qq")
TIMESTAMP_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)
_CMSG_DATA_OFFSET = (_CMSG_HEADER.size + _SIZE_T - 1) & ~(_SIZE_T - 1)
"""Room the kernel's receive timestamp takes at the start of the control data."""


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_Iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


def _cmsg_align(length: int) -> int:
    return (length + _SIZE_T - 1) & ~(_SIZE_T - 1)


def parse_cmsgs(control: bytes) -> list[tuple[int, int, bytes]]:
    """The ancillary data of one message as ``(level, type, data)``, as ``recvmsg`` gives it.

    A header whose length does not fit what is left ends the list (the kernel cut the
    control area short: ``MSG_CTRUNC``).
    """
    out: list[tuple[int, int, bytes]] = []
    header_len = _cmsg_align(_CMSG_HEADER.size)
    offset = 0
    while offset + _CMSG_HEADER.size <= len(control):
        cmsg_len, level, ctype = _CMSG_HEADER.unpack_from(control, offset)
        if cmsg_len < _CMSG_HEADER.size or offset + cmsg_len > len(control):
            break
        out.append((level, ctype, bytes(control[offset + header_len : offset + cmsg_len])))
        offset += _cmsg_align(cmsg_len)
    return out


class BatchReceiver:
    """Reads up to ``capacity`` datagrams from ``fd`` per :meth:`receive`.

    The buffers live as long as the receiver: :meth:`payload`, :meth:`source` and
    :meth:`control` copy message ``i`` of the last :meth:`receive` out as ``bytes``.
    ``control_len`` 0 reads no ancillary data and ``with_source`` False no source address
    (IPv4 VRRP sockets need neither: the IP header comes with the payload).
    """

    def __init__(
        self, fd: int, *, capacity: int, buffer_len: int, control_len: int, with_source: bool
    ) -> None:
        if LIBC is None or not hasattr(LIBC, "recvmmsg"):
            raise OSError(errno.ENOSYS, "recvmmsg is not available")
        if capacity < 1 or buffer_len < 1:
            raise ValueError("capacity and buffer_len must be positive")
        self.fd = fd
        self.capacity = capacity
        self.buffer_len = buffer_len
        self._recvmmsg = LIBC.recvmmsg
        self._recvmmsg.restype = ctypes.c_int
        self._data = bytearray(capacity * buffer_len)
        self._data_view = memoryview(self._data)
        name_len = _SOCKADDR_STORAGE_LEN if with_source else 0
        self._name_len = name_len
        self._names = bytearray(max(1, capacity * name_len))
        self._name_view = memoryview(self._names)
        self._control_len = control_len
        self._controls = bytearray(max(1, capacity * control_len))
        self._control_view = memoryview(self._controls)
        self._iovecs = (_Iovec * capacity)()
        msg_size = ctypes.sizeof(_Mmsghdr)
        self._msg_bytes = bytearray(capacity * msg_size)
        self._msgs = (_Mmsghdr * capacity).from_buffer(self._msg_bytes)
        data_base = ctypes.addressof(ctypes.c_char.from_buffer(self._data))
        name_base = ctypes.addressof(ctypes.c_char.from_buffer(self._names))
        control_base = ctypes.addressof(ctypes.c_char.from_buffer(self._controls))
        for i in range(capacity):
            iov = self._iovecs[i]
            iov.iov_base = data_base + i * buffer_len
            iov.iov_len = buffer_len
            hdr = self._msgs[i].msg_hdr
            hdr.msg_iov = ctypes.pointer(iov)
            hdr.msg_iovlen = 1
            if name_len:
                hdr.msg_name = name_base + i * name_len
            if control_len:
                hdr.msg_control = control_base + i * control_len
        self._msgs_ref = ctypes.byref(self._msgs)
        # Fast per-message access to the fields the kernel writes, without ctypes attributes.
        hdr_offset = _Mmsghdr.msg_hdr.offset
        self._u32 = memoryview(self._msg_bytes).cast("I")
        self._size_t = memoryview(self._msg_bytes).cast("Q" if _SIZE_T == 8 else "I")
        self._len_index = [(i * msg_size + _Mmsghdr.msg_len.offset) // 4 for i in range(capacity)]
        self._flags_index = [
            (i * msg_size + hdr_offset + _Msghdr.msg_flags.offset) // 4 for i in range(capacity)
        ]
        self._namelen_index = [
            (i * msg_size + hdr_offset + _Msghdr.msg_namelen.offset) // 4 for i in range(capacity)
        ]
        self._controllen_index = [
            (i * msg_size + hdr_offset + _Msghdr.msg_controllen.offset) // _SIZE_T
            for i in range(capacity)
        ]
        self._used = capacity  # every entry's lengths need setting before the first call

    def receive(self, limit: int | None = None) -> int:
        """Read what is waiting, at most ``limit`` (default ``capacity``) datagrams.

        Returns how many were read, 0 when none was waiting. Raises :class:`OSError` for
        anything but "nothing to read" and an interrupted call.
        """
        count = self.capacity if limit is None else min(limit, self.capacity)
        self._reset(self._used)
        got = self._recvmmsg(self.fd, self._msgs_ref, count, socket.MSG_DONTWAIT, None)
        if got < 0:
            self._used = 0
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return 0
            raise last_error("recvmmsg")
        self._used = got
        return int(got)

    def _reset(self, used: int) -> None:
        """Give back the name and control room the kernel shrank in the last call."""
        if self._name_len:
            u32, name_len = self._u32, self._name_len
            for index in self._namelen_index[:used]:
                u32[index] = name_len
        if self._control_len:
            size_t, control_len = self._size_t, self._control_len
            for index in self._controllen_index[:used]:
                size_t[index] = control_len

    def payload(self, i: int) -> bytes:
        """The bytes of datagram ``i`` (its first ``buffer_len`` bytes if it was longer)."""
        start = i * self.buffer_len
        return self._data_view[start : start + self._u32[self._len_index[i]]].tobytes()

    def payloads(self, count: int) -> list[bytes]:
        """The bytes of datagrams ``0 .. count - 1`` (see :meth:`payload`)."""
        view, u32, size = self._data_view, self._u32, self.buffer_len
        return [
            view[i * size : i * size + u32[index]].tobytes()
            for i, index in enumerate(self._len_index[:count])
        ]

    def timestamp(self, i: int) -> float | None:
        """The kernel's receive time of datagram ``i`` (``SO_TIMESTAMPNS``, CLOCK_REALTIME
        seconds), None if its control data does not start with one (the kernel puts the
        socket-level timestamp before the protocol's ancillary data)."""
        start = i * self._control_len
        if self._size_t[self._controllen_index[i]] < TIMESTAMP_CMSG_SPACE:
            return None
        _len, level, ctype = _CMSG_HEADER.unpack_from(self._controls, start)
        if level != socket.SOL_SOCKET or ctype != SCM_TIMESTAMPNS:
            return None
        sec, nsec = _TIMESPEC.unpack_from(self._controls, start + _CMSG_DATA_OFFSET)
        return float(sec + nsec * 1e-9)

    def timestamps(self, count: int) -> list[float | None]:
        """:meth:`timestamp` of datagrams ``0 .. count - 1``."""
        return [self.timestamp(i) for i in range(count)]

    def flags(self, i: int) -> int:
        """``msg_flags`` of datagram ``i`` (``MSG_TRUNC``, ``MSG_CTRUNC``)."""
        return int(self._u32[self._flags_index[i]])

    def source(self, i: int) -> bytes:
        """The raw ``sockaddr`` of datagram ``i``'s sender (empty without ``with_source``)."""
        start = i * self._name_len
        return self._name_view[start : start + self._u32[self._namelen_index[i]]].tobytes()

    def control(self, i: int) -> bytes:
        """The raw ancillary data of datagram ``i`` (see :func:`parse_cmsgs`)."""
        start = i * self._control_len
        length = self._size_t[self._controllen_index[i]]
        return self._control_view[start : start + length].tobytes()


def batch_receiver_for(
    sock: socket.socket, *, capacity: int, buffer_len: int, control_len: int, with_source: bool
) -> BatchReceiver | None:
    """A :class:`BatchReceiver` on ``sock``'s descriptor, or None where ``recvmmsg`` is missing."""
    try:
        return BatchReceiver(
            sock.fileno(),
            capacity=capacity,
            buffer_len=buffer_len,
            control_len=control_len,
            with_source=with_source,
        )
    except OSError:
        return None
