"""Tests in code that a rule's match must pass as well as its regex (a rule's ``check`` names one).

Each takes the text (bytes) and the regex's match, and says whether the match is a secret. They hold what a
regex in RE2 (no look-around) cannot say: that a value is code rather than a secret, that a number is an IP
address. All are cheap: they run only on matches.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

#: Words that stand for a value in examples and code, never one (lowercase).
PLACEHOLDERS = frozenset(
    b"none null nil true false undefined required optional str string bytes int bool secret secrets password "
    b"passwd token tokens redacted example changeme xxx todo fixme empty default env".split()
)
#: An identifier or a dotted name (``args.password``, ``get_token``): code, unless it holds a digit.
_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
#: Sensitive names whose value is about the secret, not the secret (``TOKEN_FILE``, ``password_length``,
#: ``--password-stdin``: a flag, and what follows it is the next argument).
_NOT_SECRET_KEY = re.compile(
    rb"(?i)(?:[_.-](?:file|path|dir|url|uri|endpoint|id|ids|type|name|names|env|var|prefix|suffix|field|header|"
    rb"len|length|size|count|format|pattern|regex|hash|expiry|expires|expiration|ttl|timeout|prompt|label|help|"
    rb"policy|provider|store|manager|class|kind|mode|required|enabled|error|errors|valid|invalid|reset|changed|"
    rb"stdin|fd|command|cmd)"
    rb"|tokenizer|tokens|tokenize|tokenized|tokenizers)$"
)
_VERSION_BEFORE = re.compile(rb"(?i)(?:version|release|ver|v)\W{0,3}$")
_ENV_NAME = re.compile(rb"[A-Z0-9_]+")
_HEX = re.compile(rb"[0-9a-fA-F]+")
#: Names that only code writes: dotted names (``windll.kernel32.SetConsoleTextAttribute``), and UPPER_SNAKE and
#: lowerCamelCase identifiers without a digit.
_CODE_NAME = re.compile(
    rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Z]+(?:_[A-Z]+)+|[a-z]+(?:[A-Z][a-z]+)+"
)
#: Words of letters only joined by ``-``, ``_`` or ``.``, in any case (a header's or a setting's name).
_LETTER_WORDS = re.compile(rb"[A-Za-z]+(?:[_.-][A-Za-z]+)+")
_WORDS = re.compile(rb"[a-z0-9]+(?:[_.-][a-z0-9]+)+|[A-Z0-9]+(?:[_.-][A-Z0-9]+)+")
_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Names whose values are digests or ids: random-looking, and public.
_DIGEST_KEY = re.compile(
    rb"(?i)(?:hash|sha\d*|md5|digest|checksum|integrity|commit|etag|revision|rev|uuid|guid|id|nonce|"
    rb"fingerprint|signature|sig|version|url|uri|path|file|name|image)$"
)


def entropy(data: bytes) -> float:
    """Shannon entropy of ``data`` in bits per byte (0 for empty data), as gitleaks and detect-secrets measure it."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def _spans(m: Any, n: int) -> list[tuple[int, int]]:
    """The spans of groups 1..n of ``m``: google-re2's ``span()`` checks the group's index through the C++
    object at every call, a third of the time of a check; its match keeps them all in ``_spans``."""
    spans = getattr(m, "_spans", None)
    return list(spans[1 : n + 1]) if spans is not None else [m.span(i) for i in range(1, n + 1)]


def _has_digit(value: bytes) -> bool:
    return any(48 <= c <= 57 for c in value)


def _name_in_code(value: bytes) -> bool:
    """Whether ``value`` is an identifier or a dotted name as code writes them: dotted, or without a digit
    (``args.token``, ``get_token``; not ``hunter2``)."""
    return bool(_NAME.fullmatch(value)) and (b"." in value or not _has_digit(value))


def _placeholder(value: bytes) -> bool:
    v = value.lower()
    return v in PLACEHOLDERS or len(set(v)) == 1 or v.startswith((b"{", b"<", b"%(", b"${"))


#: Clients whose ``--password`` takes no value after a blank: MySQL's and MariaDB's take one only as
#: ``--password=VALUE`` (``--password`` alone prompts), PostgreSQL's never (``-W``, ``--password``: prompt). The
#: command runs from the start of the line or after a shell operator up to the flag.
_NO_PASSWORD_VALUE = re.compile(rb"(?:^|[\s;&|(])(?:mysql[a-z]*|mariadb[a-z-]*|psql|pg_[a-z]+)[ \t][^\n;&|]*$")


