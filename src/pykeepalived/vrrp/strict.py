"""The nftables rules keepalived installs for ``no_accept`` (and strict mode without ``accept``).

While an instance without Accept_Mode is MASTER, traffic to and from its VIPs is dropped
(RFC 5798 §6.4.3: a non-owner master does not accept packets for the VIPs). keepalived 2.2.7
(``vrrp_nftables.c``, seen with ``nft list ruleset`` in a namespace) keeps, in its own tables
``ip keepalived`` and ``ip6 keepalived`` (name from the global ``nftables`` keyword, hook
priority ``nftables_priority``, default -1):

* IPv4: set ``vips`` (ipv4_addr); chain ``in`` (input) ``ip daddr @vips drop``; chain ``out``
  (output) ``ip saddr @vips drop``;
* IPv6: set ``vips`` (ipv6_addr), a constant set ``neighbor-discovery`` (NS, NA) accepted first,
  link-local VIPs in ``vips_link_local`` (address . interface) matched in ``in_link_local`` /
  ``out_link_local``;

and adds a VIP to the set on becoming MASTER, removes it on leaving MASTER, and deletes the
tables at exit. (The IGMP ``dup`` rule keepalived adds for VMACs is not reproduced.)

:func:`render_tables` / :func:`render_elements` are pure (nft script text);
:class:`NftFirewall` runs ``nft -f -``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

__all__ = ["DEFAULT_TABLE", "NftFirewall", "VipEntry", "render_elements", "render_tables"]

log = logging.getLogger(__name__)

DEFAULT_TABLE = "keepalived"
NFT_TIMEOUT_S = 5.0

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True)
class VipEntry:
    """One VIP to drop: the address and, for IPv6 link-local, its interface."""

    address: IPAddress
    dev: str

    @property
    def link_local(self) -> bool:
        return isinstance(self.address, IPv6Address) and self.address.is_link_local


def render_tables(family: int, table: str = DEFAULT_TABLE, priority: int = -1) -> str:
    """The nft script creating the table for ``family`` (4 or 6)."""
    if family == 4:
        return "\n".join(
            [
                f"table ip {table} {{",
                "  set vips { type ipv4_addr; }",
                f"  chain in {{ type filter hook input priority {priority}; policy accept;",
                "    ip daddr @vips drop",
                "  }",
                f"  chain out {{ type filter hook output priority {priority}; policy accept;",
                "    ip saddr @vips drop",
                "  }",
                "}",
                "",
            ]
        )
    return "\n".join(
        [
            f"table ip6 {table} {{",
            "  set vips { type ipv6_addr; }",
            "  set neighbor-discovery { type icmpv6_type; flags constant;",
            "    elements = { nd-neighbor-solicit, nd-neighbor-advert } }",
            "  set vips_link_local { type ipv6_addr . ifname; }",
            "  chain in_link_local { ip6 daddr . iifname @vips_link_local drop; }",
            "  chain out_link_local { ip6 saddr . oifname @vips_link_local drop; }",
            f"  chain in {{ type filter hook input priority {priority}; policy accept;",
            "    icmpv6 type @neighbor-discovery accept",
            "    ip6 daddr fe80::/10 goto in_link_local",
            "    ip6 daddr @vips drop",
            "  }",
            f"  chain out {{ type filter hook output priority {priority}; policy accept;",
            "    icmpv6 type @neighbor-discovery accept",
            "    ip6 saddr fe80::/10 goto out_link_local",
            "    ip6 saddr @vips drop",
            "  }",
            "}",
            "",
        ]
    )


def _element(entry: VipEntry) -> tuple[str, str]:
    if entry.link_local:
        return "vips_link_local", f'{entry.address} . "{entry.dev}"'
    return "vips", str(entry.address)


def render_elements(verb: str, entries: Iterable[VipEntry], table: str = DEFAULT_TABLE) -> str:
    """``add``/``delete element`` lines for ``entries``."""
    lines: list[str] = []
    for entry in entries:
        fam = "ip" if isinstance(entry.address, IPv4Address) else "ip6"
        set_name, elem = _element(entry)
        lines.append(f"{verb} element {fam} {table} {set_name} {{ {elem} }}")
    return "\n".join(lines) + ("\n" if lines else "")


class NftFirewall:
    """Keeps keepalived's drop sets in step with the masters that need them."""

    def __init__(self, table: str = DEFAULT_TABLE, priority: int = -1) -> None:
        self.table = table
        self.priority = priority
        self._families: set[int] = set()
        self._refs: Counter[VipEntry] = Counter()
        self._lock = asyncio.Lock()
        self.errors = 0

    async def _nft(self, script: str) -> bool:
        try:
            proc = await asyncio.create_subprocess_exec(
                "nft",
                "-f",
                "-",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            self.errors += 1
            log.error("cannot run nft: %s", exc)
            return False
        try:
            _out, err = await asyncio.wait_for(proc.communicate(script.encode()), NFT_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            self.errors += 1
            log.error("nft timed out")
            return False
        if proc.returncode != 0:
            self.errors += 1
            log.error("nft failed: %s", err.decode(errors="replace").strip())
            return False
        return True

    async def _ensure(self, family: int) -> None:
        if family in self._families:
            return
        fam = "ip" if family == 4 else "ip6"
        # start from a clean table of ours (a crashed run may have left one)
        script = f"table {fam} {self.table}\ndelete table {fam} {self.table}\n"
        script += render_tables(family, self.table, self.priority)
        if await self._nft(script):
            self._families.add(family)

    async def add(self, entries: Iterable[VipEntry]) -> None:
        """Drop traffic for ``entries`` (reference counted)."""
        async with self._lock:
            new = []
            for entry in entries:
                self._refs[entry] += 1
                if self._refs[entry] == 1:
                    new.append(entry)
            for family in {4 if isinstance(e.address, IPv4Address) else 6 for e in new}:
                await self._ensure(family)
            if new:
                log.info(
                    "setting firewall drop rule for %s", ", ".join(str(e.address) for e in new)
                )
                await self._nft(render_elements("add", new, self.table))

    async def remove(self, entries: Iterable[VipEntry]) -> None:
        """Stop dropping traffic for ``entries``."""
        async with self._lock:
            gone = []
            for entry in entries:
                if self._refs[entry] <= 0:
                    continue
                self._refs[entry] -= 1
                if self._refs[entry] == 0:
                    del self._refs[entry]
                    gone.append(entry)
            if gone:
                log.info("removing firewall drop rule")
                await self._nft(render_elements("delete", gone, self.table))

    async def close(self) -> None:
        """Delete our tables."""
        async with self._lock:
            for family in sorted(self._families):
                fam = "ip" if family == 4 else "ip6"
                await self._nft(f"delete table {fam} {self.table}\n")
            self._families.clear()
            self._refs.clear()
