"""find_test_command: each source in order, recognising test runs in command lines, and the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracer.verify import BadTestConfig, NoTestCommand, find_test_command
from tracer.verify._command import runner_of, simple_commands, with_junit_xml
from tracer.verify._command import test_programs as runs_of


def find(
    commands: list[str], *, explicit: str | None = None, header: str | None = None, repo: Path | None = None
) -> tuple[str, str]:
    found = find_test_command(explicit=explicit, header=header, repo=repo, commands=commands)
    return found.command, found.source


def write_config(repo: Path, text: str) -> Path:
    repo.mkdir(exist_ok=True)
    (repo / "pyproject.toml").write_text(text)
    return repo


def test_each_source_in_order(tmp_path: Path) -> None:
    repo = write_config(tmp_path / "r", '[tool.tracer]\ntest-command = "make check"\n')
    session = ["ls", "pytest -x", "vim a.py"]
    assert find(session, explicit="tox -e py311", header="pytest", repo=repo) == ("tox -e py311", "flag")
    assert find(session, header="pytest -q", repo=repo) == ("pytest -q", "header")
    assert find(session, repo=repo) == ("make check", "config")
    assert find(session, repo=tmp_path / "no-such-dir") == ("pytest -x", "session")
    assert find(session) == ("pytest -x", "session")


def test_blank_values_count_as_absent(tmp_path: Path) -> None:
    repo = write_config(tmp_path / "r", '[tool.tracer]\ntest-command = "  "\n')
    assert find(["cargo test"], explicit=" ", header="", repo=repo) == ("cargo test", "session")


def test_a_pyproject_without_the_setting_is_skipped(tmp_path: Path) -> None:
    repo = write_config(tmp_path / "r", "[project]\nname = 'x'\n[tool.ruff]\nline-length = 100\n")
    assert find(["go test ./..."], repo=repo) == ("go test ./...", "session")


def test_a_broken_config_is_an_error_naming_the_file(tmp_path: Path) -> None:
    repo = write_config(tmp_path / "r", "[tool.tracer\n")
    with pytest.raises(BadTestConfig, match=r"pyproject\.toml is not valid TOML.*--test-command"):
        find(["pytest"], repo=repo)
    write_config(repo, "[tool.tracer]\ntest-command = ['pytest']\n")
    with pytest.raises(BadTestConfig, match="must be a string"):
        find(["pytest"], repo=repo)


def test_the_last_test_like_command_wins() -> None:
    session = [
        "pytest tests/test_a.py",
        "vim src/a.py",
        "python -m pytest -q",
        "git diff",
        "git commit -am tests",
    ]
    assert find(session) == ("python -m pytest -q", "session")


@pytest.mark.parametrize(
    "line",
    [
        "pytest",
        "py.test -x tests",
        ".venv/bin/pytest -q",
        "python -m pytest -q",
        "python3 -m pytest",
        "python3.11 -X dev -m pytest",
        "python -m unittest discover",
        "tox -e py311",
        "nox -s tests",
        "go test ./...",
        "go test -json -run TestX ./pkg",
        "cargo test",
        "cargo +nightly test --all",
        "npm test",
        "npm run test",
        "yarn test",
        "pnpm test",
        "node --test",
        "node --test test/",
        "make test",
        "make -j4 check",
        "mvn test",
        "./mvnw -q test",
        "gradle test",
        "./gradlew test",
        "rspec spec/models",
        "bundle exec rspec",
        "ctest --output-on-failure",
        "npx jest",
        "vitest run",
        "FOO=1 BAR=2 pytest",
        "env DJANGO_SETTINGS_MODULE=x pytest",
        "uv run pytest -q",
        "uv run --with hypothesis pytest",
        "poetry run pytest",
        "pipenv run python -m pytest",
        "time cargo test",
        "timeout 300 go test ./...",
        "cd backend && pytest",
        "pytest -q 2>&1 | tee log.txt",
        "source .venv/bin/activate; pytest",
    ],
)
def test_test_like_commands_are_recognised(line: str) -> None:
    command, source = find([line, "ls -la"][:1])
    assert source == "session"
    assert line.startswith(command) and runs_of(command)  # cut after the test run, if at all


@pytest.mark.parametrize(
    "line",
    [
        "ls",
        "pip install pytest",
        "vim tests/test_a.py",
        "cat pytest.ini",
        "echo pytest",
        "git commit -m 'make tests pass'",
        "python script.py",
        "go build ./...",
        "cargo build",
        "npm install",
        "node index.js",
        "make",
        "make install",
        "mvn package",
        "grep -r 'cargo test' .",
        "uv run python app.py",
    ],
)
def test_other_commands_are_not(line: str) -> None:
    with pytest.raises(NoTestCommand):
        find([line])


def test_the_error_says_what_was_looked_for_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NoTestCommand) as caught:
        find(["ls", "vim a.py"], repo=tmp_path)
    message = str(caught.value)
    assert "--test-command" in message
    assert "session header" in message
    assert str(tmp_path / "pyproject.toml") in message
    assert "[tool.tracer] test-command" in message
    assert "2 command line(s)" in message
    for word in ("pytest", "tox", "go test", "cargo test", "npm/yarn/pnpm test", "node --test", "make test"):
        assert word in message


def test_simple_commands_split_at_shell_operators() -> None:
    assert simple_commands("cd a && FOO=1 pytest -q 2>&1 | tee log; echo 'x && y'") == [
        ["cd", "a"],
        ["FOO=1", "pytest", "-q", "2"],
        ["tee", "log"],
        ["echo", "x && y"],
    ]
    assert simple_commands("make \\\n  test") == [["make", "test"]]
    assert simple_commands("echo 'unclosed") == [["echo", "'unclosed"]]
    assert simple_commands("curl http://h/#frag # a comment") == [["curl", "http://h/#frag"]]  # '#' starts a word


def test_shell_words_are_the_words_a_shell_reads() -> None:
    from tracer.commandline import shell_words

    assert shell_words("pytest -q 'a b'|tail -3") == ["pytest", "-q", "a b", "|", "tail", "-3"]
    assert shell_words('echo "#x" a#b \\#c # gone') == ["echo", "#x", "a#b", "#c"]
    assert shell_words("make \\\n  test\ngit diff") == ["make", "test", "\n", "git", "diff"]
    assert shell_words("echo 'unclosed") == ["echo", "'unclosed"]  # split at white space, never an error
    assert shell_words("") == []


@pytest.mark.parametrize(
    ("line", "runner"),
    [
        ("pytest -q", "pytest"),
        ("tox", None),
        ("cargo test", "cargo"),
        ("go test -json ./...", "go"),
        ("node --test", "node"),
        ("npx jest --json", "jest"),
        ("npm test", None),
        ("cargo build && cargo test", "cargo"),
        ("ls", None),
    ],
)
def test_runner_of(line: str, runner: str | None) -> None:
    assert runner_of(line) == runner


def test_the_junit_option_is_added_only_where_it_reaches_pytest(tmp_path: Path) -> None:
    xml = tmp_path / "my dir" / "junit.xml"
    quoted = f"'{xml}'"
    assert with_junit_xml("pytest -q", xml) == f"pytest -q --junitxml={quoted} -o junit_family=xunit1 -rA"
    assert with_junit_xml("cd a && uv run pytest", xml) == (
        f"cd a && uv run pytest --junitxml={quoted} -o junit_family=xunit1 -rA"
    )
    for line in (
        "tox",
        "make test",
        "pytest | tee log",
        "pytest -q  # all of them",
        "pytest &",
        "pytest --junitxml=mine.xml",
        "pytest\necho done",
        "pytest; echo done",
        "cargo test",
    ):
        assert with_junit_xml(line, xml) is None, line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("python -m pytest -q; sed -i 's/a - b/a + b/' calc.py", "python -m pytest -q"),
        ("cd pkg && pytest -q 'x; y' && echo done", "cd pkg && pytest -q 'x; y'"),
        ("pytest -q 2>&1 | tee log", "pytest -q 2>&1"),
        ("cargo test && git diff", "cargo test"),
        ("pytest||true", "pytest"),
        ("FOO=1 pytest -x", "FOO=1 pytest -x"),
        ("pytest 'unclosed", "pytest 'unclosed"),
        # only the test-like part: what ran before it (a fix re-applied by sed, a stash) is not the test
        ("pytest -q >/dev/null; sed -i 's/a - b/a + b/' calc.py ; pytest -q | tail -3", "pytest -q"),
        ("git stash && pytest -q; git stash pop", "pytest -q"),
        ("pip install -e . && pytest", "pytest"),
        # ...but what prepares the shell for it is kept
        ("source .venv/bin/activate && cd tests && PYTHONHASHSEED=0 pytest -x", None),
        ("export CI=1; cd pkg && npm test", None),
        ("cd a && make build && cd b && pytest", "cd b && pytest"),
    ],
)
def test_a_session_line_gives_its_test_run(line: str, expected: str | None) -> None:
    found = find_test_command(explicit=None, header=None, repo=None, commands=["ls", line, "git status"])
    assert (found.command, found.source) == (expected or line, "session")
    part = "" if expected is None or expected == line else "the test-like part of "
    assert found.origin == f"{part}recorded command 2 of 3: `{line}`"


def test_the_origin_of_each_source(tmp_path: Path) -> None:
    repo = write_config(tmp_path / "r", '[tool.tracer]\ntest-command = "make check"\n')
    assert find_test_command(explicit="x", header="y", repo=repo, commands=[]).origin == "--test-command"
    assert find_test_command(explicit=None, header="y", repo=repo, commands=[]).origin == (
        "the session header's test_command"
    )
    assert find_test_command(explicit=None, header=None, repo=repo, commands=[]).origin == (
        f"[tool.tracer] test-command in {repo / 'pyproject.toml'}"
    )
