"""Failover time on a hung master: pykeepalived and keepalived side by side, in one run.

Routers r1 (priority 100, master) and r2 (priority 90) and a client share one segment in network
namespaces. For each interval (VRRPv2 advert_int 1, VRRPv3 0.1 and 0.01) and each tool, the
master's VRRP process is hung with SIGSTOP at a random moment within the advert interval, and we
measure the time from the SIGSTOP to

* the VIP being present on r2: ``ip monitor address`` in r2 (event-driven, no polling);
* the first client packet answered by r2: a UDP echo every 1 ms from the client to the VIP,
  answered by an echo server on each router that says who it is (the hung master's kernel keeps
  answering until the client's ARP entry moves to r2, so "any reply" would not do).

Then r1 is resumed (SIGCONT), preempts back, and the next trial starts once the client is
answered by r1 again. The protocol limit is r2's Master_Down_Interval (3 x interval + skew);
as the SIGSTOP falls at a uniformly random point between two adverts, the ideal median is about
MDI - interval/2 and no trial can legitimately exceed MDI (plus the time to add the address).

Prints a table (median, p10, p90, max in ms per tool and interval), writes the raw numbers to
bench/out/failover.json and a plot to bench/out/failover.png (needs matplotlib).

Usage: ``python bench/failover.py [--trials 12] [--intervals 2:1 3:0.1 3:0.01] [--impls ...]``
(root; keepalived and tcpdump-free: only iproute2 and keepalived are needed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    IMPLS,
    OUT_DIR,
    BenchLab,
    Daemon,
    LineWatcher,
    Summary,
    address_monitor,
    advert_listener,
    echo_client,
    format_table,
    global_block,
    instance_block,
    mdi_s,
    require_root_and_tools,
    start_echo_server,
    wait_until,
    workdir,
)

VIP = "192.0.2.100"
MASTER_PRIO = 100
BACKUP_PRIO = 90
CLIENT_INTERVAL_S = 0.001
STARTUP_SETTLE_S = 3.0
DEFAULT_INTERVALS = ("2:1", "3:0.1", "3:0.01")


@dataclass(frozen=True)
class Interval:
    """A protocol version and advert interval (as written in the config)."""

    version: int
    advert_int: str

    @property
    def advert_int_s(self) -> float:
        return float(self.advert_int)

    @property
    def label(self) -> str:
        return f"v{self.version} {self.advert_int} s"

    @property
    def mdi_s(self) -> float:
        return mdi_s(self.version, self.advert_int_s, BACKUP_PRIO)

    @classmethod
    def parse(cls, text: str) -> Interval:
        version, _, adv = text.partition(":")
        return cls(int(version), adv)


@dataclass(frozen=True)
class Watchers:
    """The event sources of a trial: r2's addresses, the client's replies, the adverts."""

    addresses: LineWatcher
    client: LineWatcher
    adverts: LineWatcher


@dataclass
class Series:
    """The trials of one tool at one interval (seconds; None when not seen in time)."""

    impl: str
    interval: Interval
    vip_s: list[float] = field(default_factory=list)
    reply_s: list[float] = field(default_factory=list)
    since_advert_s: list[float] = field(default_factory=list)
    """VIP on r2 minus the arrival (at the client) of r1's last advert: phase-free."""
    first_advert_s: list[float] = field(default_factory=list)
    """r2's first advert minus r1's last one: the down timer alone, without the VIP add."""
    failures: int = 0


def config(interval: Interval, priority: int) -> str:
    # short GARP repeats keep the segment quiet; the first burst goes out at once either way
    globals_ = global_block(["vrrp_garp_master_delay 1", "vrrp_garp_master_repeat 2"])
    return globals_ + instance_block(
        "VI_1",
        vrid=51,
        priority=priority,
        advert_int=interval.advert_int,
        version=interval.version,
        vips=[f"{VIP}/24"],
    )


