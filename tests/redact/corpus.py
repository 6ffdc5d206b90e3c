"""A corpus of ordinary terminal output with no secret in it, made by running real commands: what false
positives are measured on (tests/redact/test_false_positives.py, bench/bench_redact.py).

Pieces: ``git log --stat`` and ``git log -p`` of a repository with 40 commits of Python code, pytest's output
(verbose, with failures and a traceback), a Python traceback, C compiler errors (when a compiler is there),
hashes (``sha256sum``, ``md5sum``, ``git rev-list``), UUIDs, base64 of ordinary text, ``ls -la``, and ``cat`` of
Python's own modules that handle passwords, tokens and Authorization headers (urllib.request, smtplib, netrc,
ftplib, getpass, http.cookiejar).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "LANG": "C.UTF-8",
}


def _run(args: list[str], cwd: Path, *, stdin: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PYTEST_"))} | _ENV
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, input=stdin, timeout=120, check=False)
    return (proc.stdout + proc.stderr).replace(b"\n", b"\r\n")  # as a terminal shows it


def _module(i: int) -> str:
    return textwrap.dedent(
        f'''\
        """Module {i}: parsing and formatting of records (auth tokens are read from the environment)."""

        import os


        def parse_{i}(line: str, token: str | None = None) -> dict[str, str]:
            """Split ``key=value`` pairs; ``token`` is passed on to the client."""
            token = token or os.environ.get("API_TOKEN")
            password = None  # asked for interactively
            fields = dict(part.split("=", 1) for part in line.split(";") if "=" in part)
            fields["checksum"] = "{uuid.uuid4().hex}"
            return fields


        def render_{i}(fields: dict[str, str], secret_name: str = "db-password") -> str:
            return ", ".join(f"{{k}}={{v}}" for k, v in sorted(fields.items())) + f" ({{secret_name}})"
        '''
    )


def build(folder: Path) -> dict[str, bytes]:
    """Run the commands in ``folder`` (made if missing); ``{name: output}``."""
    folder.mkdir(parents=True, exist_ok=True)
    repo = folder / "repo"
    repo.mkdir(exist_ok=True)
    _run(["git", "init", "-q", "-b", "main"], repo)
    for i in range(40):
        (repo / f"mod_{i % 8}.py").write_text(_module(i))
        _run(["git", "add", "-A"], repo)
        _run(["git", "commit", "-q", "-m", f"mod_{i % 8}: handle empty records ({i})\n\nRefs #{100 + i}."], repo)
    out: dict[str, bytes] = {
        "git log --stat": _run(["git", "log", "--stat", "--format=fuller"], repo),
        "git log -p": _run(["git", "log", "-p", "-n", "15"], repo),
    }
    tests = folder / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "test_things.py").write_text(
        textwrap.dedent(
            """\
            import pytest

            @pytest.mark.parametrize("n", range(30))
            def test_numbers(n):
                assert n % 7 != 6, f"bad number {n}"

            def test_dict():
                token_count = {"input": 12, "output": 30}
                assert token_count == {"input": 12, "output": 31}

            def test_error():
                raise ValueError("password must not be empty")
            """
        )
    )
    out["pytest -v"] = _run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(tests)], folder)
    (folder / "bad.py").write_text(
        "import json\n\ndef load(p):\n    return json.loads(open(p).read())\n\nload('missing.json')\n"
    )
    out["python traceback"] = _run([sys.executable, "bad.py"], folder)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        (folder / "bad.c").write_text(
            '#include <stdio.h>\nint main(void) {\n  int x = "s";\n  printf("%d\\n", y);\n}\n'
        )
        out["cc errors"] = _run([cc, "-Wall", "-c", "bad.c", "-o", os.devnull], folder)
    files = sorted(str(p) for p in repo.glob("*.py"))
    out["sha256sum"] = _run(["sha256sum", *files], folder)
    out["md5sum"] = _run(["md5sum", *files], folder)
    out["git rev-list"] = _run(["git", "rev-list", "--all"], repo)
    out["uuids"] = "".join(f"{uuid.uuid4()}\r\n" for _ in range(200)).encode()
    out["base64"] = _run(["base64"], folder, stdin=out["git log --stat"][:20000])
    out["ls -la"] = _run(["ls", "-la", str(repo)], folder)
    # code that handles passwords, tokens and Authorization headers: Python's own (cat of its modules)
    for name in ("urllib/request.py", "smtplib.py", "netrc.py", "ftplib.py", "getpass.py", "http/cookiejar.py"):
        out[f"cat {name}"] = _run(["cat", str(Path(os.__file__).parent / name)], folder)
    return out


def masked_bytes(original: bytes, masked: bytes) -> int:
    """How many bytes masking changed (output keeps its length: one ``*`` per masked byte)."""
    return sum(1 for a, b in zip(original, masked, strict=True) if a != b)
