"""What a rubric judge is asked (chat messages) and how its reply is read and checked.

The messages follow OpenAI's chat-completions format: a ``system`` message with the rubric's instructions and
the reply's JSON Schema, and a ``user`` message with the criteria and their scales, the process checks, and
the session's trace document (compact JSON). The reply is one JSON object (a single surrounding Markdown code
fence is tolerated), checked against :func:`tracer.judge.reply_schema` and then against the session: each
criterion's ``steps`` must name at least one step, and only steps the session has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from tracer.judge._document import utf8_safe
from tracer.judge._rubric import Rubric, reply_schema
from tracer.judge.errors import InvalidReply
from tracer.model import JudgeScore, ProcessCheck

_FENCE = re.compile(r"\A\s*```[A-Za-z]*\s*\n(.*)\n\s*```\s*\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Reply:
    """A judge's reply, checked.

    Attributes:
        scores: one per criterion, in the rubric's order.
        overall: 1 to 5.
        comments: the judge's comments ("" when it gave none).
        strengths, weaknesses, recommendations: short sentences, possibly none.
    """

    scores: tuple[JudgeScore, ...]
    overall: int
    comments: str
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    recommendations: tuple[str, ...]


def _check_line(c: ProcessCheck) -> str:
    answer = "n/a" if c.ok is None else "yes" if c.ok else "no"
    figures = [f"count {c.count}"] if c.count is not None else []
    if c.seconds is not None:
        figures.append(f"{c.seconds:.1f} s")
    cited = " ".join(ref.step for ref in c.evidence)
    return (
        f"- {c.id}: {answer}"
        + (f" ({', '.join(figures)})" if figures else "")
        + (f" — {c.detail}" if c.detail else "")
        + (f" [{cited}]" if cited else "")
    )


def build_messages(rubric: Rubric, document: dict[str, Any], checks: tuple[ProcessCheck, ...]) -> list[dict[str, str]]:
    """The chat messages that ask a model to judge ``document`` by ``rubric``: ``[system, user]``."""
    schema = json.dumps(reply_schema(rubric), ensure_ascii=False)
    system = (
        f"{rubric.instructions}\n\n"
        "Reply with one JSON object and nothing else. It must follow this JSON Schema:\n"
        f"{schema}\n"
        "In `scores`, give every criterion by its id. In `steps`, cite step ids exactly as the `id` fields of "
        "the session's events write them (c<N>, e<N>, n<hex>)."
    )
    criteria = []
    for c in rubric.criteria:
        scale = "".join(f"\n    {score}: {meaning}" for score, meaning in c.scale)
        criteria.append(f"- {c.id} ({c.name}): {c.question}{scale}")
    user = (
        f"Rubric {rubric.id} version {rubric.version}"
        + (f": {rubric.title}" if rubric.title else "")
        + "\n\nCriteria (score each 1 to 5):\n"
        + "\n".join(criteria)
        + "\n\nProcess checks computed by tracer from the events (facts):\n"
        + "\n".join(_check_line(c) for c in checks)
        + "\n\nThe session (trace JSON):\n"
        + json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_reply_text(text: str, source: str) -> Any:
    """The JSON value in a judge's reply ``text`` (one surrounding Markdown code fence is removed).

    Raises:
        InvalidReply: the text is not JSON; the message names ``source`` and shows the reply's beginning.
    """
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    try:
        return json.loads(body)
    except json.JSONDecodeError as e:
        start = " ".join(text.split())[:200]
        raise InvalidReply(
            f"{source} did not reply with JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
            f"it began: {start!r}; nothing was stored"
        ) from e


def read_reply(data: Any, rubric: Rubric, steps: set[str] | dict[str, int], source: str) -> Reply:
    """Check a judge's parsed reply against the reply schema of ``rubric`` and the session's ``steps``.

    Args:
        data: the parsed JSON reply.
        rubric: the rubric it answers.
        steps: the session's step ids (:func:`tracer.store.steps.step_times`).
        source: who replied, for messages ("the model qwen2.5 at http://…", "the command `…`").

    Raises:
        InvalidReply: the reply does not follow the schema (the message names the place), a criterion cites no
            step while the session has some, or a cited step does not exist.
    """
    validator = jsonschema.Draft202012Validator(reply_schema(rubric))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise InvalidReply(
            f"the reply of {source} does not follow the reply schema of rubric {rubric.id} v{rubric.version}: "
            f"at {where}: {utf8_safe(error.message)[:300]}; nothing was stored"
        )
    scores = []
    for c in rubric.criteria:
        given = data["scores"][c.id]
        cited = tuple(utf8_safe(s) for s in given["steps"])
        unknown = [s for s in cited if s not in steps]
        if unknown:
            raise InvalidReply(
                f"the reply of {source} cites steps the session does not have for {c.id}: "
                f"{', '.join(repr(s) for s in unknown[:5])}; nothing was stored"
            )
        if not cited and steps:
            raise InvalidReply(
                f"the reply of {source} cites no step for {c.id}; every score must cite the steps it rests on; "
                "nothing was stored"
            )
        scores.append(JudgeScore(c.id, int(given["score"]), cited, utf8_safe(given["reason"])))
    return Reply(
        scores=tuple(scores),
        overall=int(data["overall"]),
        comments=utf8_safe(data["comments"]),
        strengths=tuple(utf8_safe(s) for s in data["strengths"]),
        weaknesses=tuple(utf8_safe(s) for s in data["weaknesses"]),
        recommendations=tuple(utf8_safe(s) for s in data["recommendations"]),
    )