def steady(lab: BenchLab, client: LineWatcher, interval: Interval, timeout_s: float) -> None:
    """Wait until r1 alone holds the VIP and the client is answered by r1."""
    deadline = time.monotonic() + timeout_s
    flushed = False
    while True:
        r1_only = lab.has_address("r1", VIP) and not lab.has_address("r2", VIP)
        last = client.last()
        if r1_only and last is not None and last[1] == "r1":
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"no steady state with r1 master (client last saw {last})")
        if r1_only and not flushed and time.monotonic() > deadline - timeout_s / 2:
            # the client's ARP entry may still point to r2: let it resolve again
            lab.topo.run("client", ["ip", "neigh", "flush", VIP], check=False)
            flushed = True
        time.sleep(0.02)
    # several adverts in a row have reset r2's down timer
    time.sleep(max(0.3, 4 * interval.advert_int_s))


def run_series(
    lab: BenchLab, impl: str, interval: Interval, w: Watchers, *, trials: int, rng: random.Random
) -> Series:
    series = Series(impl, interval)
    r1 = lab.start_daemon("r1", impl, config(interval, MASTER_PRIO), tag=f"-{interval.advert_int}")
    r2 = lab.start_daemon("r2", impl, config(interval, BACKUP_PRIO), tag=f"-{interval.advert_int}")
    try:
        # past the start-up (imports, first collections): the bench is about steady state
        time.sleep(STARTUP_SETTLE_S)
        steady(lab, w.client, interval, timeout_s=interval.mdi_s + 15)
        for n in range(trials):
            time.sleep(rng.uniform(0.0, interval.advert_int_s))
            vip_s, reply_s, since_s, adv_s = one_trial(lab, r1, interval, w)
            if vip_s is None or reply_s is None:
                series.failures += 1
            if vip_s is not None:
                series.vip_s.append(vip_s)
            if reply_s is not None:
                series.reply_s.append(reply_s)
            if since_s is not None:
                series.since_advert_s.append(since_s)
            if adv_s is not None:
                series.first_advert_s.append(adv_s)
            print(
                f"  {impl:12s} {interval.label:10s} trial {n + 1:2d}: VIP "
                f"{_ms(vip_s)} ms, reply {_ms(reply_s)} ms, VIP after last advert "
                f"{_ms(since_s)} ms, r2 advert after r1's {_ms(adv_s)} ms "
                f"(MDI {interval.mdi_s * 1e3:.1f} ms)",
                flush=True,
            )
            steady(lab, w.client, interval, timeout_s=interval.mdi_s + 15)
    finally:
        for d in (r1, r2):
            lab.stop_daemon(d)
        lab.daemons.remove(r1)
        lab.daemons.remove(r2)
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: not lab.has_address("r1", VIP), 5, "VIP released")
    return series


def one_trial(
    lab: BenchLab, r1: Daemon, interval: Interval, w: Watchers
) -> tuple[float | None, float | None, float | None, float | None]:
    """Hang r1's VRRP process; return the seconds from the SIGSTOP to the VIP on r2 and to the
    first reply from r2, and from r1's last advert to the VIP on r2 and to r2's first advert."""
    pid = r1.vrrp_pid()
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        timeout_s = interval.mdi_s + 5
        added = w.addresses.first_after(t0, lambda v: v[:2] == ("add", VIP), timeout_s)
        reply = w.client.first_after(t0, lambda v: v[1] == "r2", timeout_s)
    finally:
        os.kill(pid, signal.SIGCONT)
    t_vip = added[1][2] if added is not None else None
    vip_s = t_vip - t0 if t_vip is not None else None
    reply_s = reply[1][0] - t0 if reply is not None else None
    since_s = adv_s = None
    if t_vip is not None:
        r1_addr, r2_addr = lab.ipv4("r1"), lab.ipv4("r2")
        last = w.adverts.last_matching(lambda v: v[1] == r1_addr and v[0] <= t_vip)
        if last is not None and last[0] >= t0 - 2 * interval.advert_int_s:
            since_s = t_vip - last[0]
            first = w.adverts.first_after(t0, lambda v: v[1] == r2_addr and v[0] > last[0], 1.0)
            if first is not None:
                adv_s = first[1][0] - last[0]
    return vip_s, reply_s, since_s, adv_s


