"""The arguments keepalived appends to generic ``notify`` scripts (vrrp_notify.c).

``notify "CMD"`` of an instance gets ``INSTANCE <name> <STATE> <priority>``; of a sync group
``GROUP <name> <STATE> 0``. State-specific scripts (notify_master, ...) get nothing extra.
"""

from __future__ import annotations


def instance_notify_args(name: str, state: str, priority: int) -> tuple[str, str, str, str]:
    return ("INSTANCE", name, state, str(priority))


def group_notify_args(name: str, state: str) -> tuple[str, str, str, str]:
    return ("GROUP", name, state, "0")
