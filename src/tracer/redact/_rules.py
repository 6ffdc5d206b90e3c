"""Rules as data, compiled into a rule set that finds secrets in bytes: keywords first, then regexes.

A rule (gitleaks' model: id, regex, keywords, entropy, allowlists) comes from ``rules/tracer.toml``,
``rules/gitleaks.toml`` (gitleaks' own list, MIT) or the user's configuration file. A :class:`RuleSet` looks
for every keyword of its rules in one pass over the text (Hyperscan where it is installed: several GB/s; else
RE2's multi-pattern set), and runs the regexes (RE2: linear time, whatever the text) only of the rules whose
keywords it found. Most text — and nearly all bulk output — never meets a regex.
"""

from __future__ import annotations

import bisect
import functools
import marshal
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from tracer._files import read_regular, write_private
from tracer.config import Config, cache_dir
from tracer.errors import ConfigError
from tracer.redact._checks import CHECKS, entropy
from tracer.redact._views import Views, splits_words, unstyled

#: Version of tracer's rule set (rules/tracer.toml with rules/gitleaks.toml); headers name it.
RULES_VERSION = "1"


def _options(*, caseless: bool = False) -> Any:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # bytes in, bytes out: every byte is one character
    options.log_errors = False  # RE2 would print its errors on the terminal
    options.case_sensitive = not caseless
    options.max_mem = 64 << 20
    return options


def compile_regex(pattern: str) -> Any:
    """``pattern`` (RE2 syntax) compiled for bytes.

    Raises:
        re2.error: it does not compile.
    """
    return re2.compile(pattern.encode("utf-8"), _options())


class _Lazy:
    """A built-in regex, compiled when first used: most rules never meet their keywords in a session, and
    compiling all of them would cost ~50 ms at the start of every recording."""

    __slots__ = ("_pattern", "_regex")

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        self._regex: Any = None

    def __getattr__(self, name: str) -> Any:
        regex = self._regex
        if regex is None:
            regex = self._regex = compile_regex(self._pattern)
        return getattr(regex, name)


@dataclass(eq=False, slots=True)
class Rule:
    """One compiled rule.

    Attributes:
        id: the rule's name in counts and placeholders (``github-pat``).
        stage: ``"record"`` or ``"export"``.
        regex: the compiled regex (bytes); ``secret_group``: the group that is the secret (0: the first
            non-empty group, else the whole match).
        keywords: the regex runs only on text holding one (empty: always): lowercase bytes matched in any
            case, except those in ``exact`` (matched as they are: the regex itself takes them in one case only,
            e.g. ``AKIA``; in random output a 4-letter keyword in any case occurs 16 times as often).
        entropy: the secret's entropy must be above this (bits per byte), ``None``: no limit.
        allow, allow_match, allow_line: a hit of one of these on the secret, the match or its line keeps it.
        stopwords: a secret holding one of these (any case) is kept.
        check: a test in code the match must also pass (see ``_checks.py``).
        open, more, max_len: a secret cut off at the end of a piece of output, and what continues it.
        multiline: the secret may span lines.
        repeat: a command may give more than one such secret (``keytool -storepass X -keypass Y``): after each,
            the rest of its line is searched again with the secrets found taken out (see ``RuleSet._repeated``).
        replace: text that replaces the secret instead of a ``[REDACTED:…]`` placeholder (``~`` for the home
            directory).
        source: where the rule comes from.
        vendored: from gitleaks' list.
        literal: bytes every match holds (the home directory, the name): without them, the rule is not run.
        prefilter: for a rule without keywords, a regex that matches wherever its regex does (within the same
            text), simpler for Hyperscan to run (:class:`Prefilter`); ``None``: the regex itself.
        global_allow: the global allowlist (gitleaks': paths, templates, placeholders) applies; not to what is
            not a secret but says who (an e-mail, an address, a home directory, which are all paths or names).
    """

    id: str
    stage: str
    regex: Any
    secret_group: int = 0
    keywords: tuple[bytes, ...] = ()
    exact: frozenset[bytes] = frozenset()
    entropy: float | None = None
    allow: tuple[Any, ...] = ()
    allow_match: tuple[Any, ...] = ()
    allow_line: tuple[Any, ...] = ()
    stopwords: tuple[bytes, ...] = ()
    check: str | None = None
    open: Any = None
    more: Any = None
    max_len: int = 256
    multiline: bool = False
    repeat: bool = False
    replace: str | None = None
    source: str = ""
    global_allow: bool = True
    vendored: bool = False
    literal: bytes | None = None
    prefilter: bytes | None = None
    _groups: int = -1

    def present(self, data: bytes) -> bool:
        """Whether this rule can match in ``data`` at all: a rule made from a literal (a home directory, a user
        name) is looked for with ``in`` first, at memory speed."""
        return self.literal is None or self.literal in data

    @property
    def groups(self) -> int:
        """How many groups the regex has (kept: asked at every match)."""
        n = self._groups
        if n < 0:
            n = self._groups = self.regex.groups
        return n


