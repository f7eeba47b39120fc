"""keepalived.conf logical lines, produced exactly as keepalived 2.2.7's ``read_line()`` does.

keepalived reads its configuration one physical line at a time and turns it into *logical*
lines before any keyword sees it (lib/parser.c). This module does the same, in this order:

1. ``decomment``: leading/trailing blanks, ``#``/``!`` comments outside ``"..."``, ``\\#`` and
   ``\\!`` escapes; a trailing ``\\`` only matters for multi-line ``$NAME=`` definitions.
2. ``@ID rest`` / ``@^ID rest``: the rest is kept only if ID is (not) the config id.
3. ``$NAME=VALUE`` definitions (multi-line with a trailing ``\\``), stored, never emitted.
4. ``~SEQ(var, [start,] [step,] end) text``, ``~SEQx(...)`` and ``~LST(...)`` generators.
5. ``$NAME`` / ``${NAME}`` substitution (recursive, at use time; unknown names stay as they are),
   builtins ``_PWD`` ``_INSTANCE`` ``_RANDOM [MIN [MAX]]`` ``_HASH`` ``_BANG``.
6. ``include FILE`` (and ``includer/m/w/b/a``): glob(3) with csh braces, relative to the
   including file's directory.
7. ``{`` and ``}`` outside ``"..."`` are cut out so that every brace is a logical line of its own.

Words are split later (`split_words`, keepalived's ``alloc_strvec``); script keywords re-split
the raw line with `model.common.split_quoted_escaped` (keepalived's
``alloc_strvec_quoted_escaped``).

Filesystem access goes through the small `ConfigFS` protocol (`OS_FS` is the real one), so the
logic here stays testable without files.
"""

from __future__ import annotations

import enum
import os
import posixpath
import random
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.config.errors import Diagnostics, Location, Severity

# keepalived reads lines with fgets(buf, MAXBUF): longer lines arrive in pieces, and a parameter
# substitution may not make a line reach MAXBUF characters.
MAXBUF = 1024
WHITE_SPACE = " \t\f\n\r\v"  # keepalived's WHITE_SPACE_STR (what separates words)

# Guards for input on which keepalived itself would loop for ever or exhaust memory.
MAX_SUBSTITUTIONS_PER_LINE = 4 * MAXBUF
MAX_GENERATED_LINES = 1_000_000
MAX_GENERATOR_DEPTH = 1000
MAX_INCLUDE_DEPTH = 100

_SEQ_PARAMS_MAX = 3 * 20 + 3 + 1  # sizeof(seq_buf) in add_seq()


class IncludeCheck(enum.IntFlag):
    """What makes an include problem an error (keepalived's include_t)."""

    NONE = 0
    READ = 0x01  # includer: unreadable, a directory, not a regular non-executable file
    MATCH = 0x02  # includem: no file matched a name without wildcards
    WILDCARD = 0x04  # includew: a wildcard matched nothing
    BRACE = 0x08  # includeb: every {a,b} alternative must match

    @classmethod
    def all(cls) -> IncludeCheck:
        return cls.READ | cls.MATCH | cls.WILDCARD | cls.BRACE


_INCLUDE_SUFFIX: dict[str, IncludeCheck] = {
    "r": IncludeCheck.READ,
    "m": IncludeCheck.READ | IncludeCheck.MATCH,
    "w": IncludeCheck.READ | IncludeCheck.MATCH | IncludeCheck.WILDCARD,
    "b": IncludeCheck.READ | IncludeCheck.BRACE,
    "a": IncludeCheck.all(),
}

# A main config file has these checks (init_data() -> open_glob_file()).
MAIN_FILE_CHECK = IncludeCheck.READ | IncludeCheck.MATCH | IncludeCheck.WILDCARD


# --------------------------------------------------------------------------------------------
# decomment


_DECOMMENT_SPECIAL = re.compile(r'[!#"\\]')


@dataclass(frozen=True, slots=True)
class Decommented:
    """A line without comments. ``text`` ends in ``\\`` if the line continues (for
    ``$NAME=`` definitions); ``unterminated`` holds the line keepalived quotes in its
    "Unterminated quote" error, or ``None``."""

    text: str
    unterminated: str | None = None


def decomment(line: str) -> Decommented:
    """keepalived's decomment(): strip blanks and comments, unescape ``\\#`` and ``\\!``."""
    s = line.lstrip(" \t")
    if _DECOMMENT_SPECIAL.search(s) is None:
        return Decommented(s.rstrip(" \t"))
    pieces: list[str] = []  # s without the removed backslashes
    kept = 0  # characters in pieces
    last = 0  # start of the part of s not yet copied
    quote = False
    comment_at = -1  # position of the comment in the output
    end = len(s)
    cont = False
    pos = 0
    n = len(s)
    while (m := _DECOMMENT_SPECIAL.search(s, pos)) is not None:
        j = m.start()
        c = s[j]
        if c == '"':
            if comment_at < 0:
                quote = not quote
            pos = j + 1
        elif c == "\\":
            if j + 1 >= n:
                end = j  # a backslash ending the line: continuation
                cont = True
                break
            if not quote and s[j + 1] in "#!":
                pieces.append(s[last:j])
                kept += j - last
                last = j + 1  # drop the backslash, keep the escaped character
            pos = j + 2
        else:
            if not quote and comment_at < 0:
                comment_at = kept + (j - last)
            pos = j + 1
    pieces.append(s[last:end])
    full = "".join(pieces)
    unterminated = full if quote else None
    if comment_at >= 0:
        full = full[:comment_at]
    out = full.rstrip(" \t")
    return Decommented(out + "\\" if cont else out, unterminated)


# --------------------------------------------------------------------------------------------
# words


_WORD = re.compile(r'"[^"]*"|"|[^ \t\f\n\r\v"]+')
_PLAIN_WORD = re.compile(r"[^ \t\f\n\r\v]+")


@dataclass(frozen=True, slots=True)
class Words:
    """A logical line split into words (keepalived's ``alloc_strvec``).

    ``quoted[i]`` tells whether word i was a ``"..."`` string; ``raw_start`` is where the text
    after the first word starts; ``unmatched`` is set if a ``"`` had no partner (keepalived
    reports "Unmatched quote" and drops the rest of the line)."""

    words: tuple[str, ...]
    quoted: tuple[bool, ...]
    raw_start: int
    unmatched: bool = False


