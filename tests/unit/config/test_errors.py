from __future__ import annotations

import pytest

from pykeepalived.config.errors import Diagnostics, Location, Severity, exit_code_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("severities", "code"),
    [
        (set(), 0),
        ({Severity.INFO, Severity.WARNING}, 0),
        ({Severity.ERROR}, 5),
        ({Severity.FATAL}, 4),
        ({Severity.FATAL, Severity.ERROR}, 5),  # keepalived 2.2.7: the config error wins
        ({Severity.SECURITY, Severity.ERROR}, 6),
        ({Severity.ABORT, Severity.SECURITY, Severity.ERROR}, 2),
    ],
)
def test_exit_codes_follow_keepalived(severities: set[Severity], code: int) -> None:
    assert exit_code_for(severities) == code


def test_diagnostics_format_like_keepalived() -> None:
    diags = Diagnostics()
    diags.error("Unknown keyword 'x'", Location("k.conf", 3, 5))
    diags.warning("no location")
    assert [d.format() for d in diags] == ["(k.conf: Line 3:5) Unknown keyword 'x'", "no location"]
    assert diags.exit_code() == 5
    assert diags.worst == Severity.ERROR
