"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pexpect
import pytest

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own sessions directory and log directory; the user's are never touched."""
    base = tmp_path_factory.mktemp("tracer-home")
    monkeypatch.setenv("TRACER_DIR", str(base / "sessions"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))  # the signing key
    monkeypatch.setenv("TRACER_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("TRACER_CONFIG", str(base / "config.toml"))  # none: the user's own is never read


_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    """Run git in ``repo`` with a fixed identity and none of the caller's ``GIT_*`` variables (a test run from a
    git hook has ``GIT_DIR`` set), ``input`` on its stdin; return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _GIT_IDENTITY
    out = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, input=input).stdout
    return out.decode()


def stored_maps(path: Path) -> list[dict[str, Any]]:
    """Every event of the session file at ``path`` as stored: the msgpack maps, for checks against the schemas."""
    import io

    import msgpack

    from tracer.store import iter_frames

    return [m for _, frame in iter_frames(path) for m in msgpack.Unpacker(io.BytesIO(frame), raw=False)]


def tree_of(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``root`` but .git: content (link target for symlinks) and its kind/exec bit."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = (os.fsencode(os.readlink(p)), 0o120000)
            else:
                out[rel] = (p.read_bytes(), os.stat(p).st_mode & 0o100)
    return out


def traced_peak(fn: Callable[[], T]) -> tuple[T, int]:
    """``fn()`` run under :mod:`tracemalloc`: its result, and the peak of Python memory it allocated (bytes)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def make_repo(path: Path, files: dict[str, str] | dict[str, str | bytes]) -> Path:
    """A git repository at ``path`` with ``files`` (text or bytes; none is fine) committed on branch main."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        f = path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content.encode() if isinstance(content, str) else content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "start", "--allow-empty")
    return path


class User:
    """A user with a private HOME (their own startup files) who runs `tracer shell` in a real terminal.

    Args:
        tmp_path: where HOME and the sessions directory go.
        files: startup files to write, relative to HOME (``{".bashrc": "PS1='$ '\\n"}``).
        shell: ``$SHELL``.
    """

    def __init__(self, tmp_path: Path, files: dict[str, str], shell: str = "/bin/bash") -> None:
        self.home = tmp_path / "home"
        self.sessions = tmp_path / "sessions"
        for name, content in files.items():
            (self.home / name).parent.mkdir(parents=True, exist_ok=True)
            (self.home / name).write_text(content)
        self.home.mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "SHELL": shell,
            "TRACER_DIR": str(self.sessions),
            "XDG_STATE_HOME": str(self.home / ".state"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def tracer_shell(self, cwd: Path, *args: str, rows: int = 24, cols: int = 80) -> pexpect.spawn:
        """`tracer shell ARGS` in a new terminal of ``cols`` × ``rows``, in ``cwd``."""
        return pexpect.spawn(
            sys.executable,
            ["-m", "tracer", "shell", *args],
            cwd=str(cwd),
            env=self.env,
            encoding="utf-8",
            codec_errors="replace",  # a title or a listing may name a file that is not UTF-8
            dimensions=(rows, cols),
            timeout=30,
        )

    def session(self) -> Path:
        """The one session file recorded so far."""
        (path,) = self.sessions.glob("*.tracer")
        return path


def shell_c(
    command: str, *, cwd: Path, out: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``tracer shell -q -o OUT -c COMMAND`` in ``cwd``, with no terminal: its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-o", str(out), "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def shell_user(tmp_path: Path, shell: str, prompt: str) -> User:
    """A :class:`User` whose ``$SHELL`` is ``shell`` (bash, zsh or fish; the test is skipped when it is not
    installed), with startup files that show ``prompt``."""
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed")
    files = {
        ".bashrc": f"PS1='{prompt}'\n",
        ".zshrc": f"PS1='{prompt}'\n",
        ".config/fish/config.fish": f"function fish_prompt; printf '{prompt}'; end\n",
        # fish scans man pages on its first start, holding the terminal open: pretend it ran before
        ".local/share/fish/generated_completions/.keep": "",
    }
    return User(tmp_path, files, shell=path)


from tests.corpus import corpus  # noqa: E402, F401  (the recorded sessions, one per test run, for every package)
