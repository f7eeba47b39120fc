"""Logging as keepalived does it: syslog by default (ident ``Keepalived_vrrp`` etc.), the
console with ``-l``, more detail with ``-D``; JSON lines on the console with ``--log-json``."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from typing import Any

FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON,
    "user": logging.handlers.SysLogHandler.LOG_USER,
    **{f"local{i}": logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
    **{str(i): logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, message, and any extras."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": record.processName,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, separators=(",", ":"))


def setup_logging(
    *,
    ident: str,
    console: bool,
    detail: bool,
    syslog: bool,
    facility: str = "daemon",
    json_lines: bool = False,
    log_file: str | None = None,
) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if detail else logging.INFO)
    # -D is about keepalived's own detail; pyroute2's DEBUG output dumps every netlink message
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
    text = logging.Formatter(
        f"%(asctime)s {ident}[%(process)d]: %(message)s", "%a %b %d %H:%M:%S %Y"
    )
    if console:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(JsonLineFormatter() if json_lines else text)
        root.addHandler(console_handler)
    if log_file:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(text)
        root.addHandler(file_handler)
    if syslog and os.path.exists("/dev/log"):
        sys_handler = logging.handlers.SysLogHandler(
            address="/dev/log", facility=FACILITIES.get(facility, FACILITIES["daemon"])
        )
        sys_handler.setFormatter(logging.Formatter(f"{ident}[%(process)d]: %(message)s"))
        root.addHandler(sys_handler)
    if not root.handlers:
        root.addHandler(logging.NullHandler())
