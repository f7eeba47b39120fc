"""Checkers against real servers on loopback: each goes down when its server dies or answers
wrong, and comes back. Delays are short; assertions are on order and counts, not on time."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pykeepalived.checkers.dataplane import FakeDataPlane
from pykeepalived.checkers.events import EventKind
from pykeepalived.checkers.service import CheckerService
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Config

from .chk_servers import (
    DnsResponder,
    HttpState,
    UdpResponder,
    port_of,
    self_signed,
    start_http,
    start_smtp,
)

pytestmark = pytest.mark.netns

SVC = "[192.0.2.1]:tcp:80"


def config(port: int, checker: str, *, rs_extra: str = "", address: str = "127.0.0.1") -> Config:
    text = f"""
virtual_server 192.0.2.1 80 {{
    protocol TCP
    delay_loop 0.2
    real_server {address} {port} {{
        weight 2
        {rs_extra}
{textwrap.indent(textwrap.dedent(checker), " " * 8)}
    }}
}}
"""
    result = load_text(text)
    assert result.runnable, [d.format() for d in result.diagnostics]
    return result.config


async def wait_for(cond: Callable[[], bool], timeout_s: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def present(dp: FakeDataPlane, dest: str) -> Callable[[], bool]:
    return lambda: dest in dp.table.get(SVC, {})


def absent(dp: FakeDataPlane, dest: str) -> Callable[[], bool]:
    return lambda: dest not in dp.table.get(SVC, {})


async def started(cfg: Config) -> tuple[CheckerService, FakeDataPlane]:
    dp = FakeDataPlane()
    service = CheckerService(cfg, dataplane=dp, bootstrap_s=0.0, jitter_fraction=0.0)
    await service.start()
    return service, dp


async def udp_server(protocol: asyncio.DatagramProtocol) -> tuple[asyncio.DatagramTransport, int]:
    """A UDP endpoint on a free loopback port served by ``protocol``; its transport and port."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: protocol, local_addr=("127.0.0.1", 0)
    )
    return transport, transport.get_extra_info("sockname")[1]


def attempts(service: CheckerService) -> int:
    return sum(r.attempts for rt in service.runtimes.values() for r in rt.runners)


def down_reasons(service: CheckerService) -> list[str]:
    return [e.reason for e in service.events.events(EventKind.CHECKER_DOWN)]


CHECK = """
TCP_CHECK {
    connect_timeout 1
    retry 1
    delay_before_retry 0.1
    warmup 0
}
"""


def test_tcp_check_follows_listener() -> None:
    async def scenario() -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        service, dp = await started(config(port, CHECK))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: attempts(service) >= 2)
            assert present(dp, dest)()
            listener.close()
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["connect_refused"]
            listener = socket.create_server(("127.0.0.1", port))
            await wait_for(present(dp, dest))
            # one failure retried once (retry 1) before down: at least 2 failures were seen
            runner = next(iter(service.runtimes.values())).runners[0]
            assert runner.failures >= 2
        finally:
            listener.close()
            await service.stop()
        assert dp.table == {}

    asyncio.run(scenario())


HTTP_CHECK = """
HTTP_GET {{
    url {{
        path /health
        digest {digest}
    }}
    url {{
        path /second
        status_code 200-299
    }}
    connect_timeout 1
    retry 0
    delay_before_retry 0.1
    warmup 0
    virtualhost www.example
}}
"""


def test_http_get_status_digest_and_death() -> None:
    async def scenario() -> None:
        state = HttpState()
        server = await start_http(state)
        port = port_of(server)
        cfg = config(port, HTTP_CHECK.format(digest=state.digest))
        service, dp = await started(cfg)
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: len(state.requests) >= 3)
            assert state.requests[0] == (
                b"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example\r\n\r\n"
            )
            assert {r.split(b" ")[1] for r in state.requests} == {b"/health", b"/second"}
            assert present(dp, dest)()
            state.status = 503
            await wait_for(absent(dp, dest))
            state.status = 200
            await wait_for(present(dp, dest))
            state.body = b"changed body"
            await wait_for(absent(dp, dest))
            state.body = b"hello checker\n"
            await wait_for(present(dp, dest))
            server.close()
            await server.wait_closed()
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["status_code", "digest_mismatch", "connect_refused"]
        finally:
            server.close()
            await service.stop()

    asyncio.run(scenario())


