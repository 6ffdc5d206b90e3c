"""prepare_shell(): which injection each shell gets, and what it writes."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracer.capture.integration import ShellLaunch, history_file, prepare_shell, shell_kind
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


#: What shell_kind() did with a regex, before the module stopped importing re.
OLD_KIND = re.compile(r"-?(bash|zsh|fish)(?:[-_.]?[0-9][0-9.]*)?")
#: The letters of the names, digits, the separators, and a few others: a slash, a space, a newline, non-ASCII digits
#: (``"٣"``, ``"³"``, which ``isdigit`` accepts) and letters.
NAME_CHARS = "bashzfi" + "0123456789" + "-_." + "/ \nx٣³éB"


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(NAME_CHARS, max_size=12),
        st.tuples(
            st.text(NAME_CHARS, max_size=6),
            st.sampled_from(["", "-", "--", "/", "/-"]),
            st.sampled_from(["bash", "zsh", "fish", "bas", "zs", "fis", "Bash"]),
            st.text(NAME_CHARS, max_size=6),
        ).map("".join),
    )
)
@example("/usr/local/bin/bash5")
@example("zsh-5.9")
@example("-bash")
@example("sh")
@example("bash.")
@example("bash-")
@example("bash5.")
@example("bash_.5")
@example("bash5\n")
@example("zsh٣")
def test_shell_kind_is_the_old_regex(shell: str) -> None:
    m = OLD_KIND.fullmatch(os.path.basename(shell))
    assert shell_kind(shell) == (m.group(1) if m else "other")


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


@pytest.mark.parametrize(
    "nonce",
    [
        "",
        NONCE[:-1],
        NONCE + "0",
        NONCE.upper(),
        NONCE[:-1] + "g",
        NONCE[:-1] + "٣",  # a digit to isdigit(), not to the mark parser
        NONCE[:-1] + "\n",
        NONCE + "\n",
        " " + NONCE[1:],
    ],
)
def test_a_nonce_is_exactly_32_lowercase_hex_characters(nonce: str, workdir: Path) -> None:
    with pytest.raises(ValueError, match="is not 32 lowercase hex characters"):
        prepare_shell("bash", nonce=nonce, workdir=workdir)
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_str_and_path_directories_give_the_same_launch(shell: str, tmp_path: Path) -> None:
    """The recorder passes ``str`` paths; ``pathlib.Path`` works the same (the launch holds ``str`` only)."""
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed")
    launches = []
    for kind in (str, Path):
        workdir, cache = tmp_path / f"work-{kind.__name__}", tmp_path / f"cache-{kind.__name__}"
        workdir.mkdir(mode=0o700)
        cache.mkdir(mode=0o700)
        launch = prepare_shell(found, nonce=NONCE, workdir=kind(workdir), cache_dir=kind(cache))
        assert all(type(a) is str for a in launch.argv) and all(type(v) is str for v in launch.env.values())
        files = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
        texts = [(workdir / f).read_text().replace(str(workdir), "WORK") for f in files if (workdir / f).is_file()]
        launches.append((repr(launch).replace(str(workdir), "WORK"), files, texts))
        assert (cache / "bash-versions").exists() == (shell == "bash")
    assert launches[0] == launches[1]


def test_a_zsh_dotdir_that_is_not_a_directory_is_an_error(workdir: Path) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    (workdir / "zsh").write_text("")
    with pytest.raises(RecordingError, match="cannot write the shell hooks"):
        prepare_shell(zsh, nonce=NONCE, workdir=workdir)


def test_a_launch_shows_its_fields() -> None:
    launch = ShellLaunch(["/bin/sh", "-i"], {}, "other", "tracer: sh is not supported")
    assert repr(launch) == (
        "ShellLaunch(argv=['/bin/sh', '-i'], env={}, kind='other', warning='tracer: sh is not supported')"
    )
    assert (launch.argv, launch.env, launch.kind, launch.warning) == (["/bin/sh", "-i"], {}, "other", launch.warning)


def test_the_module_imports_no_re_typing_or_pathlib() -> None:
    """It is imported on the way to the user's first prompt: only os and tracer's errors. The interpreter runs without
    ``site``, whose ``.pth`` files may import anything first."""
    import tracer

    src = str(Path(tracer.__file__).parent.parent)
    code = (
        "import os, sys; before = set(sys.modules); import tracer.capture.integration; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    path = os.pathsep.join([src, *(p for p in sys.path if p)])
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    new = set(proc.stdout.split())
    assert new <= {"__future__", "tracer", "tracer.capture", "tracer.capture.integration", "tracer.errors"}, new


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


def test_a_shell_named_without_a_slash_is_found_on_path_as_shutil_which_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--shell NAME`` looks NAME up without :mod:`shutil` (not on the way to the shell): the same file as
    :func:`shutil.which`, skipping a directory and a file that is not executable of that name."""
    from tracer.capture.integration import which

    (tmp_path / "a" / "myshell").mkdir(parents=True)  # a directory: skipped
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "myshell").write_text("#!/bin/sh\n")  # not executable: skipped
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "myshell").write_text("#!/bin/sh\n")
    (tmp_path / "c" / "myshell").chmod(0o755)
    path = os.pathsep.join([str(tmp_path / d) for d in ("a", "b", "c")] + [os.environ.get("PATH", "")])
    monkeypatch.setenv("PATH", path)
    for name in ("myshell", "bash", "sh", "no-such-shell-here"):
        assert which(name) == shutil.which(name)
    monkeypatch.delenv("PATH")
    assert which("sh") == shutil.which("sh")


def test_the_history_file_is_found_where_each_shell_keeps_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    for kind in ("bash", "zsh", "fish", "other"):
        assert history_file(kind, env) is None  # no such file yet
    (home / ".bash_history").write_text("ls\n")
    (home / ".histfile").write_text(": 1764900000:0;ls\n")
    fish = home / ".local" / "share" / "fish" / "fish_history"
    fish.parent.mkdir(parents=True)
    fish.write_text("- cmd: ls\n")
    assert history_file("bash", env) == str(home / ".bash_history")
    assert history_file("zsh", env) == str(home / ".histfile")
    assert history_file("fish", env) == str(fish)
    assert history_file("other", env) is None
    # the environment's own places come first: HISTFILE, ZDOTDIR, XDG_DATA_HOME
    own = tmp_path / "own_history"
    own.write_text("ls\n")
    zdot = tmp_path / "zdot"
    zdot.mkdir()
    (zdot / ".zsh_history").write_text("ls\n")
    assert history_file("bash", {**env, "HISTFILE": str(own)}) == str(own)
    assert history_file("zsh", {**env, "ZDOTDIR": str(zdot)}) == str(zdot / ".zsh_history")
    assert history_file("zsh", {**env, "ZDOTDIR": str(zdot), "HISTFILE": str(own)}) == str(own)
    assert history_file("fish", {**env, "XDG_DATA_HOME": str(tmp_path)}) is None  # (its fish/ holds none)
    assert history_file("bash", {**env, "HISTFILE": str(tmp_path)}) == str(home / ".bash_history")  # a directory
