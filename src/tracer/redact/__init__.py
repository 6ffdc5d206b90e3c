"""Redaction: secrets never reach the disk, and never leave the machine.

Two stages, one engine (keywords first, then RE2 regexes; see ``_rules.py``):

- **record time** (:func:`record_redactor`): precise rules — provider token shapes (gitleaks' list), private
  key blocks, JWTs, credentials in URLs and ``Authorization`` headers, values of sensitive names — mask
  everything the recorder writes, in the writer thread, before a byte reaches the disk;
- **export time** (:func:`export_redactor`): every rule on top — gitleaks' whole list, high-entropy values in
  assignments, e-mail addresses, IPv4/IPv6 addresses, the home directory (→ ``~``), user name and host name.

Public API::

    record_redactor(config) -> Redactor      one per recording (the writer thread owns it)
    export_redactor(config, header, collect=False) -> Redactor
    SessionRedaction(config)                 export-time redaction of many sessions, one call per session
    Redactor.output(bytes) / .text(str) / .event(Event) / .session(Session); .counts, .findings, .summary()
    Redactor.known, .know(values)            values learnt (in memory only), and learning them from elsewhere
    recorded_values_redactor(label) -> Redactor  no rules: only those values (an export with --no-redact)
    find_sites(events, values), values_at(sites, events), sites_of(events), without_sites(event)
                                             values written unmasked before they were learnt (session_end);
                                             LONGEST: the longest such value (bytes)
    check_config(config)                     compile the user's rules: ConfigError naming file and line
    mask_whole(bytes)                        every byte *, line ends kept
    RULES_VERSION, Finding

Rules come from ``rules/tracer.toml`` (tracer's), ``rules/gitleaks.toml`` (gitleaks' own list, MIT) and the
user's ``~/.config/tracer/config.toml`` (see :mod:`tracer.config`). docs/privacy.md says which rule comes from
where, and what is masked when.
"""

from __future__ import annotations

import contextlib
import os
import re

from tracer.config import Config
from tracer.model import Header, Session
from tracer.redact._mask import Finding, Redactor, describe_counts, mask_whole
from tracer.redact._rules import RULES_VERSION, RuleSet, check_config, export_rules, record_rules
from tracer.redact._unmasked import LONGEST, find_sites, sites_of, values_at, without_sites

__all__ = [
    "LONGEST",
    "RULES_VERSION",
    "Finding",
    "Redactor",
    "RuleSet",
    "SessionRedaction",
    "check_config",
    "describe_counts",
    "export_context",
    "export_redactor",
    "find_sites",
    "mask_whole",
    "record_redactor",
    "recorded_values_redactor",
    "sites_of",
    "values_at",
    "without_sites",
]


def record_redactor(config: Config | None = None) -> Redactor:
    """A redactor with the record-time rules (and the user's record-stage rules).

    Raises:
        ConfigError: a user rule or allowlist entry does not compile (names the file and line).
    """
    return Redactor(record_rules(config))


_HOME = re.compile(r"^(/home/[^/]+|/Users/[^/]+|/root)(?:/|$)")


def export_context(header: Header | None = None) -> dict[str, list[str]]:
    """What says whose machine a session comes from: the home directories, user names and host names of this
    machine and of the recording (its header's host name; the home directory its working directory lies in)."""
    import getpass
    import socket

    homes = [os.path.expanduser("~")]
    users = []
    with contextlib.suppress(KeyError, OSError):
        users.append(getpass.getuser())
    host = socket.gethostname()
    hosts = [host, host.split(".")[0]]
    if header is not None:
        if header.hostname:
            hosts += [header.hostname, header.hostname.split(".")[0]]
        for path in (header.cwd, header.workspace):
            m = _HOME.match(path or "")
            if m:
                homes.append(m.group(1))
                if m.group(1) != "/root":
                    users.append(m.group(1).rsplit("/", 1)[1])
    return {"home": homes, "user": users, "host": hosts}


def export_redactor(config: Config | None = None, header: Header | None = None, *, collect: bool = False) -> Redactor:
    """A redactor with every rule, and the rules of :func:`export_context` for ``header``'s session, that searches
    the content of binary patches too (a binary file holding a match is left out of its patch).

    Args:
        collect: keep a :class:`Finding` per masked value (``tracer export --preview``).

    Raises:
        ConfigError: a user rule or allowlist entry does not compile (names the file and line).
    """
    return Redactor(export_rules(config, export_context(header)), collect=collect, binary=True)


def recorded_values_redactor(label: str) -> Redactor:
    """A redactor with no rules: it masks only the values record-time redaction learnt after it had written them
    (``session_end.unmasked``, which :class:`tracer.store.redacted.RedactedReader` and :meth:`Redactor.session`
    give it): what an export without export-time redaction (``--no-redact``) still masks. ``label``: the header's
    ``redaction``."""
    return Redactor.of_values(label)


class SessionRedaction:
    """Export-time redaction of one session after another, one call per session read whole (what ``tracer
    dataset build`` and ``tracer push`` take): each gets a new :func:`export_redactor` (its home, user and host;
    its placeholders' numbers) and goes through :meth:`Redactor.session`. With ``rules=False`` (``--no-redact``)
    no rule runs: only the values record time wrote before it learnt them are masked
    (:func:`recorded_values_redactor`), and a session without any is passed on as it is.

    Attributes:
        counts: masked values per rule, over every session so far. label: the rule set.

    Raises:
        ConfigError: (when made) a user rule or allowlist entry does not compile.
    """

    def __init__(self, config: Config | None = None, *, rules: bool = True) -> None:
        self.config = config
        self.rules = rules
        self.counts: dict[str, int] = {}
        self._redactor: Redactor | None = None
        # (compiles the user's rules: a bad one raises now)
        self.label = export_redactor(config).rules.label if rules else "no rules"

    def __call__(self, session: Session) -> Session:
        """``session`` masked (a new session; what was masked adds to :attr:`counts`)."""
        self._add_counts()
        if not self.rules:
            if not sites_of(session.events):
                return session
            self._redactor = recorded_values_redactor(session.header.redaction or "")
        else:
            self._redactor = export_redactor(self.config, session.header)
        return self._redactor.session(session)

    def _add_counts(self) -> None:
        if self._redactor is not None:
            for rule, n in self._redactor.counts.items():
                self.counts[rule] = self.counts.get(rule, 0) + n
            self._redactor.counts.clear()

    def summary(self) -> str:
        """``"12 values (email 7, home-dir 5)"`` over every session so far, or ``"nothing"``."""
        self._add_counts()
        return describe_counts(self.counts)