def test_http_read_timeout_marks_down() -> None:
    async def scenario() -> None:
        state = HttpState()
        server = await start_http(state)
        port = port_of(server)
        check = """
HTTP_GET {
    url {
        path /
    }
    connect_timeout 0.3
    retry 0
    warmup 0
}
"""
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: len(state.requests) >= 1)
            state.delay_s = 1.0
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["timeout"]
            state.delay_s = 0.0
            await wait_for(present(dp, dest))
        finally:
            server.close()
            await service.stop()

    asyncio.run(scenario())


def test_ssl_get_with_sni(tmp_path: Path) -> None:
    async def scenario() -> None:
        tls = self_signed(tmp_path)
        seen_sni: list[str | None] = []
        tls.sni_callback = lambda sslobj, name, ctx: seen_sni.append(name)
        state = HttpState()
        server = await start_http(state, tls=tls)
        port = port_of(server)
        check = f"""
SSL_GET {{
    url {{
        path /
        digest {state.digest}
    }}
    connect_timeout 1
    retry 0
    warmup 0
    virtualhost rs.example
    enable_sni
}}
"""
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: len(state.requests) >= 2)
            assert seen_sni[0] == "rs.example"
            assert present(dp, dest)()
            state.status = 404
            await wait_for(absent(dp, dest))
            state.status = 200
            await wait_for(present(dp, dest))
        finally:
            server.close()
            await service.stop()

    asyncio.run(scenario())


def test_udp_check_require_reply_and_icmp_unreachable() -> None:
    async def scenario() -> None:
        responder = UdpResponder(b"\xab\x42pong")
        transport, port = await udp_server(responder)
        check = """
UDP_CHECK {
    payload 70696e67
    require_reply abx2
    min_reply_length 2
    max_reply_length 10
    connect_timeout 0.5
    retry 0
    warmup 0
}
"""
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: attempts(service) >= 2)
            assert present(dp, dest)()
            responder.reply = b"\xac\x42"  # wrong first octet
            await wait_for(absent(dp, dest))
            responder.reply = b"\xab\xf2"  # wildcard nibble
            await wait_for(present(dp, dest))
            transport.close()  # port closed: ICMP port unreachable
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["bad_reply", "icmp_unreachable"]
        finally:
            transport.close()
            await service.stop()

    asyncio.run(scenario())


def test_udp_check_without_reply_is_up_unless_unreachable() -> None:
    async def scenario() -> None:
        transport, port = await udp_server(UdpResponder(None))
        check = "UDP_CHECK {\n    connect_timeout 0.3\n    retry 0\n    warmup 0\n}\n"
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: attempts(service) >= 2)
            assert present(dp, dest)()
            transport.close()
            await wait_for(absent(dp, dest))
        finally:
            await service.stop()

    asyncio.run(scenario())


def test_dns_check() -> None:
    async def scenario() -> None:
        responder = DnsResponder()
        transport, port = await udp_server(responder)
        check = """
DNS_CHECK {
    type A
    name www.example.org
    connect_timeout 0.5
    retry 0
    warmup 0
}
"""
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: len(responder.queries) >= 2)
            assert responder.queries[0][12:] == b"\x03www\x07example\x03org\x00\x00\x01\x00\x01"
            assert present(dp, dest)()
            responder.rcode = 2
            await wait_for(absent(dp, dest))
            responder.rcode = 0
            await wait_for(present(dp, dest))
            responder.wrong_id = True
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["dns_rcode", "dns_id_mismatch"]
        finally:
            transport.close()
            await service.stop()

    asyncio.run(scenario())


def test_smtp_check() -> None:
    async def scenario() -> None:
        state = {"banner": b"220-hello\r\n220 ready\r\n", "helo": b"250 ok\r\n"}
        server = await start_smtp(state)
        port = port_of(server)
        check = """
SMTP_CHECK {
    helo_name checker.example
    connect_timeout 0.5
    retry 0
    warmup 0
}
"""
        service, dp = await started(config(port, check))
        dest = f"[127.0.0.1]:{port}"
        try:
            await wait_for(lambda: "seen_helo" in state)
            assert state["seen_helo"] == b"HELO checker.example\r\n"
            await wait_for(lambda: attempts(service) >= 2)
            assert present(dp, dest)()
            state["helo"] = b"550 go away\r\n"
            await wait_for(absent(dp, dest))
            state["helo"] = b"250 ok\r\n"
            await wait_for(present(dp, dest))
            state["banner"] = b"554 no\r\n"
            await wait_for(absent(dp, dest))
            assert down_reasons(service) == ["bad_helo_reply", "bad_banner"]
        finally:
            server.close()
            await service.stop()

    asyncio.run(scenario())


