"""``tracer judge``: how good was the debugging, not only the patch.

Two kinds of judgement of a recorded session:

- **process checks** (:func:`process_checks`), always, computed from the events without a model: reproduced
  before the first edit, tested after the last, hypotheses noted and tested, loops, dead ends, time to the
  first passing test, verified and resolved; each with the steps it rests on;
- a **rubric judge**, when asked: the session as a redacted, cut trace document (:func:`judge_document`) and the
  rubric (:func:`load_rubric`) go to a model through an OpenAI-compatible chat-completions endpoint
  (:func:`ask_model`) or to a command (:func:`ask_command`); the reply is checked against the rubric's reply
  schema and the session's steps (:func:`read_reply`).

``tracer.app.judging`` wires them together and appends the ``judge_result`` event. docs/judge.md is the
user's guide.
"""

from __future__ import annotations

from tracer.judge._checks import CHECK_IDS, MAX_EVIDENCE, is_doc_file, is_test_file, process_checks
from tracer.judge._command import ask_command
from tracer.judge._document import MAX_CHARS, cut, judge_document
from tracer.judge._model import MAX_REPLY_BYTES, RESPONSE_FORMATS, Endpoint, ask_model, chat_request, endpoint
from tracer.judge._reply import Reply, build_messages, parse_reply_text, read_reply
from tracer.judge._rubric import BUILTIN_RUBRIC, Criterion, Rubric, load_rubric, reply_schema
from tracer.judge.errors import BadRubric, InvalidReply, JudgeError, JudgeFailed

__all__ = [
    "BUILTIN_RUBRIC",
    "CHECK_IDS",
    "MAX_CHARS",
    "MAX_EVIDENCE",
    "MAX_REPLY_BYTES",
    "RESPONSE_FORMATS",
    "BadRubric",
    "Criterion",
    "Endpoint",
    "InvalidReply",
    "JudgeError",
    "JudgeFailed",
    "Reply",
    "Rubric",
    "ask_command",
    "ask_model",
    "build_messages",
    "chat_request",
    "cut",
    "endpoint",
    "is_doc_file",
    "is_test_file",
    "judge_document",
    "load_rubric",
    "parse_reply_text",
    "process_checks",
    "read_reply",
    "reply_schema",
]