def split_words(text: str) -> Words:
    """Split like keepalived's alloc_strvec_r(): blanks separate words, ``"..."`` is one word
    without its quotes, a ``"`` also ends an unquoted word, single quotes are ordinary."""
    if '"' not in text:
        plain = _PLAIN_WORD.findall(text)
        if not plain:
            return Words((), (), len(text))
        return Words(tuple(plain), (False,) * len(plain), text.find(plain[0]) + len(plain[0]))
    words: list[str] = []
    quoted: list[bool] = []
    raw_start = len(text)
    unmatched = False
    for m in _WORD.finditer(text):
        tok = m.group()
        if tok[0] == '"':
            if len(tok) == 1:
                unmatched = True
                break
            words.append(tok[1:-1])
            quoted.append(True)
        else:
            words.append(tok)
            quoted.append(False)
        if len(words) == 1:
            raw_start = m.end()
    return Words(tuple(words), tuple(quoted), raw_start, unmatched)


# --------------------------------------------------------------------------------------------
# braces and includes


_BRACE_OR_QUOTE = re.compile(r'[{}"]')


def split_braces(text: str) -> tuple[str, int]:
    """Cut ``text`` at its first ``{``/``}`` outside ``"..."`` (read_line()'s tail).

    Returns the head (a lone brace if the line starts with one) and the offset where the rest
    of the line starts, or -1 if nothing is left over."""
    n = len(text)
    if text[0] in "{}":
        p = 0
    else:
        p = -1
        pos = 0
        while True:
            m = _BRACE_OR_QUOTE.search(text, pos)
            if m is None:
                break
            j = m.start()
            if text[j] != '"':
                p = j
                break
            close = text.find('"', j + 1)
            if close < 0:
                break
            pos = close + 1
    if p < 0:
        return text, -1
    skip = 0
    if p == 0:
        skip = 1
        while skip < n and text[skip] in " \t":
            skip += 1
    if p + skip < n:
        return text[: p + skip].rstrip(" \t"), p + skip
    return text.rstrip(" \t"), -1


def parse_include(text: str) -> tuple[IncludeCheck, str] | None:
    """keepalived's is_include()/check_include(): the checks and the glob pattern, or None.

    The pattern is the whole rest of the line (spaces and quotes included), as in keepalived."""
    if not text.startswith("include") or len(text) < 8:
        return None
    c7 = text[7]
    if c7 in WHITE_SPACE:
        return IncludeCheck.NONE, text[8:].lstrip(" \t")
    if c7 in _INCLUDE_SUFFIX and len(text) > 8 and text[8] in WHITE_SPACE:
        return _INCLUDE_SUFFIX[c7], text[9:].lstrip(" \t")
    return None


def include_check_from_words(current: IncludeCheck, words: Sequence[str]) -> IncludeCheck:
    """The new include_check after ``include_check [WORDS]`` in global_defs
    (include_check_set(); the keyword tables report its errors)."""
    if not words:
        return IncludeCheck.all()
    names = {
        "read": IncludeCheck.READ,
        "match": IncludeCheck.MATCH,
        "wildcard_match": IncludeCheck.WILDCARD,
        "brace_match": IncludeCheck.BRACE,
    }
    value = current
    for i, word in enumerate(words):
        mode = 0
        name = word
        if word[:1] == "-":
            mode, name = -1, word[1:]
        elif word[:1] == "+":
            mode, name = 1, word[1:]
        elif i == 0:
            value = IncludeCheck.NONE
        else:
            continue  # "Duplicate include_check"
        flag = names.get(name)
        if flag is None:
            continue
        if mode == 0:
            value = IncludeCheck.READ | flag
        elif mode == 1:
            value |= flag
        else:
            value &= ~flag
    return value


# --------------------------------------------------------------------------------------------
# glob(3) with GLOB_BRACE | GLOB_MARK, counting missing files/directories like keepalived


class FileKind(enum.Enum):
    MISSING = "missing"
    REGULAR = "regular"  # a regular file without any execute bit
    DIRECTORY = "directory"
    OTHER = "other"  # executable, device, fifo, ...


class ConfigFS(Protocol):
    """The filesystem as the config reader sees it (all paths absolute)."""

    def listdir(self, path: str) -> list[str]: ...

    def lexists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def kind(self, path: str) -> FileKind: ...

    def read_text(self, path: str) -> str: ...

    def realpath(self, path: str) -> str: ...


class EmptyFS:
    """`ConfigFS` with nothing in it: every include finds no file (text parsed on its own, as
    fuzzing and tests do, never touching the real filesystem)."""

    def listdir(self, path: str) -> list[str]:
        raise FileNotFoundError(path)

    def lexists(self, path: str) -> bool:
        return False

    def is_dir(self, path: str) -> bool:
        return False

    def kind(self, path: str) -> FileKind:
        return FileKind.MISSING

    def read_text(self, path: str) -> str:
        raise FileNotFoundError(path)

    def realpath(self, path: str) -> str:
        return path


class OsFS:
    """`ConfigFS` on the real filesystem."""

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(path)
        except ValueError as exc:  # embedded NUL, unencodable name
            raise OSError(str(exc)) from exc

    def lexists(self, path: str) -> bool:
        try:
            return os.path.lexists(path)
        except ValueError:
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return os.path.isdir(path)
        except ValueError:
            return False

    def kind(self, path: str) -> FileKind:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return FileKind.MISSING
        if stat.S_ISDIR(st.st_mode):
            return FileKind.DIRECTORY
        if stat.S_ISREG(st.st_mode) and not st.st_mode & (
            stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        ):
            return FileKind.REGULAR
        return FileKind.OTHER

    def read_text(self, path: str) -> str:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except ValueError as exc:
            raise OSError(str(exc)) from exc
        return data.decode("utf-8", errors="replace")

    def realpath(self, path: str) -> str:
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return path


OS_FS = OsFS()


@dataclass
class GlobResult:
    """What glob() returned plus keepalived's counters from its GLOB_ALTDIRFUNC hooks."""

    paths: list[str] = field(default_factory=list)
    missing_files: int = 0
    missing_dirs: int = 0
    have_wildcards: bool = False


