from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pykeepalived.notify import fifo

pytestmark = pytest.mark.unit


def test_lines_are_byte_identical_to_keepalived() -> None:
    assert fifo.instance_line("VI_1", "MASTER", 100) == b'INSTANCE "VI_1" MASTER 100\n'
    assert fifo.group_line("G1", "BACKUP") == b'GROUP "G1" BACKUP 0\n'
    vs = fifo.service_text("192.0.2.15", "TCP", 80)
    assert vs == "[192.0.2.15]:tcp:80"
    assert fifo.vs_line(vs, True) == b"VS [192.0.2.15]:tcp:80 UP\n"
    rs = fifo.service_text("2001:db8::4", "udp", 53)
    assert fifo.rs_line(rs, vs, False) == b"RS [2001:db8::4]:udp:53 [192.0.2.15]:tcp:80 DOWN\n"


def test_fifo_is_created_and_lines_reach_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    with fifo.NotifyFifo(path) as out:
        assert stat.S_ISFIFO(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) & 0o777 == 0o644 & ~_umask()
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            assert out.write(fifo.instance_line("VI_1", "BACKUP", 90))
            assert out.write(fifo.group_line("G", "MASTER"))
            data = os.read(reader, 4096)
        finally:
            os.close(reader)
    assert data == b'INSTANCE "VI_1" BACKUP 90\nGROUP "G" MASTER 0\n'
    assert out.lines_written == 2


def test_full_fifo_drops_lines_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "full.fifo"
    line = fifo.instance_line("VI_" + "x" * 200, "MASTER", 100)
    with fifo.NotifyFifo(path) as out:
        results = [out.write(line) for _ in range(2000)]  # far beyond the 64 KiB pipe buffer
    assert results[0]
    assert not all(results)
    assert out.lines_dropped == results.count(False)


def test_existing_regular_file_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("x")
    out = fifo.NotifyFifo(path)
    out.open()
    assert not out.write(b'INSTANCE "VI" MASTER 1\n')
    out.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
