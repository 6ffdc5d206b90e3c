"""The types of exported trace documents for Hugging Face ``datasets``, made from ``schemas/trace.schema.json``.

``datasets.load_dataset("json", data_files=[...])`` infers each column's type from the first file it reads, and
then casts every other file to it. A JSON value carries no type when it is ``null`` or an empty list, and a
trace's ``events`` hold three kinds of object, so the first file cannot always say every type: a session never
verified has ``"verify": []``, one without notes has no thought's ``tags``, and the next file's values cannot be
cast to "null". Declared features answer this: :func:`trace_features` gives every column of the trace format
its type, so any set of exports loads together, in any order::

    from datasets import load_dataset
    from tracer.dataset import trace_features

    traces = load_dataset("json", data_files="traces/*.json", features=trace_features(), split="train")

The features are derived from the JSON Schema, so the two cannot disagree: ``string`` → ``Value("string")``,
``integer`` → ``int64`` (never null in a trace), ``number`` → ``float64``, ``boolean`` → ``bool``, ``array`` →
``List``, ``object`` → a struct of its properties, an enumeration or constant → ``string``, and the union of
the event kinds one struct holding all their fields (a command's ``raw`` is null, an edit's ``cmd`` too).
Extension fields (``x-…``) are not in it: add your own to the features before loading.
"""

from __future__ import annotations

from typing import Any

from tracer.errors import MissingExtra
from tracer.store.schema import load_schema


def trace_features() -> Any:
    """Every column of ``tracer export --format json`` documents as ``datasets.Features`` (see the module).

    Raises:
        MissingExtra: the ``datasets`` package (4.0 or later) is not installed.
    """
    try:
        import datasets

        datasets.List  # noqa: B018 - 4.0 and later
    except (ImportError, AttributeError) as e:
        raise MissingExtra("the features of traces are for Hugging Face datasets: pip install 'datasets>=4.0'") from e
    schema = load_schema("trace")
    return datasets.Features(_feature(datasets, schema, schema["$defs"]))


def _feature(datasets: Any, node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The feature of one JSON Schema node (a subset: the constructs trace.schema.json uses)."""
    if "$ref" in node:
        return _feature(datasets, defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "oneOf" in node:
        options = [_resolve(o, defs) for o in node["oneOf"] if o.get("type") != "null"]
        if len(options) == 1:
            return _feature(datasets, options[0], defs)
        merged: dict[str, Any] = {}  # a union of objects: one struct with the fields of all
        for option in options:
            merged.update({k: v for k, v in option["properties"].items() if k not in merged})
        return {name: _feature(datasets, prop, defs) for name, prop in merged.items()}
    if "const" in node or "enum" in node:
        return datasets.Value("string")
    kinds = node["type"]
    kind: str = next(k for k in kinds if k != "null") if isinstance(kinds, list) else kinds
    if kind == "array":
        return datasets.List(_feature(datasets, node["items"], defs))
    if kind == "object":
        return {name: _feature(datasets, prop, defs) for name, prop in node["properties"].items()}
    return datasets.Value({"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}[kind])


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    return defs[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node
