"""tracer's per-test truth against SWE-bench's harness, on the same real pytest runs.

Each test runs real pytest 9 (built-in subtests) through ``verify`` with ``compare_base`` on a small project,
then reads the same two outputs with the ``swebench`` package's own log parser and grades tracer's
FAIL_TO_PASS / PASS_TO_PASS lists with its own grading. Where tracer and the harness name or judge a test
differently by design, docs/verify.md says why (``harness_name``; xfail and xpass).

pytest 9 comes from ``$TRACER_TEST_PYTEST9`` (default ``.pytest9`` in the repository), a ``pip install --target``
directory that .ci/run makes: the project's own pytest stays what its plugins allow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tracer.model import VerifyResult
from tracer.verify import harness_name, verify

swebench = pytest.importorskip("swebench", reason="the swebench package is not installed: pip install -e '.[swebench]'")
from swebench.harness import grading  # noqa: E402
from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS  # noqa: E402
from swebench.harness.log_parsers.python import parse_log_pytest  # noqa: E402

PYTEST9 = Path(os.environ.get("TRACER_TEST_PYTEST9", Path(__file__).parents[2] / ".pytest9"))
if not (PYTEST9 / "pytest").is_dir():
    pytest.skip(
        f"pytest 9 is not installed in {PYTEST9}: pip install --target {PYTEST9} 'pytest>=9,<10' (.ci/run does)",
        allow_module_level=True,
    )

#: tracer's statuses as the harness' parser reports them; ``None``: the harness does not name the test.
HARNESS_STATUS = {
    "passed": "PASSED",
    "failed": "FAILED",
    "error": "ERROR",
    "xfailed": "XFAIL",
    "skipped": None,  # "SKIPPED [1] file:line: reason" names no test
    "xpassed": None,  # "XPASS" is not one of the harness' statuses
}

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_FIX = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = """\
import pytest
from calc import add


def test_add():
    assert add(2, 3) == 5


def test_sub_stays():
    assert 1 - 1 == 0


@pytest.mark.parametrize("s", ["a b", "c[d]", "x - y", "e::f"])
def test_param(s):
    assert s


class TestGroup:
    @pytest.mark.parametrize("n", [1, 2])
    def test_in_class(self, n):
        assert n


def test_subtests_skip_but_pass(subtests):
    for i in range(3):
        with subtests.test(i=i):
            if i == 1:
                pytest.skip("not this one")
            assert i != 1


def test_subtests_fail_before(subtests):
    for i in range(3):
        with subtests.test(i=i):
            assert add(i, 1) == i + 1


@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False


@pytest.mark.xfail(reason="flaky")
def test_unexpected_pass():
    assert True


def test_skipped():
    pytest.skip("no database")


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


def test_setup_error(broken):
    pass
"""
PYTEST = f"{sys.executable} -m pytest -p no:cacheprovider --continue-on-collection-errors"
TEST_MUL = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"


@pytest.fixture(autouse=True)
def _pytest9(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(PYTEST9))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # none of this environment's pytest 8 plugins


def run(tmp_path: Path, files: dict[str, str], command: str) -> VerifyResult:
    """verify --compare-base of the patch CALC_BUG → CALC_FIX (which also makes tests/test_mul.py collect)."""
    repo = make_repo(tmp_path / "proj", files)
    calc = next(name for name in files if name.endswith("calc.py"))
    (repo / calc).write_text(CALC_FIX)
    patch = subprocess.run(["git", "diff"], cwd=repo, capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "checkout", "-q", "."], cwd=repo, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    return verify(
        repo=repo,
        start_commit=head,
        baseline_patch="",
        final_patch=patch,
        test_command=command,
        command_source="flag",
        timeout=120,
        compare_base=True,
    )


def assert_agrees(result: VerifyResult, output: str, statuses: dict[str, str]) -> dict[str, str]:
    """The harness' status map of ``output`` names the tests tracer found with the statuses tracer gave."""
    harness = parse_log_pytest(output, None)  # type: ignore[arg-type]  # the pytest parser reads no spec
    expected = {harness_name(n, "pytest"): HARNESS_STATUS[s] for n, s in statuses.items()}
    assert harness == {n: s for n, s in expected.items() if s is not None}, output
    return harness


