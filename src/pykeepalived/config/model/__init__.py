"""The typed, frozen model of a whole keepalived.conf.

Each subsystem owns its part: `global_defs` (model.global_defs), VRRP (model.vrrp) and LVS with
its checkers (model.lvs, model.checkers). Source locations are kept on the objects but never
compared, so two configs are equal when they mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pykeepalived.config.model.global_defs import GlobalDefs
from pykeepalived.config.model.lvs import LvsConfig
from pykeepalived.config.model.vrrp import VrrpConfig


@dataclass(frozen=True, slots=True)
class Config:
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    vrrp: VrrpConfig = field(default_factory=VrrpConfig)
    lvs: LvsConfig = field(default_factory=LvsConfig)
    files: tuple[str, ...] = field(default=(), compare=False)


__all__ = ["Config", "GlobalDefs", "LvsConfig", "VrrpConfig"]
