"""cargo and node: tracer's per-test statuses against the ``swebench`` package's own log parsers, on the same
real runs (go is not installed on the machines this project tests on; its parser reads ``--- PASS`` lines as
tracer's ``-v`` parser does)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tracer.model import VerifyResult
from tracer.verify import harness_name

from .conftest import Repo, verify_patch
from .test_verify_node import CALC, CALC_FIXED, PACKAGE
from .test_verify_node import TESTS as NODE_TESTS

pytest.importorskip("swebench", reason="the swebench package is not installed: pip install -e '.[swebench]'")
from swebench.harness.log_parsers.javascript import parse_log_tap
from swebench.harness.log_parsers.rust import parse_log_cargo

HARNESS = {"passed": "PASSED", "failed": "FAILED"}  # the parsers name no skipped or ignored test


def agree(result: VerifyResult, output: str, parse: Callable[[str, None], dict[str, str]]) -> None:
    harness = parse(output, None)
    ours = {harness_name(t.name, result.runner): HARNESS[t.status] for t in result.tests if t.status in HARNESS}
    assert {n: s for n, s in harness.items() if n in ours or s == "FAILED"} == ours, output


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_tap_agrees(make_repo: Callable[..., Repo]) -> None:
    project = make_repo({"calc.js": CALC, "test/calc.test.js": NODE_TESTS, "package.json": PACKAGE})
    patch = project.patch_of({"calc.js": CALC_FIXED})
    result = verify_patch(project, patch, test_command="node --test --test-reporter=tap", compare_base=True)
    assert result.base_output is not None
    agree(result, result.output, parse_log_tap)  # type: ignore[arg-type]
    assert parse_log_tap(result.base_output, None)["- add"] == "FAILED"  # type: ignore[arg-type]
    assert result.fail_to_pass == ("add",)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cargo_agrees(make_repo: Callable[..., Repo], tmp_path_factory: pytest.TempPathFactory) -> None:
    from .test_verify_cargo import CARGO_TOML, LIB

    project = make_repo({"Cargo.toml": CARGO_TOML, "src/lib.rs": LIB, ".gitignore": "/target\n"})
    patch = project.patch_of({"src/lib.rs": LIB.replace("a - b", "a + b")})
    target = tmp_path_factory.mktemp("target")
    result = verify_patch(
        project, patch, test_command=f"CARGO_TARGET_DIR={target} cargo test --offline", compare_base=True, timeout=300
    )
    assert result.base_output is not None
    agree(result, result.output, parse_log_cargo)  # type: ignore[arg-type]
    assert parse_log_cargo(result.base_output, None)["tests::adds"] == "FAILED"  # type: ignore[arg-type]
    assert [harness_name(n, "cargo") for n in result.fail_to_pass or ()] == ["tests::adds"]