def test_ping_check_loopback() -> None:
    async def scenario() -> None:
        check = "PING_CHECK {\n    connect_timeout 1\n    retry 0\n    warmup 0\n}\n"
        service, _ = await started(config(0, check, address="127.0.0.1"))
        try:
            await wait_for(lambda: attempts(service) >= 3)
            runner = next(iter(service.runtimes.values())).runners[0]
            assert runner.failures == 0
            assert runner.last_result is not None and runner.last_result.success
        finally:
            await service.stop()

    asyncio.run(scenario())


def misc_config(tmp_path: Path, body: str, *, extra: str = "") -> tuple[Config, Path]:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    check = f"""
MISC_CHECK {{
    misc_path "{script} arg1"
    misc_timeout 0.5
    retry 0
    warmup 0
    {extra}
}}
"""
    return config(8080, check), script


def test_misc_check_exit_codes_and_dynamic_weight(tmp_path: Path) -> None:
    async def scenario() -> None:
        state = tmp_path / "code"
        state.write_text("0")
        cfg, _ = misc_config(tmp_path, f'exit "$(cat {state})"\n', extra="misc_dynamic")
        service, dp = await started(cfg)
        dest = "[127.0.0.1]:8080"
        try:
            await wait_for(lambda: attempts(service) >= 1)
            assert dp.table[SVC] == {dest: 2}
            state.write_text("12")
            await wait_for(lambda: dp.table[SVC].get(dest) == 10)
            state.write_text("1")
            await wait_for(absent(dp, dest))
            state.write_text("0")
            await wait_for(present(dp, dest))
        finally:
            await service.stop()

    asyncio.run(scenario())


def test_misc_check_no_shell_and_group_killed_on_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        marker = tmp_path / "args"
        pids = tmp_path / "pids"
        body = (
            f'printf "%s|" "$@" > {marker}\n'
            f"sleep 30 & echo $! > {pids}\n"  # a child in the same process group
            "wait\n"
        )
        misc_config(tmp_path, body)
        cfg2 = config(
            8080,
            f"""
MISC_CHECK {{
    misc_path "{tmp_path / "check.sh"} 'two words' $HOME;touch {tmp_path / "pwned"}"
    misc_timeout 0.3
    retry 0
    warmup 0
}}
""",
        )
        service, dp = await started(cfg2)
        try:
            await wait_for(absent(dp, "[127.0.0.1]:8080"), timeout_s=10)
            assert down_reasons(service) == ["script_timeout"]
            # argv as written: no shell expansion, no command separator
            assert marker.read_text() == f"two words|$HOME;touch|{tmp_path / 'pwned'}|"
            assert not (tmp_path / "pwned").exists()
            child = int(pids.read_text())
            await wait_for(lambda: not _alive(child), timeout_s=5)
        finally:
            await service.stop()

    asyncio.run(scenario())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
def test_misc_check_runs_as_script_user() -> None:
    base = Path(tempfile.mkdtemp(prefix="chk-user-"))  # pytest's tmp dirs are root-only
    base.chmod(0o777)

    async def scenario() -> None:
        out = base / "uid"
        cfg, _ = misc_config(base, f"id -u > {out}\n", extra="user nobody")
        service, _ = await started(cfg)
        try:
            await wait_for(out.exists)
            await wait_for(lambda: out.read_text().strip() != "")
            assert out.read_text().strip() == "65534"
        finally:
            await service.stop()

    try:
        asyncio.run(scenario())
    finally:
        shutil.rmtree(base)


def test_genhash_matches_debian_genhash(tmp_path: Path) -> None:
    if not Path("/usr/bin/genhash").exists():
        pytest.skip("Debian's keepalived (genhash) is not installed")
    (tmp_path / "index.html").write_bytes(b"<html>genhash test body</html>\n" * 50)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1",
         "--directory", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = line.split(" port ")[1].split()[0]
        args = ["-s", "127.0.0.1", "-p", port, "-u", "/index.html"]
        theirs = subprocess.run(["genhash", *args], capture_output=True, text=True, check=True)
        ours = subprocess.run(
            [sys.executable, "-m", "pykeepalived.cli.genhash", *args],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert ours.stdout == theirs.stdout
        assert len(ours.stdout.strip()) == 32
        for extra in (["-P", "1.1"], ["-P", "1.0c", "-V", "www.example"]):
            a = subprocess.run(
                ["genhash", *args, *extra], capture_output=True, text=True, check=True
            )
            b = subprocess.run(
                [sys.executable, "-m", "pykeepalived.cli.genhash", *args, *extra],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert a.stdout == b.stdout
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