def _ms(value: float | None) -> str:
    return "   --  " if value is None else f"{value * 1e3:7.1f}"


def table(results: list[Series]) -> str:
    header = [
        "interval",
        "tool",
        "n",
        "MDI ms",
        "ideal ms",
        "VIP med",
        "p10",
        "p90",
        "max",
        "reply med",
        "p10",
        "p90",
        "max",
        "adv->VIP med",
        "p90",
        "max",
        "fail",
    ]
    rows = []
    for s in results:
        v, r, a = Summary.of(s.vip_s), Summary.of(s.reply_s), Summary.of(s.since_advert_s)
        iv = s.interval
        rows.append(
            [
                iv.label,
                s.impl,
                str(v.n),
                f"{iv.mdi_s * 1e3:.1f}",
                f"{(iv.mdi_s - iv.advert_int_s / 2) * 1e3:.1f}",
                *(f"{x * 1e3:.1f}" for x in (v.median, v.p10, v.p90, v.max)),
                *(f"{x * 1e3:.1f}" for x in (r.median, r.p10, r.p90, r.max)),
                *(f"{x * 1e3:.1f}" for x in (a.median, a.p90, a.max)),
                str(s.failures),
            ]
        )
    return format_table(header, rows)


def verdict(results: list[Series]) -> list[str]:
    """The issue's targets, checked per interval.

    "Within 5 ms of the protocol limit" is checked on the phase-free measure (VIP present on the
    backup minus the master's last advert, whose ideal is exactly MDI); "never worse than
    keepalived's median by more than 2 ms" on both that and the SIGSTOP-to-VIP medians.
    """
    lines = []
    by_iv: dict[Interval, dict[str, Series]] = {}
    for s in results:
        by_iv.setdefault(s.interval, {})[s.impl] = s
    for iv, per in by_iv.items():
        py, ka = per.get("pykeepalived"), per.get("keepalived")
        if py is None or not py.since_advert_s:
            continue
        adv = Summary.of(py.since_advert_s).median
        ok_limit = abs(adv - iv.mdi_s) <= 0.005
        line = (
            f"{iv.label}: pykeepalived last advert -> VIP median {adv * 1e3:.1f} ms vs MDI "
            f"{iv.mdi_s * 1e3:.1f} ms: {'OK' if ok_limit else 'MISS'} (within 5 ms)"
        )
        if ka is not None and ka.since_advert_s:
            ka_adv = Summary.of(ka.since_advert_s).median
            line += (
                f"; keepalived {ka_adv * 1e3:.1f} ms: "
                f"{'OK' if adv <= ka_adv + 0.002 else 'MISS'} (<= keepalived + 2 ms)"
            )
            stop_py, stop_ka = Summary.of(py.vip_s).median, Summary.of(ka.vip_s).median
            line += (
                f"; SIGSTOP -> VIP medians {stop_py * 1e3:.1f} vs {stop_ka * 1e3:.1f} ms "
                "(phase noise: +-interval/2)"
            )
        lines.append(line)
    return lines


