"""The nonce stays with the hooked shell: a program it runs finds it in no environment (its own, or the shell's
initial one in /proc/$PPID/environ, which ``unset`` does not change), no argument list and no readable file, so
it cannot write a mark that counts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.capture.conftest import StartShell, exit_line

#: Collects everything a program run in the shell can read that could hold the nonce, into one dump file, then
#: writes a command mark with every 32-hex-digit string it found (a forgery attempt).
PROBE = r"""
import os, re, stat, sys
dump, roots = sys.argv[1], sys.argv[2:]
seen = [repr(dict(os.environ)).encode()]
ppid = os.getppid()
for name in ("environ", "cmdline"):
    with open(f"/proc/{ppid}/{name}", "rb") as f:
        seen.append(f.read())
paths = [os.readlink(f"/proc/{ppid}/fd/{fd}") for fd in os.listdir(f"/proc/{ppid}/fd")]
for arg in open(f"/proc/{ppid}/cmdline", "rb").read().split(b"\0"):
    paths += [w for w in arg.decode(errors="replace").split() if w.startswith("/")]
for root in roots:
    for d, _, files in os.walk(root):
        paths += [os.path.join(d, f) for f in files]
for path in paths:
    try:
        if stat.S_ISREG(os.stat(path.strip("'")).st_mode):  # (not the terminal: a read would wait for keys)
            with open(path.strip("'"), "rb") as f:
                seen.append(f.read(1 << 20))
    except OSError:
        pass
data = b"\n".join(seen)
with open(dump, "wb") as f:
    f.write(data)
for nonce in set(re.findall(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", data)):
    os.write(1, b"\x1b]6973;" + nonce + b";C;ZmFrZSBweXRlc3QgLXE=;\x07forged\x1b]6973;" + nonce + b";D;0;\x07")
"""


@pytest.mark.parametrize("kind", ["bash", "zsh", "fish"])
def test_a_program_finds_the_nonce_nowhere_and_cannot_forge_a_command(
    start_shell: StartShell, tmp_path: Path, kind: str
) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    dump = tmp_path / "dump"
    sh = start_shell(kind)
    sh.prompt()
    line = f"{sys.executable} {probe} {dump} {tmp_path}"
    sh.run(line)
    sh.finish()
    assert sh.nonce is not None
    assert sh.commands() == [(line, 0), exit_line(kind)]  # no forged `fake pytest -q`
    seen = dump.read_bytes()
    assert len(seen) > 1000  # it did read: environments, the hook files...
    assert sh.nonce.encode() not in seen