_MAGIC = re.compile(r"[*?\[]")


def has_brace(pattern: str) -> bool:
    """keepalived's have_brace(): an unescaped ``{`` anywhere."""
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            return True
        i += 1
    return False


def expand_braces(pattern: str) -> list[str]:
    """csh-style ``{a,b}`` expansion as glibc's GLOB_BRACE does it (nested, left to right)."""
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            break
        i += 1
    else:
        return [pattern]
    depth = 0
    alts: list[str] = []
    start = i + 1
    j = i
    while j < n:
        c = pattern[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                alts.append(pattern[start:j])
                break
        elif c == "," and depth == 1:
            alts.append(pattern[start:j])
            start = j + 1
        j += 1
    else:
        return [pattern]  # no matching '}': glibc treats the pattern literally
    prefix, suffix = pattern[:i], pattern[j + 1 :]
    out: list[str] = []
    for alt in alts:
        out.extend(expand_braces(prefix + alt + suffix))
    return out


def _unescape_glob(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s) if "\\" in s else s


_GLOB_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _glob_regex(pat: str) -> re.Pattern[str]:
    """fnmatch(3) without FNM_NOESCAPE, for one path component."""
    cached = _GLOB_RE_CACHE.get(pat)
    if cached is not None:
        return cached
    out: list[str] = []
    i = 0
    n = len(pat)
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i < n:
            out.append(re.escape(pat[i]))
            i += 1
        elif c == "[":
            j = i
            if j < n and pat[j] in "!^":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape("["))
                continue
            body = pat[i:j]
            i = j + 1
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]")
        else:
            out.append(re.escape(c))
    try:
        rx = re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error:
        rx = re.compile(re.escape(pat) + r"\Z")
    _GLOB_RE_CACHE[pat] = rx
    return rx


def glob_config(pattern: str, cwd: str, fs: ConfigFS) -> GlobResult:
    """glob(pattern, GLOB_MARK | GLOB_BRACE) relative to ``cwd``; results as glob(3) gives them
    (relative if the pattern is), directories marked with a trailing ``/``, each brace
    alternative sorted on its own."""
    result = GlobResult()
    for alt in expand_braces(pattern) if "{" in pattern else [pattern]:
        found = sorted(_glob_one(alt, cwd, fs, result, only_dirs=False))
        for path in found:
            full = path if path.startswith("/") else os.path.join(cwd, path)
            if not path.endswith("/") and fs.is_dir(full):
                path += "/"
            result.paths.append(path)
    return result


def _glob_one(
    pattern: str, cwd: str, fs: ConfigFS, res: GlobResult, *, only_dirs: bool
) -> list[str]:
    if not pattern:
        return []
    slash = pattern.rfind("/")
    if slash < 0:
        dirname, filename, prefix = ".", pattern, ""
    else:
        dirname = pattern[:slash] or "/"
        filename = pattern[slash + 1 :]
        prefix = pattern[: slash + 1]
    if not filename:
        # "pattern/": the directories matching "pattern", with their slash
        stripped = pattern.rstrip("/")
        if not stripped:
            return [pattern]
        return [d.rstrip("/") + "/" for d in _glob_one(stripped, cwd, fs, res, only_dirs=True)]
    if slash >= 0 and _MAGIC.search(dirname):
        dirs = [d.rstrip("/") or "/" for d in _glob_one(dirname, cwd, fs, res, only_dirs=True)]
        bases = [(d if d == "/" else d + "/") for d in dirs]
    else:
        bases = [_unescape_glob(prefix)]
    out: list[str] = []
    for base in bases:
        dir_full = os.path.join(cwd, base) if base else cwd
        if not _MAGIC.search(filename):
            name = _unescape_glob(filename)
            full = os.path.join(dir_full, name)
            if fs.lexists(full):
                if not only_dirs or fs.is_dir(full):
                    out.append(base + name)
            else:
                res.missing_files += 1
            continue
        res.have_wildcards = True
        try:
            entries = fs.listdir(dir_full)
        except OSError:
            res.missing_dirs += 1
            continue
        rx = _glob_regex(filename)
        for entry in entries:
            if entry.startswith(".") and not filename.startswith("."):
                continue  # FNM_PERIOD
            if rx.match(entry) and (not only_dirs or fs.is_dir(os.path.join(dir_full, entry))):
                out.append(base + entry)
    return out


# --------------------------------------------------------------------------------------------
# definitions ($NAME=VALUE) and substitution


class Builtin(enum.Enum):
    PWD = "_PWD"
    INSTANCE = "_INSTANCE"
    RANDOM = "_RANDOM"


@dataclass(slots=True)
class Definition:
    """A ``$NAME`` value. Multi-line values hold ``\\n`` between their lines."""

    value: str
    multiline: bool = False
    builtin: Builtin | None = None
    max_params: int = 0


def standard_definitions() -> dict[str, Definition]:
    """keepalived 2.2.7's set_std_definitions() (``_ENV`` only arrived in 2.4.0)."""
    return {
        "_PWD": Definition("", builtin=Builtin.PWD),
        "_INSTANCE": Definition("", builtin=Builtin.INSTANCE),
        "_RANDOM": Definition("", builtin=Builtin.RANDOM, max_params=2),
        "_HASH": Definition("#"),
        "_BANG": Definition("!"),
    }


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINITION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class _Reference:
    definition: Definition
    end: int  # end of the text replaced (keepalived's arithmetic, see find_reference)
    params: str | None


