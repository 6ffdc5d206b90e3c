"""Error patterns: the rules of ``patterns.toml`` (data), and what a failed command's output says by them.

A failed command's output (terminal bytes) is cut to its first 16 KiB and last 64 KiB, its escape sequences are
removed, and the rules are tried in order: keywords first (a substring of the lower-cased text), regular
expressions only where a keyword occurs. The first rule that matches labels the failure; rules of kind
``tests`` also name every failing test they find. See the header of ``patterns.toml`` for the fields.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer.errors import InsightsError

#: Bytes of a failed command's output read from its start and from its end.
HEAD_BYTES = 16 << 10
TAIL_BYTES = 64 << 10
#: Failing test names kept per command.
MAX_TESTS = 50
#: Characters kept of a detail (a test name, a missing module…).
MAX_DETAIL = 200

_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, shell marks
    rb"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    rb"|\x1b[@-Z\\-_]|\x1b[ -/]+[0-~]"  # two- and three-byte escapes
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One error pattern (a ``[[rule]]`` of ``patterns.toml``).

    Attributes:
        id: stable name, stored in the index (``python-exception``).
        label: what insights shows; ``{detail}`` is replaced by the match's detail.
        kind: ``"error"``, or ``"tests"`` for rules whose matches are failing tests.
        group: ``"detail"`` (each detail its own row) or ``"rule"`` (one row, details shown as examples).
        keywords: lower-case substrings, one of which must occur (none: no keyword check).
        regexes: compiled multi-line patterns, one of which must match (none: keywords and exit status decide).
        exit_status: exit statuses the rule is for (empty: any non-zero).
        command: a pattern the command line must match (``None``: any).
        last: take the detail from the last match instead of the first.
        suggestion: one line of advice, ``""`` when none is known.
        suggestions: advice per detail, where it says more than ``suggestion``.
    """

    id: str
    label: str
    kind: str = "error"
    group: str = "detail"
    keywords: tuple[str, ...] = ()
    regexes: tuple[re.Pattern[str], ...] = ()
    exit_status: frozenset[int] = frozenset()
    command: re.Pattern[str] | None = None
    last: bool = False
    suggestion: str = ""
    suggestions: dict[str, str] = field(default_factory=dict)

    def label_for(self, detail: str | None) -> str:
        """The label with ``{detail}`` filled in (with the rule's id when there is no detail)."""
        return self.label.replace("{detail}", detail or self.id)

    def suggestion_for(self, detail: str | None) -> str:
        """The advice for ``detail``: its own where the rule has one, else the rule's."""
        return self.suggestions.get(detail or "", self.suggestion)


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed command's output says: the first matching rule, its detail, and the failing tests named.

    Attributes:
        rule: the id of the first rule that matched, ``None`` when none did.
        detail: the match's ``detail`` group (cut to :data:`MAX_DETAIL` characters), ``None`` when it has none.
        tests: failing test names found by the ``tests`` rules, in order, without repeats (at most
            :data:`MAX_TESTS`).
    """

    rule: str | None
    detail: str | None = None
    tests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules in the order they are tried, by id, and a digest of their source text (the index keeps the
    digest: other rules mean other labels, so the index is rebuilt)."""

    rules: tuple[Rule, ...]
    digest: str
    keywords: frozenset[str] = field(init=False, repr=False, compare=False)
    finder: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    straddling: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = sorted({k for r in self.rules for k in r.keywords}, key=lambda k: (-len(k), k))
        set_ = object.__setattr__
        set_(self, "keywords", frozenset(words))
        set_(self, "finder", re.compile("|".join(map(re.escape, words))) if words else None)
        # keywords that can start inside another one and end after it (a suffix of one is a prefix of the other)
        set_(
            self,
            "straddling",
            {f: frozenset(k for k in words if any(k.startswith(f[i:]) for i in range(1, len(f)))) for f in words},
        )

    def keywords_in(self, lowered: str) -> set[str]:
        """The rules' keywords that occur in ``lowered`` (lower-case text), in one pass over it.

        The pass finds keywords without overlaps, longer ones first; a keyword it did not see starts inside one
        it found, so it is either inside that one (added from the keywords found) or straddles its end (looked
        for on its own: only keywords that can straddle another one found).
        """
        if self.finder is None:
            return set()
        found = {m.group() for m in self.finder.finditer(lowered)}
        present = {k for k in self.keywords if any(k in f for f in found)}
        for f in found:
            present.update(k for k in self.straddling[f] if k not in present and k in lowered)
        return present

    def __getitem__(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def classify(self, output: bytes, exit_status: int, command: str = "") -> Failure:
        """Label a failed command by its ``output`` (raw terminal bytes), ``exit_status`` and ``command`` line.

        Only the first :data:`HEAD_BYTES` and the last :data:`TAIL_BYTES` of the output are read, so the time is
        bounded whatever the output's size.
        """
        text = output_text(output)
        lowered = text.lower()
        present = self.keywords_in(lowered)
        first: tuple[str, str | None] | None = None
        tests: list[str] = []
        for rule in self.rules:
            if rule.kind != "tests" and first is not None:
                continue
            if rule.exit_status and exit_status not in rule.exit_status:
                continue
            if rule.command is not None and not rule.command.search(command):
                continue
            if rule.keywords and present.isdisjoint(rule.keywords):
                continue
            if not rule.regexes:
                if first is None:
                    first = (rule.id, None)
                continue
            if rule.kind == "tests":
                found = _all_details(rule, text)
                if found:
                    tests.extend(t for t in found if t not in tests)
                    if first is None:
                        first = (rule.id, found[0])
                continue
            matched, detail = _detail(rule, text)
            if matched:
                first = (rule.id, detail)
        if first is None:
            return Failure(None, None, tuple(tests[:MAX_TESTS]))
        return Failure(first[0], first[1], tuple(tests[:MAX_TESTS]))


def output_text(output: bytes) -> str:
    """The text a person reads in ``output``: head and tail only, escape sequences removed, CR and CRLF as
    line ends, bytes that are not UTF-8 replaced."""
    if len(output) > HEAD_BYTES + TAIL_BYTES:
        output = output[:HEAD_BYTES] + b"\n" + output[-TAIL_BYTES:]
    if b"\x1b" in output:
        output = _ESCAPES.sub(b"", output)
    if b"\r" in output:
        output = output.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return output.decode("utf-8", "replace")


def _cut(detail: str | None) -> str | None:
    if detail is None:
        return None
    detail = detail.strip()
    return detail[:MAX_DETAIL] or None


def _detail(rule: Rule, text: str) -> tuple[bool, str | None]:
    """Whether one of the rule's regexes matches, and the detail of the first (or last) match."""
    for regex in rule.regexes:
        if rule.last:
            found = None
            for found in regex.finditer(text):  # noqa: B007 - the last one is wanted
                pass
        else:
            found = regex.search(text)
        if found is not None:
            return True, _cut(found.groupdict().get("detail"))
    return False, None


def _all_details(rule: Rule, text: str) -> list[str]:
    out: list[str] = []
    for regex in rule.regexes:
        for m in regex.finditer(text):
            detail = _cut(m.groupdict().get("detail"))
            if detail and detail not in out:
                out.append(detail)
                if len(out) >= MAX_TESTS:
                    return out
    return out


def user_rules_path() -> Path:
    """Where a user's own rules live: ``$TRACER_PATTERNS``, else ``~/.config/tracer/patterns.toml``."""
    if os.environ.get("TRACER_PATTERNS"):
        return Path(os.environ["TRACER_PATTERNS"]).expanduser()
    from tracer.config import user_dir

    return user_dir("config") / "patterns.toml"


def load_rules(user: Path | None = None) -> Rules:
    """tracer's rules (``patterns.toml`` of this package), after the user's own where ``user`` exists.

    Args:
        user: a rules file of the same format whose rules are tried first (see :func:`user_rules_path`).

    Raises:
        InsightsError: a rules file is not valid TOML or a rule is malformed (named, with what to fix).
    """
    builtin = (Path(__file__).parent / "patterns.toml").read_text(encoding="utf-8")
    sources = [("tracer's patterns.toml", builtin)]
    if user is not None and user.is_file():
        try:
            sources.insert(0, (str(user), user.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            raise InsightsError(f"cannot read the error patterns file {user} ({e}): fix it or remove it") from e
    rules: list[Rule] = []
    digest = hashlib.sha256()
    for where, text in sources:
        digest.update(text.encode())
        rules.extend(parse_rules(text, where))
    return Rules(tuple(rules), digest.hexdigest()[:16])


def parse_rules(text: str, where: str) -> list[Rule]:
    """The rules of one ``patterns.toml`` text; ``where`` names it in errors.

    Raises:
        InsightsError: the text is not valid TOML, or a rule lacks ``id``/``label`` or has a bad field.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InsightsError(f"the error patterns file {where} is not valid TOML ({e}): fix it") from e
    out = []
    for i, raw in enumerate(data.get("rule", [])):
        try:
            out.append(_rule(raw))
        except (KeyError, TypeError, ValueError, re.error) as e:
            name = raw.get("id", f"number {i + 1}") if isinstance(raw, dict) else f"number {i + 1}"
            raise InsightsError(f"rule {name} of the error patterns file {where} is malformed ({e!r}): fix it") from e
    return out


def _rule(raw: dict[str, Any]) -> Rule:
    regex = raw.get("regex", [])
    regexes = [regex] if isinstance(regex, str) else list(regex)
    kind = raw.get("kind", "error")
    group = raw.get("group", "rule" if kind == "tests" else "detail")
    if kind not in ("error", "tests") or group not in ("detail", "rule"):
        raise ValueError("kind must be error or tests, group detail or rule")
    return Rule(
        id=str(raw["id"]),
        label=str(raw["label"]),
        kind=kind,
        group=group,
        keywords=tuple(str(k).lower() for k in raw.get("keywords", ())),
        regexes=tuple(re.compile(r, re.MULTILINE) for r in regexes),
        exit_status=frozenset(int(s) for s in raw.get("exit_status", ())),
        command=re.compile(raw["command"]) if "command" in raw else None,
        last=raw.get("match", "first") == "last",
        suggestion=str(raw.get("suggestion", "")),
        suggestions={str(k): str(v) for k, v in raw.get("suggestions", {}).items()},
    )
