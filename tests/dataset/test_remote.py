"""`tracer push`, `tracer dataset build --from URL` and a dataset written to a URL, against a local directory and a
real sftp server (Debian's sshd, started by the fixture) through fsspec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from tests.dataset.conftest import Corpus, SftpServer, tracer
from tracer.store import read_session
from tracer.store.facts import session_uuid
from tracer.store.writer import write_session


def uuids(corpus: Corpus) -> set[str]:
    return {session_uuid(read_session(p).header) for p in corpus.sessions.values()}


def test_push_then_build_from_sftp(corpus: Corpus, sftp_server: SftpServer, tmp_path: Path) -> None:
    remote = sftp_server.root / "team" / "sessions"
    url = sftp_server.url(remote)
    names = [str(p) for p in corpus.sessions.values()]
    pushed = tracer("push", *names, url, cwd=tmp_path, env=sftp_server.env)
    assert pushed.stderr.count("pushed ") == 4
    assert {p.name for p in remote.iterdir()} == {f"{u}.tracer" for u in uuids(corpus)}
    assert all((p.stat().st_size > 0) for p in remote.iterdir())
    # pushing again replaces the copies: still one file per session
    tracer("push", names[0], url, cwd=tmp_path, env=sftp_server.env)
    assert len(list(remote.iterdir())) == 4
    # what arrived is a session tracer reads, the same session
    copy = read_session(remote / f"{session_uuid(read_session(names[0]).header)}.tracer")
    original = read_session(names[0])
    assert copy.events == original.events
    # (export masks the host name, and leaves out the machine's id)
    assert copy.header == dataclasses.replace(original.header, hostname="[REDACTED:host-name:1]", host_id=None)

    out = tmp_path / "dataset"
    built = tracer("dataset", "build", str(out), "--all", "--from", url, cwd=tmp_path, env=sftp_server.env)
    assert "4 sessions" in built.stderr
    ids = {r["session_id"] for r in pq.read_table(out / "data" / "sessions").to_pylist()}
    assert ids == uuids(corpus)


def test_build_to_sftp(corpus: Corpus, sftp_server: SftpServer, tmp_path: Path) -> None:
    target = sftp_server.root / "datasets" / "v1"
    url = sftp_server.url(target)
    env = {**sftp_server.env, "TRACER_DIR": str(corpus.directory)}
    tracer("dataset", "build", url, "--all", cwd=tmp_path, env=env)
    assert (target / "README.md").read_text().startswith("---\nconfigs:")
    # read back through the server, as a teammate would
    fs, path = fsspec.core.url_to_fs(url, **_options(sftp_server))
    with fs.open(f"{path}/data/commands/train-00000.parquet", "rb") as f:
        commands = pq.read_table(f)
    assert commands.num_rows == 7 and str(commands.schema.field("exit_status").type) == "int32"
    instances = fs.cat_file(f"{path}/swe-bench/instances.jsonl").decode().splitlines()
    assert len(instances) == 3
    again = tracer("dataset", "build", url, "--all", cwd=tmp_path, env=env, check=False)
    assert again.returncode == 2 and "--overwrite" in again.stderr


def _options(server: SftpServer) -> dict[str, object]:
    import json

    options: dict[str, object] = json.loads(server.env["FSSPEC_SFTP"])
    return options


def test_a_hostile_remote_file_is_left_out(corpus: Corpus, sftp_server: SftpServer, tmp_path: Path) -> None:
    remote = sftp_server.root / "hostile"
    remote.mkdir()
    url = sftp_server.url(remote)
    tracer("push", str(corpus.sessions["fix"]), url, cwd=tmp_path, env=sftp_server.env)
    (remote / "evil.tracer").write_bytes(b"\x89TRACER\n\x00\x01" + b"\x28\xb5\x2f\xfd" + b"\xff" * 64)
    (remote / "notes.txt").write_text("not a session: not even listed")
    out = tmp_path / "dataset"
    built = tracer("dataset", "build", str(out), "--all", "--from", url, cwd=tmp_path, env=sftp_server.env)
    assert "1 session" in built.stderr
    (left_out,) = [line for line in built.stderr.splitlines() if "left out" in line]
    assert f"{url}/evil.tracer" in left_out and "Traceback" not in built.stderr
    assert "tracer-fetch-" not in built.stderr  # named by its URL, not by the private copy


def test_push_and_build_with_a_local_directory(corpus: Corpus, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    tracer("push", str(corpus.sessions["dirty"]), str(corpus.sessions["fix"]), str(shared), cwd=tmp_path)
    out = tmp_path / "dataset"
    tracer("dataset", "build", str(out), "--all", "--from", str(shared), cwd=tmp_path)
    assert len(pq.read_table(out / "data" / "sessions")) == 2
    # one session by its file name prefix
    fix = f"{session_uuid(read_session(corpus.sessions['fix']).header)}"
    one = tmp_path / "one"
    tracer("dataset", "build", str(one), fix[:8], "--from", str(shared), cwd=tmp_path)
    assert pq.read_table(one / "data" / "sessions").column("session_id").to_pylist() == [fix]


def test_a_session_without_uuid_keeps_its_derived_id_through_push(corpus: Corpus, tmp_path: Path) -> None:
    session = read_session(corpus.sessions["nocommit"])
    old = tmp_path / "old.tracer"  # as tracer 0.1 wrote it: no uuid in the header
    write_session(old, dataclasses.replace(session.header, uuid=None), session.events)
    derived = session_uuid(read_session(old).header)
    assert derived == session_uuid(read_session(old).header) != session.header.uuid
    shared = tmp_path / "shared"
    tracer("push", str(old), str(shared), cwd=tmp_path)
    copy = read_session(shared / f"{derived}.tracer")
    assert copy.header.uuid == derived


def test_push_errors(corpus: Corpus, sftp_server: SftpServer, tmp_path: Path) -> None:
    missing = tracer("push", "no-such-session", str(tmp_path / "x"), cwd=tmp_path, check=False)
    assert missing.returncode == 3 and "no-such-session" in missing.stderr
    refused = tracer(
        "push",
        str(corpus.sessions["fix"]),
        f"sftp://nobody@127.0.0.1:{sftp_server.port}/tmp/x",
        cwd=tmp_path,
        env=sftp_server.env,
        check=False,
    )
    assert refused.returncode == 3 and "sftp://nobody@127.0.0.1" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_build_from_sftp_in_both_formats(corpus: Corpus, sftp_server: SftpServer, tmp_path: Path, fmt: str) -> None:
    remote = sftp_server.root / f"both-{fmt}"
    url = sftp_server.url(remote)
    tracer("push", str(corpus.sessions["interactive"]), url, cwd=tmp_path, env=sftp_server.env)
    out = tmp_path / "dataset"
    tracer("dataset", "build", str(out), "--all", "--from", url, "--format", fmt, cwd=tmp_path, env=sftp_server.env)
    assert sorted(p.name for p in (out / "data" / "messages").iterdir()) == [f"train-00000.{fmt}"]
