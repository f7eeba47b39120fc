"""``genhash``: fetch a URL as HTTP_GET / SSL_GET would and print the MD5 of its body.

Options as keepalived 2.2.7's ``genhash`` (``keepalived --genhash``): ``-s`` server (an IP
address), ``-p`` port, ``-u`` url, ``-S`` use SSL, ``-I`` use SNI (the virtual host),
``-V`` virtual host, ``-P`` protocol ``1.0``/``1.0c``/``1.1``, ``-t`` timeout, ``-m`` fwmark,
``-v`` verbose (hex dumps of header and body, as keepalived prints them). The output is the
32 hex digits the ``digest`` keyword expects.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
import time
from collections.abc import Sequence

from pykeepalived.checkers.base import CheckResult
from pykeepalived.checkers.http import HttpResponse, fetch, make_ssl_context
from pykeepalived.config.model.checkers import (
    ConnOpts,
    HttpCheckBase,
    HttpGetCheck,
    HttpProtocol,
    HttpUrl,
    SslGetCheck,
)

DELIM_BEGIN = "-----------------------["
DELIM_END = "]-----------------------"
KEEP_BODY = 64 << 20


def hex_dump(data: bytes) -> str:
    """keepalived's ``dump_buffer()``: decimal offset, 8 + 8 hex octets, then ASCII."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        cells = [f"{chunk[i]:02x} " if i < len(chunk) else "   " for i in range(16)]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04d}  {''.join(cells[:8])}- {''.join(cells[8:])}  {text:<16}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genhash", add_help=False)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("-S", "--use-ssl", action="store_true")
    p.add_argument("-I", "--use-sni", action="store_true")
    p.add_argument("-s", "--server")
    p.add_argument("-V", "--use-virtualhost")
    p.add_argument("-p", "--port", type=int)
    p.add_argument("-u", "--url", default="/")
    p.add_argument("-m", "--fwmark", type=int)
    p.add_argument("-P", "--protocol", default="1.0")
    p.add_argument("-t", "--timeout", type=float, default=5.0)
    return p


USAGE = """Usage: genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h
Options:
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
"""

_PROTOCOLS = {
    "1.0": HttpProtocol.HTTP_1_0,
    "1.0c": HttpProtocol.HTTP_1_0C,
    "1.0C": HttpProtocol.HTTP_1_0C,
    "1.1": HttpProtocol.HTTP_1_1,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run genhash; returns the exit status (0 when a digest was printed)."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit:
        sys.stderr.write(USAGE)
        return 1
    if args.help or args.server is None:
        sys.stderr.write(USAGE)
        return 0 if args.help else 1
    try:
        address = ipaddress.ip_address(args.server)
    except ValueError:
        sys.stderr.write(f"server should be an IP, not {args.server}\n")
        return 1
    protocol = _PROTOCOLS.get(args.protocol)
    if protocol is None:
        sys.stderr.write(f"invalid HTTP protocol version '{args.protocol}'\n")
        return 1
    port = args.port if args.port is not None else (443 if args.use_ssl else 80)
    conn = ConnOpts(
        connect_ip=address, connect_port=port, fwmark=args.fwmark, connect_timeout_s=args.timeout
    )
    url = HttpUrl(path=args.url)
    kind: type[HttpCheckBase] = SslGetCheck if args.use_ssl else HttpGetCheck
    check = kind(
        retry=0,
        delay_before_retry_s=1,
        delay_loop_s=1,
        warmup_s=0,
        conn=conn,
        urls=(url,),
        http_protocol=protocol,
        virtualhost=args.use_virtualhost,
        enable_sni=args.use_sni,
    )
    started = time.monotonic()
    result = asyncio.run(
        fetch(
            check,
            url,
            ssl_context=make_ssl_context(None) if args.use_ssl else None,
            keep_body=KEEP_BODY if args.verbose else 0,
        )
    )
    elapsed_us = int((time.monotonic() - started) * 1e6)
    if isinstance(result, CheckResult):
        if result.reason.value in ("connect_timeout", "timeout"):
            print("Connection timed out")
        else:
            sys.stderr.write(f"{result.detail}\n")
        return 1
    if result.received == 0:
        sys.stderr.write("no data received from remote webserver\n")
        return 1
    if args.verbose:
        _print_verbose(result)
        print(f"Global response time for [{args.url}] = {elapsed_us} usecs")
        return 0
    print(result.digest)
    return 0


def _print_verbose(result: HttpResponse) -> None:
    head = result.raw_head + b"\r\n\r\n"
    print(f"{DELIM_BEGIN}    HTTP Header Buffer    {DELIM_END}")
    print(hex_dump(head))
    print(f"{DELIM_BEGIN} HTTP Header Ascii Buffer {DELIM_END}")
    print(head.decode("latin-1"))
    print(f"{DELIM_BEGIN}        HTML Buffer        {DELIM_END}")
    print(hex_dump(bytes(result.body)))
    print()
    print(f"{DELIM_BEGIN}    HTML hash resulting    {DELIM_END}")
    print(hex_dump(bytes.fromhex(result.digest)))
    print(f"{DELIM_BEGIN} HTML hash final resulting {DELIM_END}")
    print(result.digest)
    print()


if __name__ == "__main__":
    raise SystemExit(main())