def find_reference(defs: dict[str, Definition], buf: str, start: int) -> _Reference | None:
    """keepalived's find_definition() for the ``$`` at ``start - 1``.

    ``$NAME`` must be followed by a blank, ``,``, ``)`` or the end of the line; ``${NAME}``
    and ``${NAME params}`` (digits and spaces) may be followed by anything. A multi-line value
    is only used where the reference ends the line."""
    n = len(buf)
    braces = buf[start] == "{"
    ns = start + 1 if braces else start
    m = _NAME.match(buf, ns)
    if m is None:
        return None
    name = m.group()
    p = m.end()
    params: str | None = None
    end = start + len(name) + (2 if braces else 0)
    if braces:
        q = p
        pstart = pend = -1
        while q < n and (buf[q] == " " or buf[q] in _DIGITS):
            if buf[q] != " ":
                if pstart < 0:
                    pstart = q
                pend = q
            q += 1
        if pstart >= 0 and pend + 1 != q:
            return None
        if q >= n or buf[q] != "}":
            return None
        if pstart >= 0:
            params = buf[pstart : pend + 1]
            end = pend + 2
        allow_multiline = p + 1 == n
    else:
        if p < n and buf[p] not in " \t,)":
            return None
        allow_multiline = p == n
    d = defs.get(name)
    if d is None or (d.multiline and not allow_multiline):
        return None
    if params is not None and not d.max_params:
        return None
    return _Reference(d, end, params)


def _strtoul(s: str) -> tuple[int, str]:
    m = re.match(r"\s*(\d+)", s)
    if m is None:
        return 0, s
    return min(int(m.group(1)), 2**64 - 1), s[m.end() :]


def random_value(params: str | None, rng: random.Random) -> tuple[str, str | None]:
    """``${_RANDOM [MIN [MAX]]}``: a number in [MIN, MAX] (default 0..32767), and a warning."""
    lo, hi = 0, 32767
    warning = None
    if params is not None:
        lo, rest = _strtoul(params)
        if rest:
            hi, rest = _strtoul(rest)
            if rest:
                warning = f"Too many parameters or extra text for ${{_RANDOM {params}}}"
    span = (hi - lo + 1) % 2**64
    r = rng.randrange(2**31)
    value = (r % span if span else r) + lo
    return str(value)[: len(str(hi))], warning


# --------------------------------------------------------------------------------------------
# ~SEQ / ~LST


_HEX = frozenset("0123456789abcdefABCDEF")


def _strtol(s: str, i: int) -> tuple[int, int]:
    """C strtol(s + i, &end, 0): value and end index (``i`` itself if no digits)."""
    n = len(s)
    j = i
    while j < n and s[j] in " \t\n\v\f\r":
        j += 1
    neg = False
    if j < n and s[j] in "+-":
        neg = s[j] == "-"
        j += 1
    if s.startswith(("0x", "0X"), j) and j + 2 < n and s[j + 2] in _HEX:
        k = j + 2
        while k < n and s[k] in _HEX:
            k += 1
        value = int(s[j + 2 : k], 16)
    elif j < n and s[j] == "0":
        k = j + 1
        while k < n and "0" <= s[k] <= "7":
            k += 1
        value = int(s[j:k], 8)
    elif j < n and s[j] in _DIGITS:
        k = j
        while k < n and s[k] in _DIGITS:
            k += 1
        value = int(s[j:k])
    else:
        return 0, i
    value = -value if neg else value
    return max(-(2**63), min(2**63 - 1, value)), k


def _span(s: str, i: int, chars: str) -> int:
    n = len(s)
    while i < n and s[i] in chars:
        i += 1
    return i


def _cspan(s: str, i: int, chars: str) -> int:
    n = len(s)
    while i < n and s[i] not in chars:
        i += 1
    return i


@dataclass
class SeqSpec:
    """A parsed ``~SEQ``/``~SEQx``: values start, start+step, ... up to end inclusive."""

    var: str
    start: int
    step: int
    end: int
    hex: bool
    text: str
    text_offset: int


@dataclass
class LstSpec:
    """A parsed ``~LST``: ``value_sets[k][i]`` is the value of ``params[i]`` in round k."""

    params: list[str]
    value_sets: list[list[str]]
    text: str
    text_offset: int


class SpecError(Exception):
    """A ~SEQ/~LST line keepalived rejects; ``messages`` are its error lines, in order."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def parse_seq(buf: str, expand: _Expander) -> SeqSpec:
    """keepalived's add_seq(); raises SpecError with keepalived's messages."""
    invalid = f"Invalid ~SEQ specification '{buf}'"
    p = 4
    is_hex = buf[4:5] == "x"
    if is_hex:
        p += 1
    p = _span(buf, p, " \t")
    if buf[p : p + 1] != "(":
        raise SpecError([invalid])
    p = _span(buf, p + 1, " \t")
    var_start = p
    p = _cspan(buf, p, " \t,)")
    var = buf[var_start:p]
    p = _span(buf, p, " \t")
    if p >= len(buf) or buf[p] == ")" or not var:
        raise SpecError([f"Invalid ~SEQ definition '{buf}'", invalid])
    p = _span(buf, p + 1, " \t")  # skip the ',' (whatever character is there)
    close = buf.find(")", p)
    if close < 0 or close + 1 - p + 1 > _SEQ_PARAMS_MAX:
        raise SpecError([f"~SEQ parameter strings too long '{buf}'", invalid])
    params = expand(buf[p : close + 1], _SEQ_PARAMS_MAX)
    bad_def = SpecError([f"Invalid ~SEQ definition '{buf}'", invalid])
    one, q = _strtol(params, 0)
    q = _span(params, q, " \t")
    if params[q : q + 1] == ")":
        end = one
        step = -1 if end < 1 else 1
        start = -1 if end < 0 else 1
    else:
        if params[q : q + 1] != ",":
            raise bad_def
        two, q = _strtol(params, q + 1)
        q = _span(params, q, " \t")
        if params[q : q + 1] == ")":
            start, end = one, two
            step = 1 if start <= end else -1
        else:
            if params[q : q + 1] != ",":
                raise bad_def
            three, q = _strtol(params, q + 1)
            q = _span(params, q, " \t")
            if params[q : q + 1] != ")":
                raise bad_def
            start, step, end = one, two, three
            if not step or (start < end and step < 0) or (start > end and step > 0):
                raise SpecError([f"Invalid ~SEQ values '{buf}'", invalid])
    if is_hex and (start < 0 or end < 0):
        raise SpecError([f"~SEQx is only valid for positive numbers '{buf}'", invalid])
    text_offset = _span(buf, close + 1, " \t")
    return SeqSpec(var, start, step, end, is_hex, buf[text_offset:], text_offset)


def parse_lst(buf: str) -> LstSpec:
    """keepalived's add_lst(): ``~LST(var, v1, v2, ...)`` or ``~LST({a,b}, {1,2}, {3,4})``."""
    invalid = SpecError([f"Invalid ~LST specification '{buf}'"])
    n = len(buf)

    def at(i: int) -> str:
        return buf[i] if i < n else ""

    p = _span(buf, 4, " \t")
    if at(p) != "(":
        raise invalid
    p = _span(buf, p + 1, " \t")
    end_char = ","
    if at(p) == "{":
        end_char = "}"
        p = _span(buf, p + 1, " \t")
    params: list[str] = []
    num_vars = 0
    while True:
        var_start = p
        p = _cspan(buf, p, " \t,}")
        params.append(buf[var_start:p])
        p = _span(buf, p, " \t")
        if at(p) == end_char:
            break
        if at(p) != ",":
            raise invalid
        p = _span(buf, p + 1, " \t")
        num_vars += 1
    if at(p) == "}":
        p = _span(buf, p + 1, " \t")
    if at(p) != ",":
        raise invalid
    p = _span(buf, p + 1, " \t")
    value_sets: list[list[str]] = []
    while True:
        end_char = ","
        if at(p) == "{":
            end_char = "}"
            p = _span(buf, p + 1, " \t")
        values: list[str] = []
        num_values = 0
        while True:
            v_start = p
            p = _cspan(buf, p, " \t,})")
            values.append(buf[v_start:p])
            p = _span(buf, p, " \t")
            if at(p) == end_char or (at(p) == ")" and end_char == ","):
                break
            if at(p) != ",":
                raise invalid
            p = _span(buf, p + 1, " \t")
            num_values += 1
            if num_values > num_vars:
                raise SpecError(
                    [f"~LST specification has too many values '{buf}'", *invalid.messages]
                )
        values.extend("" for _ in range(num_values, num_vars))
        value_sets.append(values)
        if at(p) == "}" and end_char == "}":
            p = _span(buf, p + 1, " \t")
        if at(p) == ")":
            break
        if at(p) != ",":
            raise invalid
        p = _span(buf, p + 1, " \t")
    text_offset = _span(buf, p + 1, " \t")
    return LstSpec(params, value_sets, buf[text_offset:], text_offset)


