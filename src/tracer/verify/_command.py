"""Choosing the test command, cutting a command line after its test run, and adding pytest's JUnit option.

Test runs are recognised in command lines by :mod:`tracer.commandline` (shared with the other services);
its names are re-exported here.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.commandline import RUNNERS, TestProgram, simple_commands, test_program, test_programs
from tracer.verify.errors import BadTestConfig, NoTestCommand

__all__ = [
    "LOOKED_FOR",
    "RUNNERS",
    "TestCommand",
    "TestProgram",
    "find_test_command",
    "runner_of",
    "simple_commands",
    "test_part",
    "test_program",
    "test_programs",
    "with_junit_xml",
]

#: What :func:`find_test_command` looks for, in the words of its error message.
LOOKED_FOR = (
    "pytest, python -m pytest, tox, nox, go test, cargo test, npm/yarn/pnpm test, node --test, "
    "make test/check, mvn test, gradle test, ./gradlew test, rspec, ctest"
)


@dataclass(frozen=True, slots=True)
class TestCommand:
    """The test command that decides the verdict, and where it came from.

    Attributes:
        command: the shell command line to run.
        source: ``"flag"``, ``"header"``, ``"config"`` or ``"session"``.
        origin: where exactly, for a person: ``"--test-command"``, ``"the session header's test_command"``,
            ``"[tool.tracer] test-command in /repo/pyproject.toml"``, or for a recorded command
            ``"the test-like part of recorded command 7 of 9: `pytest -q | tail -3`"``.
    """

    __test__ = False  # not a pytest class

    command: str
    source: str
    origin: str


def find_test_command(
    *, explicit: str | None, header: str | None, repo: Path | None, commands: Sequence[str]
) -> TestCommand:
    """The test command that decides the verdict, and where it came from.

    Looked for in this order: ``explicit`` (``--test-command``, source ``"flag"``), ``header`` (the session
    header's test command, ``"header"``), ``[tool.tracer] test-command`` in ``repo/pyproject.toml``
    (``"config"``), and last the LAST test-like command line among ``commands`` (``"session"``): pytest,
    ``python -m pytest``, tox, nox, ``go test``, ``cargo test``, ``npm|yarn|pnpm test``, ``node --test``,
    ``make test|check``, ``mvn test``, ``gradle test``, ``./gradlew test``, rspec, ctest, jest, vitest (also
    behind ``VAR=value`` assignments and wrappers such as ``uv run`` or ``poetry run``). Of a recorded line only
    its test-like part is taken (:func:`test_part`): ``pytest -q >/dev/null; sed -i … ; pytest -q | tail -3``
    gives ``pytest -q``. Blank strings count as absent.

    Args:
        explicit: the ``--test-command`` option, or ``None``.
        header: :attr:`tracer.model.Header.test_command`, or ``None``.
        repo: the repository directory whose ``pyproject.toml`` may configure the command, or ``None``.
        commands: the session's command lines, in the order they ran.

    Raises:
        BadTestConfig: ``repo/pyproject.toml`` is not valid TOML, or its test-command is not a string.
        NoTestCommand: nothing found; the message lists what was looked for and says to pass --test-command.
    """
    if explicit and explicit.strip():
        return TestCommand(explicit.strip(), "flag", "--test-command")
    if header and header.strip():
        return TestCommand(header.strip(), "header", "the session header's test_command")
    configured = _configured_command(repo) if repo is not None else None
    if configured:
        assert repo is not None
        return TestCommand(configured, "config", f"[tool.tracer] test-command in {repo / 'pyproject.toml'}")
    for i in range(len(commands) - 1, -1, -1):
        line = commands[i]
        if test_programs(line):
            part = test_part(line)
            which = "" if part == line.strip() else "the test-like part of "
            shown = line.strip() if len(line.strip()) <= 200 else line.strip()[:200] + "…"
            return TestCommand(part, "session", f"{which}recorded command {i + 1} of {len(commands)}: `{shown}`")
    where = f"{repo / 'pyproject.toml'}" if repo is not None else "pyproject.toml (no repository known)"
    raise NoTestCommand(
        "no test command to run: none was given with --test-command, the session header names none, "
        f"{where} has no [tool.tracer] test-command, and none of the session's {len(commands)} command "
        f"line(s) runs tests (looked for {LOOKED_FOR}); pass --test-command 'CMD'"
    )


def _configured_command(repo: Path) -> str | None:
    path = repo / "pyproject.toml"
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BadTestConfig(f"cannot read {path} ({e.strerror}); fix it or pass --test-command 'CMD'") from e
    except tomllib.TOMLDecodeError as e:
        raise BadTestConfig(f"{path} is not valid TOML ({e}); fix it or pass --test-command 'CMD'") from e
    tool = data.get("tool")
    section = tool.get("tracer") if isinstance(tool, dict) else None
    if not isinstance(section, dict) or "test-command" not in section:
        return None
    value = section["test-command"]
    if not isinstance(value, str):
        raise BadTestConfig(
            f"[tool.tracer] test-command in {path} must be a string, not {type(value).__name__}; "
            "fix it or pass --test-command 'CMD'"
        )
    return value.strip() or None


def _top_level_parts(line: str) -> list[tuple[str, str]]:
    """Split a one-line command at its top-level ``;``, ``&&``, ``||``, ``|`` and ``&``.

    Returns ``(text, separator_after)`` pairs whose texts are slices of ``line`` (quoting kept as typed);
    quotes, backslashes, ``$(…)`` and parentheses are respected. ``[]`` when the line cannot be split safely.
    """
    parts: list[tuple[str, str]] = []
    start = i = depth = 0
    quote = ""
    n = len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c == "\\":
            i += 2
            continue
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c in ";&|":
            sep = line[i : i + 2] if line[i : i + 2] in ("&&", "||", ";;", "|&") else c
            if sep == "&" and (line[i - 1 : i] in "<>" or line[i + 1 : i + 2] == ">"):
                i += 1  # a redirection such as 2>&1 or &>file
                continue
            parts.append((line[start:i], sep))
            i += len(sep)
            start = i
            continue
        i += 1
    if quote or depth:
        return []
    parts.append((line[start:], ""))
    return parts


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
#: Programs that only prepare the shell for the command after them (kept before a recorded test run).
_SETUP = frozenset({"cd", "pushd", "export", "source", ".", "set", "unset", "ulimit", "umask", "shopt", "workon"})


def test_part(line: str) -> str:
    """The test run of a recorded command line: its last test-like simple command, with the ``cd``, ``export``,
    ``source`` … that lead to it, and without what comes after it.

    ``"pytest -q >/dev/null; sed -i 's/a/b/' x.py; pytest -q | tail -3"`` → ``"pytest -q"`` (the ``sed`` would
    re-apply the fix on the unpatched base); ``"cd pkg && pytest -q | tee log"`` → ``"cd pkg && pytest -q"``
    (the pipe would make ``tee``'s status the line's). Lines over several physical lines, or that cannot be
    split safely, are returned whole (stripped).
    """
    stripped = line.strip()
    if "\n" in stripped:
        return stripped
    parts = _top_level_parts(stripped)
    tests = [i for i, (text, _) in enumerate(parts) if test_programs(text)]
    if not tests:
        return stripped
    last = first = tests[-1]
    while first > 0 and parts[first - 1][1] in ("&&", ";") and _is_setup(parts[first - 1][0]):
        first -= 1
    kept = "".join(text + sep for text, sep in parts[first:last]) + parts[last][0]
    return kept.strip()


def _is_setup(text: str) -> bool:
    words = simple_commands(text)
    if len(words) != 1 or not words[0]:
        return False
    w = words[0]
    if all(_ASSIGNMENT.match(x) for x in w):
        return True
    return w[0] in _SETUP or (w[0] in ("conda", "micromamba") and w[1:2] == ["activate"]) or w[:2] == ["nvm", "use"]


def runner_of(command: str) -> str | None:
    """The runner of the last test run in ``command`` whose output can be read, else ``None``."""
    runners = [p.runner for p in test_programs(command) if p.runner is not None]
    return runners[-1] if runners else None


def with_junit_xml(command: str, path: Path) -> str | None:
    """``command`` with ``--junitxml=PATH -o junit_family=xunit1 -rA`` added for pytest, or ``None``.

    ``-rA`` makes pytest's short summary name every test with its outcome (``PASSED tests/test_a.py::test_x``),
    as SWE-bench's harness runs pytest: these lines are pytest's own verdict per test (see
    ``_reports.pytest_report``).

    The options are appended to the command line, so they are added only when the line is one physical line
    whose last simple command runs pytest directly (not through tox or make), without a trailing comment,
    background ``&`` or pipe, and which does not already ask for a JUnit report. ``xunit1`` keeps each test's
    ``file`` attribute, from which the pytest node id is rebuilt.
    """
    if "\n" in command.strip() or "\\\n" in command:
        return None
    stripped = command.rstrip()
    if stripped.endswith(("&", "|", ";", "\\")):
        return None
    try:
        plain = shlex.split(stripped)
        no_comments = shlex.split(stripped, comments=True)
    except ValueError:
        return None
    if plain != no_comments:
        return None
    parts = simple_commands(stripped)
    if not parts:
        return None
    last = test_program(parts[-1])
    if last is None or last.runner != "pytest":
        return None
    if any(w.startswith(("--junitxml", "--junit-xml")) for w in last.words):
        return None
    return f"{stripped} --junitxml={shlex.quote(str(path))} -o junit_family=xunit1 -rA"
