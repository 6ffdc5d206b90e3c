"""tracer's user directories: the XDG base directories as platformdirs gives them, without its import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from tracer.config import config_path, user_dir
from tracer.store.paths import sessions_dir
from tracer.store.signing import key_path

KINDS = {"config": "XDG_CONFIG_HOME", "data": "XDG_DATA_HOME", "cache": "XDG_CACHE_HOME"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tracer's own XDG reading is Linux's")
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("value", ["absolute", "relative", "empty", "unset"])
def test_user_dir_is_platformdirs_own(kind: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An absolute ``$XDG_*_HOME`` is used; a relative or empty one is ignored (the XDG Base Directory spec), as
    platformdirs does; the home directory's default otherwise."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    var = KINDS[kind]
    if value == "unset":
        monkeypatch.delenv(var, raising=False)
    else:
        monkeypatch.setenv(var, {"absolute": str(tmp_path / "xdg"), "relative": "rel/dir", "empty": ""}[value])
    expected = getattr(platformdirs, f"user_{kind}_path")("tracer")
    assert user_dir(kind) == expected
    assert user_dir(kind).is_absolute()


def test_the_files_that_live_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACER_DIR", raising=False)
    monkeypatch.delenv("TRACER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert sessions_dir(create=False) == tmp_path / "data" / "tracer" / "sessions"
    assert key_path() == tmp_path / "data" / "tracer" / "key"
    assert config_path() == tmp_path / "config" / "tracer" / "config.toml"


def test_a_recording_starts_without_platformdirs(tmp_path: Path) -> None:
    """The sessions directory and the configuration are found without importing platformdirs (its import is
    ~3 ms of every recording's start)."""
    code = (
        "import sys; from tracer.store.paths import sessions_dir; from tracer.config import load_config; "
        "sessions_dir(create=True); load_config(); print('platformdirs' in sys.modules)"
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert (tmp_path / "data" / "tracer" / "sessions").is_dir()
