"""Reading shell command lines: their simple commands, the wrappers in front of a program, and test runs; and
the summary a test run prints (:func:`tests_outcome`), for a line whose exit status is not the tests'.

A command line is read the way a POSIX shell splits it (``shlex`` with punctuation), cut into simple commands
at ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines. In each simple command, leading ``NAME=value``
assignments and wrappers (``env``, ``time``, ``uv run``, ``poetry run``, ``npx``, ``bundle exec``, …) are
skipped; the program and its arguments that remain decide whether it runs tests, and with which runner.

Standard library only, below the services: ``tracer.verify`` picks the test command that decides a verdict
with it, ``tracer.insights`` tells test runs from other commands.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

#: Runners tracer.verify can read per-test results from (see ``tracer.verify._reports``), by program.
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


@dataclass(frozen=True, slots=True)
class TestProgram:
    """A simple command recognised as a test run.

    Attributes:
        runner: the runner whose output ``tracer.verify`` can read (one of :data:`RUNNERS`), or ``None`` when the
            program only runs some other runner (``tox``, ``make test``, ``npm test``, …).
        words: the program and its arguments, wrappers and assignments removed.
    """

    __test__ = False  # not a pytest class

    runner: str | None
    words: tuple[str, ...]


def _line_words(line: str) -> list[list[str]]:
    """The words of each physical line of ``line`` as a POSIX shell splits them (quotes removed, operators such as
    ``&&``, ``|``, ``;``, ``>`` words of their own; a backslash-newline joins two lines). A line that does not
    tokenise (an unclosed quote) is split at white space."""
    out = []
    for physical in line.replace("\\\n", " ").splitlines() or [""]:
        lexer = shlex.shlex(_without_comment(physical), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""  # shlex would start a comment at any '#', even inside a word (a#b, a URL's #frag)
        try:
            out.append(list(lexer))
        except ValueError:
            out.append(physical.split())
    return out


def _without_comment(physical: str) -> str:
    """One physical line without its comment: from an unquoted ``#`` that begins a word, as the shell reads it."""
    quote = ""
    escaped = False
    for i, ch in enumerate(physical):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or physical[i - 1] in " \t;&|()<>"):
            return physical[:i]
    return physical


def shell_words(line: str) -> list[str]:
    """The command line ``line`` split into words as a POSIX shell splits it: ``"pytest -q 'a b'|tail"`` →
    ``["pytest", "-q", "a b", "|", "tail"]``; the lines of a multi-line command are separated by a ``"\\n"``
    word. An unclosed quote: the line is split at white space. Never fails."""
    words: list[str] = []
    for i, tokens in enumerate(_line_words(line)):
        if i:
            words.append("\n")
        words += tokens
    return words


def simple_commands(line: str) -> list[list[str]]:
    """The words of each simple command of a shell command line (redirections dropped).

    ``"cd a && FOO=1 pytest -q 2>&1 | tee log"`` → ``[["cd", "a"], ["FOO=1", "pytest", "-q", "2"],
    ["tee", "log"]]``. Lines that do not tokenise (an unclosed quote) are split on white space.
    """
    out: list[list[str]] = []
    for tokens in _line_words(line):
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
    rest = unwrap(list(words))
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


def unwrap(words: list[str]) -> list[str]:
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


def status_is_the_tests(line: str) -> bool:
    """True when the exit status of the command line ``line`` is its tests': its last simple command runs tests
    (``cd pkg && pytest`` yes; ``pytest | tail -3`` and ``pytest; git diff`` no)."""
    parts = simple_commands(line)
    return bool(parts) and test_program(parts[-1]) is not None


