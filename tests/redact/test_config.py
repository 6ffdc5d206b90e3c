"""The user's rules and allowlist in ~/.config/tracer/config.toml: applied at the right stage, and every
mistake in the file a clear error naming the file and the line, before anything is recorded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redact.conftest import rnd
from tracer.config import load_config
from tracer.errors import ConfigError
from tracer.redact import check_config, export_redactor, record_redactor


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml")
    assert config.rules == () and config.retention_days is None


def test_user_rules_and_allowlist(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
retention_days = 30

[redact]
allowlist = ['^sk_live_ALLOWED']

[[redact.rules]]
name = "acme-token"
regex = 'acme_[a-z0-9]{24}'
keywords = ["acme_"]

[[redact.rules]]
name = "ticket"
regex = 'TICKET-[0-9]{6}'
stage = "export"
""",
    )
    config = load_config(path)
    assert config.retention_days == 30 and [r.name for r in config.rules] == ["acme-token", "ticket"]
    acme = "acme_" + rnd(24, "abcdefghijklmnopqrstuvwxyz0123456789")
    text = f"token {acme} for TICKET-123456, test key sk_live_ALLOWED{rnd(16)}"
    recorded = record_redactor(config).text(text)
    assert "[REDACTED:acme-token:1]" in recorded and "TICKET-123456" in recorded and "sk_live_ALLOWED" in recorded
    exported = export_redactor(config).text(text)
    assert "[REDACTED:ticket:1]" in exported
    assert record_redactor(config).rules.label == f"rules v1 + 1 of {path}"


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ("retention_days = 30\n[redact\n", 2, "not valid TOML"),
        ("retention_days = 'soon'\n", 1, "retention_days must be a whole number"),
        ("colour = 'blue'\n", 1, "unknown setting 'colour'"),
        ("[redact]\nallowlist = ['(unclosed']\n", 2, "allowlist entry '(unclosed' does not compile"),
        (
            "\n[[redact.rules]]\nname = 'ok'\nregex = 'a+'\n\n[[redact.rules]]\nname = 'bad'\nregex = '(?<=x)y'\n",
            8,
            "rule 'bad'",
        ),
        ("[[redact.rules]]\nname = 'x'\nregex = 'a'\nkeyword = ['a']\n", 4, "unknown key 'keyword'"),
        ("[[redact.rules]]\nname = 'x'\nregex = 'a'\nstage = 'later'\n", 4, "stage of rule 'x'"),
        ("[[redact.rules]]\nregex = 'a'\n", 1, "a rule needs a name"),
    ],
)
def test_a_mistake_names_the_file_and_the_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        check_config(load_config(path))
    message = str(e.value)
    assert str(path) in message and needle in message
    assert f"line {line}" in message, message


def shell_with_config(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """``tracer shell -q -c 'echo hi'`` in ``tmp_path`` with the configuration file ``path``."""
    env = {**os.environ, "TRACER_CONFIG": str(path), "TRACER_DIR": str(tmp_path / "sessions")}
    return subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-c", "echo hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_a_bad_rule_stops_tracer_shell_before_it_records(tmp_path: Path) -> None:
    path = write(tmp_path, "[[redact.rules]]\nname = 'bad'\nregex = 'a(b'\n")
    proc = shell_with_config(tmp_path, path)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"tracer: {path}, line 3: the regex of rule 'bad' does not compile")
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").iterdir())


def test_a_configuration_file_that_is_a_fifo_is_a_clear_error_not_a_wait(tmp_path: Path) -> None:
    """A FIFO where the configuration file should be: opening it for reading waited for a writer for ever, and
    tracer shell with it (before anything was recorded). Now it is refused, named, at once."""
    path = tmp_path / "config.toml"
    os.mkfifo(path)
    proc = shell_with_config(tmp_path, path)
    assert proc.returncode == 3, proc.stderr
    message = f"tracer: cannot read the configuration file {path}: not a regular file; fix it or remove it\n"
    assert proc.stderr == message


def test_a_cache_that_is_a_fifo_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled rules' cache (and any cache) replaced by a FIFO is rebuilt, not waited on."""
    from tracer.redact import _rules
    from tracer.store.cache import load_cache

    monkeypatch.setenv("TRACER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "rules").mkdir(parents=True)
    os.mkfifo(tmp_path / "cache" / "rules" / "x.bin")
    assert _rules._cached("x.bin", b"key", lambda: b"built") == b"built"
    os.mkfifo(tmp_path / "fifo.msgpack")
    assert load_cache(tmp_path / "fifo.msgpack") is None


def test_installs_with_the_same_rules_share_their_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two installs of tracer (a venv beside pipx's): the same rule files with other times. The second reads the
    first one's cache instead of parsing the rules again and writing it over; rules that differ get their own."""
    from tracer.redact import _rules

    monkeypatch.setenv("TRACER_CACHE_DIR", str(tmp_path / "cache"))
    source = Path(_rules.__file__).parent / "rules"
    first, second, changed = (tmp_path / name for name in ("first", "second", "changed"))
    for i, folder in enumerate((first, second, changed)):
        shutil.copytree(source, folder)
        for f in folder.iterdir():
            os.utime(f, ns=(10**18 + i, 10**18 + i))  # each install's own times
    cache = tmp_path / "cache" / "rules"

    def written() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}

    data = _rules.rule_data(str(first))
    before = written()
    assert len(before) == 1
    assert _rules.rule_data(str(second)) == data
    assert written() == before  # read, not rebuilt
    tracer_toml = changed / "tracer.toml"
    tracer_toml.write_text(tracer_toml.read_text() + '\n[[rules]]\nid = "extra-rule"\nregex = "xyzzy[0-9]{8}"\n')
    ours, _ = _rules.rule_data(str(changed))
    assert "extra-rule" in [r["id"] for r in ours["rules"]]
    assert len(written()) == 2


def test_a_user_rule_without_keywords_masks_its_value_and_stays_out_of_the_cache(tmp_path: Path) -> None:
    value = rnd(20)
    path = write(tmp_path, f"[[redact.rules]]\nname = 'my-password'\nregex = '{value}'\nstage = 'export'\n")
    redactor = export_redactor(load_config(path))
    data = b"".join(b"%d\r\n" % i for i in range(10000)) + f"pw {value}\r\n".encode() + b"x" * 40000
    out = redactor.output(data)
    assert value.encode() not in out and out.count(b"*" * len(value)) == 1
    cache = Path(os.environ["TRACER_CACHE_DIR"])
    assert not any(value.encode() in f.read_bytes() for f in cache.rglob("*") if f.is_file())
