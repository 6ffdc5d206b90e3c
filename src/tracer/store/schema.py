"""Validating events and trace documents against the JSON Schemas in ``schemas/``.

The schemas describe each event's JSON form: the msgpack map with ``bytes`` values written as base64 strings.
They ship inside the package (``tracer/schemas``); the repository's top-level ``schemas/`` points there.
"""

from __future__ import annotations

import base64
import functools
import json
from importlib import resources
from typing import Any

import jsonschema

from tracer.errors import TracerError


class SchemaViolation(TracerError):
    """An event or document does not match its schema (the message names the schema and the field)."""


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``<name>.schema.json`` (an event type such as ``"output"``, or ``"trace"``).

    Raises:
        SchemaViolation: there is no such schema.
    """
    try:
        text = resources.files("tracer").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    except FileNotFoundError as e:
        raise SchemaViolation(f"there is no schema for {name!r} in tracer/schemas") from e
    schema: dict[str, Any] = json.loads(text)
    return schema


def json_form(value: Any) -> Any:
    """``value`` with ``bytes`` turned into base64 text and tuples into lists, recursively."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: json_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_form(v) for v in value]
    return value


def _validate(instance: Any, name: str) -> None:
    schema = load_schema(name)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise SchemaViolation(f"{name}.schema.json: at {where}: {error.message}")


def validate_event(event: dict[str, Any]) -> None:
    """Check one event map (as stored) against ``schemas/<type>.schema.json``.

    Raises:
        SchemaViolation: the event has no known type or does not match.
    """
    _validate(json_form(event), str(event.get("type")))


def validate_trace(document: dict[str, Any]) -> None:
    """Check a trace document (``tracer export --format json``) against ``schemas/trace.schema.json``.

    Raises:
        SchemaViolation: it does not match.
    """
    _validate(document, "trace")
