"""The errors of ``tracer judge``: each says what failed and what to do; after any of them nothing is stored.

::

    JudgeError (tracer.errors)
    ├── BadRubric        the rubric file cannot be read or does not follow rubric.schema.json
    ├── JudgeFailed      no reply: the endpoint cannot be reached, answered an HTTP error or timed out; the
    │                    command could not start, exited non-zero or timed out
    └── InvalidReply     a reply came but is not JSON, does not match the reply schema, or cites steps the
                         session does not have
"""

from __future__ import annotations

from tracer.errors import JudgeError


class BadRubric(JudgeError):
    """The rubric file cannot be read, is not TOML or JSON, or does not follow the rubric schema."""


class JudgeFailed(JudgeError):
    """The model or command gave no reply to use."""


class InvalidReply(JudgeError):
    """The judge's reply is not JSON, does not match the reply schema, or cites steps that do not exist."""


__all__ = ["BadRubric", "InvalidReply", "JudgeError", "JudgeFailed"]