def _line_before(text: bytes, m: Any) -> bytes:
    """The text of ``m``'s line before it."""
    return text[text.rfind(b"\n", 0, m.start()) + 1 : m.start()]


def assignment(text: bytes, m: Any) -> bool:
    """A sensitive name's value is a secret (``secret-assignment``): groups 1 prefix (``?``, ``&``, ``--``),
    2 name, 3 separator, 4 opening quote, 5 value, 6 closing quote.

    Code is not a secret: ``password=password``, ``token = get_token()``, ``password: str``, ``args.token``. A
    value is taken when it is quoted (and the quote closes), after a command-line flag (``--token X``) or in a
    URL query (``?access_token=X``), assigned to an environment-style name (``GITHUB_TOKEN=X``), or when it
    does not look like a name in code (it holds a digit or a symbol). Not a name with its ``=`` before a quote: the
    assignment that begins there is the secret (the rule's search goes on inside the match).
    """
    spans = _spans(m, 6)
    prefix, key, sep, quote, value, close = (text[s:e] if s >= 0 else b"" for s, e in spans)
    flag = prefix.startswith(b"-")
    if not sep.strip() and not flag:  # "token expired": a word after a word, not an assignment (most candidates)
        return False
    if key.upper() in (b"PWD", b"OLDPWD") or text[spans[1][0] - 1 : spans[1][0]] == b"/":
        return False  # the shell's working directories; a path (`-v /etc/passwd:/etc/passwd:ro`)
    if len(value) > 300:
        return False
    if _NOT_SECRET_KEY.search(key) or _placeholder(value):
        return False
    if flag and not sep.strip() and key.lower() == b"password" and _NO_PASSWORD_VALUE.search(_line_before(text, m)):
        return False  # `mysql --password mydb`, `psql --password mydb`: a prompt, then a database's name
    if quote:
        return close == quote and len(value) >= 4
    if close and value.endswith(b"="):  # `secret: API_TOKEN='…'`: a name and its `=`, then the quoted value
        return False
    if len(value) < 4:
        return False
    if flag or prefix in (b"?", b"&"):
        return True
    if sep.strip() == b"=" and sep == b"=" and _ENV_NAME.fullmatch(key):
        return True
    return not _name_in_code(value)


def word_like(value: bytes) -> bool:
    """Whether ``value`` reads as a name in code rather than a secret: a placeholder, a dotted name
    (``self.headers.get``, ``win32.GetConsoleScreenBufferInfo``), an UPPER_SNAKE or lowerCamelCase identifier
    without a digit (``AWS_SECRET_ACCESS_KEY``, ``privateKeyUsagePeriod``), or one that starts with ``#``, ``:`` or
    ``=`` (a colour, a role, markup). A value a rule found is masked where it was found whatever it looks like; one
    that reads as a name is not looked for everywhere after. Words a person may choose as a passphrase
    (``correcthorse``, ``correct-horse-battery``, ``MySecretPass``) are not names here: they are looked for."""
    if value[:1] in (b"#", b":", b"=") or value.lower() in PLACEHOLDERS:
        return True
    return bool(_CODE_NAME.fullmatch(value))


def _last_group(m: Any) -> tuple[int, int] | None:
    """The span of the last group of ``m`` that took part in the match (the value, in rules whose alternatives each
    have their own group for it); ``None`` when none did."""
    return next(((s, e) for s, e in reversed(_spans(m, m.re.groups)) if s >= 0), None)


def labelled(text: bytes, m: Any) -> bool:
    """A value after a label or inside an element that names a secret (``secret-element``, ``labelled-key``, …):
    its last group. Not a placeholder (``changeme``, ``${PASSWORD}``, ``{{ token }}``), not words joined by
    ``_``, ``-`` or ``.`` in one case (``your-api-key-here``) or of letters only (``X-Api-Key``), not a name in code
    without a digit (``IDENTIFIER``, ``settings.token``), not a flag (``--underline``), not a path (``/t/u/calc``:
    fish's window title shows the command, then the directory), not the start of a PEM block (``-----BEGIN``)."""
    span = _last_group(m)
    if span is None:
        return False
    value = text[span[0] : span[1]]
    if len(value) > 300:  # (the regexes leave the length open: RE2 unrolls a bounded repetition into states)
        return False
    if _placeholder(value) or value.startswith((b"$", b"-", b"/", b"~/", b"[REDACTED")) or _WORDS.fullmatch(value):
        return False
    if _LETTER_WORDS.fullmatch(value):  # `X-Api-Key`, `Content-Type`: a name, in any case
        return False
    return not _name_in_code(value)


