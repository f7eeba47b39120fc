"""Reconciliation cost: 1,000 virtual servers x 10 real servers.

For each backend: the time to program the whole table from empty, the time to apply a
one-server change (one weight), and how many kernel operations that change issued (target
1: one netlink request for IPVS, one nft transaction for nftables). Prints a table.

    python bench/reconcile.py                     # nftables, in a namespace it creates
    python bench/reconcile.py --backend ipvs      # IPVS (inside the VM: tests/vm/run_vm.sh --bench)
    python bench/reconcile.py --backend fake      # the pure diff/apply cost only
    python bench/reconcile.py --persistence 300   # persistent services (nftables: a timed
                                                  # client set and a chain per destination)
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator

from pykeepalived.config.model.lvs import Protocol
from pykeepalived.lvs.backend import Backend, FakeBackend
from pykeepalived.lvs.diff import diff
from pykeepalived.lvs.ipvs import IpvsBackend
from pykeepalived.lvs.model import Dest, DestId, LvsState, Service, ServiceAttrs, ServiceId
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.reconcile import Reconciler


def build_state(
    services: int, reals: int, *, changed_weight: int | None = None, persistence_s: int = 0
) -> LvsState:
    """``services`` TCP services on 10.100.x.y:80, each with ``reals`` NAT destinations.

    With ``changed_weight`` the first destination of the middle service gets that weight.
    """
    out: list[Service] = []
    base = int(ipaddress.IPv4Address("10.100.0.0"))
    rbase = int(ipaddress.IPv4Address("10.200.0.0"))
    for i in range(services):
        sid = ServiceId.for_address(ipaddress.IPv4Address(base + i), 80, Protocol.TCP)
        dests = []
        for j in range(reals):
            weight = 1 + j
            if changed_weight is not None and i == services // 2 and j == 0:
                weight = changed_weight
            dests.append(Dest(DestId(ipaddress.IPv4Address(rbase + i * reals + j), 8080), weight))
        attrs = ServiceAttrs(
            scheduler="wrr", flags=1 if persistence_s else 0, timeout_s=persistence_s
        )
        out.append(Service(sid, attrs, tuple(dests)))
    return LvsState.of(out)


@contextlib.contextmanager
def _namespace() -> Iterator[str]:
    name = f"pkbench{os.getpid():x}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _measure(
    backend: Backend, services: int, reals: int, persistence_s: int = 0
) -> dict[str, float]:
    first = build_state(services, reals, persistence_s=persistence_s)
    second = build_state(services, reals, changed_weight=99, persistence_s=persistence_s)
    rec = Reconciler(backend, flush_at_start=True)
    t0 = time.perf_counter()
    start = rec.start(first)
    program_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    diff_ops = diff(first, second)
    diff_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    change = rec.sync(second)
    change_s = time.perf_counter() - t2
    t3 = time.perf_counter()
    rec.stop()
    stop_s = time.perf_counter() - t3
    backend.close()
    return {
        "program_s": program_s,
        "program_kernel_ops": start.kernel_ops,
        "change_s": change_s,
        "diff_s": diff_s,
        "change_ops": len(diff_ops),
        "change_kernel_ops": change.kernel_ops,
        "stop_s": stop_s,
    }


def run(backend_name: str, services: int, reals: int, persistence_s: int = 0) -> dict[str, float]:
    if backend_name == "fake":
        return _measure(FakeBackend(), services, reals, persistence_s)
    if backend_name == "ipvs":
        return _measure(IpvsBackend(), services, reals, persistence_s)
    with _namespace() as ns:
        return _measure(NftBackend(netns=ns, table="pkbench"), services, reals, persistence_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["nft", "ipvs", "fake"], action="append")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--reals", type=int, default=10)
    parser.add_argument("--persistence", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args(argv)
    backends = args.backend or ["fake", "nft"]
    persistent = f", persistence_timeout {args.persistence}" if args.persistence else ""
    print(f"{args.services} virtual servers x {args.reals} real servers{persistent}")
    header = (
        f"{'backend':<8} {'program (s)':>12} {'kernel ops':>11} {'1 change (ms)':>14} "
        f"{'diff (ms)':>10} {'ops':>4} {'kernel ops':>11} {'stop (s)':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in backends:
        r = run(name, args.services, args.reals, args.persistence)
        print(
            f"{name:<8} {r['program_s']:>12.3f} {int(r['program_kernel_ops']):>11} "
            f"{r['change_s'] * 1000:>14.2f} {r['diff_s'] * 1000:>10.2f} "
            f"{int(r['change_ops']):>4} {int(r['change_kernel_ops']):>11} {r['stop_s']:>9.3f}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
