"""Whose session is it? Real recordings are signed and trusted here; copies, edits and forgeries are not."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest
import zstandard

from tests.conftest import make_repo
from tracer.app.verifying import verify_session
from tracer.model import CommandEnd, CommandStart, FinalPatch
from tracer.store import _msgpack, append_events, iter_frames, read_session, signing
from tracer.store.format import PREAMBLE, compressor
from tracer.store.signing import BLAKE2B_MAC, Signer, host_id, key_path, user_key
from tracer.verify import NeedsConsent, assess

from .conftest import craft

BUG = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def record(repo: Path, out: Path, command: str) -> Path:
    """A real recording of ``command`` in ``repo`` (``tracer shell -c``), signed with this test's user key."""
    done = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-o", str(out), "-c", command],
        cwd=repo,
        capture_output=True,
        timeout=120,
    )
    assert out.exists(), done.stderr
    return out


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A session that fixed calc.py and ran the tests; the repository is back at its start."""
    repo = make_repo(tmp_path / "proj", {"calc.py": BUG, "test_calc.py": TEST})
    path = record(repo, tmp_path / "s.tracer", "sed -i 's/a - b/a + b/' calc.py && python -m pytest -q")
    subprocess.run(["git", "checkout", "-q", "calc.py"], cwd=repo, check=True)
    return path


def test_a_session_recorded_here_by_this_user_is_trusted_and_signed(recorded: Path) -> None:
    session = read_session(recorded)
    assert session.header.uid == os.getuid()
    assert session.header.host_id == host_id() and len(session.header.host_id or "") == 32
    assert session.end is not None and (session.end.mac or "").startswith("blake3-256:")
    assert oct(key_path().stat().st_mode & 0o777) == "0o600"
    trust = assess(recorded)
    assert trust.trusted, trust.reason
    assert trust.session.final_patch == session.final_patch
    # the trusted session runs without a question (confirm=None: no terminal)
    result = verify_session(recorded, timeout=60)
    assert (result.verdict, result.trusted, result.isolation) == ("passed", True, None)


def test_frames_appended_later_never_change_what_runs(recorded: Path, tmp_path: Path) -> None:
    """The attack: take one of the victim's own trusted sessions, append a new final patch and a new test
    command. The session stays trusted (its signed part is intact), and only the signed part is used."""
    marker = tmp_path / "pwned"
    evil = (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,3 @@\n"
        f"+open({str(marker)!r}, 'w').write('x')\n def add(a, b):\n     return a - b\n"
    )
    t = read_session(recorded).end.t  # type: ignore[union-attr]
    append_events(
        recorded,
        [
            FinalPatch(t=t + 1, patch=evil, files=("calc.py",)),
            CommandStart(t=t + 2, id=99, command=f"touch {marker} && python -m pytest -q", cwd="/"),
            CommandEnd(t=t + 3, id=99, exit_status=0),
        ],
    )
    assert read_session(recorded).final_patch.patch == evil  # type: ignore[union-attr]  # what a plain read sees
    trust = assess(recorded)
    assert trust.trusted, trust.reason
    assert trust.session.final_patch is not None and "pwned" not in trust.session.final_patch.patch
    result = verify_session(recorded, timeout=60)
    assert result.verdict == "passed"
    assert result.command == "python -m pytest -q"
    assert not marker.exists()


def rewrite_header(path: Path, **changes: object) -> None:
    """Re-encode the header frame with ``changes``, keeping every other byte (and the old signature)."""
    frames = list(iter_frames(path))
    data = path.read_bytes()
    header_end = frames[1][0]
    session = read_session(path)
    header = dataclasses.replace(session.header, **changes)  # type: ignore[arg-type]

    frame = zstandard.ZstdCompressor().compress(msgpack.packb(header.to_dict(), use_bin_type=True))
    path.write_bytes(PREAMBLE + frame + data[header_end:])


def test_an_edited_byte_breaks_the_signature(recorded: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    rewrite_header(recorded, test_command=f"touch {marker} && python -m pytest -q")
    trust = assess(recorded)
    assert not trust.trusted
    assert "signature does not match" in trust.reason
    with pytest.raises(NeedsConsent, match=r"touch .*pwned && python -m pytest -q.*header's test_command"):
        verify_session(recorded, timeout=60)
    assert not marker.exists()


def test_a_copy_owned_by_someone_else_is_untrusted(recorded: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("changing a file's owner needs root")
    os.chown(recorded, 4242, -1)
    assert "owned by uid 4242, not by you" in assess(recorded).reason


def test_a_file_others_can_write_is_untrusted(recorded: Path) -> None:
    recorded.chmod(0o620)
    assert "writable by others (mode 620)" in assess(recorded).reason


def test_another_users_key_or_no_key(recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "other-user"))
    assert "you have no signing key yet" in assess(recorded).reason
    key = tmp_path / "other-user" / "tracer" / "key"
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    assert "signature does not match" in assess(recorded).reason
    key.chmod(0o644)
    assert "only you can read" in assess(recorded).reason


def test_an_interrupted_recording_is_untrusted(recorded: Path) -> None:
    """No session_end, no signature: the recorder was killed before it could vouch for the file."""
    last = list(iter_frames(recorded))[-1][0]
    with open(recorded, "r+b") as f:
        f.truncate(last)
    assert read_session(recorded).interrupted
    assert "interrupted (no session_end)" in assess(recorded).reason


def test_a_forged_header_and_signature_are_untrusted(tmp_path: Path) -> None:
    """Anyone can write this user's uid and host id into a header, and any text into the mac field."""
    repo = make_repo(tmp_path / "proj", {"calc.py": BUG, "test_calc.py": TEST})
    for mac in ("blake3-256:" + "0" * 64, "blake2b-256:" + "0" * 64, "blake3-256:" + "é" * 64, ""):
        forged = craft(tmp_path / "forged.tracer", repo, "", mac=mac)
        assert "signature does not match" in assess(forged).reason, mac
        forged.unlink()
    forged = craft(tmp_path / "forged.tracer", repo, "", mac="sha1:" + "0" * 40)
    assert "of a kind this tracer does not know" in assess(forged).reason
    unsigned = craft(tmp_path / "unsigned.tracer", repo, "")
    assert "carries no signature" in assess(unsigned).reason


