"""Where a script is and whether it may run: PATH lookup, keepalived's security check, the
user to run it as.

No asyncio here: ``pykeepalived -t`` checks scripts while reading the config and should not pay
for importing what runs them (:mod:`pykeepalived.notify.scripts`).
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

__all__ = ["find_executable", "insecure_reason", "resolve_user"]


def resolve_user(user: str | None, group: str | None) -> tuple[int | None, int | None]:
    """uid/gid for ``user [[:]group]``; the user's primary group when no group is named.

    Raises KeyError for an unknown user or group (the caller reports a config error).
    """
    if user is None:
        return None, None
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group.lstrip(":")).gr_gid if group else pw.pw_gid
    return pw.pw_uid, gid


def find_executable(name: str) -> Path | None:
    """PATH lookup for a bare name, as execvp would (keepalived resolves at config time)."""
    if "/" in name:
        return Path(name)
    for directory in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        candidate = Path(directory or ".") / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def insecure_reason(path: Path, *, run_as_uid: int) -> str | None:
    """Why running ``path`` would be insecure (keepalived's check_script_secure), or None.

    A script run as root must not be writable by anyone but root, nor may any directory on
    its path (which would let another user replace it).
    """
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return f"{path} does not exist"
    if not os.access(resolved, os.X_OK):
        return f"{resolved} is not executable"
    if run_as_uid != 0:
        return None
    for part in (resolved, *resolved.parents):
        st = part.stat()
        if st.st_uid != 0:
            return f"{part} is owned by uid {st.st_uid}, not root"
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (
            part.is_dir() and st.st_mode & stat.S_ISVTX
        ):
            return f"{part} is writable by non-root users"
    return None
