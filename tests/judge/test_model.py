"""The model path: tracer's chat-completions client against a real local HTTP server with canned replies."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.judge.chat_server import Canned, ChatServer, chat_server, completion
from tests.judge.conftest import Recorded
from tracer.app.judging import JudgeOptions, judge_session
from tracer.errors import UsageError
from tracer.judge import InvalidReply, JudgeError, JudgeFailed, endpoint, load_rubric, process_checks, reply_schema
from tracer.model import JudgeResult, JudgeScore
from tracer.store import read_session
from tracer.store.schema import validate_trace
from tracer.store.steps import step_times

CRITERIA = [c.id for c in load_rubric().criteria]


def good_reply(**change: Any) -> dict[str, Any]:
    """A reply that follows the schema and cites steps both recorded sessions have (c1, c2, e1)."""
    reply: dict[str, Any] = {
        "scores": {c: {"score": 4, "steps": ["c1", "e1"], "reason": f"{c} was fine"} for c in CRITERIA},
        "overall": 4,
        "comments": "A clean reproduce-fix-test loop.",
        "strengths": ["reproduced the failure first"],
        "weaknesses": [],
        "recommendations": ["note the hypothesis before editing"],
    }
    reply.update(change)
    return reply


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with chat_server() as s:
        yield s


@pytest.fixture
def path(careful: Recorded, tmp_path: Path) -> Path:
    return careful.copy(tmp_path / "sessions")


def options(server: ChatServer, **kw: Any) -> JudgeOptions:
    return JudgeOptions(model="judge-model", base_url=server.url + "/v1", **{"timeout": 20.0, **kw})


def test_a_model_scores_the_session(server: ChatServer, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACER_JUDGE_API_KEY", "sk-test-key")
    server.reply(completion(json.dumps(good_reply())))
    said: list[str] = []
    result = judge_session(path, options(server), on_progress=said.append)

    (seen,) = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["Authorization"] == "Bearer sk-test-key"
    assert seen.headers["Content-Type"] == "application/json"
    body = seen.body
    assert body["model"] == "judge-model" and body["temperature"] == 0 and body["stream"] is False
    rubric = load_rubric()
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "tracer_judge", "strict": True, "schema": reply_schema(rubric)},
    }
    system, user = body["messages"]
    assert system["role"] == "system" and rubric.instructions in system["content"]
    assert user["role"] == "user" and "problem_understanding (Problem understanding)" in user["content"]
    assert "- reproduced_before_edit: yes (count 1) — c1 failed" in user["content"]
    document = json.loads(user["content"].split("The session (trace JSON):\n", 1)[1])
    validate_trace(document)  # the session goes as trace JSON, each event with its step id
    assert [e["id"] for e in document["events"] if e["type"] == "terminal_command"][:2] == ["c1", "c2"]
    assert said == [
        "masked 1 value (host-name 1) (rules v1) in what the judge is sent",
        f"asking the model judge-model at {server.url}/v1/chat/completions (rubric tracer-debugging v1; up to 20 s)",
    ]

    session = read_session(path)
    assert session.judge_result == result
    assert (result.judge_kind, result.judge, result.endpoint) == (
        "model",
        "judge-model",
        f"{server.url}/v1/chat/completions",
    )
    assert (result.rubric_id, result.rubric_version, result.overall) == ("tracer-debugging", "1", 4)
    assert result.scores[0] == JudgeScore("problem_understanding", 4, ("c1", "e1"), "problem_understanding was fine")
    assert [s.criterion for s in result.scores] == CRITERIA
    assert result.comments == "A clean reproduce-fix-test loop."
    assert result.strengths == ("reproduced the failure first",) and result.weaknesses == ()
    assert result.checks == process_checks(session)
    assert result.duration is not None and result.duration >= 0


def test_no_key_no_authorization_and_other_response_formats(
    server: ChatServer, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACER_JUDGE_API_KEY", raising=False)
    monkeypatch.setenv("MY_KEY", "from-my-var")
    fenced = "```json\n" + json.dumps(good_reply()) + "\n```"  # a fence around the JSON is tolerated
    server.reply(completion(fenced), completion(json.dumps(good_reply())), completion(json.dumps(good_reply())))
    judge_session(path, options(server, response_format="json_object"))
    judge_session(path, options(server, response_format="none"))
    judge_session(path, options(server, api_key_env="MY_KEY"))
    first, second, third = server.requests
    assert "Authorization" not in first.headers and "Authorization" not in second.headers
    assert first.body["response_format"] == {"type": "json_object"}
    assert "response_format" not in second.body
    assert third.headers["Authorization"] == "Bearer from-my-var"
    assert len(read_session(path).of_type(JudgeResult)) == 3


def invalid(**change: Any) -> Canned:
    return completion(json.dumps(good_reply(**change)))


def missing_criterion() -> Canned:
    reply = good_reply()
    del reply["scores"]["reproducibility"]
    return completion(json.dumps(reply))


@pytest.mark.parametrize(
    ("canned", "error", "message"),
    [
        (
            completion("I think it was a 4."),
            InvalidReply,
            r"did not reply with JSON .*it began: 'I think it was a 4\.'",
        ),
        (invalid(overall=7), InvalidReply, r"does not follow the reply schema .* at overall: 7 is not one of"),
        (missing_criterion(), InvalidReply, r"at scores: 'reproducibility' is a required property"),
        (
            invalid(scores={c: {"score": 3, "steps": ["c1", "c99"], "reason": "r"} for c in CRITERIA}),
            InvalidReply,
            r"cites steps the session does not have for problem_understanding: 'c99'",
        ),
        (
            invalid(scores={c: {"score": 3, "steps": [], "reason": "r"} for c in CRITERIA}),
            InvalidReply,
            r"cites no step for problem_understanding",
        ),
        (
            Canned(500, b'{"error": {"message": "model judge-model is not loaded", "type": "server_error"}}'),
            JudgeFailed,
            r"/v1/chat/completions answered HTTP 500 Internal Server Error: model judge-model is not loaded",
        ),
        (Canned(401, b'{"error": {"message": "invalid api key"}}'), JudgeFailed, r"HTTP 401 Unauthorized: invalid api"),
        (Canned(200, b"<html>hello</html>"), JudgeFailed, r"did not answer with a chat completion .*'<html>hello"),
        (
            completion('{"scores": {', finish_reason="length"),
            JudgeFailed,
            r"stopped at its token limit before its reply was complete",
        ),
        (completion(""), JudgeFailed, r"the model judge-model at .* gave no content"),
    ],
)
def test_bad_replies_are_clear_errors_and_nothing_is_stored(
    server: ChatServer, path: Path, canned: Canned, error: type[JudgeError], message: str
) -> None:
    before = path.read_bytes()
    server.reply(canned)
    with pytest.raises(error, match=message) as raised:
        judge_session(path, options(server))
    assert str(raised.value).endswith("nothing was stored")
    assert path.read_bytes() == before


def test_a_model_that_does_not_answer_times_out(server: ChatServer, path: Path) -> None:
    before = path.read_bytes()
    server.reply(Canned(hang=True))
    started = time.monotonic()
    with pytest.raises(JudgeFailed, match=r"/v1/chat/completions gave no reply within 1 s \(--timeout\)"):
        judge_session(path, options(server, timeout=1.0))
    assert time.monotonic() - started < 15
    assert path.read_bytes() == before


def test_a_server_that_is_not_there(path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(JudgeFailed, match=rf"cannot reach http://127.0.0.1:{port}/v1/chat/completions: .*running"):
        judge_session(path, JudgeOptions(model="m", base_url=f"http://127.0.0.1:{port}/v1", timeout=5.0))


def test_no_network_beyond_the_given_url(path: Path) -> None:
    """A redirect is not followed: the other server never hears from tracer."""
    with chat_server() as first, chat_server() as elsewhere:
        first.reply(Canned(307, b"", {"Location": elsewhere.url + "/v1/chat/completions"}))
        with pytest.raises(JudgeFailed, match=r"redirects \(HTTP 307\) to .* tracer follows no redirects"):
            judge_session(path, options(first))
        assert len(first.requests) == 1 and elsewhere.requests == []


def test_the_session_is_redacted_and_cut_before_it_leaves(server: ChatServer, path: Path) -> None:
    import socket

    from tracer.model import Note
    from tracer.store import append_events

    # as if recorded with --no-redact: an address, and a token that colour codes split (whole once they are gone)
    text = "mail jane.doe@acme-corp.io, token ghp_R2d2C3po\x1b[1mA1b2C3d4E5f6G7h8I9j0K1l2M3N4\x1b[0m"
    append_events(path, [Note(t=1, id="n1", text=text, source="replay")], redact=False)
    server.reply(completion(json.dumps(good_reply())), completion(json.dumps(good_reply())))
    said: list[str] = []
    judge_session(path, options(server, max_chars=1000), on_progress=said.append)
    sent = json.dumps(server.requests[0].body, ensure_ascii=False)
    assert "jane.doe@" not in sent and "[REDACTED:email" in sent
    assert "R2d2C3po" not in sent and "A1b2C3d4" not in sent  # found by the second pass, on the plain text
    assert socket.gethostname() not in sent  # the header's host name, masked whole as exports mask it
    assert any(line.startswith("masked ") and "email 1" in line for line in said), said
    assert "characters cut …]" in sent  # the test output was cut to fit 1,000 characters

    judge_session(path, options(server, max_chars=100_000), redact=False)  # --no-redact: as recorded
    assert "jane.doe@acme-corp.io" in json.dumps(server.requests[1].body, ensure_ascii=False)


@pytest.mark.parametrize(
    ("base_url", "shown", "target"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions", "/v1/chat/completions"),
        ("http://localhost:11434/v1/", "http://localhost:11434/v1/chat/completions", "/v1/chat/completions"),
        ("https://example.invalid/v1/chat/completions", "https://example.invalid/v1/chat/completions", None),
        (
            "https://example.invalid/deploy?api-version=2024-10-21",  # the query is sent, not stored
            "https://example.invalid/deploy/chat/completions",
            "/deploy/chat/completions?api-version=2024-10-21",
        ),
    ],
)
def test_endpoints(base_url: str, shown: str, target: str | None) -> None:
    where = endpoint(base_url)
    assert where.shown == shown
    assert where.target == (target or "/v1/chat/completions")


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("127.0.0.1:8080", "is not an http:// or https:// URL with a host"),
        ("ftp://host/v1", "is not an http:// or https:// URL"),
        ("http://user:secret@host/v1", "leave the user and password out of the URL"),
    ],
)
def test_bad_base_urls(base_url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        endpoint(base_url)


def test_step_ids_of_the_recorded_session(careful: Recorded) -> None:
    steps = step_times(careful.session())
    assert [s for s in steps if s[0] in "ce"] == [f"c{i}" for i in range(1, 10)] + ["e1", "e2", "e3"]
    notes = [s for s in steps if s[0] == "n"]
    assert len(notes) == 2 and all(len(s) == 9 for s in notes)


def tracer_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tracer_judge_on_the_command_line(server: ChatServer, path: Path, tmp_path: Path) -> None:
    server.reply(completion(json.dumps(good_reply())), completion("not json"))
    done = tracer_cli("judge", str(path), "--model", "judge-model", "--base-url", server.url + "/v1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "✓ reproduced_before_edit" in done.stdout
    assert "rubric tracer-debugging v1, scored by model judge-model at" in done.stdout
    assert "problem_understanding" in done.stdout and "4/5  problem_understanding was fine  [c1 e1]" in done.stdout
    assert "  overall" in done.stdout and "recommendations\n  - note the hypothesis before editing" in done.stdout

    shown = tracer_cli("show", str(path), cwd=tmp_path)
    assert "judge     overall 4/5 by model judge-model (rubric tracer-debugging v1)" in shown.stdout
    assert "checks    ✓ reproduced_before_edit 1 ✓ tested_after_last_edit 1" in shown.stdout

    before = path.read_bytes()
    bad = tracer_cli("judge", str(path), "--model", "judge-model", "--base-url", server.url + "/v1", cwd=tmp_path)
    assert bad.returncode == 3
    assert "tracer: the model judge-model at" in bad.stderr and "did not reply with JSON" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert path.read_bytes() == before

    as_json = tracer_cli("judge", str(path), "--json", cwd=tmp_path)  # process checks only
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["type"] == "judge_result" and data["judge_kind"] == "checks" and data["overall"] is None
    assert data["checks"][0]["id"] == "reproduced_before_edit" and data["checks"][0]["ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "m"], "--model and --base-url go together"),
        (["--base-url", "http://127.0.0.1:1/v1"], "--model and --base-url go together"),
        (["--model", "m", "--base-url", "http://h/v1", "--command", "cat"], "not both"),
        (["--rubric", "r.toml"], "--rubric needs a judge"),
    ],
)
def test_contradicting_options_are_usage_errors(path: Path, tmp_path: Path, args: list[str], message: str) -> None:
    done = tracer_cli("judge", str(path), *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_a_lone_surrogate_in_a_reply_is_stored_as_a_replacement_character(server: ChatServer, path: Path) -> None:
    server.reply(completion(json.dumps(good_reply(comments="odd \udcff byte"))))  # JSON's "\udcff" escape
    result = judge_session(path, options(server))
    assert result.comments == "odd \ufffd byte"
    assert read_session(path).judge_result == result
