"""The content of git's binary patches as export-time redaction reads it: real patches from git, and broken ones."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import git, make_repo, shell_c
from tracer.redact._binpatch import CONTENT_BYTES, Unreadable, binary_sections, inserted
from tracer.store import read_session


def staged_patch(repo: Path) -> bytes:
    git(repo, "add", "-A")
    return git(repo, "diff", "--cached", "--binary", "--full-index", "-M", "HEAD").encode("utf-8", "surrogateescape")


def test_literals_and_deltas_show_what_the_patch_holds(tmp_path: Path) -> None:
    body = os.urandom(6000)
    repo = make_repo(tmp_path / "repo", {"readme.txt": "text\n"})
    (repo / "old.bin").write_bytes(body)
    (repo / "café x.bin").write_bytes(b"\0" * 10)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "binaries")
    (repo / "café x.bin").write_bytes(b"\0" * 10 + b"alice@example.com")  # small: literals both ways
    (repo / "old.bin").rename(repo / "new.bin")  # renamed, and changed in its middle: deltas both ways
    (repo / "new.bin").write_bytes(body[:3000] + b"token bob@example.org here" + body[3010:])
    (repo / "readme.txt").write_text("text, changed\n")
    patch = staged_patch(repo)

    sections = list(binary_sections(patch))

    assert [s.paths for s in sections] == [("café x.bin",), ("new.bin", "old.bin")]
    literal, delta = sections
    assert literal.error is None and literal.contents == (b"\0" * 10 + b"alice@example.com", b"\0" * 10)
    assert delta.error is None
    assert b"token bob@example.org here" in delta.contents[0]  # inserted by the forward delta
    assert body[3000:3010] in delta.contents[1]  # what the reverse delta puts back
    assert len(delta.contents[0]) < 100  # only what the delta inserts: copied bytes are not in the patch
    assert patch[literal.start : literal.end].startswith(b'diff --git "a/caf\\303\\251 x.bin"')
    assert patch[delta.end :].startswith(b"diff --git a/readme.txt")


def test_a_patch_without_binary_files_has_no_sections(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "a.txt").write_text("GIT binary patch\n")  # in a text file's lines: not a binary patch
    assert list(binary_sections(staged_patch(repo))) == []


def _section(block: bytes) -> bytes:
    return b"diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\n" + block + b"\n"


def _lines(data: bytes) -> bytes:
    """``data`` as git's base85 lines."""
    out = b""
    for i in range(0, len(data), 52):
        chunk = data[i : i + 52]
        letter = chr(ord("A") + len(chunk) - 1) if len(chunk) <= 26 else chr(ord("a") + len(chunk) - 27)
        out += letter.encode() + base64.b85encode(chunk.ljust((len(chunk) + 3) // 4 * 4, b"\0")) + b"\n"
    return out


@pytest.mark.parametrize(
    ("block", "error"),
    [
        (b"literal 5\nzzzzzzz\n", "lengths do not match"),
        (b"literal 5\nE" + b"\x7f" * 10 + b"\n", "not base85"),
        (b"literal 3\n" + _lines(b"not zlib"), "not a zlib stream"),
        (b"literal 99\n" + _lines(zlib.compress(b"short")), "5 bytes inflated where it says 99"),
        (b"literal 10\n" + _lines(zlib.compress(b"\0" * 1000)), "11 bytes inflated where it says 10"),
        (f"literal {CONTENT_BYTES + 1}\n".encode() + _lines(zlib.compress(b"")), "over the 64 MiB searched"),
        (b"delta 4\n" + _lines(zlib.compress(b"\x05\x05\x00x")), "reserved instruction 0"),
    ],
)
def test_a_broken_binary_patch_is_unreadable_not_an_error(block: bytes, error: str) -> None:
    (section,) = binary_sections(_section(block))
    assert section.contents == () and section.error is not None and error in section.error


def test_a_zip_bomb_is_not_inflated_past_what_the_block_says() -> None:
    bomb = zlib.compress(b"\0" * (200 << 20), 9)  # 200 MiB of zeros in ~200 KB
    (section,) = binary_sections(_section(b"literal 1000\n" + _lines(bomb)))
    assert section.error == "1001 bytes inflated where it says 1000"


def test_one_patch_inflates_a_bounded_total(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracer.redact import _binpatch

    monkeypatch.setattr(_binpatch, "PATCH_CONTENT_BYTES", 2500)
    block = b"literal 1000\n" + _lines(zlib.compress(b"\0" * 1000))
    sections = list(binary_sections(_section(block) * 3))
    assert [s.error for s in sections] == [None, None, "past the 0 MiB searched in one patch"]


def test_inserted_runs_of_a_delta() -> None:
    # sizes 10 and 9; insert "abc", copy 4 bytes from offset 0, insert "de", insert "f"
    delta = bytes([10, 9, 3]) + b"abc" + bytes([0x80 | 0x10, 4]) + bytes([2]) + b"de" + bytes([1]) + b"f"
    assert inserted(delta) == b"abc\0def"
    with pytest.raises(Unreadable, match="cut short"):
        inserted(bytes([10, 9, 5]) + b"ab")


def test_export_leaves_out_a_binary_file_holding_what_it_masks(tmp_path: Path) -> None:
    """Record time finds token shapes in binary files before their patches are made; the export rules (an e-mail
    address, the home directory…) ran only on text, so a binary patch carried them out deflated."""
    email = f"maintainer.{os.urandom(4).hex()}@fastmail.com"  # (example.org is a documentation domain: allowed)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "notes.txt": "n\n"})
    (repo / "clean.bin").write_bytes(b"\0\1\2" * 100)
    (repo / "model.bin").write_bytes(b"\0\1\2" * 100)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "binaries")
    (repo / "model.bin").write_bytes(b"\0\1\2" * 50 + f"author={email}".encode() + b"\0\1\2" * 50)  # a delta
    (repo / "notes.txt").write_text("n, changed before the recording too\n")
    out = tmp_path / "s.tracer"
    (tmp_path / "payload.bin").write_bytes(b"\0\1" + f"contact: {email}".encode())
    command = "printf '\\0new' > clean.bin && cp ../payload.bin data.bin && echo b > a.txt"
    proc = shell_c(command, cwd=repo, out=out)
    assert proc.returncode == 0, proc.stderr
    recorded = read_session(out)
    assert "model.bin" in recorded.header.baseline_patch  # changed before the recording: the start state
    assert recorded.final_patch is not None
    assert set(recorded.final_patch.files) == {"a.txt", "clean.bin", "data.bin"}  # (no record-time rule finds it)

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracer", "export", str(out), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    lines = export("--format", "jsonl")
    assert lines.returncode == 0, lines.stderr
    (header,) = [e for e in map(json.loads, lines.stdout.splitlines()) if e["type"] == "header"]
    assert "model.bin" not in header["baseline_patch"] and "GIT binary patch" not in header["baseline_patch"]
    assert header["baseline_omitted"] == [
        "model.bin: a binary file holding what export redaction masks (email), left out"
    ]
    (final,) = [e for e in map(json.loads, lines.stdout.splitlines()) if e["type"] == "final_patch"]
    assert final["files"] == ["a.txt", "clean.bin"] and "data.bin" not in final["patch"]
    assert final["omitted"] == ["data.bin: a binary file holding what export redaction masks (email), left out"]
    assert "tracer: export masked 3 values (email 2, host-name 1)" in lines.stderr
    said = "a binary file holding what export redaction masks (email), left out"
    assert f"tracer: left out of the export: model.bin: {said}" in lines.stderr
    assert f"tracer: left out of the export: data.bin: {said}" in lines.stderr
    patch = export("--format", "patch")  # what `git apply` gets: without data.bin, and the user is told
    assert "data.bin" not in patch.stdout and "clean.bin" in patch.stdout
    assert "tracer: export masked 1 value (email 1)" in patch.stderr  # (what it writes: not the start state)
    assert patch.stderr.count("left out of the export") == 1 and "data.bin" in patch.stderr
    whole = export("--format", "patch", "--from-commit")  # the start state too: both
    assert "tracer: export masked 2 values (email 2)" in whole.stderr
    assert whole.stderr.count("left out of the export") == 2 and "model.bin" not in whole.stdout
    assert email not in lines.stdout
    # the rest of the start state still applies to the start commit
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    subprocess.run(["git", "apply", "-"], cwd=clean, input=header["baseline_patch"], text=True, check=True)

    preview = export("--preview")
    assert "model.bin: in a binary file, which is left out" in preview.stdout + preview.stderr
    assert email not in preview.stdout + preview.stderr

    raw = export("--format", "jsonl", "--no-redact")
    (header,) = [e for e in map(json.loads, raw.stdout.splitlines()) if e["type"] == "header"]
    assert "GIT binary patch" in header["baseline_patch"] and header.get("baseline_omitted", []) == []


def test_a_hostile_session_of_zip_bombs_and_broken_binary_patches_exports(tmp_path: Path) -> None:
    """A session from elsewhere whose final patch holds binary patches that inflate to 64 MiB (what one block may),
    past it, and not base85 at all: export searches what it may, leaves out what it cannot search, keeps the rest,
    and says so in ``omitted``; no traceback. (The 1 GiB a patch: ``test_one_patch_inflates_a_bounded_total``.)"""
    from tests.fuzz import craft
    from tracer.model import FinalPatch

    def named(name: str, block: bytes) -> bytes:
        return _section(block).replace(b"x.bin", name.encode())

    bomb = zlib.compress(b"\0" * CONTENT_BYTES, 9)  # ~65 KB of patch for 64 MiB
    patch = b"".join(
        [
            named("ok.bin", b"literal 4\n" + _lines(zlib.compress(b"okay"))),
            named("zeros.bin", f"literal {CONTENT_BYTES}\n".encode() + _lines(bomb)),
            named("more.bin", f"literal {CONTENT_BYTES + 1}\n".encode() + _lines(bomb)),
            named("lies.bin", b"literal 100\n" + _lines(bomb)),
            named("bad.bin", b"literal 5\nE" + b"~" * 5 + b"\x7f" * 5 + b"\n"),
        ]
    ).decode()
    files = ("ok.bin", "zeros.bin", "more.bin", "lies.bin", "bad.bin")
    events = craft.maps([FinalPatch(t=300, patch=patch, files=files)])
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], events))

    done = subprocess.run(
        [sys.executable, "-m", "tracer", "export", str(path), "--format", "jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    (final,) = [e for e in map(json.loads, done.stdout.splitlines()) if e["type"] == "final_patch"]
    assert final["files"] == ["ok.bin", "zeros.bin"]
    cannot = "a binary patch that cannot be searched"
    assert final["omitted"] == [
        f"more.bin: {cannot} (a literal of 67108865 bytes, over the 64 MiB searched), left out at export",
        f"lies.bin: {cannot} (101 bytes inflated where it says 100), left out at export",
        final["omitted"][2],
    ]
    assert final["omitted"][2].startswith(f"bad.bin: {cannot} (not base85: ")  # (Python's words follow)
    assert "ok.bin" in final["patch"] and "zeros.bin" in final["patch"] and "bad.bin" not in final["patch"]