def plot(results: list[Series], path: Path) -> Path | None:
    try:
        import matplotlib  # noqa: PLC0415  (optional: only for the plot)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    intervals = list(dict.fromkeys(s.interval for s in results))
    fig, axes = plt.subplots(2, len(intervals), figsize=(5 * len(intervals), 8.5), squeeze=False)
    colours = {"pykeepalived": "tab:blue", "keepalived": "tab:orange"}
    for ax, iv in zip(axes[0], intervals, strict=True):
        series = [s for s in results if s.interval == iv]
        for i, s in enumerate(series):
            for j, (values, marker, what) in enumerate(
                ((s.vip_s, "o", "VIP on backup"), (s.reply_s, "^", "first reply"))
            ):
                x = i * 2 + j
                jitter = [x + random.uniform(-0.15, 0.15) for _ in values]
                ax.scatter(
                    jitter,
                    [v * 1e3 for v in values],
                    marker=marker,
                    color=colours.get(s.impl, "grey"),
                    alpha=0.7,
                    label=f"{s.impl}: {what}",
                )
                if values:
                    med = Summary.of(values).median * 1e3
                    ax.hlines(med, x - 0.3, x + 0.3, color="black", linewidth=2)
        ax.axhline(iv.mdi_s * 1e3, color="red", linestyle="--", label="Master_Down_Interval")
        ax.axhline(
            (iv.mdi_s - iv.advert_int_s) * 1e3, color="red", linestyle=":", label="MDI - interval"
        )
        ax.set_xticks(
            [i * 2 + j for i in range(len(series)) for j in (0, 1)],
            [f"{s.impl}\n{w}" for s in series for w in ("VIP", "reply")],
            fontsize=8,
        )
        ax.set_title(f"{iv.label} (backup prio {BACKUP_PRIO})")
        ax.set_ylabel("ms from SIGSTOP of the master")
    for ax, iv in zip(axes[1], intervals, strict=True):
        series = [s for s in results if s.interval == iv]
        for i, s in enumerate(series):
            over = [(v - iv.mdi_s) * 1e3 for v in s.since_advert_s]
            ax.scatter(
                [i + random.uniform(-0.15, 0.15) for _ in over],
                over,
                color=colours.get(s.impl, "grey"),
                alpha=0.7,
            )
            if over:
                med = Summary.of(over).median
                ax.hlines(med, i - 0.3, i + 0.3, color="black", linewidth=2)
        ax.axhline(0, color="red", linestyle="--")
        ax.axhline(5, color="red", linestyle=":")
        ax.set_xticks(range(len(series)), [s.impl for s in series], fontsize=8)
        ax.set_title(f"{iv.label}: master's last advert -> VIP on backup", fontsize=10)
        ax.set_ylabel("ms over Master_Down_Interval")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--intervals", nargs="+", default=list(DEFAULT_INTERVALS), metavar="V:INT")
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--workdir", type=Path, default=None, help="keep configs and daemon logs here")
    args = p.parse_args(argv)
    require_root_and_tools()
    rng = random.Random(args.seed)
    intervals = [Interval.parse(x) for x in args.intervals]
    results: list[Series] = []
    with workdir(args.workdir, "pk-failover-") as tmp, BenchLab(Path(tmp)) as lab:
        for host in ("r1", "r2"):
            start_echo_server(lab, host, VIP)
        watchers = Watchers(
            addresses=address_monitor(lab, "r2"),
            client=echo_client(lab, "client", VIP, CLIENT_INTERVAL_S),
            adverts=advert_listener(lab, "client"),
        )
        for iv in intervals:
            for impl in args.impls:
                print(f"{impl}, {iv.label}: {args.trials} trials", flush=True)
                try:
                    results.append(run_series(lab, impl, iv, watchers, trials=args.trials, rng=rng))
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    print(f"  {impl} {iv.label}: series failed: {exc}", flush=True)
                    for d in list(lab.daemons):
                        print(f"----- {d.host} {d.impl} log (tail) -----")
                        print("\n".join(d.log_text().splitlines()[-20:]))
                    results.append(Series(impl, iv, failures=args.trials))
    print()
    print(table(results))
    print()
    for line in verdict(results):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = [
        {**asdict(s), "interval": asdict(s.interval), "mdi_s": s.interval.mdi_s} for s in results
    ]
    (args.out / "failover.json").write_text(json.dumps(raw, indent=1))
    path = plot(results, args.out / "failover.png")
    if path is not None:
        print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
