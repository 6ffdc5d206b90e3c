"""Realistic secrets, made at random for each test (never a published EXAMPLE value), and where to plant them."""

from __future__ import annotations

import base64
import json
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

ALNUM = string.ascii_letters + string.digits


def rnd(n: int, alphabet: str = ALNUM) -> str:
    """``n`` characters drawn at random from ``alphabet``; from an alphabet of letters and digits, with at least
    one of each (a random-looking value must mix them to count as one at export: see
    ``tracer.redact._checks.high_entropy``; 32 letters alone come up once in 300 draws)."""
    while True:
        out = "".join(secrets.choice(alphabet) for _ in range(n))
        mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet) and n >= 2
        if not mixed or (any(c.isdigit() for c in out) and any(c.isalpha() for c in out)):
            return out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt() -> str:
    """A JSON Web Token as a server would issue it: HS256 header, random subject, random signature."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps({"sub": rnd(12), "iat": 1764547200 + secrets.randbelow(10**6)}).encode())
    return f"{header}.{payload}.{b64url(secrets.token_bytes(32))}"


def pem_lines(n: int = 12) -> list[str]:
    """The body of a PEM block: ``n`` lines of 64 base64 characters of random bytes."""
    body = base64.b64encode(secrets.token_bytes(48 * n)).decode()
    return [body[i : i + 64] for i in range(0, len(body), 64)]


@dataclass
class Planted:
    """Every secret and identifying value of one test session."""

    user: str
    github: str = field(default_factory=lambda: "ghp_" + rnd(36))
    aws_id: str = field(default_factory=lambda: "AKIA" + rnd(16, string.ascii_uppercase + "234567"))
    aws_secret: str = field(default_factory=lambda: rnd(40, ALNUM + "/+"))
    stripe: str = field(default_factory=lambda: "sk_live_" + rnd(24))
    slack: str = field(default_factory=lambda: f"xoxb-{rnd(11, string.digits)}-{rnd(12, string.digits)}-{rnd(24)}")
    db_password: str = field(default_factory=lambda: rnd(6) + "7" + rnd(9))
    pem: list[str] = field(default_factory=pem_lines)
    token: str = field(default_factory=jwt)
    url_password: str = field(default_factory=lambda: rnd(20))
    openai: str = field(default_factory=lambda: f"sk-proj-{rnd(74, ALNUM + '_-')}T3BlbkFJ{rnd(74, ALNUM + '_-')}")
    hf: str = field(default_factory=lambda: "hf_" + rnd(34, string.ascii_letters))
    gitlab: str = field(default_factory=lambda: "glpat-" + rnd(20))
    api_key: str = field(default_factory=lambda: rnd(32))
    email: str = field(
        default_factory=lambda: f"{rnd(6, string.ascii_lowercase)}.dev@corp-{rnd(6, string.ascii_lowercase)}.io"
    )
    ip: str = field(
        default_factory=lambda: (
            f"10.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 2}"
        )
    )
    home: str = ""

    @property
    def url(self) -> str:
        return f"https://deploy:{self.url_password}@git.corp-{rnd(5, string.ascii_lowercase)}.io/app.git"

    @property
    def task(self) -> str:
        return f"fix the login (GITLAB_TOKEN={self.gitlab})"

    @property
    def test_command(self) -> str:
        return f"API_KEY={self.api_key} python -m pytest -q"

    @property
    def secrets(self) -> list[str]:
        """Every secret (the random part of each)."""
        payload_and_signature = self.token.split(".", 1)[1]
        return [
            self.github,
            self.aws_id,
            self.aws_secret,
            self.stripe,
            self.slack,
            self.db_password,
            *self.pem,
            payload_and_signature,
            self.url_password,
            self.openai,
            self.hf,
            self.gitlab,
            self.api_key,
        ]

    @property
    def identity(self) -> list[str]:
        """What says whose machine it is: masked at export time only."""
        return [self.email, self.ip, self.home, self.user]

    def write_files(self, folder: Path) -> None:
        """The files the session shows: .env, a private key, a log, a config file, contacts."""
        (folder / ".env").write_text(
            f"AWS_ACCESS_KEY_ID={self.aws_id}\nAWS_SECRET_ACCESS_KEY={self.aws_secret}\n"
            f"STRIPE_KEY={self.stripe}\nSLACK_BOT_TOKEN={self.slack}\nDB_PASSWORD={self.db_password}\n"
        )
        (folder / "id_rsa").write_text(
            "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(self.pem) + "\n-----END RSA PRIVATE KEY-----\n"
        )
        (folder / "app.log").write_text(
            f"2026-12-01T10:00:00Z INFO http GET /api/me 200 token={self.token} 12ms\n"
            "2026-12-01T10:00:01Z INFO http GET /health 200 1ms\n"
        )
        (folder / "settings.py").write_text(f'DEBUG = False\nOPENAI_API_KEY = "{self.openai}"\nTIMEOUT = 30\n')
        (folder / "contacts.txt").write_text(f"owner: Alice Martin <{self.email}> on host {self.ip}\n")

    def assert_absent(self, data: bytes, values: list[str], *, where: str) -> None:
        """None of ``values`` in ``data``, nor any 16-character piece of a secret (a leaked half of a secret is a
        leak too)."""
        for value in values:
            raw = value.encode()
            assert raw not in data, f"{value[:6]}… is in {where}"
            if len(raw) > 24 and value in self.secrets:
                for i in range(len(raw) - 16 + 1):
                    assert raw[i : i + 16] not in data, f"a piece of {value[:6]}… ({raw[i : i + 16]!r}) is in {where}"


def plant(user: str) -> Planted:
    """New secrets for a session of ``user``."""
    return Planted(user=user)
