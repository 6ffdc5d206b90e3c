"""Fixtures of the dataset tests: the corpus of recorded sessions (tests/corpus.py, shared with the exports' tests),
the sessions directory set to it, and a real sftp server (Debian's sshd)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus import DEADLINE, Corpus, tracer

__all__ = ["Corpus", "tracer"]


@pytest.fixture(autouse=True)
def _own_datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`datasets` caches what it loads in ~/.cache/huggingface, keyed by the directory's name and the options, not
    by the files' content, and every run on the machine shares it: a dataset built at another path with the same
    name would be read from an earlier run's cache. Each test loads into a cache of its own."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


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
