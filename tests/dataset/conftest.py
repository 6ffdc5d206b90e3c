"""Sessions recorded for real for the dataset tests, once per test run, and a real sftp server (Debian's sshd).

The corpus, in one sessions directory:

- ``fix``: `tracer shell -c` in a git repository: pytest fails, a note, a fix with a new test, pytest passes;
  then `tracer verify --compare-base`: resolved, FAIL_TO_PASS known.
- ``dirty``: started with an uncommitted change; a long output, a file name that is not UTF-8; exits 3.
- ``nocommit``: a repository without commits; a file created.
- ``interactive``: `tracer shell` in a real terminal: a failing command, a note, a file changed between commands
  (by the test, while the shell waits at its prompt), a command reading it.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo
from tracer.model import FileChange
from tracer.store import read_session

PYTEST = "python -m pytest -q -p no:cacheprovider tests"
PROMPT = "DATASET-TEST$ "
DEADLINE = 30.0


def tracer(
    *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real `tracer` command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Corpus:
    """The recorded sessions: their directory, each file by name, each repository by name."""

    directory: Path
    sessions: dict[str, Path]
    repos: dict[str, Path]


def _record(repo: Path, out: Path, command: str, *extra: str) -> Path:
    tracer("shell", "-q", "-o", str(out), "-c", command, *extra, cwd=repo, check=False)
    assert out.exists(), f"no session recorded for {command!r}"
    return out


def _record_interactive(tmp: Path, repo: Path, directory: Path) -> Path:
    user = User(tmp, {".bashrc": f"PS1='{PROMPT}'\n"})
    child = user.tracer_shell(repo, "--task", "why does the build read an empty notes.txt?")
    child.expect_exact("recording to")
    child.expect_exact(PROMPT)
    for line in ("false", 'tracer note --tag hypothesis "notes.txt is never written"'):
        child.sendline(line)
        child.expect_exact(PROMPT)
    # an edit seen up to 100 ms after a command ended is counted as that command's (the observer hears of writes
    # late): this one is made well after, at the prompt
    time.sleep(0.3)
    (repo / "notes.txt").write_text("written between two commands\n")
    live = user.session()
    deadline = time.monotonic() + DEADLINE
    while not any(isinstance(e, FileChange) for e in read_session(live).events):
        assert time.monotonic() < deadline, "the edit between commands was not recorded in time"
        time.sleep(0.05)
    for line in ("cat notes.txt", "exit"):
        child.sendline(line)
        if line != "exit":
            child.expect_exact(PROMPT)
    child.expect(pexpect.EOF)
    child.close()
    target = directory / live.name
    shutil.move(live, target)
    return target


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The four sessions of the module docstring, recorded once."""
    base = tmp_path_factory.mktemp("corpus")
    directory = base / "sessions"
    directory.mkdir(mode=0o700)
    repos: dict[str, Path] = {}
    sessions: dict[str, Path] = {}

    fix = repos["fix"] = make_repo(
        base / "calc",
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            "tests/conftest.py": "import sys, os\nsys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))\n",
        },
    )
    sessions["fix"] = _record(
        fix,
        directory / "fix.tracer",
        f"{PYTEST}; tracer note --tag hypothesis 'add subtracts'; sed -i 's/a - b/a + b/' calc.py; "
        "printf '\\n\\ndef test_zero():\\n    assert add(0, 0) == 0\\n' >> tests/test_calc.py; " + PYTEST,
        "--task",
        "fix: add(1, 2) is -1",
        "--test-command",
        PYTEST,
    )
    tracer("verify", str(sessions["fix"]), "--compare-base", cwd=fix)

    dirty = repos["dirty"] = make_repo(base / "dirty", {"a.txt": "one\n", "b.txt": "kept\n"})
    (dirty / "a.txt").write_text("one\nuncommitted at start\n")
    sessions["dirty"] = _record(
        dirty,
        directory / "dirty.tracer",
        "seq 1 30000; printf 'during\\n' >> a.txt; printf 'y\\n' > \"$(printf 'new\\376.txt')\"; exit 3",
        "--task",
        "a dirty start",
    )

    nocommit = repos["nocommit"] = base / "nocommit"
    nocommit.mkdir()
    git(nocommit, "init", "-q", "-b", "main")
    sessions["nocommit"] = _record(nocommit, directory / "nocommit.tracer", "printf 'hello\\n' > hello.txt")

    interactive = repos["interactive"] = make_repo(base / "interactive", {"build.sh": "cat notes.txt\n"})
    sessions["interactive"] = _record_interactive(base / "user", interactive, directory)
    return Corpus(directory, sessions, repos)


@pytest.fixture
def sessions_env(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The corpus as the sessions directory ($TRACER_DIR) of this test and its subprocesses."""
    monkeypatch.setenv("TRACER_DIR", str(corpus.directory))
    return {"TRACER_DIR": str(corpus.directory)}


@dataclass
class SftpServer:
    """A private sshd serving sftp on localhost: ``url(path)`` names a path on it; ``env`` configures fsspec's
    sftp client (key, known host) through fsspec's own FSSPEC_SFTP variable."""

    port: int
    user: str
    env: dict[str, str]
    root: Path

    def url(self, path: Path) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        assert proc.poll() is None, f"sshd exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "sshd did not answer in time"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """sshd (Debian's openssh-server) on a free localhost port, as the current user, with a generated host key and
    one authorized client key; stopped at the end of the run."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd):
        pytest.skip("sshd is not installed (apt-get install openssh-server)")
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory, as root
    d = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    authorized = d / "authorized_keys"
    authorized.write_text((d / "client_key.pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        _wait_for_banner(port, proc)
        known = d / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
        options = {"client_keys": [str(d / "client_key")], "known_hosts": str(known)}
        root = d / "remote"
        root.mkdir()
        yield SftpServer(port, getpass.getuser(), {"FSSPEC_SFTP": json.dumps(options)}, root)
    finally:
        proc.terminate()
        proc.wait(timeout=DEADLINE)
