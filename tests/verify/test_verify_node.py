"""verify() on a real Node.js package tested with ``node --test`` (node's TAP output, read per test)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from .conftest import Repo, verify_patch

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

CALC = "exports.add = (a, b) => a - b;\nexports.mul = (a, b) => a * b;\n"
CALC_FIXED = CALC.replace("a - b", "a + b")
TESTS = """\
const test = require('node:test');
const assert = require('node:assert');
const { add, mul } = require('../calc');

test('add', () => { assert.strictEqual(add(2, 3), 5); });
test.describe('mul', () => {
  test.it('small', () => { assert.strictEqual(mul(2, 3), 6); });
});
"""
PACKAGE = '{"name": "calc", "version": "1.0.0", "private": true, "scripts": {"test": "node --test"}}\n'


@pytest.fixture
def project(make_repo: Callable[..., Repo]) -> Repo:
    return make_repo({"calc.js": CALC, "test/calc.test.js": TESTS, "package.json": PACKAGE})


def test_node_test_fix_is_resolved_per_test(project: Repo) -> None:
    patch = project.patch_of({"calc.js": CALC_FIXED})
    result = verify_patch(project, patch, test_command="node --test", command_source="session", compare_base=True)
    assert result.verdict == "resolved", result.output
    assert result.runner == "node"
    assert {t.name: t.status for t in result.tests} == {"add": "passed", "mul > small": "passed"}
    assert result.fail_to_pass == ("add",)
    assert result.pass_to_pass == ("mul > small",)
    assert result.pass_to_fail == ()


def test_node_test_failure(project: Repo) -> None:
    result = verify_patch(project, "", test_command="node --test")
    assert result.verdict == "failed"
    assert result.exit_status == 1
    assert (result.passed, result.failed) == (1, 1)
    assert result.flagged is None


def test_node_test_with_the_spec_reporter(project: Repo) -> None:
    patch = project.patch_of({"calc.js": CALC_FIXED})
    result = verify_patch(project, patch, test_command="node --test --test-reporter=spec")
    assert result.verdict == "passed", result.output
    assert {t.name: t.status for t in result.tests} == {"add": "passed", "mul > small": "passed"}


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_test_is_recognised_by_its_output(project: Repo) -> None:
    patch = project.patch_of({"calc.js": CALC_FIXED})
    result = verify_patch(project, patch, test_command="npm test --silent", command_source="session", timeout=120)
    assert result.verdict == "passed", result.output
    assert result.runner == "node"
    assert result.passed == 2