def header_value(text: bytes, m: Any) -> bool:
    """The credentials of a header (``authorization-header``, ``api-key-header``): its last group. Not code that
    reads the header (``authorization = self.headers.get("authorization")``, ``"X-Api-Key": self.api_key``): a
    value followed by a call or an index, or a name in code without a digit."""
    span = _last_group(m)
    if span is None:
        return False
    value, after = text[span[0] : span[1]], text[span[1] : span[1] + 1]
    if after in (b"(", b"["):
        return False
    return not (_NAME.fullmatch(value) and not _has_digit(value))


def high_entropy(text: bytes, m: Any) -> bool:
    """A random-looking value in an assignment (``high-entropy-assignment``): groups 1 name, 2 quote, 3 value.

    Never a digest or an id: not pure hexadecimal (git commit hashes, SHA-256 sums), not a UUID, not the value
    of a name such as ``commit``, ``sha256``, ``integrity``, ``id``; not a path or URL, not words joined by
    ``_``, ``-`` or ``.`` in one case (``strict_rfc2965_unverifiable``, ``draft-fielding-uri-rfc2396bis-03``),
    not a dotted name in code (``windll.kernel32.GetConsoleScreenBufferInfo``); it must mix letters and digits.
    """
    (ks, ke), _, (vs, ve) = _spans(m, 3)
    key, value = text[ks:ke], text[vs:ve]
    if len(value) > 256 or _DIGEST_KEY.search(key) or _HEX.fullmatch(value) or _UUID.search(value):
        return False
    if value.startswith(b"/") or _WORDS.fullmatch(value):  # a path or URL; snake_case, kebab-case, CONSTANTS
        return False
    if b"." in value and _NAME.fullmatch(value):  # code: `self._prober.charset_name`, `windll.kernel32.Beep`
        return False
    if not _has_digit(value) or not any(c >= 65 for c in value):
        return False
    return not value.startswith(b"[REDACTED")


def ipv4(text: bytes, m: Any) -> bool:
    """An IPv4 address that says where something is: each part 0–255, not part of a longer dotted number
    (``1.2.3.4.5``), not a version (``v1.2.3.4``, ``version = 1.2.3.4``), not 127.x, 0.0.0.0 or 255.255.255.255."""
    s, e = m.span()
    if (s and text[s - 1] in b".") or (text[e : e + 2][:1] == b"." and text[e + 1 : e + 2].isdigit()):
        return False
    if _VERSION_BEFORE.search(text[max(0, s - 16) : s]):
        return False
    parts = m.group(0).split(b".")
    if any(int(p) > 255 or (len(p) > 1 and p.startswith(b"0")) for p in parts):
        return False
    return parts[0] != b"127" and m.group(0) not in (b"0.0.0.0", b"255.255.255.255")


def ipv6(text: bytes, m: Any) -> bool:
    """An IPv6 address: valid (Python's :mod:`ipaddress`), at least 5 hex digits (C++'s ``a::b`` is not an
    address, nor is ``12:34:56``), not ``::1`` or ``::``, not inside a longer word."""
    s, e = m.span()
    value = m.group(0)
    if (s and (text[s - 1 : s].isalnum() or text[s - 1] in b":_")) or (text[e : e + 1].isalnum()):
        return False
    if sum(1 for c in value if c in b"0123456789abcdefABCDEF") < 5:
        return False
    import ipaddress

    try:
        address = ipaddress.IPv6Address(value.decode("ascii"))
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


CHECKS: dict[str, Callable[[bytes, Any], bool]] = {
    "assignment": assignment,
    "labelled": labelled,
    "header-value": header_value,
    "high-entropy": high_entropy,
    "ipv4": ipv4,
    "ipv6": ipv6,
}
