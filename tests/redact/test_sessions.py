"""Secrets never reach the disk, nor an export: a real session in bash, zsh and fish with random, realistic
secrets planted in every channel tracer records.

Channels: a typed command line (and its echo), ``cat .env`` output (then its values alone), a PEM private key, a
JWT in a log line, credentials in a URL (command line and ``git remote -v`` output), an API key written into a
file of the repository (its file_change diff and the final patch), a token in a note, the task and the test
command. Then
what only export-time rules mask: an e-mail address, an IP address, the home directory and the user name.
The session file is decompressed frame by frame and searched as bytes; every export format is searched as text.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import unidiff

from tests.conftest import git, make_repo
from tests.redact.conftest import Planted, plant
from tracer.model import FileChange, Output
from tracer.store import iter_frames, read_session

PROMPT = "RDX$ "
RC = {
    "bash": (".bashrc", f"PS1='{PROMPT}'\n"),
    "zsh": (".zshrc", f"PROMPT='{PROMPT}'\nRPROMPT=\nunsetopt PROMPT_SP\n"),
    "fish": (".config/fish/config.fish", f"function fish_prompt; printf '{PROMPT}'; end\nset -g fish_greeting ''\n"),
}
#: How each shell exports a variable.
EXPORT = {"bash": "export {}={}", "zsh": "export {}={}", "fish": "set -gx {} {}"}


def _user_name() -> str:
    return "u" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(9))


class Terminal:
    """`tracer shell` in a real terminal, driven line by line; each line waits for its own DONE-n."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.n = 0

    def run(self, line: str) -> None:
        self.n += 1
        # the typed line shows "DONE-%s"; only the output shows DONE-<n>
        self.child.sendline(f"{line}; printf 'DONE-%s\\n' {self.n}")
        self.child.expect_exact(f"DONE-{self.n}")
        self.child.expect_exact(PROMPT)


def start_shell(
    kind: str, home: Path, repo: Path, sessions: Path, *args: str, user: str | None = None
) -> tuple[Terminal, dict[str, str]]:
    """`tracer shell` of ``kind`` in ``repo``, in a real terminal, at its first prompt; and its environment. The
    shell's rc file (in ``home``) sets the prompt the terminal waits for."""
    if shutil.which(kind) is None:
        pytest.skip(f"{kind} is not installed")
    rc_name, rc = RC[kind]
    (home / rc_name).parent.mkdir(parents=True, exist_ok=True)
    (home / rc_name).write_text(rc)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        **({"USER": user, "LOGNAME": user} if user is not None else {}),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "SHELL": shutil.which(kind) or kind,
        "TRACER_DIR": str(sessions),
        "XDG_STATE_HOME": str(home / ".state"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "tracer", "shell", *args],
        cwd=str(repo),
        env=env,
        encoding="utf-8",
        dimensions=(40, 200),
        timeout=40,
    )
    child.expect_exact(PROMPT)
    return Terminal(child), env


def record(tmp_path: Path, kind: str, planted: Planted, *extra: str) -> tuple[Path, Path, dict[str, str]]:
    """Record a session of ``kind`` with every secret of ``planted``; return (session file, repo, env)."""
    user = planted.user
    home = tmp_path / "home" / user
    planted.home = str(home)
    outside = tmp_path / "outside"  # files the session looks at, outside the recorded repository
    outside.mkdir()
    planted.write_files(outside)
    repo = make_repo(home / "src" / "app", {"app.py": "print('hi')\n"})
    sessions = tmp_path / "sessions"
    term, env = start_shell(
        kind, home, repo, sessions, "--task", planted.task, "--test-command", planted.test_command, *extra, user=user
    )
    child = term.child
    term.run(EXPORT[kind].format("GITHUB_TOKEN", planted.github))
    term.run(f"cat {outside}/.env")
    term.run(f"cut -d= -f2 {outside}/.env")  # the same values bare: masked as the values found before
    term.run(f"cat {outside}/id_rsa")
    term.run(f"cat {outside}/app.log")
    term.run(f"git remote add origin {planted.url}")
    term.run("git remote -v")
    term.run(f"cp {outside}/settings.py settings.py")
    term.run(f"tracer note 'rotated the token {planted.hf} at last'")
    term.run(f"cat {outside}/contacts.txt")
    term.run("pwd; echo $USER")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    (path,) = sessions.glob("*.tracer")
    return path, repo, env


