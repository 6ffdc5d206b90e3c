"""verify() on a real Rust crate with ``cargo test`` (no dependencies, so it builds offline).

One crate for the module, and one CARGO_TARGET_DIR shared by every run, so each build only recompiles the
crate itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import git
from tracer.model import VerifyResult

from .conftest import Repo, verify_patch

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")

LIB = """\
pub fn add(a: i32, b: i32) -> i32 {
    a - b
}

pub fn mul(a: i32, b: i32) -> i32 {
    a * b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn multiplies() {
        assert_eq!(mul(2, 3), 6);
    }

    #[test]
    #[ignore]
    fn slow() {}
}
"""
CARGO_TOML = '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, str]:
    """The crate's repository and the test command (with a shared target directory)."""
    path = tmp_path_factory.mktemp("crate") / "calc"
    path.mkdir()
    repo = Repo(path)
    git(path, "init", "-q", "-b", "main")
    repo.commit({"Cargo.toml": CARGO_TOML, "src/lib.rs": LIB, ".gitignore": "/target\n"}, "start")
    target = tmp_path_factory.mktemp("cargo-target")
    return repo, f"CARGO_TARGET_DIR={target} cargo test --offline"


def run(crate: tuple[Repo, str], patch: str, *, compare_base: bool = False) -> VerifyResult:
    repo, command = crate
    return verify_patch(
        repo, patch, test_command=command, command_source="header", timeout=300, compare_base=compare_base
    )


def test_cargo_fix_is_resolved_per_test(crate: tuple[Repo, str]) -> None:
    repo, _ = crate
    patch = repo.patch_of({"src/lib.rs": LIB.replace("a - b", "a + b")})
    result = run(crate, patch, compare_base=True)
    assert result.verdict == "resolved", result.output
    assert result.runner == "cargo"
    assert {t.name: t.status for t in result.tests} == {
        "src/lib.rs::tests::adds": "passed",
        "src/lib.rs::tests::multiplies": "passed",
        "src/lib.rs::tests::slow": "skipped",
    }
    assert result.fail_to_pass == ("src/lib.rs::tests::adds",)
    assert result.pass_to_fail == ()


def test_cargo_build_failure_is_flagged(crate: tuple[Repo, str]) -> None:
    repo, _ = crate
    patch = repo.patch_of({"src/lib.rs": LIB.replace("a - b", "a + ")})
    result = run(crate, patch)
    assert result.verdict == "failed"
    assert result.exit_status == 101
    assert result.flagged is not None and "no failing test" in result.flagged


def test_cargo_wrong_patch_fails(crate: tuple[Repo, str], tmp_path: Path) -> None:
    repo, _ = crate
    patch = repo.patch_of({"src/lib.rs": LIB.replace("a * b", "a * b + 1")})
    result = run(crate, patch, compare_base=True)
    assert result.verdict == "failed"
    assert result.failed == 2
    assert result.pass_to_fail == ("src/lib.rs::tests::multiplies",)
    assert result.fail_to_pass == ()
