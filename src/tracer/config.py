"""tracer's configuration file: ``~/.config/tracer/config.toml`` (the platform's user config directory).

``$TRACER_CONFIG`` names another file. The file is optional; every setting has a default. What it can hold::

    retention_days = 30            # sessions older than this are deleted at the start of each `tracer shell`
                                   # (absent: sessions are kept until `tracer rm` / `tracer purge`)
    [redact]
    allowlist = ['''^sk_test_''']  # regular expressions (RE2): a secret matching one is not masked

    [[redact.rules]]               # a secret shape of your own, masked like the built-in ones
    name = "acme-token"            # shown in counts and placeholders: [REDACTED:acme-token:1]
    regex = '''acme_[a-z0-9]{32}'''  # RE2 syntax; the first non-empty group, if any, is the secret
    keywords = ["acme_"]           # optional: the regex runs only on text holding one of them (any case)
    stage = "record"               # "record" (default): before anything reaches the disk, and at export;
                                   # "export": only when a session leaves the machine

Reading it never runs anything it holds. A file that is not valid TOML, or that holds an unknown key or a value
of the wrong type, is a :class:`~tracer.errors.ConfigError` naming the file and the line. Each rule and
allowlist entry keeps its line, so that the redaction engine can name it when its regex does not compile.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from tracer._files import read_regular
from tracer.errors import ConfigError
from tracer.userdirs import config_file
from tracer.userdirs import user_dir as _user_dir

#: Stages a user rule may name.
STAGES = ("record", "export")


class UserRule(NamedTuple):
    """A redaction rule from the configuration file.

    Attributes:
        name: the rule's id in counts and placeholders.
        regex: its regular expression (RE2 syntax, not yet compiled).
        keywords: the regex runs only on text holding one of these (compared without regard to case); empty:
            on all text.
        stage: ``"record"`` (at record time and at export) or ``"export"`` (at export only).
        line: the line of the file where its ``regex`` is (1-based).
    """

    name: str
    regex: str
    keywords: tuple[str, ...] = ()
    stage: str = "record"
    line: int = 0


class Config(NamedTuple):
    """The settings in force.

    Attributes:
        path: the file they were read from; ``None`` when there is none.
        retention_days: sessions older than this many days are deleted at the start of each ``tracer shell``;
            ``None``: never.
        rules: redaction rules of the user's own.
        allowlist: ``(regex, line)`` pairs: a secret matching one of the regexes is not masked.
    """

    path: Path | None = None
    retention_days: int | None = None
    rules: tuple[UserRule, ...] = ()
    allowlist: tuple[tuple[str, int], ...] = ()

    def where(self, line: int) -> str:
        """``"~/.config/tracer/config.toml, line 7"``: for messages about something in this file."""
        return f"{self.path}, line {line}" if line else str(self.path)


def config_path() -> Path:
    """The configuration file: ``$TRACER_CONFIG``, else ``<user config dir>/tracer/config.toml``
    (:func:`tracer.userdirs.config_file`)."""
    return Path(config_file())


def user_dir(kind: str) -> Path:
    """tracer's user ``"config"``, ``"data"`` or ``"cache"`` directory, not created (:func:`tracer.userdirs.user_dir`).

    Raises:
        KeyError: ``kind`` is none of those.
    """
    return Path(_user_dir(kind))


def cache_dir(kind: str) -> Path:
    """The directory of tracer's caches of ``kind`` (``"keyframes"``, ``"insights"``, ``"rules"``), not created:
    ``$TRACER_CACHE_DIR/<kind>``, else ``<kind>`` in the user cache directory (:func:`user_dir`)."""
    base = os.environ.get("TRACER_CACHE_DIR")
    return (Path(base) if base else user_dir("cache")) / kind


def load_config(path: Path | None = None) -> Config:
    """Read the configuration file (``path``, else :func:`config_path`); defaults when it does not exist.

    Raises:
        ConfigError: the file cannot be read, is not valid TOML, or holds an unknown key or a wrong value; the
            message names the file and the line.
    """
    path = path or config_path()
    try:
        raw = read_regular(path)  # (a FIFO there would wait for a writer, and hold every command with it)
    except FileNotFoundError:
        return Config()
    except OSError as e:
        raise ConfigError(f"cannot read the configuration file {path}: {e.strerror}; fix it or remove it") from e
    import tomllib

    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not UTF-8 text (byte {e.start}): save it as UTF-8") from e
    except tomllib.TOMLDecodeError as e:
        # tomllib says where: "... (at line 3, column 7)"
        raise ConfigError(f"{path} is not valid TOML: {e}; fix it or remove it") from e
    return _parse(path, text, data)


def _parse(path: Path, text: str, data: dict[str, Any]) -> Config:
    lines = _KeyLines(text)
    config = Config(path=path)

    def fail(line: int, message: str) -> ConfigError:
        return ConfigError(f"{config.where(line)}: {message}")

    for key in data:
        if key not in ("retention_days", "redact"):
            raise fail(lines.find(key), f"unknown setting {key!r} (known: retention_days, [redact])")
    retention = data.get("retention_days")
    if retention is not None and (not isinstance(retention, int) or isinstance(retention, bool) or retention < 0):
        raise fail(lines.find("retention_days"), "retention_days must be a whole number of days (0 or more)")
    redact = data.get("redact", {})
    if not isinstance(redact, dict):
        raise fail(lines.find("redact"), "redact must be a table ([redact])")
    for key in redact:
        if key not in ("allowlist", "rules"):
            raise fail(lines.find(key, "redact"), f"unknown setting redact.{key} (known: allowlist, rules)")
    allow = redact.get("allowlist", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise fail(lines.find("allowlist", "redact"), "redact.allowlist must be a list of regular expressions")
    allow_line = lines.find("allowlist", "redact")
    allowlist = tuple((a, lines.find_text(a, allow_line)) for a in allow)
    rules_data = redact.get("rules", [])
    if not isinstance(rules_data, list):
        raise fail(lines.find("rules", "redact"), "redact.rules must be an array of tables ([[redact.rules]])")
    rules: list[UserRule] = []
    names: set[str] = set()
    for i, r in enumerate(rules_data):
        table = lines.table("redact.rules", i)
        if not isinstance(r, dict):
            raise fail(table, "each redact.rules entry must be a table")
        for key in r:
            if key not in ("name", "regex", "keywords", "stage"):
                raise fail(
                    lines.find(key, "redact.rules", i),
                    f"unknown key {key!r} in a rule (known: name, regex, keywords, stage)",
                )
        name = r.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise fail(
                lines.find("name", "redact.rules", i) or table,
                "a rule needs a name of letters, digits, '-', '_' or '.' (e.g. name = \"acme-token\")",
            )
        if name in names:
            raise fail(lines.find("name", "redact.rules", i), f"two rules are named {name!r}: give each its own name")
        names.add(name)
        regex = r.get("regex")
        if not isinstance(regex, str) or not regex:
            raise fail(lines.find("regex", "redact.rules", i) or table, f"rule {name!r} needs a regex (a string)")
        keywords = r.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
            raise fail(lines.find("keywords", "redact.rules", i), f"keywords of rule {name!r} must be a list of words")
        stage = r.get("stage", "record")
        if stage not in STAGES:
            raise fail(lines.find("stage", "redact.rules", i), f"stage of rule {name!r} must be 'record' or 'export'")
        rules.append(
            UserRule(
                name=name,
                regex=regex,
                keywords=tuple(keywords),
                stage=stage,
                line=lines.find("regex", "redact.rules", i),
            )
        )
    return Config(path=path, retention_days=retention, rules=tuple(rules), allowlist=allowlist)


_HEADER = r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?$"
_KEY = r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*="


class _KeyLines:
    """Where keys are in the file's text (tomllib parses without positions): good enough to point at a line.

    Each line is assigned to the table it is in, as ``(table name, index of the array-of-tables entry)``.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.keys: list[tuple[str, int, str, int]] = []  # (table, entry, key, line)
        self.tables: list[tuple[str, int, int]] = []  # (table, entry, line)
        table, entry = "", 0
        counts: dict[str, int] = {}
        header, key = re.compile(_HEADER), re.compile(_KEY)  # (re caches them) only when there is a file
        for n, line in enumerate(self.lines, 1):
            h = header.match(line)
            if h:
                table = h.group(2).replace(" ", "")
                if h.group(1) == "[[":
                    entry = counts.get(table, -1) + 1
                    counts[table] = entry
                else:
                    entry = 0
                self.tables.append((table, entry, n))
                continue
            k = key.match(line)
            if k:
                self.keys.append((table, entry, k.group(1).strip("\"'"), n))

    def find(self, key: str, table: str = "", entry: int = 0) -> int:
        """The line of ``key`` in ``table`` (entry ``entry`` of an array of tables); 0 when not found."""
        for t, e, k, n in self.keys:
            if t == table and e == entry and k == key:
                return n
        for t, _, n in self.tables:
            if t == (f"{table}.{key}" if table else key):
                return n
        return 0

    def table(self, table: str, entry: int) -> int:
        """The line of the header of entry ``entry`` of the array of tables ``table``; 0 when not found."""
        for t, e, n in self.tables:
            if t == table and e == entry:
                return n
        return 0

    def find_text(self, value: str, start: int) -> int:
        """The first line from ``start`` holding ``value`` as written; ``start`` when none does."""
        for n in range(max(start, 1), len(self.lines) + 1):
            if value in self.lines[n - 1]:
                return n
        return start