def resign(path: Path, algorithm: str) -> str:
    """Sign ``path`` again with this user's key and ``algorithm``, as a tracer that signed that way did: its last
    frame (``session_end`` alone) rewritten with the MAC of every byte before it. Returns the MAC."""
    data = path.read_bytes()
    offset, content = list(iter_frames(path))[-1]
    (end,) = _msgpack.unpack_all(content)
    key = user_key(create=False)
    assert key is not None
    signer = Signer(key, algorithm)
    signer.update(data[:offset])
    end["mac"] = signer.mac()
    path.write_bytes(data[:offset] + compressor().compress(_msgpack.packer().pack(end)))
    return str(end["mac"])


def test_a_session_signed_with_blake2b_by_an_earlier_tracer_is_trusted(recorded: Path) -> None:
    """Sessions recorded before the MAC became BLAKE3 are checked as they were signed (``blake2b-256``)."""
    assert resign(recorded, BLAKE2B_MAC).startswith("blake2b-256:")
    trust = assess(recorded)
    assert trust.trusted, trust.reason
    rewrite_header(recorded, test_command="true")
    assert "signature does not match" in assess(recorded).reason


def test_without_the_blake3_package(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``blake3`` cannot be installed, the recorder signs with BLAKE2b, and a BLAKE3 signature is reported as
    one this machine cannot check (never as a forgery)."""
    monkeypatch.setattr(signing, "_blake3", lambda: None)
    key = user_key(create=False)
    assert key is not None
    assert Signer(key).algorithm == BLAKE2B_MAC
    reason = assess(recorded).reason
    assert "cannot be checked here" in reason and "pip install blake3" in reason
