"""Choosing the test command, recognising test runners in command lines, and adding pytest's JUnit option.

A command line is read the way a POSIX shell splits it (``shlex`` with punctuation), cut into simple commands
at ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines. In each simple command, leading ``NAME=value``
assignments and wrappers (``env``, ``time``, ``uv run``, ``poetry run``, ``npx``, ``bundle exec``, …) are
skipped; the program and its arguments that remain decide whether it runs tests, and with which runner.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.verify.errors import BadTestConfig, NoTestCommand

#: Runners this package can read per-test results from (see ``_reports``), by program.
RUNNERS = ("pytest", "unittest", "node", "go", "cargo", "jest", "vitest")

_SEPARATORS = frozenset({"&&", "||", ";", ";;", "|", "|&", "&", "(", ")", "\n"})
_REDIRECTIONS = frozenset({">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", "&>>", ">|", "<>"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

# Wrappers that run the command after them: name -> (number of words of the wrapper, options taking a value).
_WRAPPERS: dict[tuple[str, ...], frozenset[str]] = {
    ("env",): frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    ("time",): frozenset({"-f", "--format", "-o", "--output"}),
    ("nice",): frozenset({"-n", "--adjustment"}),
    ("nohup",): frozenset(),
    ("command",): frozenset(),
    ("exec",): frozenset({"-a"}),
    ("stdbuf",): frozenset({"-i", "-o", "-e"}),
    ("xvfb-run",): frozenset({"-s", "--server-args", "-n", "--server-num", "-e", "--error-file"}),
    ("uv", "run"): frozenset(
        {
            "--with",
            "--with-editable",
            "--with-requirements",
            "--python",
            "-p",
            "--package",
            "--extra",
            "--group",
            "--env-file",
            "--directory",
            "--project",
            "--index",
            "--index-url",
            "--extra-index-url",
            "--find-links",
            "-f",
            "-w",
        }
    ),
    ("uvx",): frozenset({"--with", "--from", "--python", "-p"}),
    ("poetry", "run"): frozenset({"-C", "--directory", "-P", "--project"}),
    ("pipenv", "run"): frozenset(),
    ("pdm", "run"): frozenset({"-p", "--project"}),
    ("hatch", "run"): frozenset(),
    ("rye", "run"): frozenset(),
    ("pixi", "run"): frozenset({"-e", "--environment", "--manifest-path"}),
    ("conda", "run"): frozenset({"-n", "--name", "-p", "--prefix"}),
    ("micromamba", "run"): frozenset({"-n", "--name", "-p", "--prefix"}),
    ("bundle", "exec"): frozenset(),
    ("npx",): frozenset({"-p", "--package"}),
    ("pnpm", "exec"): frozenset(),
    ("pnpm", "dlx"): frozenset(),
    ("yarn", "dlx"): frozenset(),
    ("yarn", "exec"): frozenset(),
    ("bunx",): frozenset(),
}
_WRAPPER_FIRST = {key[0] for key in _WRAPPERS}
# The timeout wrapper takes a duration before the command.
_PYTHON = re.compile(r"python(\d+(\.\d+)*)?|py|pypy\d*")
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-X", "-W", "-c", "--check-hash-based-pycs"})

#: What :func:`find_test_command` looks for, in the words of its error message.
LOOKED_FOR = (
    "pytest, python -m pytest, tox, nox, go test, cargo test, npm/yarn/pnpm test, node --test, "
    "make test/check, mvn test, gradle test, ./gradlew test, rspec, ctest"
)


@dataclass(frozen=True, slots=True)
class TestProgram:
    """A simple command recognised as a test run.

    Attributes:
        runner: the runner whose output ``_reports`` can read (one of :data:`RUNNERS`), or ``None`` when the
            program only runs some other runner (``tox``, ``make test``, ``npm test``, …).
        words: the program and its arguments, wrappers and assignments removed.
    """

    __test__ = False  # not a pytest class

    runner: str | None
    words: tuple[str, ...]


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


def simple_commands(line: str) -> list[list[str]]:
    """The words of each simple command of a shell command line (redirections dropped).

    ``"cd a && FOO=1 pytest -q 2>&1 | tee log"`` → ``[["cd", "a"], ["FOO=1", "pytest", "-q", "2"],
    ["tee", "log"]]``. Lines that do not tokenise (an unclosed quote) are split on white space.
    """
    text = line.replace("\\\n", " ")
    out: list[list[str]] = []
    for physical in text.splitlines() or [""]:
        lexer = shlex.shlex(physical, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = physical.split()
        current: list[str] = []
        skip_next = False
        for tok in tokens:
            if skip_next:
                skip_next = False
                continue
            if tok in _SEPARATORS:
                if current:
                    out.append(current)
                current = []
            elif tok in _REDIRECTIONS:
                skip_next = True
            else:
                current.append(tok)
        if current:
            out.append(current)
    return out


def test_program(words: Sequence[str]) -> TestProgram | None:
    """The test run that the simple command ``words`` starts, or ``None`` when it is not a test run."""
    rest = _unwrap(list(words))
    if not rest:
        return None
    prog = os.path.basename(rest[0])
    args = rest[1:]
    positional = [a for a in args if not a.startswith("-")]
    first = positional[0] if positional else None
    if prog in ("pytest", "py.test"):
        return TestProgram("pytest", tuple(rest))
    if _PYTHON.fullmatch(prog):
        module = _python_module(args)
        if module in ("pytest", "py.test"):
            return TestProgram("pytest", tuple(rest))
        if module == "unittest":
            return TestProgram("unittest", tuple(rest))
        if module in ("tox", "nox"):
            return TestProgram(None, tuple(rest))
        return None
    if prog in ("tox", "nox", "rspec", "ctest", "phpunit", "prove"):
        return TestProgram(None, tuple(rest))
    if prog in ("jest", "vitest"):
        return TestProgram(prog, tuple(rest))
    if prog == "go" and first == "test":
        return TestProgram("go", tuple(rest))
    if prog == "cargo":
        sub = [a for a in positional if not a.startswith("+")]
        if sub[:1] == ["test"]:
            return TestProgram("cargo", tuple(rest))
        if sub[:1] == ["nextest"]:
            return TestProgram(None, tuple(rest))
        return None
    if prog in ("npm", "yarn", "pnpm", "bun"):
        if first in ("test", "t") or (first == "run" and positional[1:2] == ["test"]):
            return TestProgram(None, tuple(rest))
        return None
    if prog in ("deno", "dotnet", "swift") and first == "test":
        return TestProgram(None, tuple(rest))
    if prog == "node":
        return TestProgram("node", tuple(rest)) if "--test" in args else None
    if prog in ("make", "gmake"):
        targets = [a for a in positional if "=" not in a]
        return TestProgram(None, tuple(rest)) if any(_is_test_target(t) for t in targets) else None
    if prog in ("mvn", "mvnw", "gradle", "gradlew"):
        goals = {g.rsplit(":", 1)[-1] for g in positional}
        return TestProgram(None, tuple(rest)) if goals & {"test", "check", "verify"} else None
    return None


def _is_test_target(target: str) -> bool:
    return target in ("test", "tests", "check") or target.startswith(("test-", "test_"))


def _python_module(args: Sequence[str]) -> str | None:
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-m":
            return args[i + 1] if i + 1 < len(args) else None
        if a.startswith("-m") and len(a) > 2:
            return a[2:]
        if not a.startswith("-"):
            return None  # a script
        i += 2 if a in _PYTHON_OPTIONS_WITH_VALUE else 1
    return None


def _unwrap(words: list[str]) -> list[str]:
    """``words`` without leading assignments and wrappers (``env``, ``uv run``, ``timeout 60``, …)."""
    i = 0
    while i < len(words):
        w = words[i]
        if _ASSIGNMENT.match(w):
            i += 1
            continue
        name = os.path.basename(w)
        if name == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-s", "--signal", "-k", "--kill-after") else 1
            i += 1  # the duration
            continue
        if name not in _WRAPPER_FIRST:
            break
        matched = None
        for key in _WRAPPERS:
            if tuple(os.path.basename(x) if j == 0 else x for j, x in enumerate(words[i : i + len(key)])) == key:
                matched = key
                break
        if matched is None:
            break
        i += len(matched)
        with_value = _WRAPPERS[matched]
        while i < len(words):
            a = words[i]
            if a == "--":
                i += 1
                break
            if _ASSIGNMENT.match(a) and matched == ("env",):
                i += 1
            elif a.startswith("-"):
                i += 2 if a in with_value else 1
            else:
                break
    return words[i:]


def test_programs(line: str) -> list[TestProgram]:
    """Every test run among the simple commands of the command line ``line``, in order."""
    found = []
    for words in simple_commands(line):
        prog = test_program(words)
        if prog is not None:
            found.append(prog)
    return found


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