@dataclass(frozen=True, slots=True)
class Hit:
    """A secret found: ``rule`` and the byte span ``[start, end)`` of the secret in the text searched."""

    rule: Rule
    start: int
    end: int


_RULE_FILES = ("tracer.toml", "gitleaks.toml")


def _cached(name: str, key: bytes, build: Callable[[], bytes]) -> bytes:
    """``build()``'s bytes, kept in the cache directory under ``name`` while ``key`` stays the same: parsing
    the rule files and compiling their keywords costs ~40 ms, reading the result back ~1 ms. A cache that
    cannot be read or written is rebuilt, never an error."""
    path = cache_dir("rules") / name
    try:
        blob = read_regular(path)
        if blob.startswith(key):
            crc, value = blob[len(key) : len(key) + 4], blob[len(key) + 4 :]
            if crc == zlib.crc32(value).to_bytes(4, "big"):  # whole, as written
                return value
    except OSError:
        pass
    value = build()
    write_private(path, key + zlib.crc32(value).to_bytes(4, "big") + value)
    return value


@functools.cache
def _builtin_data() -> tuple[dict[str, Any], dict[str, Any]]:
    """The rule files, parsed (through the cache: tomllib takes ~25 ms for them)."""
    # beside this module, as the package installs them (not importlib.resources: it imports tempfile, shutil and
    # zipfile, ~8 ms of every recording's start, for packages run from a zip file, which tracer is never)
    return rule_data(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules"))


def rule_data(folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """tracer's and gitleaks' rule files in ``folder`` (:data:`_RULE_FILES`), parsed, through a cache keyed by their
    content: two installs of tracer (a venv beside pipx's, a benchmark's before and after) share it, where a key of
    the files' times had them rebuild it for each other (~30 ms of CPU at each recording's start). Reading the
    ~90 KB of rules to key them takes ~0.1 ms.

    Raises:
        OSError: a rule file cannot be read.
        tomllib.TOMLDecodeError: a rule file is not TOML (a broken install).
    """
    contents = []
    for name in _RULE_FILES:
        with open(os.path.join(folder, name), "rb") as f:
            contents.append(f.read())
    key = repr([RULES_VERSION, *((len(c), zlib.crc32(c)) for c in contents)]).encode()

    def parse() -> bytes:
        import tomllib

        return marshal.dumps(tuple(tomllib.loads(c.decode("utf-8")) for c in contents))

    ours, theirs = marshal.loads(_cached(f"rules-{zlib.crc32(key):08x}.marshal", key, parse))
    return ours, theirs


def _exact_case(regex: str, keyword: str) -> str | None:
    """``keyword`` as the regex spells it, when the regex takes it in that case only (no ``(?i``, and the
    keyword is a literal in it): then it can be searched for as it is."""
    if "(?i" in regex:
        return None
    i = regex.lower().find(keyword.lower())
    return regex[i : i + len(keyword)] if i >= 0 else None


def _keywords(d: dict[str, Any]) -> tuple[tuple[bytes, ...], frozenset[bytes]]:
    keywords, exact = [], set()
    for k in d.get("keywords", ()):
        spelled = _exact_case(d["regex"], k)
        if spelled is not None:
            exact.add(spelled.encode())
            keywords.append(spelled.encode())
        else:
            keywords.append(k.lower().encode())
    return tuple(keywords), frozenset(exact)


def _rule_from(d: dict[str, Any], source: str, *, vendored: bool = False) -> Rule:
    def many(key: str) -> tuple[Any, ...]:
        return tuple(_Lazy(p) for p in d.get(key, ()))

    more = d.get("more")
    keywords, exact = _keywords(d)
    return Rule(
        id=d["id"],
        stage=d.get("stage", "record"),
        regex=_Lazy(d["regex"]),
        secret_group=d.get("secret_group", 0),
        keywords=keywords,
        exact=exact,
        entropy=d.get("entropy"),
        allow=many("allow"),
        allow_match=many("allow_match"),
        allow_line=many("allow_line"),
        stopwords=tuple(s.lower().encode() for s in d.get("stopwords", ())),
        check=d.get("check"),
        open=_Lazy(d["open"]) if d.get("open") else None,
        more=_Lazy(f"(?:{more})+") if more else None,
        max_len=d.get("max_len", 256),
        multiline=d.get("multiline", False),
        repeat=d.get("repeat", False),
        source=d.get("source", source),
        global_allow=d.get("global_allow", True),
        vendored=vendored,
        prefilter=d["prefilter"].encode() if d.get("prefilter") else None,
    )


@functools.cache
def _builtin_rules() -> tuple[tuple[Rule, ...], tuple[Any, ...], tuple[bytes, ...]]:
    """tracer's rules, then gitleaks': ``(rules, global allow regexes, global stopwords)``, in priority order:
    the specific shapes of both files first, tracer's generic rules (assignments, e-mail, addresses) last."""
    ours, theirs = _builtin_data()
    specific = [_rule_from(d, "tracer") for d in ours["rules"] if not d.get("check") and d["id"] != "email"]
    generic = [_rule_from(d, "tracer") for d in ours["rules"] if d.get("check") or d["id"] == "email"]
    vendored = [_rule_from(d, theirs.get("source", "gitleaks"), vendored=True) for d in theirs["rules"]]
    allow = theirs.get("allowlist", {})
    global_allow = (
        *(_Lazy(p) for p in allow.get("allow", ())),
        # what tracer masked itself: stars, placeholders (line by line, with a diff's +/-), line ends
        _Lazy(r"^(?:[\s*+-]|\[REDACTED:[A-Za-z0-9._-]+:\d+\])+$"),
    )
    stopwords = tuple(s.lower().encode() for s in allow.get("stopwords", ()))
    # vendored token shapes rank with tracer's specific rules: both before the generic ones
    return (*specific, *vendored, *generic), global_allow, stopwords


def _user_rules(config: Config, stage: str) -> list[Rule]:
    rules = []
    for r in config.rules:
        if stage == "record" and r.stage != "record":
            continue
        try:
            regex = compile_regex(r.regex)
        except re2.error as e:
            raise ConfigError(
                f"{config.where(r.line)}: the regex of rule {r.name!r} does not compile ({e}): "
                "it must be RE2 syntax (no look-around, no back-references)"
            ) from e
        rules.append(
            Rule(
                id=r.name,
                stage=r.stage,
                regex=regex,
                keywords=tuple(k.lower().encode() for k in r.keywords),
                source=f"user ({config.path})",
            )
        )
    return rules


def _user_allow(config: Config) -> list[Any]:
    allow = []
    for pattern, line in config.allowlist:
        try:
            allow.append(compile_regex(pattern))
        except re2.error as e:
            raise ConfigError(
                f"{config.where(line)}: the allowlist entry {pattern!r} does not compile ({e}): it must be RE2 syntax"
            ) from e
    return allow


def _hyperscan(
    hyperscan: Any, name: str, expressions: list[bytes], flags: list[int], *, literal: bool = False, cached: bool
) -> Any:
    """A Hyperscan block-mode database of ``expressions`` (each with its ``flags``; ``literal``: bytes, not
    regexes), with its scratch space. ``cached``: through the cache directory, as ``<name>-<crc>.hs`` keyed by
    Hyperscan's version and what is compiled; otherwise compiled in memory.

    Raises:
        hyperscan.error: an expression it does not compile.
    """

    def database() -> Any:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=flags,
            literal=literal,
        )
        return db

    if cached:
        version = str(getattr(hyperscan, "__version__", ""))  # (its type stubs leave it out)
        parts = [
            version.encode(),
            b"literal" if literal else b"",
            *(b"%d:" % f + e for e, f in zip(expressions, flags, strict=True)),
        ]
        joined = b"\0".join(parts)
        key = b"%d:%08x:" % (len(joined), zlib.crc32(joined))
        blob = _cached(f"{name}-{zlib.crc32(joined):08x}.hs", key, lambda: bytes(hyperscan.dumpb(database())))
        db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
    else:
        db = database()
    db.scratch = hyperscan.Scratch(db)
    return db


class Scanner:
    """Where a list of keywords occur in a text, one pass over it: each ``(bytes, caseless)`` (a rule's keywords,
    lowercase and matched in any case; or a literal matched exactly, :meth:`RuleSet.scanner_with`).

    With Hyperscan, every occurrence with its end offset (so that regexes run only near them); with RE2's
    multi-pattern set (where Hyperscan is not installed), only which keywords occur. ``cached``: the compiled
    database is kept in the cache directory (``False`` for literals that must never reach the disk).
    ``across_styles``: the first so many of ``keywords`` are found where colours cut them too, each at the offset
    of its last byte in the text: where a style sequence stands between two bytes of a word
    (:data:`~tracer.redact._views.SPLIT_WORD`), the text without its style sequences is searched as well.
    """

    def __init__(self, keywords: list[tuple[bytes, bool]], *, cached: bool = True, across_styles: int = 0) -> None:
        self._hs: Any = None
        self._set: Any = None
        self._across = across_styles
        if not keywords:
            return
        try:
            import hyperscan

            # (literals that must never reach the disk are compiled in memory, ~4 ms)
            self._hs = _hyperscan(
                hyperscan,
                "keywords",
                [k for k, _ in keywords],
                [hyperscan.HS_FLAG_CASELESS if caseless else 0 for _, caseless in keywords],
                literal=True,
                cached=cached,
            )
        except Exception:  # not installed, or no wheel for this machine: RE2's set (~600 MB/s)
            self._set = re2.Set.SearchSet(_options())
            for k, caseless in keywords:
                self._set.Add((b"(?i)" if caseless else b"") + re2.escape(k))
            self._set.Compile()

    def occurrences(self, data: bytes, cut: bool | None = None) -> list[tuple[int, int]] | None:
        """``(keyword index, end offset)`` of each occurrence; ``None`` when only :meth:`present` can tell.
        ``cut``: :func:`~tracer.redact._views.splits_words` of ``data``, when the caller has it (else found here)."""
        if self._hs is None:
            return None if self._set is not None else []
        found: list[tuple[int, int]] = []
        self._hs.scan(data, match_event_handler=_collect, context=found)
        if self._across and (splits_words(data) if cut is None else cut):
            plain, to_raw = unstyled(data)
            unstyled_found: list[tuple[int, int]] = []
            self._hs.scan(plain, match_event_handler=_collect, context=unstyled_found)
            if len(unstyled_found) != len(found):  # (each whole one is in both: only those colours cut are new)
                seen = set(found)
                for k, end in unstyled_found:
                    if k < self._across and (k, at := to_raw(end - 1) + 1) not in seen:
                        found.append((k, at))
        return found

    def present(self, data: bytes) -> list[int]:
        """Indices of the keywords that occur in ``data``."""
        if self._set is not None:
            found = set(self._set.Match(data) or [])
            if self._across and splits_words(data):
                found.update(k for k in self._set.Match(unstyled(data)[0]) or [] if k < self._across)
            return sorted(found)
        return sorted({k for k, _ in self.occurrences(data) or []})


def _collect(kid: int, start: int, end: int, flags: int, found: list[tuple[int, int]]) -> None:
    found.append((kid, end))


def _note(kid: int, start: int, end: int, flags: int, found: set[int]) -> None:
    found.add(kid)


class Prefilter:
    """Which of the regexes of the rules without keywords (an IP address, a random value in an assignment) may
    match in a text, at Hyperscan's speed: each compiled in its prefilter mode (``HS_FLAG_PREFILTER``: it may
    match where the regex does not, never miss where it does) and reported once per scan
    (``HS_FLAG_SINGLEMATCH``). A rule whose regex may not match in a piece is not run there: on output without
    addresses or assignments (``seq``, base64, most build logs) those regexes had cost ~90 % of an export.

    Without Hyperscan (or a regex it does not compile), :meth:`present` is ``None``: run them everywhere. The
    compiled database is kept in the cache directory (~20 ms to compile), unless ``cached`` is false (a user's
    rule may spell out a value: it stays out of the cache, as the values learnt do).
    """

    def __init__(self, patterns: list[bytes], *, cached: bool = True) -> None:
        self._hs: Any = None
        if not patterns:
            return
        try:
            import hyperscan

            flags = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH
            self._hs = _hyperscan(hyperscan, "prefilter", patterns, [flags] * len(patterns), cached=cached)
        except Exception:  # not installed, no wheel for this machine, or a pattern it does not take
            self._hs = None

    def present(self, data: bytes) -> set[int] | None:
        """The indices of the patterns that may match in ``data`` (as a search of ``data`` alone sees it: its
        ends are the text's ends); ``None`` when it cannot tell."""
        if self._hs is None:
            return None
        found: set[int] = set()
        self._hs.scan(data, match_event_handler=_note, context=found)
        return found


#: Bytes around a keyword that a rule's regex looks at: before it (a name before ``token``) and after it (the
#: secret). A private key's body may be longer: its rule looks further (``multiline``).
_BEFORE = 512
_AFTER = 1024
_AFTER_MULTILINE = 1 << 16


#: Token prefixes of letters only that are distinctive enough (AWS key ids, Google API keys, Slack tokens).
_ALPHA_PREFIXES = frozenset(
    (b"akia", b"asia", b"abia", b"acca", b"aiza", b"xoxa", b"xoxb", b"xoxo", b"xoxr", b"xoxs", b"xapp")
)
#: Keywords with punctuation that begin ordinary words too (``api-server``, ``ext_modules``).
_NOT_PREFIXES = frozenset(
    (b"api-", b"pat.", b"sat.", b"ext_", b"ico-", b"pul-", b"v1.0-", b"q~", b"s.", b"sc_", b"secret_key", b"co_api_key")
)


def _is_prefix(keyword: bytes) -> bool:
    if keyword in _NOT_PREFIXES:
        return False
    return keyword in _ALPHA_PREFIXES or keyword == b"hf_" or (len(keyword) >= 4 and not keyword.isalnum())


#: How much of a text one regex call is given when a rule runs everywhere, and how far pieces overlap (a hit in
#: the overlap is found twice: the second overlaps the first and is dropped). google-re2 copies the text it is
#: given at every call, once per match: over a whole 512 KiB piece of output, a rule with many candidates spent
#: its time copying.
_PIECE = 16 << 10
_OVERLAP = 512


def _pieces(n: int) -> list[tuple[int, int]]:
    if n <= _PIECE + _OVERLAP:
        return [(0, n)]
    return [(lo, min(n, lo + _PIECE + _OVERLAP)) for lo in range(0, n, _PIECE)]


def _texts(data: bytes, views: Views | None, lo: int, hi: int) -> list[bytes]:
    """What a regex runs on for the range ``[lo, hi)`` of ``data``: the range (a slice, not pos/endpos:
    google-re2 copies the text it is given at every call), or its two views (the plain one when there is one)."""
    if views is None:
        return [data if (lo, hi) == (0, len(data)) else data[lo:hi]]
    styled = views.at(lo)
    a, b = lo - styled.start, hi - styled.start
    blanked = styled.blanked if (a, b) == (0, len(styled.blanked)) else styled.blanked[a:b]
    if styled.plain is None:
        return [blanked]
    return [blanked, styled.plain[styled.to_plain(lo) : styled.to_plain(hi)]]


#: How far before its first secret and after its last :meth:`RuleSet._repeated` searches a command (bytes).
REPEAT_REACH = 4096


@functools.lru_cache(maxsize=256)
def _keyword_pattern(keywords: tuple[bytes, ...], exact: frozenset[bytes]) -> re.Pattern[bytes] | None:
    """One regex finding any of ``keywords`` as a rule's regex takes them (any case but the ``exact`` ones);
    ``None`` for none."""
    if not keywords:
        return None
    return re.compile(b"|".join(re.escape(k) if k in exact else b"(?i:" + re.escape(k) + b")" for k in keywords))


class RuleSet:
    """Rules compiled for searching: their keywords in one automaton, their regexes in RE2.

    Not safe to share between threads (the keyword scanner has scratch space of its own): make one per thread.

    Args:
        rules: in priority order: where two hits overlap, the earlier rule's wins.
        allow, stopwords: the global allowlist (on the secret).
        label: what headers and messages call this rule set (``"rules v1"``).
        whole: event fields that are masked whole whatever they hold, each with the rule that names the
            placeholder (export time: the header's ``hostname``, which is a host name even when too short to
            look for as a word in text).
        dropped: event fields left out (``None``) whatever they hold (export time: the header's ``host_id``, a
            hash of the machine's id with a key every tracer has, so anyone who can read that id can tell the
            machine, and every session it recorded, by it).
    """

    def __init__(
        self,
        rules: list[Rule],
        allow: list[Any],
        stopwords: tuple[bytes, ...],
        label: str,
        whole: dict[str, Rule] | None = None,
        dropped: frozenset[str] = frozenset(),
    ) -> None:
        self.rules = rules
        self.label = label
        self.whole = whole or {}
        self.dropped = dropped
        self._allow = allow
        self._stopwords = stopwords
        keywords = sorted({(k, k not in r.exact) for r in rules for k in r.keywords})
        self._keyword_list = keywords
        index = {k: i for i, k in enumerate(keywords)}
        self._by_keyword: list[list[int]] = [[] for _ in keywords]
        self.always: list[int] = []
        for i, r in enumerate(rules):
            if not r.keywords:
                self.always.append(i)
            for k in r.keywords:
                self._by_keyword[index[(k, k not in r.exact)]].append(i)
        self._keywords = Scanner(keywords, across_styles=len(keywords))
        # the rules without keywords whose regexes the prefilter tells about (those made from a literal test it)
        self._prefiltered = [i for i in self.always if rules[i].literal is None]
        self._prefilter: Prefilter | None = None  # (made on first use: record time has no such rules)
        self.open_rules = [r for r in rules if r.open is not None]
        self._open_index = [i for i, r in enumerate(rules) if r.open is not None]
        #: Keywords that begin a token of gitleaks' record-time list (``ghp_``, ``xoxb-``, ``AKIA``), each with
        #: whether it is matched in any case: a word of output that starts with one and is cut off at the end of
        #: a piece is a token arriving in pieces.
        self.prefixes = tuple(
            sorted(
                {
                    (k, k not in r.exact)
                    for r in rules
                    if r.stage == "record" and r.vendored
                    for k in r.keywords
                    if _is_prefix(k.lower())
                }
            )
        )

    def occurrences(self, data: bytes, cut: bool | None = None) -> list[tuple[int, int]] | None:
        """``(keyword index, end offset)`` of every keyword in ``data``; ``None`` when the scanner cannot tell
        where (RE2's set): then :meth:`find` looks everywhere. ``cut``: as :meth:`Scanner.occurrences`."""
        return self._keywords.occurrences(data, cut)

    def scanner_with(self, literals: list[bytes]) -> Scanner:
        """A scanner of this set's keywords and of ``literals`` (exact bytes; values a session has shown to be
        secrets), in one pass: its :meth:`Scanner.occurrences` gives ``(index, end offset)``, the keywords'
        indices first (as :meth:`occurrences`), then ``len(keywords) + i`` for ``literals[i]``. Kept in memory
        only, never cached on disk."""
        keywords = self._keyword_list
        return Scanner([*keywords, *((v, False) for v in literals)], cached=False, across_styles=len(keywords))

    @property
    def keyword_count(self) -> int:
        """How many keywords the set's rules have: the first indices of :meth:`scanner_with`'s occurrences."""
        return len(self._keyword_list)

    def open_near(self, found: list[tuple[int, int]] | None, since: int) -> list[Rule]:
        """The rules with an ``open`` pattern that may match at the end of the text: those with a keyword that
        ends after offset ``since`` (an open pattern holds its keyword, and is searched in the text's tail from
        there), and those without keywords, in priority order. ``found``: :meth:`occurrences` of the text
        (``None``: all of them)."""
        if found is None:
            return self.open_rules
        near = {i for k, end in found if end > since for i in self._by_keyword[k]}
        return [self.rules[i] for i in self._open_index if i in near or not self.rules[i].keywords]

    def _where(self, data: bytes, found: list[tuple[int, int]] | None) -> dict[int, list[tuple[int, int]]]:
        """For each rule to run on ``data``, the byte ranges to run it on (near its keywords, or everywhere).
        ``found``: :meth:`occurrences` of ``data``."""
        n = len(data)
        everywhere = _pieces(n)
        where: dict[int, list[tuple[int, int]]] = {i: everywhere for i in self.always if self.rules[i].present(data)}
        if found is None:  # no positions: the whole text, for every rule whose keyword occurs (as gitleaks does)
            for k in self._keywords.present(data):
                for i in self._by_keyword[k]:
                    where[i] = everywhere
            return where
        ends: dict[int, list[int]] = {}
        for k, end in found:
            for i in self._by_keyword[k]:
                ends.setdefault(i, []).append(end)
        for i, positions in ends.items():
            if i in where:
                continue
            after = _AFTER_MULTILINE if self.rules[i].multiline else _AFTER
            ranges: list[tuple[int, int]] = []
            for end in sorted(positions):
                lo, hi = max(0, end - _BEFORE), min(n, end + after)
                if ranges and lo <= ranges[-1][1]:
                    ranges[-1] = (ranges[-1][0], hi)
                else:
                    ranges.append((lo, hi))
            where[i] = ranges
        return where

    def regions(
        self, data: bytes, found: list[tuple[int, int]] | None, escapes: bool = False
    ) -> tuple[dict[int, list[tuple[int, int]]], Views | None]:
        """Where each rule's regex runs in ``data`` (rule index → ``[lo, hi)`` byte ranges; the rules that do not
        run are left out), and the views of those ranges when ``escapes`` (see :meth:`find_near`). A rule without
        keywords runs only on the pieces where :class:`Prefilter` says its regex may match in what it is run on."""
        where = self._where(data, found)
        if not where:
            return where, None
        views = Views(data, [r for ranges in where.values() for r in ranges]) if escapes else None
        if self._prefiltered and any(i in where for i in self._prefiltered):
            self._narrow(data, views, where)
        return where, views

    def _narrow(self, data: bytes, views: Views | None, where: dict[int, list[tuple[int, int]]]) -> None:
        """The pieces of ``data`` each rule without keywords runs on: those where its regex may match in one of
        the texts it is run on there (``data``'s piece, or its :class:`Views`)."""
        if self._prefilter is None:
            rules = [self.rules[i] for i in self._prefiltered]
            self._prefilter = Prefilter(
                [r.prefilter or r.regex.pattern for r in rules],
                cached=not any(r.source.startswith("user") for r in rules),
            )
        pieces: dict[int, list[tuple[int, int]]] = {i: [] for i in self._prefiltered if i in where}
        for lo, hi in _pieces(len(data)):
            present: set[int] = set()
            for text in _texts(data, views, lo, hi):
                found = self._prefilter.present(text)
                if found is None:
                    return
                present |= found
            for k in present:
                if self._prefiltered[k] in pieces:
                    pieces[self._prefiltered[k]].append((lo, hi))
        for i, ranges in pieces.items():
            if ranges:
                where[i] = ranges
            else:
                del where[i]

    def triggered(self, data: bytes) -> list[Rule]:
        """The rules whose regexes must run on ``data`` (a keyword of theirs occurs, or they have none)."""
        return [self.rules[i] for i in sorted(self._where(data, self.occurrences(data)))]

    def find(self, data: bytes, start: int = 0) -> list[Hit]:
        """The secrets in ``data`` that end after ``start``, without overlaps, in order of position."""
        return self.find_near(data, self.occurrences(data), start)

    def find_near(
        self, data: bytes, found: list[tuple[int, int]] | None, start: int = 0, escapes: bool = False
    ) -> list[Hit]:
        """:meth:`find`, with the :meth:`occurrences` of the keywords in ``data`` known already.

        Args:
            escapes: ``data`` is output that may hold terminal escape sequences: each range a regex runs on is
                searched in the two views of :class:`~tracer.redact._views.Views` (escape sequences blanked; styles
                taken out), and the hits in the second are mapped back to ``data``, each spanning the escape
                sequences inside it. Else ``data`` is searched as it is.
        """
        where, views = self.regions(data, found, escapes)
        if not where:
            return []
        starts: list[int] = []
        hits: list[Hit] = []
        texts: dict[tuple[int, int], list[bytes]] = {}  # rules running everywhere share their pieces
        for i in sorted(where):
            rule = self.rules[i]
            for lo, hi in where[i]:
                window = texts.get((lo, hi))
                if window is None:
                    window = texts[(lo, hi)] = _texts(data, views, lo, hi)
                found_here: list[Hit] = self._hits(rule, window[0], lo)
                if len(window) > 1 and views is not None:
                    styled, text = views.at(lo), window[1]
                    for hit in self._hits(rule, text, styled.to_plain(lo)):
                        s, e = styled.to_raw(hit.start), styled.to_raw(hit.end - 1) + 1
                        # the same secret seen in both views: the whole of it (colours may have cut the other short)
                        same = [h for h in found_here if h.start < e and s < h.end]
                        for h in same:
                            found_here.remove(h)
                            s, e = min(s, h.start), max(e, h.end)
                        found_here.append(Hit(rule, s, e))
                for hit in found_here:
                    if hit.end <= start:
                        continue
                    j = bisect.bisect_left(starts, hit.start)
                    if (j and hits[j - 1].end > hit.start) or (j < len(hits) and hits[j].start < hit.end):
                        continue  # overlaps a hit of a rule that ranks higher (or the same one, in the other view)
                    starts.insert(j, hit.start)
                    hits.insert(j, hit)
        return hits

    def _hits(self, rule: Rule, text: bytes, offset: int) -> list[Hit]:
        """The secrets ``rule`` finds in ``text`` (which starts at ``offset`` of the text searched), in order.

        As ``finditer``, but a match that a check or an allowlist keeps is not taken as a whole when the secret
        starts after it begins and holds one of the rule's keywords: the search goes on from there. In ``set
        secret DB_PASSWORD=v`` the rule's regex first matches ``secret`` followed by the word ``DB_PASSWORD=v`` as
        its value ("a word after a word": not an assignment), and the assignment inside that value is found next.
        Each new search starts further on, so the searches stay linear in the text."""
        hits: list[Hit] = []
        group = rule.secret_group
        keyword = _keyword_pattern(rule.keywords, rule.exact) if group else None
        matches = rule.regex.finditer(text)
        while True:
            for m in matches:
                hit = self._hit(rule, text, m, offset)
                if hit is not None:
                    hits.append(hit)
                    more = self._repeated(rule, text, m.start(), hit, offset) if rule.repeat else []
                    if more:
                        hits += more
                        matches = rule.regex.finditer(text, more[-1].end - offset)
                        break
                    continue
                if not group:
                    continue
                spans = getattr(m, "_spans", None)  # (as in _hit)
                (s, e), inner = (spans[0], spans[group][0]) if spans is not None else (m.span(), m.start(group))
                # (no match begins in the secret unless it holds a keyword: its name would hold one)
                if s < inner < e and (keyword is None or keyword.search(text, inner, e)):
                    matches = rule.regex.finditer(text, inner)
                    break
            else:
                return hits

    def _repeated(self, rule: Rule, text: bytes, start: int, hit: Hit, offset: int) -> list[Hit]:
        """The further secrets of a ``repeat`` rule in the command its match found ``hit`` in (the match starts at
        ``start`` of ``text``, which starts at ``offset``), in order.

        The regexes of such rules name the command, then any words up to the option that gives the secret: searched
        again in the command up to its first secret, then ``''`` (an empty quoted word in place of what was found:
        no option takes it as its value, and the quotes after it still pair), then the rest of the line, they find
        the command's next such option. The search takes at most :data:`REPEAT_REACH` bytes before the first secret
        (else nothing is searched) and after the last, so a hostile line of such commands costs a bounded search
        per secret."""
        quotes = (b"'", b'"')
        a, b = hit.start - offset, hit.end - offset
        if a - start > REPEAT_REACH:
            return []
        quoted = text[a - 1 : a] in quotes and text[b : b + 1] == text[a - 1 : a]
        head = text[start : a - 1 if quoted else a] + b"''"  # a quoted secret goes with its quotes ("''" is a value)
        found: list[Hit] = []
        while True:
            if quoted:
                b += 1
            reach = min(len(text), b + REPEAT_REACH)
            line_end = text.find(b"\n", b, reach)
            view = head + text[b : reach if line_end < 0 else line_end]
            m = rule.regex.search(view)
            more = self._hit(rule, view, m, 0) if m is not None and m.start() == 0 else None
            if more is None or more.start < len(head):
                return found
            a, b = more.start - len(head) + b, more.end - len(head) + b
            found.append(Hit(rule, offset + a, offset + b))
            quoted = text[a - 1 : a] in quotes and text[b : b + 1] == text[a - 1 : a]

    def _hit(self, rule: Rule, data: bytes, m: Any, offset: int) -> Hit | None:
        """The secret ``m`` (a match in ``data``, which starts at ``offset`` of the text) found, or ``None`` when
        a test or an allowlist keeps it."""
        group = rule.secret_group
        groups = rule.groups
        if not group and groups:
            group = next((g for g in range(1, groups + 1) if m.start(g) >= 0 and m.end(g) > m.start(g)), 0)
        spans = getattr(m, "_spans", None)  # (google-re2's span() asks the C++ object for the group count each time)
        s, e = spans[group] if spans is not None else m.span(group)
        if s < 0 or e <= s:
            return None
        secret = data[s:e]
        if rule.entropy is not None and entropy(secret) <= rule.entropy:
            return None
        if rule.check is not None and not CHECKS[rule.check](data, m):
            return None
        if any(a.search(secret) for a in rule.allow) or (
            rule.global_allow and any(a.search(secret) for a in self._allow)
        ):
            return None
        if rule.allow_match and any(a.search(m.group(0)) for a in rule.allow_match):
            return None
        if rule.allow_line:
            line = data[data.rfind(b"\n", 0, s) + 1 : (data.find(b"\n", e) + 1 or len(data) + 1) - 1]
            if any(a.search(line) for a in rule.allow_line):
                return None
        lowered = secret.lower()
        if any(w in lowered for w in rule.stopwords) or any(w in lowered for w in self._stopwords):
            return None
        return Hit(rule, offset + s, offset + e)


def check_config(config: Config) -> None:
    """Compile the user's rules and allowlist: a clear error now rather than later.

    Raises:
        ConfigError: one does not compile (names the file and the line).
    """
    _user_rules(config, "export")
    _user_allow(config)


def record_rules(config: Config | None = None) -> RuleSet:
    """The rules masked at record time: every rule of stage ``record`` (precise token shapes, private keys,
    JWTs, credentials in URLs and headers, values of sensitive names), and the user's record-stage rules.

    Raises:
        ConfigError: a user rule or allowlist entry does not compile.
    """
    config = config or Config()
    builtin, allow, stopwords = _builtin_rules()
    rules = [r for r in builtin if r.stage == "record"]
    user = _user_rules(config, "record")
    return RuleSet(user + rules, [*allow, *_user_allow(config)], stopwords, _label(config, user))


def export_rules(config: Config | None = None, context: dict[str, list[str]] | None = None) -> RuleSet:
    """Every rule: those of record time, gitleaks' whole list, high-entropy values in assignments, e-mail, IPv4
    and IPv6 addresses, the user's rules; and the rules made from ``context`` (:func:`context_rules`).

    Raises:
        ConfigError: a user rule or allowlist entry does not compile.
    """
    config = config or Config()
    builtin, allow, stopwords = _builtin_rules()
    user = _user_rules(config, "export")
    ctx = context_rules(context or {})
    # the home directory before the user name it holds; both after the secrets, before e-mail and addresses
    specific = [r for r in builtin if r.check is None and r.id != "email"]
    generic = [r for r in builtin if r not in specific]
    whole = {"hostname": _HOST_FIELD}
    allowed = [*allow, *_user_allow(config)]
    label = _label(config, user)
    return RuleSet(user + specific + ctx + generic, allowed, stopwords, label, whole, frozenset({"host_id"}))


def _label(config: Config, user: list[Rule]) -> str:
    """What headers and messages call a rule set: ``"rules v1"``, ``"rules v1 + 2 of <config file>"``."""
    return f"rules v{RULES_VERSION}" + (f" + {len(user)} of {config.path}" if user else "")


#: What masks a header's ``hostname`` field whole at export (the rules of :func:`context_rules` look for host
#: names of 3 characters or more as words; the field is a host name whatever its length).
_HOST_FIELD = Rule(
    id="host-name", stage="export", regex=None, source="tracer (the recording's host name)", global_allow=False
)


#: Account names that say nothing of who someone is: not masked (masking every "root" would garble text).
GENERIC_USERS = frozenset(
    [
        "root",
        "admin",
        "administrator",
        "user",
        "users",
        "ubuntu",
        "debian",
        "fedora",
        "centos",
        "ec2-user",
        "vagrant",
        "runner",
        "ci",
        "build",
        "builder",
        "nobody",
        "guest",
        "test",
        "dev",
        "developer",
        "docker",
        "app",
        "www-data",
        "node",
        "jenkins",
        "gitlab-runner",
    ]
)


def context_rules(context: dict[str, list[str]]) -> list[Rule]:
    """Rules that mask what says whose machine a session comes from: ``context["home"]`` (home directories,
    replaced by ``~``), ``context["user"]`` (user names, as whole words, except :data:`GENERIC_USERS`) and
    ``context["host"]`` (host names, as whole words; not ``localhost``).

    They have no keywords (RE2 finds a literal by itself, fast): the keyword scanner of an export stays the same
    for every session, and loads from its cache."""
    rules = []
    homes = sorted({h.rstrip("/") for h in context.get("home", ()) if h and h.rstrip("/") not in ("", "/")}, key=len)
    for home in reversed(homes):  # the longest first: /home/alice/x before /home/alice
        raw = os.fsencode(home)
        rules.append(
            Rule(
                id="home-dir",
                stage="export",
                regex=re2.compile(rb"(" + re2.escape(raw) + rb")(?:[^A-Za-z0-9_.-]|\z)", _options()),
                secret_group=1,
                replace="~",
                literal=raw,
                source="tracer (the recording's and this machine's home directory)",
                global_allow=False,
            )
        )
    for kind, rid in (("user", "user-name"), ("host", "host-name")):
        names = {n for n in context.get(kind, ()) if len(n) >= 3 and n.lower() not in GENERIC_USERS}
        names.discard("localhost")
        for name in sorted(names, key=len, reverse=True):
            raw = os.fsencode(name)
            rules.append(
                Rule(
                    id=rid,
                    stage="export",
                    regex=re2.compile(
                        rb"(?:\A|[^A-Za-z0-9_-])(" + re2.escape(raw) + rb")(?:[^A-Za-z0-9_-]|\z)", _options()
                    ),
                    secret_group=1,
                    literal=raw,
                    source=f"tracer (this machine's {kind} name)",
                    global_allow=False,
                )
            )
    return rules