class _Expander(Protocol):
    def __call__(self, text: str, max_len: int, /) -> str: ...


# --------------------------------------------------------------------------------------------
# line sources


# (text, file, line, col, plain): a logical line as `LineReader.logical_lines` yields it;
# ``plain`` is True when the text has no quote and only ASCII characters other than
# \x1c-\x1f, so that str.split() splits it into the same words as `split_words`.
LineItem = tuple[str, str, int, int, bool]

# The characters of a physical line that may need read_line()'s general path: ! # (comments),
# " \ (quotes, escapes), $ @ ~ (definitions, conditionals, generators), and \x1c-\x1f and all
# non-ASCII characters (str.split() splits at some of them, keepalived does not). Written as
# the complement of the other characters, which compiles much faster than a range to U+10FFFF.
_FAST_STOP = re.compile(r"[^\x00-\x1b %-?A-\[\]-}\x7f]")
_BRACE_PIECES = re.compile(r"[{}]|[^{}]+")


@dataclass(frozen=True, slots=True)
class LogicalLine:
    """One logical line: its text (comments gone, macros expanded, quotes kept) and where its
    first character came from. Lines made by a macro or ~SEQ carry the place of use."""

    text: str
    location: Location


class _Gen:
    """A line generator (macro body, ~SEQ, ~LST); ``origin`` is where it was started."""

    __slots__ = ("col", "origin")

    def __init__(self, origin: Location, col: int) -> None:
        self.origin = origin
        self.col = col

    def pull(self, defs: dict[str, Definition]) -> str | None:
        raise NotImplementedError


class _MacroGen(_Gen):
    __slots__ = ("idx", "lines")

    def __init__(self, lines: list[str], origin: Location) -> None:
        super().__init__(origin, origin.col)
        self.lines = lines
        self.idx = 0

    def pull(self, defs: dict[str, Definition]) -> str | None:
        if self.idx >= len(self.lines):
            return None
        self.idx += 1
        return self.lines[self.idx - 1]


def _set_definition(defs: dict[str, Definition], name: str, value: str) -> None:
    d = defs.get(name)
    if d is None:
        defs[name] = Definition(value)
    else:
        d.value = value
        d.builtin = None
        d.multiline = False


class _SeqGen(_Gen):
    __slots__ = ("done", "spec", "value")

    def __init__(self, spec: SeqSpec, origin: Location) -> None:
        super().__init__(origin, origin.col + spec.text_offset)
        self.spec = spec
        self.value = spec.start
        self.done = False

    def pull(self, defs: dict[str, Definition]) -> str | None:
        if self.done:
            return None
        s = self.spec
        _set_definition(defs, s.var, format(self.value, "x") if s.hex else str(self.value))
        self.value += s.step
        if (s.step > 0 and self.value > s.end) or (s.step < 0 and self.value < s.end):
            self.done = True
        return s.text


class _LstGen(_Gen):
    __slots__ = ("idx", "spec")

    def __init__(self, spec: LstSpec, origin: Location) -> None:
        super().__init__(origin, origin.col + spec.text_offset)
        self.spec = spec
        self.idx = 0

    def pull(self, defs: dict[str, Definition]) -> str | None:
        if self.idx >= len(self.spec.value_sets):
            return None
        for name, value in zip(self.spec.params, self.spec.value_sets[self.idx], strict=False):
            _set_definition(defs, name, value)
        self.idx += 1
        return self.spec.text


@dataclass(slots=True)
class _File:
    display: str  # the name used in locations
    lines: list[str]
    directory: str  # absolute directory: where relative includes and ${_PWD} point
    real: str  # resolved path, for include loop detection
    idx: int = 0
    line_no: int = 0
    pending: list[str] = field(default_factory=list)  # pieces of an over-long line


@dataclass(slots=True)
class _Glob:
    """One include (or the main file): its matches and the file being read."""

    pattern: str
    check: IncludeCheck
    paths: list[str]
    cwd: str  # directory the pattern is relative to
    display_dir: str  # directory part of the includer's display name
    saved_include_check: IncludeCheck
    location: Location | None
    next_idx: int = 0
    current: _File | None = None


