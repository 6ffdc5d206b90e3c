"""A real HTTP server on 127.0.0.1 that speaks the chat-completions protocol with canned replies.

What is under test is tracer's client; the server records each request (path, headers, JSON body) and answers
with the next canned :class:`Canned` reply, or holds the request until the test ends (a model that never
answers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Canned:
    """One reply: status, body, headers; ``hang`` holds the request open until the server stops."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: Any


def completion(content: str, finish_reason: str = "stop") -> Canned:
    """A chat completion whose first choice's message holds ``content``."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "judge-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }
    return Canned(body=json.dumps(body).encode())


class ChatServer:
    """The server; ``url`` is its base (``http://127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.replies: list[Canned] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                server.requests.append(Seen(self.path, dict(self.headers.items()), json.loads(raw)))
                reply = server.replies.pop(0) if server.replies else Canned(500, b'{"error": "no reply canned"}')
                if reply.hang:
                    server.stopping.wait(60)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="chat-server", daemon=True)

    def reply(self, *replies: Canned) -> None:
        """Answer the next requests with these, in order."""
        self.replies.extend(replies)


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    """A running :class:`ChatServer`, stopped (and any held request released) at the end."""
    server = ChatServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(10)
