"""Judging a session (``tracer judge``): read it, compute the process checks, ask a rubric judge when one is
given (a model or a command), check its reply, and append the result as a ``judge_result`` event.

Nothing is appended unless the whole judgement succeeded: a rubric that does not load, a judge that fails or
replies wrongly raises before the session file is touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracer.app.live import refuse_while_recording
from tracer.errors import UsageError
from tracer.judge import (
    MAX_CHARS,
    Reply,
    ask_command,
    ask_model,
    build_messages,
    chat_request,
    endpoint,
    judge_document,
    load_rubric,
    parse_reply_text,
    process_checks,
    read_reply,
    reply_schema,
)
from tracer.model import JudgeResult, utc_now
from tracer.store import append_events, read_session
from tracer.store.steps import step_times

#: The environment variable holding the API key, unless ``api_key_env`` names another.
API_KEY_ENV = "TRACER_JUDGE_API_KEY"


def _no_redaction(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class JudgeOptions:
    """How to judge.

    Attributes:
        model, base_url: a model at an OpenAI-compatible endpoint (both or neither).
        command: a judge command instead of a model.
        rubric: a rubric file replacing the built-in one.
        api_key_env: the environment variable holding the endpoint's API key (may be unset: local servers).
        timeout: seconds the model or command may take.
        response_format: ``json_schema``, ``json_object`` or ``none`` (:data:`tracer.judge.RESPONSE_FORMATS`).
        max_chars: the budget of the session document, in characters.
    """

    model: str | None = None
    base_url: str | None = None
    command: str | None = None
    rubric: Path | None = None
    api_key_env: str = API_KEY_ENV
    timeout: float = 300.0
    response_format: str = "json_schema"
    max_chars: int = MAX_CHARS

    def check(self) -> None:
        """Raises UsageError when the options contradict each other."""
        if (self.model is None) != (self.base_url is None):
            raise UsageError("--model and --base-url go together: name the model and the endpoint it is served at")
        if self.model is not None and self.command is not None:
            raise UsageError("give either --model with --base-url, or --command, not both")
        if self.rubric is not None and self.model is None and self.command is None:
            raise UsageError("--rubric needs a judge to score by it: add --model with --base-url, or --command")
        if self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")


def judge_session(
    path: Path,
    options: JudgeOptions,
    *,
    redact: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> JudgeResult:
    """Judge the session at ``path`` and append the result to it.

    Args:
        path: the session file.
        options: the judge to ask, if any.
        redact: mask what a model or a judge command is sent with the export-time rules first, as ``tracer
            export`` does (the session leaves tracer): each event as exports mask it, then each text of the
            document once its terminal escapes are gone (a secret that escapes split is whole there). ``False``:
            only what was masked at record time is hidden.
        on_progress: told, in a sentence, what is being done (e.g. which endpoint is asked, what was masked).

    Raises:
        UsageError: contradicting options.
        SessionError: the session cannot be read or appended to (SessionBusy: it is being recorded now).
        ConfigError: the configuration file (the user's redaction rules) is invalid.
        JudgeError: the rubric is bad, or the judge failed or replied wrongly (nothing is appended).
    """
    options.check()
    say = on_progress or (lambda _line: None)
    refuse_while_recording(path, "judge it once its shell exits")
    session = read_session(path)
    checks = process_checks(session)
    result = JudgeResult(t=int(session.duration * 1e6), judged_at=utc_now(), checks=checks)
    if options.model is not None or options.command is not None:
        rubric = load_rubric(options.rubric)
        mask_text: Callable[[str], str]
        if redact:
            from tracer.config import load_config
            from tracer.redact import export_redactor

            redactor = export_redactor(load_config(), session.header)
            sent, mask_text = redactor.session(session), redactor.text
        else:  # (what record time masked stays masked: the values it wrote before it learnt them too)
            from tracer.redact import SessionRedaction

            sent, mask_text = SessionRedaction(rules=False)(session), _no_redaction
        document = judge_document(sent, redact=mask_text, max_chars=options.max_chars)
        if redact:
            say(f"masked {redactor.summary()} ({redactor.rules.label}) in what the judge is sent")
        messages = build_messages(rubric, document, checks)
        schema = reply_schema(rubric)
        started = time.monotonic()
        if options.model is not None and options.base_url is not None:
            where = endpoint(options.base_url)
            source = f"the model {options.model} at {where.shown}"
            say(f"asking {source} (rubric {rubric.id} v{rubric.version}; up to {options.timeout:g} s)")
            body = chat_request(options.model, messages, schema, options.response_format)
            key = os.environ.get(options.api_key_env) or None
            text = ask_model(where, body, api_key=key, timeout=options.timeout)
            kind, judge, shown = "model", options.model, where.shown
        else:
            assert options.command is not None
            source = f"the judge command `{options.command}`"
            say(f"asking {source} (rubric {rubric.id} v{rubric.version}; up to {options.timeout:g} s)")
            files = {
                "TRACER_JUDGE_RUBRIC": rubric.to_dict(),
                "TRACER_JUDGE_SCHEMA": schema,
                "TRACER_JUDGE_REQUEST": chat_request(None, messages, schema, options.response_format),
            }
            text = ask_command(options.command, document, files, timeout=options.timeout)
            kind, judge, shown = "command", options.command, None
        reply: Reply = read_reply(parse_reply_text(text, source), rubric, step_times(session), source)
        result = JudgeResult(
            t=result.t,
            judged_at=utc_now(),
            checks=checks,
            judge_kind=kind,
            judge=judge,
            endpoint=shown,
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            scores=reply.scores,
            overall=reply.overall,
            comments=reply.comments,
            strengths=reply.strengths,
            weaknesses=reply.weaknesses,
            recommendations=reply.recommendations,
            duration=round(time.monotonic() - started, 3),
        )
    append_events(path, [result])
    return result
