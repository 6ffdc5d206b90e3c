"""The named SQL of ``queries.sql``: each ``-- name: NAME`` block, split into its statements, and running them."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^-- name: (\S+)\s*$", re.MULTILINE)
_END = re.compile(r";[ \t]*$", re.MULTILINE)


@functools.cache
def queries() -> dict[str, tuple[str, ...]]:
    """``name -> statements`` of the package's ``queries.sql`` (comment lines left out)."""
    text = (Path(__file__).parent / "queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    out: dict[str, tuple[str, ...]] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        code = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--"))
        out[name] = tuple(s.strip() for s in _END.split(code) if s.strip())
    return out


def sql(name: str) -> str:
    """The one statement of the block ``name``."""
    (statement,) = queries()[name]
    return statement


def execute(con: Any, statement: str, params: dict[str, Any]) -> Any:
    """Execute one ``statement`` on the DuckDB connection ``con`` with the parameters it names (``$name``) taken
    from ``params`` (DuckDB refuses parameters a statement does not name); the connection, to fetch from."""
    used = {k: v for k, v in params.items() if f"${k}" in statement}
    return con.execute(statement, used) if used else con.execute(statement)


def run(con: Any, name: str, **params: Any) -> None:
    """Run every statement of the block ``name`` on the DuckDB connection ``con``, each with the parameters it
    names (``$name``) taken from ``params``."""
    for statement in queries()[name]:
        execute(con, statement, params)
