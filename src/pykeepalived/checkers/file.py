"""FILE_CHECK: the real server follows a number written in a ``track_file``.

With weight 0 a non-zero value means down (``reverse``: zero means down). Otherwise
``value * weight`` (negated with ``reverse``) is added to the real server's weight; a result at
or below `WEIGHT_FAULT` means down. A missing file reads as 0. The value is read like
keepalived's ``strtol(buf, NULL, 0)``: leading blanks, a sign, ``0x`` hex, ``0`` octal.
"""

from __future__ import annotations

import os
import re

from pykeepalived.checkers.quorum import IPVS_WEIGHT_MAX
from pykeepalived.config.model.checkers import FileCheck
from pykeepalived.config.model.vrrp import TrackFile

WEIGHT_FAULT = -IPVS_WEIGHT_MAX - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_NUMBER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def parse_value(text: str) -> int | None:
    """keepalived's reading of the file: ``strtol(text, NULL, 0)``; None if out of range."""
    match = _NUMBER.match(text)
    if match is None:
        return 0
    sign, digits = match.groups()
    if digits[:2].lower() == "0x":
        value = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    if value < INT32_MIN or value > INT32_MAX + 1:
        return None
    return value


def read_value(path: str) -> int | None:
    """The file's value (0 when it is missing or empty; None when unreadable as a number)."""
    try:
        with open(path, "rb") as f:
            data = f.read(127)
    except OSError:
        return 0
    if not data:
        return 0
    return parse_value(data.decode("latin-1"))


def contribution(value: int, weight: int, *, reverse: bool) -> int | None:
    """What the value adds to the real server's weight; None = FAULT (down)."""
    if weight == 0:
        down = (value == 0) if reverse else (value != 0)
        return None if down else 0
    status = value * weight * (-1 if reverse else 1)
    status = max(WEIGHT_FAULT, min(status, IPVS_WEIGHT_MAX))
    return None if status <= WEIGHT_FAULT else status


class FileWatch:
    """Polls a track file and reports its contribution when it changes."""

    def __init__(self, check: FileCheck, track_file: TrackFile) -> None:
        self.check = check
        self.path = track_file.path
        self.weight = check.weight if check.weight is not None else track_file.weight
        self.reverse = check.reverse if check.weight is not None else track_file.weight_reverse
        self._stamp: tuple[int, int, int] | None = None
        self.value = 0

    def changed(self) -> bool:
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp and stamp is not None:
            return False
        self._stamp = stamp
        return True

    def current(self) -> int | None:
        """Read the value now (keeping the old one if it is not a valid number)."""
        value = read_value(self.path)
        if value is not None:
            self.value = value
        return contribution(self.value, self.weight, reverse=self.reverse)
