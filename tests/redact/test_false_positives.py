"""False positives: ordinary terminal output (git log, pytest, compiler errors, hashes, UUIDs, base64 of text)
keeps its text. Record time masks nothing of it; export time almost nothing; git commit hashes and UUIDs never.
The fractions are reported in docs/privacy.md (bench/bench_redact.py measures them on the same corpus)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.redact.corpus import build, masked_bytes
from tracer.redact import export_redactor, record_redactor


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("corpus"))


def test_record_time_masks_nothing_of_ordinary_output(corpus: dict[str, bytes]) -> None:
    for name, data in corpus.items():
        r = record_redactor()
        r.findings = []
        out = r.output(data)
        # the one password in it: urllib.request's docstring example, add_password(..., passwd='<a password>')
        assert all(f.rule == "secret-assignment" and "passwd='***" in f.context for f in r.findings), (name, r.findings)
        assert masked_bytes(data, out) <= 16, name


def test_export_time_masks_almost_nothing_and_never_a_hash_or_uuid(corpus: dict[str, bytes]) -> None:
    total = masked = 0
    for name, data in corpus.items():
        r = export_redactor()
        out = r.output(data)
        total += len(data)
        if set(r.counts) - {"email"}:  # e-mail addresses are meant to go (smtplib's authors)
            masked += masked_bytes(data, out)
        for digest in re.findall(rb"\b[0-9a-f]{40}\b|\b[0-9a-f]{32}\b|\b[0-9a-f]{64}\b", data):
            assert digest in out, (name, digest)
        for uid in re.findall(rb"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", data):
            assert uid in out, (name, uid)
    assert masked / total < 0.001, f"{masked} of {total} bytes masked"


def test_corpus_is_real(corpus: dict[str, bytes], tmp_path: Path) -> None:
    assert b"FAILED" in corpus["pytest -v"] and b"Traceback" in corpus["python traceback"]
    assert len(corpus["git rev-list"].split()) == 40