def tracer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args], env=env, capture_output=True, timeout=120, check=False
    )


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_no_secret_reaches_the_session_file_nor_any_export(tmp_path: Path, kind: str) -> None:
    planted = plant(_user_name())
    path, repo, env = record(tmp_path, kind, planted)

    # the file: every frame decompressed, searched as bytes
    raw = b"".join(content for _, content in iter_frames(path))
    planted.assert_absent(raw, planted.secrets, where=f"the decompressed {kind} session")

    # the recording itself is whole: every channel was recorded, masked
    session = read_session(path)
    commands = [c.command for c in session.commands()]
    assert any(c.startswith(EXPORT[kind].split()[0]) and "[REDACTED:github-pat:" in c for c in commands), commands
    assert b"-----BEGIN RSA PRIVATE KEY-----" in raw and b"-----END RSA PRIVATE KEY-----" in raw
    notes = session.notes()
    assert len(notes) == 1 and notes[0].text.startswith("rotated the token [REDACTED:")
    assert "[REDACTED:" in (session.header.task or "") and "[REDACTED:" in (session.header.test_command or "")
    change = next(fc for fc in session.of_type(FileChange) if "OPENAI_API_KEY" in fc.diff)
    assert "[REDACTED:" in change.diff
    patch = unidiff.PatchSet(change.diff)  # still a valid unified diff, hunk counts right
    assert patch[0].added == change.added
    final = session.final_patch
    assert final is not None and "[REDACTED:" in final.patch
    assert session.header.redaction == "rules v1"
    assert session.end is not None and session.end.redactions and sum(session.end.redactions.values()) >= 10

    # the masked final patch applies to the start commit (verify then runs with the masked value)
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(repo), str(check))
    git(check, "checkout", "-q", session.header.head_commit or "HEAD")
    git(check, "apply", "--check", input=final.patch.encode())

    shown = tracer(env, "show", str(path)).stdout.decode()
    assert "redaction on (rules v1):" in shown and "masked" in shown

    # every export format: none of the secrets, nor the e-mail, IP, home directory, user name
    everything = planted.secrets + planted.identity
    for fmt in ("json", "jsonl", "asciicast", "asciicast-v3", "patch", "patch --from-commit"):
        out = tmp_path / f"export.{fmt.replace(' ', '')}"
        proc = tracer(env, "export", str(path), "--format", *fmt.split(), "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert b"tracer: export masked" in proc.stderr
        assert os.stat(out).st_mode & 0o777 == 0o600
        written = out.read_bytes()
        if fmt == "jsonl":  # output is base64 there: searched decoded
            lines = [json.loads(line) for line in written.splitlines()]
            written += b"".join(base64.b64decode(e["data"]) for e in lines if e["type"] == "output")
        planted.assert_absent(written, everything, where=f"the {fmt} export of a {kind} session")
    doc = json.loads((tmp_path / "export.json").read_text())
    assert doc["task"]["workspace"].startswith("~/") and doc["task"]["repository"] is None  # no remote at start

    # --no-redact keeps what only export-time rules mask, never what record time masked
    proc = tracer(env, "export", str(path), "--format", "json", "--no-redact")
    assert proc.returncode == 0 and b"not redacted" in proc.stderr
    planted.assert_absent(proc.stdout, planted.secrets, where="a --no-redact export")
    for value in planted.identity:
        assert value.encode() in proc.stdout, f"--no-redact lost {value!r}"

    # the preview writes nothing and names rule, event and time, never a value
    proc = tracer(env, "export", str(path), "--preview")
    text = proc.stdout.decode()
    assert proc.returncode == 0 and "would be masked" in text and "nothing was written" in text
    for rule in ("email", "ipv4", "home-dir"):  # what record time had not masked already (fish resets $USER)
        assert rule in text, rule
    assert "github-pat" not in text and "private-key" not in text
    planted.assert_absent(proc.stdout, everything, where="the preview")


def test_no_redact_records_secrets_as_typed_and_says_so(tmp_path: Path) -> None:
    planted = plant(_user_name())
    path, _, env = record(tmp_path, "bash", planted, "--no-redact")
    session = read_session(path)
    assert session.header.redaction == "off"
    assert session.end is not None and session.end.redactions is None
    raw = b"".join(content for _, content in iter_frames(path))
    assert planted.github.encode() in raw
    assert "--no-redact" in tracer(env, "show", str(path)).stdout.decode()
    # an export still masks everything (every rule runs at export time)
    proc = tracer(env, "export", str(path), "--format", "json")
    planted.assert_absent(proc.stdout, planted.secrets + planted.identity, where="an export of an unmasked session")
    preview = tracer(env, "export", str(path), "--preview").stdout
    for rule in ("github-pat", "private-key", "jwt", "url-credentials", "aws-access-token", "email"):
        assert rule.encode() in preview, rule
    planted.assert_absent(preview, planted.secrets + planted.identity, where="the preview")


def test_datasets_and_pushed_sessions_are_masked_too(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    planted = plant(_user_name())
    path, _, env = record(tmp_path, "bash", planted)
    everything = planted.secrets + planted.identity
    out = tmp_path / "dataset"
    proc = tracer(env, "dataset", "build", str(out), str(path), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    assert b"tracer: masked" in proc.stderr
    written = b"".join(f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file())
    assert b"[REDACTED:openai-api-key:" in written
    planted.assert_absent(written, everything, where="a dataset")
    card = (out / "README.md").read_text()  # what export time masked, rule by rule, never a value
    assert re.search(r"- redaction: export-time redaction, .*: masked \d+ values \(.*home-dir \d+", card)
    shared = tmp_path / "shared"
    shared.mkdir()
    proc = tracer(env, "push", str(path), str(shared))
    assert proc.returncode == 0, proc.stderr
    (pushed,) = shared.glob("*.tracer")
    raw = b"".join(content for _, content in iter_frames(pushed))
    planted.assert_absent(raw, everything, where="a pushed session")


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_a_value_shown_before_it_was_named_is_masked_in_every_export(tmp_path: Path, kind: str) -> None:
    """`cat pw.txt` shows a password no rule can tell from any word; a later `DB_PASSWORD=…` names it. The recorder
    masks it from then on, but the first occurrence was written: the session's end says where it is (never what),
    and every export reads it there and masks it wherever it comes."""
    planted = plant(_user_name())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pw.txt").write_text(planted.db_password + "\n")
    repo = make_repo(tmp_path / "app", {"app.py": "print('hi')\n"})
    sessions = tmp_path / "sessions"
    term, env = start_shell(kind, tmp_path / "home", repo, sessions)
    child = term.child
    term.run(f"cat {outside}/pw.txt")
    term.run(f"echo DB_PASSWORD=$(cat {outside}/pw.txt)")
    child.sendline("exit")
    # said as the shell ends
    child.expect_exact("1 secret was recorded before it was recognised: unmasked in the session file")
    child.expect(pexpect.EOF)
    child.close()
    (path,) = sessions.glob("*.tracer")
    value = planted.db_password

    raw = b"".join(content for _, content in iter_frames(path))
    assert raw.count(value.encode()) == 1  # written before it was named (the file is append-only); masked after
    session = read_session(path)
    assert session.end is not None and len(session.end.unmasked) == 1
    (site,) = session.end.unmasked
    assert site.field == "data" and site.rule == "secret-assignment" and site.end - site.start == len(value)

    for fmt in ("json", "jsonl", "asciicast"):
        proc = tracer(env, "export", str(path), "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        written = proc.stdout
        if fmt == "jsonl":
            lines = [json.loads(line) for line in written.splitlines()]
            written += b"".join(base64.b64decode(e["data"]) for e in lines if e["type"] == "output")
            assert "unmasked" not in lines[-1] and lines[-1]["type"] == "session_end"  # (masked there)
        planted.assert_absent(written, [value], where=f"the {fmt} export of a {kind} session")
    # --no-redact runs no rule, but what record time masked stays masked: this value too
    proc = tracer(env, "export", str(path), "--format", "asciicast", "--no-redact")
    assert proc.returncode == 0 and b"not redacted" in proc.stderr and b"*" * len(value) in proc.stdout
    planted.assert_absent(proc.stdout, [value], where="a --no-redact export")
    assert (
        "1 secret recorded before it was recognised is unmasked in this file"
        in tracer(env, "show", str(path)).stdout.decode()
    )
    preview = tracer(env, "export", str(path), "--preview")
    assert preview.returncode == 0 and "secret-assignment" in preview.stdout.decode()
    planted.assert_absent(preview.stdout, [value], where="the preview")

    # a session read whole (datasets, push, judge)
    from tracer.redact import SessionRedaction

    masked = SessionRedaction()(session)
    shown = b"".join(e.data for e in masked.events if isinstance(e, Output))
    assert b"*" * len(value) in shown
    planted.assert_absent(shown, [value], where="a dataset's session")


def test_a_secret_fish_suggests_from_its_history_never_reaches_the_session_file(tmp_path: Path) -> None:
    """fish draws the newest command of its history that begins as the line typed so far: typing ``s`` shows the
    rest of an old ``ssh-keygen -p -P OLD`` in grey, drawn apart from the ``s`` (a carriage return and a cursor
    move between them), so no rule reads it as that command. The recorder learns the secrets of the shell's
    history before the session starts: the value is masked from the first time it is drawn."""
    value = "Qx7" + secrets.token_hex(6)
    home = tmp_path / "home"
    history = home / ".local" / "share" / "fish" / "fish_history"
    history.parent.mkdir(parents=True)
    history.write_text(f"- cmd: ssh-keygen -q -p -P {value} -N '' -f /nonexistent/key\n  when: 1764900000\n")
    repo = make_repo(tmp_path / "app", {"app.py": "print('hi')\n"})
    sessions = tmp_path / "sessions"
    term, env = start_shell("fish", home, repo, sessions)
    child = term.child
    child.send("s")
    child.expect_exact(value)  # the suggestion, on the terminal as fish drew it
    child.sendcontrol("c")
    child.expect_exact(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    (path,) = sessions.glob("*.tracer")
    raw = b"".join(content for _, content in iter_frames(path))
    assert value.encode() not in raw and b"sh-keygen -q -p -P " + b"*" * len(value) in raw
    session = read_session(path)
    assert session.end is not None and not session.end.unmasked  # known before the first byte: nothing to read back
    proc = tracer(env, "export", str(path), "--format", "asciicast")
    assert proc.returncode == 0 and value.encode() not in proc.stdout
