"""`tracer insights` as a user runs it: text for people (colours on a terminal only), JSON for scripts, clear
errors; and `tracer shell` never loads any of it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.insights.conftest import Corpus, tracer_cli
from tests.insights.corpus import run_command
from tracer.insights import Insights

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def env_for(corpus: Corpus, tmp_path: Path) -> dict[str, str]:
    return {"TRACER_DIR": str(corpus.sessions), "TRACER_CACHE_DIR": str(tmp_path / "cache")}


def test_the_text_a_person_reads(corpus: Corpus, week: Insights, tmp_path: Path) -> None:
    proc = tracer_cli("insights", "--since", "7d", env=env_for(corpus, tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not ANSI.search(out)  # not a terminal: plain text
    assert out.startswith("tracer insights · last 7 days · all repositories\n")
    c = week.current
    assert re.search(rf"^  sessions +{c.sessions} +▲ 200% ", out, re.M)
    rise = round((c.failed - week.previous.failed) / week.previous.failed * 100)
    assert re.search(rf"^  failed +{c.failed} +▲ {rise}% +{c.failed / c.commands:.1%} of commands", out, re.M)
    assert re.search(r"^  verdicts +unverified \d · passed 1$", out, re.M)
    assert re.search(r"^  failing → passing test +median \d+s, slowest \d+s \(1 session\)$", out, re.M)
    assert re.search(r"^  edit → test cycles +1 \(0\.5 per session with tests\)$", out, re.M)
    assert re.search(r"^  python3 -m pytest +3 +█+$", out, re.M)
    assert re.search(r"^  python3 -m pytest +2 of 3 +█+$", out, re.M)
    assert re.search(r"^  ModuleNotFoundError +1 +\d+% +=", out, re.M)
    assert re.search(r"^      → install the module in the environment", out, re.M)
    assert re.search(r"^  git: index.lock exists +1 +\d+% +new", out, re.M)
    assert re.search(r"^  test_slug.py::test_unicode +2× in 2 sessions +▲ 100%", out, re.M)
    assert "Repositories" in out and "the index was built from" in out
    assert [line for line in out.splitlines() if len(line) > 80] == []


def test_json_gives_the_same_figures(corpus: Corpus, week: Insights, tmp_path: Path) -> None:
    proc = tracer_cli("insights", "--since", "7d", "--json", env=env_for(corpus, tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["current"]["sessions"] == week.current.sessions
    assert data["current"]["failure_rate"] == pytest.approx(week.current.failure_rate)
    assert data["trends"]["sessions"] == {"current": week.current.sessions, "previous": 2, "change": 2.0}
    assert data["verdicts"] == week.verdicts
    assert data["debugging"]["loops"] == 1 and data["debugging"]["abandoned"] == 1
    assert data["debugging"]["median_seconds"] == pytest.approx(week.debugging.median_seconds, abs=1e-6)
    patterns = {(p["rule"], p["detail"]): p for p in data["error_patterns"]}
    assert patterns[("git-lock", week_lock(week))]["change"] is None  # none in the period before
    assert patterns[("pytest-failures", None)]["change"] == 1.0
    assert data["failing_tests"][0]["test"] == "test_slug.py::test_unicode"
    assert data["period"]["label"] == "last 7 days" and data["period"]["since"].endswith("Z")
    assert data["activity"][-1]["sessions"] == week.current.sessions


def week_lock(week: Insights) -> str | None:
    return next(p.detail for p in week.error_patterns if p.rule == "git-lock")


def test_colours_on_a_terminal_unless_no_color(corpus: Corpus, tmp_path: Path) -> None:
    env = {**env_for(corpus, tmp_path), "TERM": "xterm-256color", "PATH": str(Path(sys.executable).parent)}
    for extra, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        child = pexpect.spawn(
            sys.executable,
            ["-m", "tracer", "insights", "--since", "7d"],
            env={**env, **extra},
            encoding="utf-8",
            dimensions=(50, 120),
            timeout=60,
        )
        out = child.read()
        child.close()
        assert child.exitstatus == 0, out
        assert "Error patterns" in out
        assert bool(ANSI.search(out)) is coloured


def test_one_repository(corpus: Corpus, tmp_path: Path) -> None:
    proc = tracer_cli("insights", "--since", "7d", "--repo", str(corpus.proj2), env=env_for(corpus, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert f"· repository {corpus.proj2}" in proc.stdout
    assert re.search(r"^  sessions +1 +=", proc.stdout, re.M)  # B, and its copy the week before
    assert "Repositories" not in proc.stdout


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--since", "fortnight"], 2, "--since 'fortnight' is neither a period (7d, 30d"),
        (["--since", "2999-01-01"], 2, "--since 2999-01-01: that is not in the past"),
        (["--repo", "/no/such/dir"], 2, "--repo /no/such/dir: no such directory"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], status: int, message: str) -> None:
    proc = tracer_cli("insights", *args, env={"TRACER_CACHE_DIR": str(tmp_path / "c")})
    assert proc.returncode == status
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_a_directory_that_is_not_a_dataset(tmp_path: Path) -> None:
    proc = tracer_cli("insights", "--dataset", str(tmp_path), env={"TRACER_CACHE_DIR": str(tmp_path / "c")})
    assert proc.returncode == 3
    assert f"tracer: {tmp_path} is not a dataset of `tracer dataset build`" in proc.stderr


def test_without_duckdb_it_says_how_to_install_it(tmp_path: Path) -> None:
    hide = "import sys; sys.modules['duckdb'] = None; sys.argv = ['tracer', 'insights']; "
    proc = tracer_cli_python(hide + "from tracer.cli import main; main()", tmp_path)
    assert proc.returncode == 3
    assert "tracer insights needs DuckDB, which is not installed: pip install 'tracer[insights]'" in proc.stderr


def tracer_cli_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(Path(sys.executable).parent), "TRACER_CACHE_DIR": str(tmp_path / "c")},
        check=False,
    )


def test_tracer_shell_never_imports_insights_or_duckdb(tmp_path: Path) -> None:
    proc = tracer_cli(
        "shell",
        "-q",
        "-o",
        str(tmp_path / "s.tracer"),
        "-c",
        "true",
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    assert "tracer.app.recording" in imported  # (the measure works)
    assert not {m for m in imported if m.startswith(("duckdb", "tracer.insights"))}


def test_what_a_session_holds_cannot_drive_the_terminal(corpus: Corpus, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    evil = "\x1b[2J\x1b[31mevil\x07"  # clear the screen, paint red, ring
    run_command(f"{evil}; {evil} --now", corpus.proj, sessions, corpus.env)
    env = {"TRACER_DIR": str(sessions), "TRACER_CACHE_DIR": str(tmp_path / "cache")}
    text = tracer_cli("insights", env=env)
    assert text.returncode == 0, text.stderr
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert "\\x1b[2J\\x1b[31mevil\\x07" in text.stdout  # escaped, as ls and git show such names
    js = tracer_cli("insights", "--json", env=env)
    assert "\x1b" not in js.stdout and json.loads(js.stdout)["top_commands"][0]["program"].endswith("evil\x07")


def test_no_sessions_yet(tmp_path: Path) -> None:
    env = {"TRACER_DIR": str(tmp_path / "none"), "TRACER_CACHE_DIR": str(tmp_path / "cache")}
    proc = tracer_cli("insights", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no sessions recorded in this period or the one before: record one with `tracer shell`" in proc.stdout
