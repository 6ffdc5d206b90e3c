"""Real git repositories for the verify tests, and ways to make patches the way the recorder does."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import git
from tracer.model import CommandEnd, CommandStart, FinalPatch, Header, SessionEnd, VerifyResult
from tracer.store import SessionWriter
from tracer.store.signing import host_id, user_key
from tracer.verify import verify


@dataclass
class Repo:
    """A git repository made for one test."""

    path: Path

    def git(self, *args: str, input: bytes | None = None) -> str:
        return git(self.path, *args, input=input)

    def write(self, files: dict[str, str]) -> None:
        for name, content in files.items():
            f = self.path / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(content)

    def commit(self, files: dict[str, str], message: str = "commit") -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head

    def worktrees(self) -> list[str]:
        """The worktree paths git knows for this repository (the main one first)."""
        lines = self.git("worktree", "list", "--porcelain").splitlines()
        return [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")]

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def patch_of(self, files: dict[str, str], *, on: dict[str, str] | None = None) -> str:
        """The ``git diff --binary`` patch that turns HEAD (plus ``on``) into that plus ``files``.

        The repository is left as it was (HEAD's content, clean); ``on`` is the baseline the patch is
        computed on top of, as the recorder does for sessions started with uncommitted changes.
        """
        if on:
            self.write(on)
            self.git("add", "-A")
            tree = self.git("write-tree").strip()
        else:
            tree = "HEAD"
        self.write(files)
        self.git("add", "-A")
        patch = self.git("diff", "--binary", "--cached", tree)
        self.git("reset", "-q", "--hard", "HEAD")
        self.git("clean", "-fdq")
        return patch


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Repo]:
    """``make_repo(files, name="proj")``: a repository whose first commit holds ``files``."""

    def make(files: dict[str, str], name: str = "proj") -> Repo:
        path = tmp_path / name
        path.mkdir(parents=True)
        repo = Repo(path)
        repo.git("init", "-q", "-b", "main")
        repo.commit(files, "start")
        return repo

    return make


def verify_patch(repo: Repo, final_patch: str, /, *, test_command: str, **kwargs: object) -> VerifyResult:
    """``verify()`` of ``final_patch`` on ``repo``'s HEAD with no baseline patch; ``kwargs`` override the rest
    (``command_source="flag"``, ``timeout=60.0`` by default)."""
    args: dict[str, object] = {
        "repo": repo.path,
        "start_commit": repo.head,
        "baseline_patch": "",
        "final_patch": final_patch,
        "test_command": test_command,
        "command_source": "flag",
        "timeout": 60.0,
    }
    args.update(kwargs)
    return verify(**args)  # type: ignore[arg-type]


def craft(
    path: Path,
    repo: Path,
    patch: str,
    *,
    test_command: str | None = None,
    commands: tuple[str, ...] = (),
    mac: str | None = None,
    baseline_omitted: tuple[str, ...] = (),
) -> Path:
    """A session file as anyone could write it: this user's uid and host id in the header, but no signature,
    or the forged ``mac`` (while this user has a key, and signs their own)."""
    user_key(create=True)
    header = Header(
        t=0,
        session_id=path.stem,
        started_at="2026-01-01T00:00:00.000000Z",
        tracer_version="0.2",
        shell="/bin/bash",
        shell_kind="bash",
        mode="interactive",
        term="xterm",
        cols=80,
        rows=24,
        cwd=str(repo),
        workspace=str(repo),
        repo_root=str(repo),
        head_commit=git(repo, "rev-parse", "HEAD").strip(),
        test_command=test_command,
        uid=os.getuid(),
        host_id=host_id(),
        baseline_omitted=baseline_omitted,
    )
    writer = SessionWriter(path, header)
    for i, line in enumerate(commands, 1):
        writer.event(CommandStart(t=10 * i, id=i, command=line, cwd=str(repo)))
        writer.event(CommandEnd(t=10 * i + 5, id=i, exit_status=0))
    files = [line.split(" b/", 1)[1] for line in patch.splitlines() if line.startswith("diff --git ")]
    writer.event(FinalPatch(t=1000, patch=patch, files=tuple(files)))
    writer.close(SessionEnd(t=1001, exit_status=0, mac=mac))
    return path


def _files(patch: str) -> list[str]:
    return [line.split(" b/", 1)[1] for line in patch.splitlines() if line.startswith("diff --git ")]
