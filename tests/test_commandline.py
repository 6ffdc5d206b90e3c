"""tracer.commandline.tests_outcome on what real test runners print (pytest, unittest, node --test, cargo test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracer.commandline import tests_outcome as outcome_of


def output(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    return done.stdout + done.stderr


@pytest.mark.parametrize("failing", [False, True])
def test_pytest_summaries(tmp_path: Path, failing: bool) -> None:
    (tmp_path / "test_a.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\n@pytest.mark.skip\ndef test_skip():\n    pass\n\n"
        f"def test_maybe():\n    assert {not failing}\n"
    )
    for flags in (["-q"], [], ["-rA", "--color=yes"]):
        said = output([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *flags], tmp_path)
        assert outcome_of(said) is (not failing), said
        assert outcome_of("\n".join(said.splitlines()[-3:])) is (not failing)  # what `| tail -3` leaves


def test_a_collection_error_is_a_failure_and_no_tests_is_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("import no_such_module\n")
    assert outcome_of(output([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)) is False
    (tmp_path / "test_broken.py").unlink()
    assert outcome_of(output([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)) is None


@pytest.mark.parametrize("failing", [False, True])
def test_unittest_summaries(tmp_path: Path, failing: bool) -> None:
    (tmp_path / "test_u.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n"
        f"    def test_x(self):\n        self.assertTrue({not failing})\n"
    )
    assert outcome_of(output([sys.executable, "-m", "unittest", "-v"], tmp_path)) is (not failing)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("failing", [False, True])
def test_node_test_summaries(tmp_path: Path, failing: bool) -> None:
    (tmp_path / "a.test.mjs").write_text(
        "import test from 'node:test';\nimport assert from 'node:assert';\n"
        f"test('x', () => assert.ok({'false' if failing else 'true'}));\n"
    )
    said = output(["node", "--test", "--test-reporter=tap"], tmp_path)
    assert outcome_of(said) is (not failing), said


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cargo_test_summaries(tmp_path: Path) -> None:
    crate = tmp_path / "c"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "c"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "lib.rs").write_text(
        "#[cfg(test)]\nmod t {\n    #[test]\n    fn ok() {}\n"
        '    #[test]\n    fn bad() { assert!(std::env::var("FAIL").is_err()); }\n}\n'
    )
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    assert outcome_of(output(["cargo", "test", "--offline", "-q"], crate, env)) is True
    assert outcome_of(output(["cargo", "test", "--offline", "-q"], crate, {**env, "FAIL": "1"})) is False


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("ok  \tex.com/p\t0.01s\nok  \tex.com/q\t0.02s\n", True),  # go test
        ("--- FAIL: TestX (0.00s)\nFAIL\nFAIL\tex.com/p\t0.01s\n", False),
        ("Tests:       1 failed, 3 passed, 4 total\n", False),  # jest
        (" Tests  4 passed (4)\n", True),  # vitest
        ("  3 passing (12ms)\n  1 failing\n", False),  # mocha
        ("3 examples, 0 failures\n", True),  # rspec
        ("compiling…\nhello\n", None),
    ],
)
def test_summaries_of_runners_that_are_not_installed_here(text: str, outcome: bool | None) -> None:
    assert outcome_of(text) is outcome
