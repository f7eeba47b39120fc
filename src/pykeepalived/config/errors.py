"""Configuration diagnostics: every message carries its source location and a keepalived severity.

keepalived reports config problems as ``(FILE: Line N) message`` on stderr and keeps going; the
severity decides what ``-t`` returns (lib/scheduler.h): 0 clean, 2 abort, 4 fatal,
5 config error, 6 security.
Warnings do not change the exit code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The plain setter of slot ``name`` of ``cls``.

    A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__``;
    the classes made for every line of a config (`Location`, `tree.Node`) set their slots
    with these setters instead, which takes half the time."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


@dataclass(frozen=True, order=True, slots=True, init=False)
class Location:
    """Where a token came from: file path (as given), 1-based line and column."""

    file: str
    line: int
    col: int = 1

    def __init__(self, file: str, line: int, col: int = 1) -> None:
        _set_file(self, file)
        _set_line(self, line)
        _set_col(self, col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_set_file = slot_setter(Location, "file")
_set_line = slot_setter(Location, "line")
_set_col = slot_setter(Location, "col")


class Severity(enum.IntEnum):
    """Ordered by gravity; the value is not the exit code (see `exit_code_for`)."""

    INFO = 0
    WARNING = 1
    ERROR = 2  # keepalived "config error": the daemon runs anyway, -t exits 5
    SECURITY = 3  # script security violation: -t exits 6
    FATAL = 4  # keepalived refuses to start: -t exits 4
    ABORT = 5  # keepalived stops reading at once (e.g. a keyword missing its parameter): exit 2


EXIT_OK = 0
EXIT_ABORT = 2
EXIT_FATAL = 4
EXIT_CONFIG = 5
EXIT_SECURITY = 6


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    location: Location | None = None

    def format(self) -> str:
        """Render like keepalived: ``(file: Line N) message``, plus our column."""
        if self.location is None:
            return self.message
        loc = self.location
        return f"({loc.file}: Line {loc.line}:{loc.col}) {self.message}"

    def __str__(self) -> str:
        return self.format()


@dataclass
class Diagnostics:
    """Collects diagnostics while a config is read; never raises by itself."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, severity: Severity, message: str, location: Location | None = None) -> None:
        self.items.append(Diagnostic(severity, message, location))

    def info(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.INFO, message, location)

    def warning(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.WARNING, message, location)

    def error(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.ERROR, message, location)

    def security(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.SECURITY, message, location)

    def fatal(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.FATAL, message, location)

    def abort(self, message: str, location: Location | None = None) -> None:
        self.add(Severity.ABORT, message, location)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def worst(self) -> Severity | None:
        return max((d.severity for d in self.items), default=None)

    def exit_code(self) -> int:
        """The exit status keepalived 2.2.7 gives for ``-t`` with these diagnostics."""
        return exit_code_for({d.severity for d in self.items})


def exit_code_for(severities: set[Severity] | frozenset[Severity]) -> int:
    """keepalived's ``-t`` status for the severities seen (checked against 2.2.7).

    An abort ends the read at once (2). A script-security or enforced-include failure gives 6
    even alongside config errors. Config errors give 5 even when a fatal problem (4) was also
    found: keepalived sets the error status last.
    """
    if Severity.ABORT in severities:
        return EXIT_ABORT
    if Severity.SECURITY in severities:
        return EXIT_SECURITY
    if Severity.ERROR in severities:
        return EXIT_CONFIG
    if Severity.FATAL in severities:
        return EXIT_FATAL
    return EXIT_OK


class ConfigError(Exception):
    """Base of every error the config package may raise (fuzzing allows only these)."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(Diagnostic(Severity.FATAL, message, location).format())


class ConfigFileError(ConfigError):
    """The main config file cannot be read at all (keepalived: fatal, exit 4)."""
