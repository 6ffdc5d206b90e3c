"""The rubric: a versioned data file (TOML or JSON) naming the criteria a judge scores 1 to 5, and the reply
schema made from it.

The built-in rubric is ``rubric-v1.toml`` beside this module; ``tracer judge --rubric FILE`` replaces it. Its
shape is ``rubric.schema.json`` (JSON Schema 2020-12), checked on load.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from tracer.judge.errors import BadRubric

#: The built-in rubric's file, in this package.
BUILTIN_RUBRIC = "rubric-v1.toml"
#: Scores run from 1 (poor) to 5 (excellent), for every criterion and overall.
SCORES = (1, 2, 3, 4, 5)
#: A rubric file larger than this (bytes) is refused.
MAX_RUBRIC_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Criterion:
    """One thing the judge scores.

    Attributes:
        id: the key of its score in the reply (``problem_understanding``).
        name: how people call it ("Problem understanding").
        question: what it asks.
        scale: what some scores mean, as ``(score, meaning)`` pairs in increasing score.
    """

    id: str
    name: str
    question: str
    scale: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Rubric:
    """A rubric as loaded.

    Attributes:
        id, version: stored with every judgement made by it.
        title: a one-line description.
        instructions: what the judge is told first (the system message).
        criteria: what it scores, in order.
        source: the file it came from, or ``"built-in"``.
    """

    id: str
    version: str
    title: str
    instructions: str
    criteria: tuple[Criterion, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The rubric in its file's shape (as JSON would hold it), without ``source``."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "instructions": self.instructions,
            "criteria": [
                {"id": c.id, "name": c.name, "question": c.question, "scale": {str(k): v for k, v in c.scale}}
                for c in self.criteria
            ],
        }


@functools.cache
def _rubric_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("tracer.judge").joinpath("rubric.schema.json").read_text())
    return schema


def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric in ``path`` (TOML, or JSON when the name ends in ``.json``), or the built-in one.

    Raises:
        BadRubric: the file cannot be read, is larger than :data:`MAX_RUBRIC_BYTES`, is not valid TOML/JSON, does
            not follow ``rubric.schema.json``, or names a criterion twice; the message names the file and the place.
    """
    if path is None:
        text = resources.files("tracer.judge").joinpath(BUILTIN_RUBRIC).read_text("utf-8")
        return _parse(text, "built-in", json_format=False)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RUBRIC_BYTES + 1)
    except OSError as e:
        raise BadRubric(f"cannot read the rubric {path}: {e.strerror}; check the path given to --rubric") from e
    if len(data) > MAX_RUBRIC_BYTES:
        raise BadRubric(f"the rubric {path} is over {MAX_RUBRIC_BYTES >> 20} MiB; a rubric is a short text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRubric(f"the rubric {path} is not UTF-8 text (byte {e.start}); save it as UTF-8") from e
    return _parse(text, str(path), json_format=path.suffix.lower() == ".json")


def _parse(text: str, source: str, *, json_format: bool) -> Rubric:
    try:
        data = json.loads(text) if json_format else tomllib.loads(text)
    except json.JSONDecodeError as e:
        raise BadRubric(f"the rubric {source} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from e
    except tomllib.TOMLDecodeError as e:
        raise BadRubric(f"the rubric {source} is not valid TOML: {e}") from e
    validator = jsonschema.Draft202012Validator(_rubric_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise BadRubric(
            f"the rubric {source} does not follow rubric.schema.json: at {where}: {error.message} "
            "(docs/judge.md shows the shape)"
        )
    ids = [c["id"] for c in data["criteria"]]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise BadRubric(f"the rubric {source} names the criterion {', '.join(twice)} more than once")
    return Rubric(
        id=data["id"],
        version=data["version"],
        title=data.get("title", ""),
        instructions=data["instructions"].strip(),
        criteria=tuple(
            Criterion(
                id=c["id"],
                name=c["name"],
                question=c["question"],
                scale=tuple(sorted((int(k), v) for k, v in c.get("scale", {}).items())),
            )
            for c in data["criteria"]
        ),
        source=source,
    )


def reply_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON Schema (2020-12) a judge's reply must follow for ``rubric``.

    Shape: ``{"scores": {<criterion id>: {"score": 1..5, "steps": [step id…], "reason": str}, …},
    "overall": 1..5, "comments": str, "strengths": [str], "weaknesses": [str], "recommendations": [str]}``.
    Every property is required and no other is allowed, and scores are enums rather than ranges, so the same
    schema serves OpenAI's strict structured outputs and the grammars of llama.cpp, Ollama and vLLM. That cited
    steps exist in the session is checked after (:func:`tracer.judge.read_reply`).
    """
    score = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "enum": list(SCORES)},
            "steps": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": "string"},
        },
        "required": ["score", "steps", "reason"],
        "additionalProperties": False,
    }
    texts = {"type": "array", "items": {"type": "string"}}
    ids = [c.id for c in rubric.criteria]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "properties": {i: score for i in ids},
                "required": ids,
                "additionalProperties": False,
            },
            "overall": {"type": "integer", "enum": list(SCORES)},
            "comments": {"type": "string"},
            "strengths": texts,
            "weaknesses": texts,
            "recommendations": texts,
        },
        "required": ["scores", "overall", "comments", "strengths", "weaknesses", "recommendations"],
        "additionalProperties": False,
    }
