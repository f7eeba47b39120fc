"""The VRRP subsystem: every VRRP-side root keyword of keepalived.conf, its end-of-config
checks (`vrrp_complete`) and its rendering (`vrrp_render`).

Root keywords: ``vrrp_instance``, ``vrrp_sync_group``, ``vrrp_script``, ``track_file``
(``vrrp_track_file``), ``vrrp_track_process``, ``bfd_instance``, ``track_group``, ``garp_group``,
``linkbeat_interfaces``, ``interface_up_down_delays``, ``static_ipaddress``, ``static_routes``,
``static_rules``.
"""

from __future__ import annotations

from typing import Any

from pykeepalived.config.keywords.base import (
    Fields,
    Keyword,
    KeywordTable,
    ParseContext,
    Subsystem,
)
from pykeepalived.config.keywords.vrrp_common import vrrp_state
from pykeepalived.config.keywords.vrrp_complete import complete
from pykeepalived.config.keywords.vrrp_groups import (
    garp_group_handler,
    linkbeat_interfaces_handler,
    static_addresses_handler,
    static_routes_handler,
    static_rules_handler,
    sync_group_handler,
    track_group_handler,
    up_down_delays_handler,
)
from pykeepalived.config.keywords.vrrp_instance import vrrp_instance_handler
from pykeepalived.config.keywords.vrrp_render import render as render_vrrp
from pykeepalived.config.keywords.vrrp_track import (
    bfd_instance_handler,
    track_file_handler,
    track_process_handler,
    vrrp_script_handler,
)
from pykeepalived.config.model.vrrp import VrrpConfig

ROOT_KEYWORDS = KeywordTable(
    "root (vrrp)",
    [
        Keyword("track_group", track_group_handler),
        Keyword("static_ipaddress", static_addresses_handler),
        Keyword("static_routes", static_routes_handler),
        Keyword("static_rules", static_rules_handler),
        Keyword("vrrp_sync_group", sync_group_handler),
        Keyword("garp_group", garp_group_handler),
        Keyword("linkbeat_interfaces", linkbeat_interfaces_handler),
        Keyword("vrrp_instance", vrrp_instance_handler),
        Keyword("vrrp_script", vrrp_script_handler),
        Keyword("vrrp_track_process", track_process_handler),
        Keyword("interface_up_down_delays", up_down_delays_handler),
        Keyword("track_file", track_file_handler),
        Keyword("vrrp_track_file", track_file_handler),
        Keyword("bfd_instance", bfd_instance_handler),
    ],
)


def finish(fields: Fields, ctx: ParseContext) -> VrrpConfig:
    """keepalived's end-of-config VRRP checks; the resolved model."""
    return complete(vrrp_state(fields), ctx)


def render(config: Any) -> list[str]:
    """The VRRP blocks of ``config`` (a `VrrpConfig`) as keepalived.conf lines."""
    if not isinstance(config, VrrpConfig):
        raise TypeError(f"expected VrrpConfig, got {type(config).__name__}")
    return render_vrrp(config)


SUBSYSTEM = Subsystem(name="vrrp", root_keywords=ROOT_KEYWORDS, finish=finish, render=render)
