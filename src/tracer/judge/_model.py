"""Asking a model through an OpenAI-compatible chat-completions endpoint (one request, no retries).

The protocol is OpenAI's ``POST {base_url}/chat/completions`` (https://platform.openai.com/docs/api-reference/chat),
which llama.cpp's server, Ollama, vLLM and hosted services all speak. tracer sends one request with
``temperature`` 0 and, by default, ``response_format`` ``{"type": "json_schema", ...}`` (structured outputs; the
same schema constrains the grammar of local servers); ``json_object`` (JSON mode) or none can be chosen for
servers without it.

Only the given URL is contacted: Python's ``http.client`` directly, so no proxy from the environment, and a
redirect is an error rather than followed. The whole exchange is bounded: ``timeout`` seconds from the start of
the connection to the last byte of the reply (each wait is given what is left), and the reply's body at most
:data:`MAX_REPLY_BYTES`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tracer.errors import UsageError
from tracer.judge.errors import JudgeFailed

#: The largest reply body read, in bytes.
MAX_REPLY_BYTES = 8 << 20
#: ``response_format`` choices: structured outputs, JSON mode, or none.
RESPONSE_FORMATS = ("json_schema", "json_object", "none")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a chat-completions request goes.

    Attributes:
        url: the full URL requested (query kept).
        shown: the URL without query, for messages and the stored result.
    """

    url: str
    shown: str
    scheme: str
    host: str
    port: int | None
    target: str  # path and query


def endpoint(base_url: str) -> Endpoint:
    """The chat-completions endpoint of ``base_url``: ``{base_url}/chat/completions``, or ``base_url`` itself
    when it already ends in ``/chat/completions``.

    Raises:
        UsageError: the URL is not ``http://`` or ``https://`` with a host, or carries a user or password (the key
            belongs in an environment variable).
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url {base_url!r} is not an http:// or https:// URL with a host, "
            "e.g. http://127.0.0.1:8080/v1 (llama.cpp), http://127.0.0.1:11434/v1 (Ollama)"
        )
    if parts.username or parts.password:
        raise UsageError(
            f"--base-url {parts.hostname}: leave the user and password out of the URL; "
            "put the API key in TRACER_JUDGE_API_KEY (or the variable --api-key-env names)"
        )
    try:
        port = parts.port
    except ValueError as e:
        raise UsageError(f"--base-url {base_url!r} has a bad port: {e}") from e
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    target = path + (f"?{parts.query}" if parts.query else "")
    netloc = parts.netloc
    return Endpoint(
        url=urllib.parse.urlunsplit((parts.scheme, netloc, path, parts.query, "")),
        shown=urllib.parse.urlunsplit((parts.scheme, netloc, path, "", "")),
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        target=target,
    )


def chat_request(
    model: str | None, messages: list[dict[str, str]], schema: dict[str, Any], response_format: str
) -> dict[str, Any]:
    """The request body: ``model`` (left out when ``None``), ``messages``, ``temperature`` 0, ``stream`` false, and
    ``response_format`` (``json_schema`` with ``schema`` as a strict schema named ``tracer_judge``, ``json_object``,
    or left out for ``none``)."""
    body: dict[str, Any] = {"model": model} if model is not None else {}
    body.update(messages=messages, temperature=0, stream=False)
    if response_format == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "tracer_judge", "strict": True, "schema": schema},
        }
    elif response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    return body


def ask_model(where: Endpoint, body: dict[str, Any], *, api_key: str | None, timeout: float) -> str:
    """Send ``body`` to ``where`` and return the content of the first choice's message.

    Args:
        where: the endpoint (:func:`endpoint`).
        body: the request (:func:`chat_request`).
        api_key: sent as ``Authorization: Bearer KEY`` when given.
        timeout: seconds for the whole exchange.

    Raises:
        JudgeFailed: the endpoint cannot be reached, does not answer within ``timeout``, answers a status
            other than 200 (its error message is quoted), redirects, sends a body over :data:`MAX_REPLY_BYTES`
            or one that is not a chat completion, or the model stopped at its token limit or refused.
    """
    model = body.get("model")
    deadline = time.monotonic() + timeout
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "tracer-judge",
    }
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    conn: http.client.HTTPConnection
    if where.scheme == "https":
        conn = http.client.HTTPSConnection(
            where.host, where.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(where.host, where.port, timeout=timeout)
    try:
        try:
            conn.connect()  # (a TimeoutError, socket.timeout's name since Python 3.10, when it takes too long)
            _wait(conn, deadline)
            conn.request("POST", where.target, body=payload, headers=headers)
            _wait(conn, deadline)
            response = conn.getresponse()
            data = _read_body(conn, response, deadline, where)
        except TimeoutError as e:
            raise JudgeFailed(
                f"{where.shown} gave no reply within {timeout:g} s (--timeout); nothing was stored"
            ) from e
        except ssl.SSLError as e:
            raise JudgeFailed(f"cannot talk TLS with {where.shown}: {e.reason or e}; nothing was stored") from e
        except (OSError, http.client.HTTPException) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            raise JudgeFailed(
                f"cannot reach {where.shown}: {why} (is the server running there?); nothing was stored"
            ) from e
    finally:
        conn.close()
    if 300 <= response.status < 400:
        raise JudgeFailed(
            f"{where.shown} redirects (HTTP {response.status}) to {response.getheader('Location')}; tracer follows "
            "no redirects: pass the final URL as --base-url; nothing was stored"
        )
    if response.status != 200:
        raise JudgeFailed(
            f"{where.shown} answered HTTP {response.status} {response.reason}: {_error_message(data)}; "
            "nothing was stored"
        )
    return _content(data, where, model)


def _wait(conn: http.client.HTTPConnection, deadline: float) -> None:
    """Give the connection's next wait only the time left before ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if conn.sock is not None:
        conn.sock.settimeout(left)


