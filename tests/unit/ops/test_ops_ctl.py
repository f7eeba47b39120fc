"""pykeepalivedctl diff / reload / genhash (no daemon needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykeepalived.cli import ctl

pytestmark = pytest.mark.unit

OLD = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n}\n"
NEW = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 110\n}\n"


def test_diff_prints_what_a_reload_would_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.conf", tmp_path / "new.conf"
    old.write_text(OLD)
    new.write_text(NEW)
    args = ["diff", "-f", str(new), "--current", str(old), "--no-interface-check"]
    assert ctl.main(args) == 10
    out = capsys.readouterr().out.splitlines()
    assert out == [f"--- {old} (running)", f"+++ {new}", "~ vrrp_instance VI_1: priority"]
    assert ctl.main([*args, "--json"]) == 10
    data = json.loads(capsys.readouterr().out)
    assert data["vrrp"] == [
        {"kind": "vrrp_instance", "name": "VI_1", "action": "changed", "fields": ["priority"]}
    ]
    same = ["diff", "-f", str(old), "--current", str(old), "--no-interface-check"]
    assert ctl.main(same) == 0
    assert "no changes" in capsys.readouterr().out
    assert new.read_text() == NEW and old.read_text() == OLD  # nothing was changed


def test_diff_against_a_broken_new_config_says_reload_would_be_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.conf", tmp_path / "new.conf"
    old.write_text(OLD)
    new.write_text("vrrp_instance VI_1 {\n interface\n}\n")
    code = ctl.main(["diff", "-f", str(new), "--current", str(old), "--no-interface-check"])
    assert code == 2
    assert "a reload would be refused" in capsys.readouterr().err


def test_status_and_diff_without_a_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock = str(tmp_path / "none.sock")
    assert ctl.main(["status", "--socket", sock]) == 1
    assert "cannot reach the daemon's control API" in capsys.readouterr().err
    new = tmp_path / "new.conf"
    new.write_text(NEW)
    assert ctl.main(["diff", "-f", str(new), "--socket", sock]) == 1
    assert "--current FILE" in capsys.readouterr().err


def test_reload_without_a_running_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = tmp_path / "k.pid"
    pid.write_text("999999999\n")
    assert ctl.main(["reload", "-p", str(pid)]) == 1
    assert "no running daemon" in capsys.readouterr().err


def test_genhash_is_delegated(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["genhash", "--help"]) == 0
    assert "--server" in capsys.readouterr().err
    assert ctl.main(["genhash", "-s", "not-an-ip"]) == 1
    assert "server should be an IP" in capsys.readouterr().err
