"""prepare_shell(): which injection each shell gets, and what it writes."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tracer.capture.integration import prepare_shell, shell_kind
from tracer.errors import RecordingError

NONCE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir(mode=0o700)
    return d


@pytest.mark.parametrize(
    ("shell", "kind"),
    [
        ("/bin/bash", "bash"),
        ("bash", "bash"),
        ("/usr/local/bin/bash5", "bash"),
        ("-zsh", "zsh"),
        ("/opt/homebrew/bin/zsh-5.9", "zsh"),
        ("/usr/bin/fish", "fish"),
        ("/bin/sh", "other"),
        ("/bin/dash", "other"),
        ("/bin/tcsh", "other"),
        ("/usr/bin/bashful", "other"),
    ],
)
def test_shell_kind(shell: str, kind: str) -> None:
    assert shell_kind(shell) == kind


def test_bash_gets_an_init_file_that_runs_the_users_files(workdir: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    launch = prepare_shell("bash", nonce=NONCE, workdir=workdir)
    script = workdir / "tracer.bash"
    assert launch.argv == [bash, "--init-file", str(script), "-i"]
    assert launch.env == {}  # the nonce is never in the environment: in a file of the private workdir
    assert (launch.kind, launch.warning) == ("bash", None)
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    assert (workdir / "nonce").read_text() == NONCE + "\n" and stat.S_IMODE((workdir / "nonce").stat().st_mode) == 0o600
    assert script.read_text().startswith(f"__tracer_login=0\n__tracer_nonce_file='{workdir}/nonce'\n")
    assert NONCE not in script.read_text() and NONCE not in " ".join(launch.argv)
    prepare_shell(bash, nonce=NONCE, workdir=workdir, login=True)
    assert script.read_text().startswith("__tracer_login=1\n")


def test_zsh_gets_a_zdotdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    monkeypatch.delenv("ZDOTDIR", raising=False)
    launch = prepare_shell(zsh, nonce=NONCE, workdir=workdir, login=True)
    zdotdir = workdir / "zsh"
    assert launch.argv == [zsh, "-l", "-i"]
    assert launch.env == {"ZDOTDIR": str(zdotdir)}
    assert sorted(p.name for p in zdotdir.iterdir()) == [".zlogin", ".zprofile", ".zshenv", ".zshrc", "tracer.zsh"]
    monkeypatch.setenv("ZDOTDIR", "/home/ann/.config/zsh")
    launch = prepare_shell(zsh, nonce=NONCE, workdir=workdir)
    assert launch.argv == [zsh, "-i"]
    assert launch.env["TRACER_ZDOTDIR"] == "/home/ann/.config/zsh"


def test_fish_gets_an_init_command(tmp_path: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    workdir = tmp_path / "it's a \\ dir"
    workdir.mkdir()
    launch = prepare_shell(fish, nonce=NONCE, workdir=workdir, login=True)
    assert launch.argv == [
        fish,
        "-l",
        "-i",
        "-C",
        "source 'TMP/it\\'s a \\\\ dir/tracer.fish'".replace("TMP", str(tmp_path)),
    ]
    assert launch.env == {}
    assert (workdir / "nonce").read_text() == NONCE + "\n"


def test_other_shells_record_output_only(workdir: Path) -> None:
    sh = shutil.which("sh")
    assert sh is not None
    launch = prepare_shell(sh, nonce=NONCE, workdir=workdir)
    assert (launch.argv, launch.env, launch.kind) == ([sh, "-i"], {}, "other")
    assert launch.warning == "tracer: sh is not supported: recording output only, no commands"
    assert list(workdir.iterdir()) == []


def test_an_old_bash_is_treated_as_another_shell(workdir: Path) -> None:
    fake = workdir / "bash"
    fake.write_text("#!/bin/sh\necho 'GNU bash, version 3.2.57(1)-release (arm64-apple-darwin23)'\n")
    fake.chmod(0o755)
    launch = prepare_shell(str(fake), nonce=NONCE, workdir=workdir)
    assert launch.kind == "other"
    assert launch.warning == f"tracer: {fake} is bash 3.2, older than 4.4: recording output only, no commands"


@pytest.mark.parametrize("shell", ["no-such-shell-here", "/no/such/bash", os.devnull])
def test_a_missing_shell_is_an_error(shell: str, workdir: Path) -> None:
    with pytest.raises(RecordingError, match="does not exist or is not executable"):
        prepare_shell(shell, nonce=NONCE, workdir=workdir)


def test_an_unwritable_workdir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot write the shell hooks"):
        prepare_shell("bash", nonce=NONCE, workdir=tmp_path / "missing")


def test_a_bad_nonce_is_refused(workdir: Path) -> None:
    with pytest.raises(ValueError, match="nonce"):
        prepare_shell("bash", nonce="1234", workdir=workdir)


def test_the_version_of_each_bash_binary_is_asked_once(tmp_path: Path, workdir: Path) -> None:
    """``bash --version`` runs once per binary: its answer is kept in the cache directory, keyed by the binary's
    inode, size and times, so a changed binary (an upgrade) is asked again."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "bash"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho run >> {calls}\necho 'GNU bash, version 5.2.15(1)-release'\n")
    fake.chmod(0o755)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    for _ in range(3):
        assert prepare_shell(str(fake), nonce=NONCE, workdir=workdir, cache_dir=cache).kind == "bash"
    assert calls.read_text() == "run\n"
    fake.write_text(f"#!/bin/sh\necho run >> {calls}\necho 'GNU bash, version 4.3.48(1)-release'\n")
    old = prepare_shell(str(fake), nonce=NONCE, workdir=workdir, cache_dir=cache)
    assert (old.kind, calls.read_text()) == ("other", "run\nrun\n")
    assert old.warning is not None and "bash 4.3, older than 4.4" in old.warning
    (cache / "bash-versions").write_text("garbage\n\x00\n")  # a damaged cache is asked past, not believed
    assert prepare_shell(str(fake), nonce=NONCE, workdir=workdir, cache_dir=cache).kind == "other"
    assert calls.read_text() == "run\nrun\nrun\n"