def test_run_outcome(line: str, exit_status: int | None, output: str) -> bool | None:
    """Whether the test run ``line`` passed (``True``) or failed (``False``); ``None`` when nothing says.

    The exit status decides where it is the tests' (:func:`status_is_the_tests`): 0 passed, 1 to 125 failed
    (126, 127 and 128 or more are "cannot run", "not found" and signals: nothing is known of the tests). Else the
    summary at the end of ``output`` decides (:func:`tests_outcome`). ``exit_status`` ``None``: it never ended.
    """
    if exit_status is None:
        return None
    if status_is_the_tests(line):
        return True if exit_status == 0 else False if 1 <= exit_status <= 125 else None
    return tests_outcome(output)


#: How much of the end of a test run's output :func:`tests_outcome` reads (bytes).
SUMMARY_TAIL = 8192

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# pytest's last line (also -q's): "1 failed, 2 passed, 1 skipped in 0.12s", "=== 3 passed in 1.2s ===",
# "no tests ran in 0.01s"; rspec's "3 examples, 1 failure"
_COUNTS_IN = re.compile(r"^[= ]*((?:\d+ [a-z]+(?:, )?)+|no tests ran) in [\d.]+ ?s(?:econds)?\b")
_RSPEC = re.compile(r"^\d+ examples?, (\d+) failures?")
_CARGO = re.compile(r"^test result: (ok|FAILED)\.")
_GO = re.compile(r"^(ok|FAIL)(?:\s|$)")
_JEST = re.compile(r"^\s*Tests:?\s+(.*\d+ (?:failed|passed).*)$")  # jest "Tests:", vitest "Tests"
_NODE = re.compile(r"^# (pass|fail) (\d+)$")
_UNITTEST_BAD = re.compile(r"^FAILED \((?:failures|errors)=\d+")
_UNITTEST_OK = re.compile(r"^OK(?: \(.*\))?$")
_MOCHA = re.compile(r"^\s*(\d+) (passing|failing)\b")


def tests_outcome(output: str) -> bool | None:
    """What the summary at the end of a test run's output says: ``True`` the tests passed, ``False`` some
    failed (or errored), ``None`` there is no summary tracer knows.

    For a line whose exit status is not the tests' (``pytest -q | tail -3``, ``pytest; git diff``). Reads the
    last :data:`SUMMARY_TAIL` bytes, ANSI sequences removed, bottom up, for the summaries of pytest, unittest,
    ``go test``, ``cargo test``, jest, vitest, ``node --test``, mocha and rspec (behind tox, make or npm too).
    """
    lines = _ANSI.sub("", output[-SUMMARY_TAIL:]).replace("\r", "\n").splitlines()
    go_ok = False
    for raw in reversed(lines):
        line = raw.strip()
        if m := _COUNTS_IN.match(line):
            counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) ([a-z]+)", m.group(1)))
            if counts.get("failed") or counts.get("error") or counts.get("errors"):
                return False
            return True if counts.get("passed") else None
        if m := _CARGO.match(line):
            return m.group(1) == "ok" and not any(_CARGO.match(x.strip()) and "FAILED" in x for x in lines)
        if m := _JEST.match(raw):
            return None if "failed" not in m.group(1) and "passed" not in m.group(1) else "failed" not in m.group(1)
        if m := _RSPEC.match(line):
            return m.group(1) == "0"
        if (m := _NODE.match(line)) and m.group(1) == "fail":
            return m.group(2) == "0"
        if _UNITTEST_BAD.match(line):
            return False
        if _UNITTEST_OK.match(line) and any(x.startswith("Ran ") for x in lines):
            return True
        if m := _MOCHA.match(raw):
            return m.group(2) == "passing" and not any(_MOCHA.match(x) and "failing" in x for x in lines)
        if m := _GO.match(line):
            if m.group(1) == "FAIL":
                return False
            go_ok = True
    return True if go_ok else None


__all__ = [
    "RUNNERS",
    "SUMMARY_TAIL",
    "TestProgram",
    "simple_commands",
    "status_is_the_tests",
    "test_program",
    "test_programs",
    "test_run_outcome",
    "tests_outcome",
    "unwrap",
]
