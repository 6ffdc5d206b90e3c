"""What is added to a session after its recording (a note written during replay, a verify run's output) goes
through the record-time rules too: nothing reaches the disk unmasked."""

from __future__ import annotations

from pathlib import Path

from tests.redact.conftest import rnd
from tracer.model import Header, Note, SessionEnd, VerifyResult
from tracer.store import SessionWriter, append_events, iter_frames, read_session


def test_appended_notes_and_verify_output_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd="/w", workspace="/w",
    )  # fmt: skip
    writer = SessionWriter(path, header)
    writer.close(SessionEnd(t=10, exit_status=0))
    token, key = "glpat-" + rnd(20), "sk_live_" + rnd(24)
    append_events(
        path,
        [
            Note(t=5, id="n1", text=f"the token was {token}", source="replay"),
            VerifyResult(t=10, verdict="failed", command="pytest -q", output=f"E   KeyError: STRIPE_KEY={key}\n"),
        ],
    )
    raw = b"".join(content for _, content in iter_frames(path))
    assert token.encode() not in raw and key.encode() not in raw
    session = read_session(path)
    assert session.notes()[0].text == "the token was [REDACTED:gitlab-pat:1]"
    assert session.verify_result is not None and "[REDACTED:stripe-access-token:1]" in session.verify_result.output