class LineReader:
    """keepalived's read_line(): yields `LogicalLine` objects from the main file(s) and includes.

    ``block_depth`` counts ``{``/``}`` lines exactly as keepalived does (for its "Extra '}'"
    and "missing '}'" messages); ``files`` lists every file opened, in order.
    """

    def __init__(
        self,
        *,
        diags: Diagnostics,
        config_id: str,
        fs: ConfigFS = OS_FS,
        rng: random.Random | None = None,
        include_check: IncludeCheck = IncludeCheck.NONE,
    ) -> None:
        self.diags = diags
        self.config_id = config_id
        self.fs = fs
        self.rng = rng if rng is not None else random.Random()
        self.include_check = include_check
        self.defs = standard_definitions()
        self.block_depth = 0
        self.files: list[str] = []
        self._globs: list[_Glob] = []
        self._gens: list[_Gen] = []
        self._residue: LogicalLine | None = None
        self._mdef: Definition | None = None  # multi-line definition being read
        self._generated = 0
        self._aborted = False

    # -- opening files ------------------------------------------------------------------------

    def push_text(self, display: str, text: str, directory: str) -> None:
        """Read ``text`` as if it were the file ``display`` in ``directory`` (parse_text)."""
        g = _Glob(
            display,
            MAIN_FILE_CHECK,
            [],
            directory,
            posixpath.dirname(display),
            self.include_check,
            None,
        )
        g.current = _File(display, _split_lines(text), directory, "")
        self._globs.append(g)
        self.files.append(display)

    def push_main(self, pattern: str, paths: list[str], cwd: str) -> None:
        """Read the already checked matches of the main config file pattern."""
        g = _Glob(pattern, MAIN_FILE_CHECK, paths, cwd, "", self.include_check, None)
        self._globs.append(g)
        if not self._open_next(g):
            self._globs.pop()

    def set_include_check(self, words: Sequence[str]) -> None:
        """Apply ``include_check`` from global_defs to the includes that follow."""
        self.include_check = include_check_from_words(self.include_check, words)

    def _file_error(self, check: IncludeCheck, message: str, location: Location | None) -> None:
        """file_config_error(): an error only if this include (or include_check) asks for it.

        keepalived 2.2.7 counts these as CONFIG_FILE_NOT_FOUND, which makes ``-t`` exit with 6
        whatever else went wrong; Severity.SECURITY is the level with that exit code."""
        top = self._globs[-1].check if self._globs else IncludeCheck.NONE
        enforced = bool((self.include_check | top) & check)
        self.diags.add(Severity.SECURITY if enforced else Severity.WARNING, message, location)

    def _include(self, check: IncludeCheck, pattern: str, location: Location) -> None:
        includer = self._globs[-1].current if self._globs else None
        cwd = includer.directory if includer else os.getcwd()
        display_dir = posixpath.dirname(includer.display) if includer else ""
        if len(self._globs) >= MAX_INCLUDE_DEPTH:
            self.diags.error(f"Too many nested includes - skipping '{pattern}'", location)
            return
        g = _Glob(pattern, check, [], cwd, display_dir, self.include_check, location)
        self._globs.append(g)
        res = glob_config(pattern, cwd, self.fs) if pattern else GlobResult(missing_files=1)
        if not res.paths:
            if res.missing_files or res.missing_dirs:
                kind = IncludeCheck.BRACE if has_brace(pattern) else IncludeCheck.MATCH
                self._file_error(kind, f"Config files missing '{pattern}'.", location)
            elif res.have_wildcards and (self.include_check | check) & IncludeCheck.WILDCARD:
                self._file_error(
                    IncludeCheck.WILDCARD, f"No config files matched '{pattern}'.", location
                )
            self._globs.pop()
            return
        if res.missing_files or res.missing_dirs:
            self._file_error(
                IncludeCheck.BRACE, f'Some config files missing: "{pattern}".', location
            )
            if (self.include_check | check) & IncludeCheck.BRACE:
                self._globs.pop()
                return
        g.paths = res.paths
        if not self._open_next(g):
            self._globs.pop()

    def _open_next(self, g: _Glob) -> bool:
        """open_conf_file(): the next readable match of ``g``, made current."""
        while g.next_idx < len(g.paths):
            path = g.paths[g.next_idx]
            g.next_idx += 1
            if path.endswith("/"):
                self._file_error(
                    IncludeCheck.READ,
                    f"Configuration file '{path}' is a directory - skipping",
                    g.location,
                )
                continue
            full = os.path.normpath(os.path.join(g.cwd, path))
            if self.fs.kind(full) is not FileKind.REGULAR:
                self._file_error(
                    IncludeCheck.READ,
                    f"Configuration file '{path}' is not a regular non-executable file - skipping",
                    g.location,
                )
                continue
            real = self.fs.realpath(full)
            if any(o is not g and o.current and o.current.real == real for o in self._globs):
                self._file_error(
                    IncludeCheck.READ,
                    f"Configuration file '{path}' open problem (include loop) - skipping",
                    g.location,
                )
                continue
            try:
                text = self.fs.read_text(full)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                self._file_error(
                    IncludeCheck.READ,
                    f"Configuration file '{path}' open problem ({reason}) - skipping",
                    g.location,
                )
                continue
            display = (
                path
                if path.startswith("/") or not g.display_dir
                else posixpath.join(g.display_dir, path)
            )
            g.current = _File(display, _split_lines(text), os.path.dirname(full), real)
            self.files.append(display)
            return True
        g.current = None
        return False

    # -- reading ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[LogicalLine]:
        for text, file, line_no, col, _plain in self.logical_lines():
            yield LogicalLine(text, Location(file, line_no, col))

    def logical_lines(self) -> Iterator[LineItem]:
        """The same lines as repeated `read_line` calls, as plain `LineItem` tuples.

        Physical lines that need none of read_line()'s special steps (see `_FAST_STOP`) are
        cut at their braces here directly, without the per-line objects of the general path;
        every other line goes through `read_line`. Do not call `read_line` while iterating."""
        stop = _FAST_STOP.search
        while True:
            f = self._plain_file()
            if f is not None:
                lines = f.lines
                n = len(lines)
                display = f.display
                while f.idx < n:
                    raw = lines[f.idx]
                    if len(raw) >= MAXBUF - 1:
                        break
                    text = raw.rstrip("\r").strip(" \t")
                    m = stop(text)
                    if m is not None:
                        # a comment before any quote or backslash needs no decomment(),
                        # unless a backslash ends the line (decomment() keeps that one)
                        j = m.start()
                        if text[j] not in "#!" or text[-1] == "\\":
                            break
                        text = text[:j].rstrip(" \t")
                    if "include" in text:
                        break
                    f.idx += 1
                    f.line_no += 1
                    if not text:
                        continue
                    line_no = f.line_no
                    col = raw.find(text[0]) + 1
                    if "{" not in text and "}" not in text:
                        yield text, display, line_no, col, True
                        continue
                    yield from self._cut_braces(text, display, line_no, col)
            line = self.read_line()
            if line is None:
                return
            loc = line.location
            yield line.text, loc.file, loc.line, loc.col, False

    def _plain_file(self) -> _File | None:
        """The file being read, if its next lines may take the fast path of `logical_lines`:
        nothing pending from a previous line, no generator, no multi-line definition."""
        if self._residue is not None or self._gens or self._mdef is not None or self._aborted:
            return None
        f = self._globs[-1].current if self._globs else None
        if f is None or f.pending:
            return None
        return f

    def _cut_braces(self, text: str, file: str, line_no: int, col: int) -> Iterator[LineItem]:
        """`read_line`'s brace cutting and counting for a line without quotes (col: where
        ``text`` starts): every brace is a line, the text between them is stripped. A
        generator, so that a brace is counted only when the parser gets to it (the order of
        "Extra '}'" and the parser's own messages depends on it)."""
        for m in _BRACE_PIECES.finditer(text):
            piece = m.group()
            if piece == "{":
                self.block_depth += 1
            elif piece == "}":
                if self.block_depth < 1:
                    self.diags.error("Extra '}' found", Location(file, line_no, col + m.start()))
                    self.block_depth = 0
                else:
                    self.block_depth -= 1
            else:
                stripped = piece.lstrip(" \t")
                if stripped:
                    yield stripped.rstrip(" \t"), file, line_no, col + m.end() - len(stripped), True
                continue
            yield piece, file, line_no, col + m.start(), True

    def _abort(self, message: str, location: Location | None) -> None:
        self.diags.abort(message, location)
        self._aborted = True
        self._gens.clear()
        self._globs.clear()
        self._residue = None

    def _next_raw(self) -> tuple[str, Location] | None:
        """The next line from a generator, else from the current file (decommented)."""
        gens = self._gens
        while gens:
            g = gens[-1]
            text = g.pull(self.defs)
            if text is None:
                gens.pop()
                continue
            self._generated += 1
            if self._generated > MAX_GENERATED_LINES:
                self._abort(
                    f"More than {MAX_GENERATED_LINES} lines generated by ~SEQ/~LST/"
                    "multi-line definitions - stopping",
                    g.origin,
                )
                return None
            return text, Location(g.origin.file, g.origin.line, g.col)
        globs = self._globs
        special = _DECOMMENT_SPECIAL.search
        while globs:
            gl = globs[-1]
            f = gl.current
            if f is None:
                globs.pop()
                continue
            lines = f.lines
            n = len(lines)
            while True:
                if f.pending:
                    raw = f.pending.pop(0)
                elif f.idx < n:
                    raw = lines[f.idx]
                    f.idx += 1
                    f.line_no += 1
                    if len(raw) >= MAXBUF - 1:
                        raw = self._split_long_line(f, raw)
                else:
                    break
                if raw and raw[-1] == "\r":
                    raw = raw.rstrip("\r")
                if not raw:
                    if self._mdef is not None:
                        self._end_definition()
                    continue
                if special(raw) is None:
                    text = raw.strip(" \t")
                    if text:
                        col = len(raw) - len(raw.lstrip(" \t")) + 1
                        return text, Location(f.display, f.line_no, col)
                    continue
                d = decomment(raw)
                if not d.text:
                    continue
                col = len(raw) - len(raw.lstrip(" \t")) + 1
                loc = Location(f.display, f.line_no, col)
                if d.unterminated is not None:
                    self.diags.error(f"Unterminated quote '{d.unterminated}'", loc)
                return d.text, loc
            # end_file(): back to the include_check of the includer, then the next match
            self.include_check = gl.saved_include_check
            if not self._open_next(gl):
                globs.pop()
        return None

    def _split_long_line(self, f: _File, raw: str) -> str:
        """fgets(buf, MAXBUF) returns a long line in pieces of MAXBUF - 1 characters (the
        newline counts); keepalived then treats every piece as a line."""
        self.diags.warning(
            f"Line longer than {MAXBUF - 2} characters: keepalived reads it in pieces",
            Location(f.display, f.line_no, 1),
        )
        size = MAXBUF - 1
        pieces = [raw[k : k + size] for k in range(0, len(raw) + 1, size)]
        f.pending = [p.rstrip("\r") for p in pieces[1:]]
        return pieces[0]

    def _end_definition(self) -> None:
        if self._mdef is not None and not self._mdef.value:
            self._mdef.multiline = False
        self._mdef = None

    def _continue_definition(self, text: str) -> None:
        """A line of a multi-line ``$NAME=`` definition."""
        d = self._mdef
        assert d is not None
        still = bool(text) and text[-1] == "\\"
        if still:
            text = text[:-1].rstrip(" \t") + "\n"
        else:
            self._end_definition()
        if len(text) >= 2 or (text and not still):
            d.value += text

    def read_line(self) -> LogicalLine | None:
        """The next logical line, or None at the end of the configuration."""
        got = self._next_processed()
        if got is None:
            return None
        text, loc = got
        if "{" in text or "}" in text:
            head, rest = split_braces(text)
            if rest >= 0:
                self._residue = LogicalLine(
                    text[rest:].rstrip(" \t"), Location(loc.file, loc.line, loc.col + rest)
                )
            text = head
            if text == "{":
                self.block_depth += 1
            elif text == "}":
                if self.block_depth < 1:
                    self.diags.error("Extra '}' found", loc)
                    self.block_depth = 0
                else:
                    self.block_depth -= 1
        return LogicalLine(text, loc)

    def _next_processed(self) -> tuple[str, Location] | None:
        """The next non-empty line after conditionals, definitions, ~SEQ, substitution and
        includes (the body of read_line() before the braces are cut out)."""
        while not self._aborted:
            if self._residue is not None:
                text, loc = self._residue.text, self._residue.location
                self._residue = None
            else:
                raw = self._next_raw()
                if raw is None:
                    return None
                text, loc = raw
                if self._mdef is not None:
                    self._continue_definition(text)
                    continue
            if not text:
                continue
            if text[0] in "@$~" or "$" in text:
                text, loc = self._process(text, loc)
                if not text:
                    continue
            if text[0] == "i":
                inc = parse_include(text)
                if inc is not None:
                    self._include(inc[0], inc[1], loc)
                    continue
            return text, loc
        return None

    def _process(self, text: str, loc: Location) -> tuple[str, Location]:
        """Conditionals, definitions, generators and substitution (the inner loop)."""
        for _ in range(MAX_SUBSTITUTIONS_PER_LINE):
            c0 = text[0]
            if c0 == "@":
                rev = text[1:2] == "^"
                ofs = 2 if rev else 1
                k = ofs
                n = len(text)
                while k < n and text[k] not in " \t":
                    k += 1
                if k >= n:
                    return "", loc
                if (text[ofs:k] != self.config_id) != rev:
                    return "", loc
                k = _span(text, k, " \t")
                text = text[k:]
                loc = Location(loc.file, loc.line, loc.col + k)
                if not text:
                    return "", loc
                c0 = text[0]
            if c0 == "$" and self._check_definition(text):
                return "", loc
            if c0 == "~":
                if text.startswith(("~SEQ", "~LST")):
                    self._add_generator(text, loc)
                    return "", loc
                return text, loc
            if "$" not in text:
                return text, loc
            text, changed = self._replace(text, loc, MAXBUF, push_macros=True)
            if not changed:
                return text, loc
            d = decomment(text)
            if d.unterminated is not None:
                self.diags.error(f"Unterminated quote '{d.unterminated}'", loc)
            text = d.text
            if not text or (text[0] != "@" and "$" not in text):
                return text, loc
        self.diags.error(f"Parameter substitution on line '{text}' does not terminate", loc)
        return text, loc

    def _check_definition(self, text: str) -> bool:
        """check_definition(): store ``$NAME=VALUE``; True if the line was a definition."""
        m = _DEFINITION.match(text)
        if m is None:
            return False
        name = m.group(1)
        value = text[m.end() :].lstrip(" \t")
        multiline = value.endswith("\\")
        if multiline:
            body = value[:-1].rstrip(" \t")
            value = body + "\n" if body else ""
        d = self.defs.get(name)
        if d is None:
            d = self.defs[name] = Definition(value, multiline)
        else:
            d.value = value
            d.multiline = multiline
            d.builtin = None
            d.max_params = 0
        if multiline:
            self._mdef = d
        return True

    def _add_generator(self, text: str, loc: Location) -> None:
        try:
            if text[1] == "S":
                seq = parse_seq(
                    text, lambda s, max_len: self._replace(s, loc, max_len, push_macros=False)[0]
                )
                gen: _Gen = _SeqGen(seq, loc)
            else:
                gen = _LstGen(parse_lst(text), loc)
        except SpecError as exc:
            for message in exc.messages:
                self.diags.error(message, loc)
            return
        if len(self._gens) >= MAX_GENERATOR_DEPTH:
            self._abort("~SEQ/~LST/multi-line definitions nested too deeply - stopping", loc)
            return
        self._gens.append(gen)

    def _builtin_value(self, ref: _Reference, loc: Location) -> str:
        b = ref.definition.builtin
        if b is Builtin.PWD:
            f = self._globs[-1].current if self._globs else None
            return self.fs.realpath(f.directory if f else os.getcwd())
        if b is Builtin.INSTANCE:
            return self.config_id
        value, warning = random_value(ref.params, self.rng)
        if warning:
            self.diags.warning(warning, loc)
        return value

    def _replace(
        self, buf: str, loc: Location, max_len: int, *, push_macros: bool
    ) -> tuple[str, bool]:
        """replace_param(): substitute definitions; after a substitution the scan restarts at
        the same place, so values are expanded recursively. Returns the text and whether
        anything was replaced (False also when the line would grow too long)."""
        cur = buf.find("$")
        found = False
        macros: list[list[str]] = []
        count = 0
        while cur >= 0 and cur + 1 < len(buf):
            ref = find_reference(self.defs, buf, cur + 1)
            if ref is None:
                cur = buf.find("$", cur + 1)
                continue
            count += 1
            if count > MAX_SUBSTITUTIONS_PER_LINE:
                self.diags.error(f"Parameter substitution on line '{buf}' does not terminate", loc)
                return buf, False
            found = True
            d = ref.definition
            value = self._builtin_value(ref, loc) if d.builtin is not None else d.value
            replacement = value
            if d.multiline:
                first, sep, rest = value.partition("\n")
                replacement = first
                if sep:
                    macros.append(rest.split("\n"))
            new_len = len(buf) - (ref.end - cur) + len(replacement)
            if new_len >= max_len:
                self.diags.warning(
                    f"Parameter substitution on line '{buf}' would exceed maximum line length", loc
                )
                return buf, False
            buf = buf[:cur] + replacement + buf[ref.end :]
            if value.lstrip(" \t")[:1] == "~":
                break
            cur = buf.find("$", cur)  # the replacement itself is scanned again
        if push_macros:
            for lines in macros:
                if len(self._gens) >= MAX_GENERATOR_DEPTH:
                    self._abort(
                        "~SEQ/~LST/multi-line definitions nested too deeply - stopping", loc
                    )
                    break
                self._gens.append(_MacroGen(lines, loc))
        return buf, found


def _split_lines(text: str) -> list[str]:
    """Physical lines as fgets() sees them: only ``\\n`` ends a line; text after a NUL is lost."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\0" in text:
        lines = [ln.split("\0", 1)[0] for ln in lines]
    return lines