def graded(result: VerifyResult) -> None:
    """Graded by the harness on the same outputs, tracer's lists are a full resolution, and every FAIL_TO_PASS
    test fails on the base for it too."""
    assert result.fail_to_pass is not None and result.pass_to_pass is not None and result.base_output is not None
    after = parse_log_pytest(result.output, None)  # type: ignore[arg-type]
    before = parse_log_pytest(result.base_output, None)  # type: ignore[arg-type]
    gold = {
        FAIL_TO_PASS: [harness_name(n, "pytest") for n in result.fail_to_pass],
        PASS_TO_PASS: [harness_name(n, "pytest") for n in result.pass_to_pass],
    }
    report = grading.get_eval_tests_report(after, gold)
    assert report[FAIL_TO_PASS]["failure"] == [] and report[PASS_TO_PASS]["failure"] == []
    assert grading.get_resolution_status(report) == "RESOLVED_FULL"
    assert all(grading.test_failed(n, before) for n in gold[FAIL_TO_PASS])


def test_statuses_and_lists_agree_with_the_harness(tmp_path: Path) -> None:
    files = {"src/calc.py": CALC_BUG, "tests/test_calc.py": TESTS, "tests/test_mul.py": TEST_MUL}
    result = run(
        tmp_path, files, f"{sys.executable} -m pytest -p no:cacheprovider --continue-on-collection-errors tests"
    )
    after = {t.name: t.status for t in result.tests}
    assert after == {
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::test_sub_stays": "passed",
        "tests/test_calc.py::test_param[a b]": "passed",
        "tests/test_calc.py::test_param[c[d]]": "passed",
        "tests/test_calc.py::test_param[x - y]": "passed",
        "tests/test_calc.py::test_param[e::f]": "passed",
        "tests/test_calc.py::TestGroup::test_in_class[1]": "passed",
        "tests/test_calc.py::TestGroup::test_in_class[2]": "passed",
        "tests/test_calc.py::test_subtests_skip_but_pass": "passed",  # pytest: PASSED (a subtest skipped)
        "tests/test_calc.py::test_subtests_fail_before": "passed",
        "tests/test_calc.py::test_expected_failure": "xfailed",
        "tests/test_calc.py::test_unexpected_pass": "xpassed",
        "tests/test_calc.py::test_skipped": "skipped",
        "tests/test_calc.py::test_setup_error": "error",
        "tests/test_mul.py::test_mul": "passed",
    }
    assert_agrees(result, result.output, after)
    assert result.base_output is not None and result.base_exit_status == 1
    base = parse_log_pytest(result.base_output, None)  # type: ignore[arg-type]
    assert base["tests/test_calc.py::test_add"] == "FAILED"
    assert base["tests/test_calc.py::test_subtests_fail_before"] == "FAILED"  # a failed subtest fails the test
    assert base["tests/test_mul.py"] == "ERROR"  # collection error
    assert set(result.fail_to_pass or ()) == {
        "tests/test_calc.py::test_add",
        "tests/test_calc.py::test_subtests_fail_before",
        "tests/test_mul.py::test_mul",
    }
    assert "tests/test_calc.py::test_subtests_skip_but_pass" in (result.pass_to_pass or ())
    assert "tests/test_calc.py::test_param[a b]" in (result.pass_to_pass or ())
    for name in ("test_expected_failure", "test_unexpected_pass", "test_skipped"):  # in no list: docs/verify.md
        assert f"tests/test_calc.py::{name}" not in {*(result.fail_to_pass or ()), *(result.pass_to_pass or ())}
    assert (result.verdict, result.passed, result.failed, result.errors, result.skipped) == (
        "resolved",
        12,
        0,
        1,
        2,
    )  # xpassed counts as passed
    graded(result)


def test_names_are_pytests_own_when_the_command_changes_directory(tmp_path: Path) -> None:
    """The rootdir (pyproject.toml) is above the directory pytest runs in: pytest prints ids relative to where
    it ran (``test_calc.py::…``), JUnit relative to the rootdir (``tests/test_calc.py::…``)."""
    files = {
        "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['src']\n",
        "src/calc.py": CALC_BUG,
        "tests/test_calc.py": TESTS,
        "tests/test_mul.py": TEST_MUL,
    }
    result = run(
        tmp_path, files, f"cd tests && {sys.executable} -m pytest -p no:cacheprovider --continue-on-collection-errors"
    )
    after = {t.name: t.status for t in result.tests}
    assert "test_calc.py::test_add" in after and "test_calc.py::test_skipped" in after
    assert not any(name.startswith("tests/") for name in after)
    assert_agrees(result, result.output, after)
    assert set(result.fail_to_pass or ()) == {
        "test_calc.py::test_add",
        "test_calc.py::test_subtests_fail_before",
        "test_mul.py::test_mul",
    }
    graded(result)
