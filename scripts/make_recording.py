#!/usr/bin/env python3
"""Make recordings/slugify-unicode.tracer: a short, real debugging session recorded by tracer itself.

A small Python project is created in a temporary git repository; `tracer shell` runs a real bash in a PTY
(driven by pexpect, typing at a human pace); the tests fail, a note is added, the bug is fixed with an edit,
the tests pass, the shell exits; then `tracer verify` adds its verdict. Run from the repository root:

    python scripts/make_recording.py [--out recordings/slugify-unicode.tracer]

Needs the test dependencies (pexpect, pytest): pip install -e '.[test]'.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

# \[ \] mark the colour codes as zero-width, so bash knows where the prompt ends
PS1 = r"\[\e[1;32m\]dev\[\e[0m\]:\[\e[1;34m\]slugify\[\e[0m\]$ "
PROMPT_SEEN = "slugify\x1b[0m$ "

FILES = {
    "slugify/__init__.py": 'from slugify.core import slugify\n\n__all__ = ["slugify"]\n',
    "slugify/core.py": (
        "import re\n"
        "import unicodedata\n\n\n"
        "def slugify(text: str) -> str:\n"
        '    """Lower-case words of text joined by dashes: \'Crème Brûlée\' -> \'creme-brulee\'."""\n'
        '    text = re.sub(r"[^A-Za-z0-9]+", " ", text)\n'
        '    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()\n'
        '    return "-".join(text.lower().split())\n'
    ),
    "tests/test_core.py": (
        "from slugify import slugify\n\n\n"
        'def test_ascii():\n    assert slugify("Hello, World!") == "hello-world"\n\n\n'
        'def test_unicode():\n    assert slugify("Crème Brûlée") == "creme-brulee"\n\n\n'
        'def test_spaces():\n    assert slugify("  many   spaces  ") == "many-spaces"\n'
    ),
    "pyproject.toml": '[project]\nname = "slugify-demo"\nversion = "0.1.0"\n',
}

FIXED = '    text = re.sub(r"[^A-Za-z0-9]+", " ", text)\n'


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def type_line(child: pexpect.spawn, line: str, pace: float) -> None:
    for ch in line:
        child.send(ch)
        time.sleep(pace)
    child.send("\r")
    child.expect_exact(PROMPT_SEEN, timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="recordings/slugify-unicode.tracer")
    ap.add_argument("--pace", type=float, default=0.03, help="seconds between typed characters")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory(prefix="tracer-demo-") as tmp:
        base = Path(tmp)
        repo = base / "slugify"
        for name, content in FILES.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(content)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "slugify: first version")
        (base / "out").mkdir()
        home = base / "home"
        home.mkdir()
        (home / ".bashrc").write_text(f"PS1='{PS1}'\nalias ll='ls -l --color=auto'\n")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "SHELL": "/bin/bash",
            "TRACER_DIR": str(base / "sessions"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        child = pexpect.spawn(
            sys.executable,
            [
                "-m",
                "tracer",
                "shell",
                "-o",
                str(base / "out"),
                "--task",
                "fix: slugify drops the accented letters",
                "--test-command",
                "python -m pytest -q -p no:cacheprovider",
            ],
            cwd=str(repo),
            env=env,
            encoding="utf-8",
            dimensions=(24, 90),
            timeout=60,
        )
        child.expect_exact(PROMPT_SEEN)
        p = args.pace
        type_line(child, "python -m pytest -q -p no:cacheprovider", p)
        type_line(child, "python -c 'from slugify import slugify; print(slugify(\"Crème Brûlée\"))'", p)
        type_line(
            child,
            "tracer note --tag hypothesis 'the regex drops non-ASCII letters before NFKD can transliterate them'",
            p,
        )
        type_line(child, "grep -n 're.sub' slugify/core.py", p)
        # the fix: transliterate first, then replace what is left
        type_line(child, "sed -i '7{h;d};8G' slugify/core.py && git diff --color", p)
        type_line(child, "python -m pytest -q -p no:cacheprovider", p)
        type_line(child, "tracer note --tag fix 'normalize before stripping: all three tests pass'", p)
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()
        subprocess.run(
            [sys.executable, "-m", "tracer", "verify", str(next((base / "out").glob("*.tracer")))],
            cwd=repo,
            env={**os.environ, **env},
            check=False,
            capture_output=True,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(next((base / "out").glob("*.tracer")), out)
        os.chmod(out, 0o644)  # a demo recording shipped with the sources: nothing private in it
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
