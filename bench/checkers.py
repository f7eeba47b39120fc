"""Checker load: N real servers on loopback with TCP_CHECK or HTTP_GET at delay_loop 1.

Prints CPU seconds per second and RSS of the checker process, and the p50/p99 lateness of
checks (start time minus due time). The listeners run in a separate process (so their CPU is
not counted). Usage: ``python bench/checkers.py [--sizes 1000 10000] [--seconds 15]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import time
from typing import Any

from pykeepalived.checkers.dataplane import FakeDataPlane
from pykeepalived.checkers.service import CheckerService
from pykeepalived.config.loader import load_text

BASE_PORT = 20000
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def raise_nofile(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve(n: int, ready: Any) -> None:
    raise_nofile(n + 4096)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await asyncio.wait_for(reader.read(4096), 2.0)
            if data.startswith(b"GET"):
                writer.write(RESPONSE)
                await writer.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [
            await asyncio.start_server(handle, "127.0.0.1", BASE_PORT + i, backlog=64)
            for i in range(n)
        ]
        ready.set()
        await asyncio.sleep(3600)
        del servers

    asyncio.run(main())


def config_text(n: int, kind: str) -> str:
    check = (
        "TCP_CHECK {\n connect_timeout 3\n}"
        if kind == "tcp"
        else "HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 3\n}"
    )
    servers = "\n".join(f"real_server 127.0.0.1 {BASE_PORT + i} {{\n{check}\n}}" for i in range(n))
    return f"virtual_server 192.0.2.1 80 {{\nprotocol TCP\ndelay_loop 1\n{servers}\n}}\n"


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def measure(n: int, kind: str, seconds: float) -> dict[str, float]:
    config = load_text(config_text(n, kind)).config
    dp = FakeDataPlane()
    service = CheckerService(config, dataplane=dp, bootstrap_s=0.0, max_concurrency=2048)
    await service.start()
    await asyncio.sleep(2.0)  # warmup spreads the first checks over delay_loop
    assert service.scheduler is not None
    service.scheduler.lateness_s.clear()
    attempts0 = sum(r.attempts for rt in service.runtimes.values() for r in rt.runners)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    runners = [r for rt in service.runtimes.values() for r in rt.runners]
    attempts = sum(r.attempts for r in runners) - attempts0
    failures = sum(r.failures for r in runners)
    cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) / elapsed
    stats = {
        "n": n,
        "checks_per_s": attempts / elapsed,
        "cpu_s_per_s": cpu,
        "rss_mib": rss_mib(),
        "p50_late_ms": service.scheduler.lateness_percentile(0.5) * 1000,
        "p99_late_ms": service.scheduler.lateness_percentile(0.99) * 1000,
        "failures": failures,
        "alive": sum(1 for d in dp.table.get("[192.0.2.1]:tcp:80", {}).values() if d),
    }
    await service.stop()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--kinds", nargs="+", default=["tcp", "http"])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        raise_nofile(2 * n + 4096)
        ready = multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(n, ready), daemon=True)
        server.start()
        ready.wait(120)
        try:
            for kind in args.kinds:
                stats = asyncio.run(measure(n, kind, args.seconds))
                rows.append((kind, stats))
        finally:
            server.terminate()
            server.join()
    header = (
        f"{'check':<6}{'RS':>7}{'checks/s':>10}{'CPU s/s':>9}{'RSS MiB':>9}"
        f"{'p50 late ms':>13}{'p99 late ms':>13}{'failures':>10}{'alive':>7}"
    )
    print(header)
    for kind, s in rows:
        print(
            f"{kind:<6}{int(s['n']):>7}{s['checks_per_s']:>10.0f}{s['cpu_s_per_s']:>9.2f}"
            f"{s['rss_mib']:>9.0f}{s['p50_late_ms']:>13.1f}{s['p99_late_ms']:>13.1f}"
            f"{int(s['failures']):>10}{int(s['alive']):>7}"
        )


if __name__ == "__main__":
    main()
