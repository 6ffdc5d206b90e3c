"""The runtime directory's fallback: the temporary directory as :func:`tempfile.gettempdir` chooses it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tracer.capture.runtime import runtime_dir, temp_dir


def gettempdir() -> str:
    """What :func:`tempfile.gettempdir` chooses now (not its cached answer)."""
    tempfile.tempdir = None
    try:
        return tempfile.gettempdir()
    finally:
        tempfile.tempdir = None


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"TMPDIR": "{tmp}/a"},
        {"TMPDIR": "{tmp}/missing", "TEMP": "{tmp}/b"},
        {"TMPDIR": "", "TEMP": "{tmp}/file", "TMP": "{tmp}/a"},
        {"TMPDIR": "relative"},
        {"TMPDIR": "{tmp}/a/../b/"},
    ],
)
def test_the_temporary_directory_is_the_one_tempfile_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "relative").mkdir()
    (tmp_path / "file").write_text("not a directory\n")
    monkeypatch.chdir(tmp_path)
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    assert temp_dir() == gettempdir()


def test_without_a_runtime_directory_the_recorders_directory_is_private_in_the_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    base = runtime_dir()
    assert Path(base).parent == tmp_path and (Path(base).stat().st_mode & 0o777) == 0o700
    (tmp_path / "x").mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "x"))
    assert runtime_dir() == str(tmp_path / "x" / "tracer")