def _read_body(
    conn: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float, where: Endpoint
) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_REPLY_BYTES:
        raise JudgeFailed(f"{where.shown} sent a reply of {length} bytes, over {MAX_REPLY_BYTES >> 20} MiB")
    chunks: list[bytes] = []
    size = 0
    while True:
        _wait(conn, deadline)
        chunk = response.read1(64 << 10)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise JudgeFailed(f"{where.shown} sent a reply over {MAX_REPLY_BYTES >> 20} MiB; nothing was stored")
        chunks.append(chunk)


def _error_message(data: bytes) -> str:
    """The error an OpenAI-style error body carries (``{"error": {"message": …}}``), else the body's start."""
    text = data.decode("utf-8", "replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = json.loads(text)["error"]
        message = error["message"] if isinstance(error, dict) else error
        if isinstance(message, str) and message.strip():
            return " ".join(message.split())[:500]
    return " ".join(text.split())[:300] or "(no body)"


def _content(data: bytes, where: Endpoint, model: object) -> str:
    """The first choice's message content of a chat completion."""
    try:
        reply = json.loads(data)
        choice = reply["choices"][0]
        message = choice["message"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        start = " ".join(data.decode("utf-8", "replace").split())[:200]
        raise JudgeFailed(
            f"{where.shown} did not answer with a chat completion (no choices[0].message); it began: {start!r}; "
            "is it an OpenAI-compatible /v1 endpoint? nothing was stored"
        ) from e
    if not isinstance(message, dict):
        raise JudgeFailed(f"{where.shown} answered a chat completion without a message; nothing was stored")
    content = message.get("content")
    if isinstance(content, str) and content.strip():
        if choice.get("finish_reason") == "length":
            raise JudgeFailed(
                f"the model {model} at {where.shown} stopped at its token limit before its reply was complete; "
                "give it a larger context or lower --max-chars; nothing was stored"
            )
        return content
    refusal = message.get("refusal")
    said = f": {' '.join(str(refusal).split())[:300]}" if refusal else ""
    raise JudgeFailed(f"the model {model} at {where.shown} gave no content{said}; nothing was stored")


__all__ = ["MAX_REPLY_BYTES", "RESPONSE_FORMATS", "Endpoint", "ask_model", "chat_request", "endpoint"]
