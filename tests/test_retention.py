"""Removing sessions: `tracer rm`, `tracer purge`, `retention_days`; and every file tracer writes is private."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer.model import Header, SessionEnd, rfc3339
from tracer.store import SessionWriter, session_summary
from tracer.store.cache import cache_path, load_cache, save_cache
from tracer.store.catalog import summary_cache_path


def tracer(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def session(days_ago: float, name: str) -> Path:
    """A finished session in the sessions directory that started ``days_ago`` days ago, with its caches (summary,
    and the replay's index and keyframes)."""
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    folder = Path(os.environ["TRACER_DIR"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}.tracer"
    header = Header(
        t=0, session_id=name, started_at=rfc3339(started), tracer_version="0", shell="bash", shell_kind="bash",
        mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
    )  # fmt: skip
    writer = SessionWriter(path, header)
    writer.close(SessionEnd(t=1, exit_status=0))
    session_summary(path)  # caches the summary
    assert save_cache(cache_path("keyframes", name), {"k": 1})
    assert save_cache(cache_path("index", name), {"i": 1})
    return path


def derived(path: Path) -> list[Path]:
    """The caches of the session at ``path`` that exist: the replay's keyframes and index, and its summary (an entry
    of the directory's summary cache, given as the path of that cache file while it holds the entry)."""
    name = path.name.removesuffix(".tracer")
    found = [p for p in [cache_path("keyframes", name), cache_path("index", name)] if p.exists()]
    summaries = summary_cache_path(path.parent)
    entries = load_cache(summaries)
    if isinstance(entries, dict) and path.name in entries:
        found.append(summaries)
    return found


def test_rm_deletes_sessions_and_what_was_derived_from_them() -> None:
    a, b, c = (
        session(1, "2026-01-01T00-00-00-aaaa"),
        session(1, "2026-01-02T00-00-00-bbbb"),
        session(1, "2026-01-03T00-00-00-cccc"),
    )
    assert all(len(derived(p)) == 3 for p in (a, b, c))
    proc = tracer("rm", "2026-01-01", str(b), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "deleted 2 sessions" in proc.stderr
    assert not a.exists() and not b.exists() and c.exists()
    assert derived(a) == derived(b) == [] and len(derived(c)) == 3


def test_rm_asks_and_needs_yes_without_a_terminal() -> None:
    a = session(1, "2026-01-01T00-00-00-aaaa")
    proc = tracer("rm", str(a))
    assert proc.returncode == 2 and "pass --yes" in proc.stderr and "Traceback" not in proc.stderr
    assert a.exists()


def test_purge_dry_run_then_purge() -> None:
    old, older, new = (
        session(40, "2026-01-01T00-00-00-aaaa"),
        session(90, "2025-11-01T00-00-00-bbbb"),
        session(2, "x-new"),
    )
    proc = tracer("purge", "--older-than", "30d", "--dry-run")
    assert proc.returncode == 0 and "would delete 2 sessions" in proc.stderr
    assert proc.stdout.splitlines()[0].startswith("2025-11-01T00-00-00-bbbb")  # oldest first
    assert old.exists() and older.exists()
    proc = tracer("purge", "--older-than", "30d", "--yes")
    assert proc.returncode == 0 and "deleted 2 sessions older than 30d" in proc.stderr
    assert not old.exists() and not older.exists() and new.exists()
    assert tracer("purge", "--older-than", "0d", "--yes").returncode == 0
    assert not new.exists()


@pytest.mark.parametrize("age", ["soon", "-3d", "3x"])
def test_purge_with_a_bad_age_is_a_usage_error(age: str) -> None:
    proc = tracer("purge", "--older-than", age, "--yes")
    assert proc.returncode == 2 and "is not an age" in proc.stderr


def test_retention_days_purges_at_the_start_of_tracer_shell(tmp_path: Path) -> None:
    old, new = session(10, "2026-01-01T00-00-00-aaaa"), session(1, "2026-01-09T00-00-00-bbbb")
    config = tmp_path / "config.toml"
    config.write_text("retention_days = 7\n")
    proc = tracer("shell", "-c", "true", env={"TRACER_CONFIG": str(config)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"deleted 1 session older than 7 days (retention_days in {config})" in proc.stderr
    assert not old.exists() and new.exists()


def test_exports_and_the_log_are_private(tmp_path: Path) -> None:
    path = session(1, "2026-01-01T00-00-00-aaaa")
    out = tmp_path / "export.json"
    out.write_text("")
    out.chmod(0o644)
    proc = tracer("export", str(path), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    state = tmp_path / "state"
    code = "from tracer.app.crashlog import log_exception; print(log_exception('test', ValueError('x')))"
    log = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "XDG_STATE_HOME": str(state)}, capture_output=True, text=True
    ).stdout.strip()
    assert Path(log).stat().st_mode & 0o777 == 0o600
    assert Path(log).parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("how", ["rm", "purge"])
def test_rm_and_purge_take_the_sessions_out_of_the_insights_index(how: str) -> None:
    pytest.importorskip("duckdb")
    from tracer.insights import index_path

    old = session(40, "2026-01-01T00-00-00-0ld0")
    kept = session(1, "2026-01-02T00-00-00-ke9t")
    assert tracer("insights", "--since", "90d").returncode == 0  # indexes both
    index = index_path()
    assert b"0ld0" in index.read_bytes() and b"ke9t" in index.read_bytes()
    proc = tracer("rm", str(old), "--yes") if how == "rm" else tracer("purge", "--older-than", "30d", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert not old.exists() and kept.exists()
    assert b"0ld0" not in index.read_bytes() and b"ke9t" in index.read_bytes()
