"""Reading per-test results from runner output: fixtures in each runner's real output format."""

from __future__ import annotations

import json
from pathlib import Path

from tracer.verify._reports import OutputParser, TestReport, parse_jest_json, parse_junit_xml


def parse(text: str, runner: str | None, root: str = "/work/tree", chunk: int = 7) -> TestReport:
    """Feed ``text`` in small chunks (lines split across reads), then finish."""
    parser = OutputParser(runner, root)
    data = text.encode()
    for i in range(0, len(data), chunk):
        parser.feed(data[i : i + chunk])
    return parser.finish(output=text)


def statuses(report: TestReport) -> dict[str, str]:
    return {t.name: t.status for t in report.tests}


GO_JSON = "\n".join(
    json.dumps(e)
    for e in [
        {"Action": "start", "Package": "example.com/m/calc"},
        {"Action": "run", "Package": "example.com/m/calc", "Test": "TestAdd"},
        {
            "Action": "output",
            "Package": "example.com/m/calc",
            "Test": "TestAdd",
            "Output": "=== RUN   TestAdd\n",
        },
        {"Action": "pass", "Package": "example.com/m/calc", "Test": "TestAdd", "Elapsed": 0.01},
        {"Action": "run", "Package": "example.com/m/calc", "Test": "TestTable"},
        {"Action": "run", "Package": "example.com/m/calc", "Test": "TestTable/zero"},
        {"Action": "fail", "Package": "example.com/m/calc", "Test": "TestTable/zero", "Elapsed": 0},
        {"Action": "fail", "Package": "example.com/m/calc", "Test": "TestTable", "Elapsed": 0},
        {"Action": "skip", "Package": "example.com/m/calc", "Test": "TestSlow", "Elapsed": 0},
        {"Action": "output", "Package": "example.com/m/calc", "Output": "FAIL\n"},
        {"Action": "fail", "Package": "example.com/m/calc", "Elapsed": 0.02},
        {
            "Action": "output",
            "Package": "example.com/m/broken",
            "Output": "FAIL\texample.com/m/broken [build failed]\n",
        },
        {"Action": "fail", "Package": "example.com/m/broken", "Elapsed": 0},
        {"Action": "pass", "Package": "example.com/m/ok", "Elapsed": 0},
    ]
)


def test_go_json_events() -> None:
    report = parse(GO_JSON + "\n", "go")
    assert report.runner == "go"
    assert statuses(report) == {
        "example.com/m/calc::TestAdd": "passed",
        "example.com/m/calc::TestTable/zero": "failed",
        "example.com/m/calc::TestTable": "failed",
        "example.com/m/calc::TestSlow": "skipped",
        "example.com/m/broken": "error",
    }
    assert (report.passed, report.failed, report.skipped, report.errors) == (1, 2, 1, 1)
    assert report.tests[0].duration == 0.01


GO_VERBOSE = """\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestSub
    calc_test.go:12: got 1, want 2
--- FAIL: TestSub (0.00s)
=== RUN   TestTable
=== RUN   TestTable/zero
    --- PASS: TestTable/zero (0.00s)
--- PASS: TestTable (0.00s)
FAIL
FAIL\texample.com/m/calc\t0.003s
ok  \texample.com/m/util\t(cached)
?   \texample.com/m/cmd\t[no test files]
FAIL
"""


def test_go_verbose_lines_and_package_lines() -> None:
    report = parse(GO_VERBOSE, None)
    assert report.runner == "go"
    assert statuses(report) == {
        "example.com/m/calc::TestAdd": "passed",
        "example.com/m/calc::TestSub": "failed",
        "example.com/m/calc::TestTable/zero": "passed",
        "example.com/m/calc::TestTable": "passed",
        "example.com/m/util": "passed",
    }


CARGO = """\
   Compiling crt v0.1.0 (/work/tree)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.59s
     Running unittests src/lib.rs (target/debug/deps/crt-bd4320a1ed4935a6)

running 3 tests
test tests::ignored ... ignored
test tests::it_works ... ok
test tests::it_fails ... FAILED

failures:

---- tests::it_fails stdout ----
assertion `left == right` failed

failures:
    tests::it_fails

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.09s

     Running unittests src/main.rs (target/debug/deps/crt-0123456789abcdef)

running 1 test
test tests::it_works ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/integ.rs (target/debug/deps/integ-fb9a38e07441f0e8)

running 1 test
test integ ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests crt

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""


def test_cargo_lines_named_after_their_test_binary() -> None:
    report = parse(CARGO, "cargo")
    assert statuses(report) == {
        "src/lib.rs::tests::ignored": "skipped",
        "src/lib.rs::tests::it_works": "passed",
        "src/lib.rs::tests::it_fails": "failed",
        "src/main.rs::tests::it_works": "passed",
        "tests/integ.rs::integ": "passed",
        "doc-tests crt::src/lib.rs - add (line 3)": "passed",
    }
    assert (report.passed, report.failed, report.skipped) == (4, 1, 1)


def test_cargo_result_lines_alone_give_counts() -> None:
    text = "test result: ok. 3 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s\n" * 2
    report = parse(text, "cargo")
    assert (report.passed, report.failed, report.skipped, report.tests) == (6, 0, 4, [])


NODE_TAP = """\
TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 0.974677
  ...
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 1.045261
  location: '/work/tree/a.test.js:4:1'
  failureType: 'testCodeFailure'
  ...
# Subtest: skipped
ok 3 - skipped # SKIP
  ---
  duration_ms: 0.100599
  ...
# Subtest: suite
    # Subtest: inner ok
    ok 1 - inner ok
      ---
      duration_ms: 0.183002
      ...
    # Subtest: inner bad
    not ok 2 - inner bad
      ---
      duration_ms: 0.095521
      ...
    1..2
not ok 4 - suite
  ---
  duration_ms: 0.517768
  type: 'suite'
  ...
# Subtest: parent
    # Subtest: child
    ok 1 - child
      ---
      duration_ms: 0.177954
      ...
    1..1
ok 5 - parent
  ---
  duration_ms: 0.433062
  ...
# Subtest: /work/tree/test/broken.test.js
not ok 6 - /work/tree/test/broken.test.js
  ---
  duration_ms: 30.1
  ...
1..6
# tests 9
# suites 1
# pass 5
# fail 3
# skipped 1
"""


def test_node_tap_with_suites_and_subtests() -> None:
    report = parse(NODE_TAP, "node")
    assert statuses(report) == {
        "adds": "passed",
        "fails": "failed",
        "skipped": "skipped",
        "suite > inner ok": "passed",
        "suite > inner bad": "failed",
        "parent > child": "passed",
        "parent": "passed",
        "test/broken.test.js": "failed",
    }
    assert report.tests[0].duration is not None and abs(report.tests[0].duration - 0.000974677) < 1e-9


def test_node_tap_is_recognised_without_a_hint() -> None:
    assert parse(NODE_TAP, None).runner == "node"


def test_tap_like_lines_without_a_tap_header_are_not_node() -> None:
    assert parse("ok 1 - looks like tap\n", None).runner is None


PYTEST_VERBOSE = """\
============================= test session starts ==============================
collected 4 items

tests/test_a.py::test_one PASSED                                         [ 25%]
tests/test_a.py::TestK::test_two[1-2] FAILED                             [ 50%]
tests/test_a.py::test_three SKIPPED (no db)                              [ 75%]
tests/test_a.py::test_four XFAIL                                         [100%]

=========================== short test summary info ============================
FAILED tests/test_a.py::TestK::test_two[1-2] - assert 1 == 2
ERROR tests/test_b.py - ImportError: no module named x
============ 1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error in 0.12s =============
"""


def test_pytest_verbose_lines_and_short_summary() -> None:
    report = parse(PYTEST_VERBOSE, "pytest")
    assert statuses(report) == {
        "tests/test_a.py::test_one": "passed",
        "tests/test_a.py::TestK::test_two[1-2]": "failed",
        "tests/test_a.py::test_three": "skipped",
        "tests/test_a.py::test_four": "xfailed",
        "tests/test_b.py": "error",
    }


def test_pytest_quiet_summary_gives_counts() -> None:
    text = (
        "..F.s\n\x1b[31mFAILED tests/test_a.py::test_x - boom\x1b[0m\n"
        "\x1b[31m1 failed, 3 passed, 1 skipped, 2 warnings in 0.05s\x1b[0m\n"
    )
    report = parse(text, None)
    assert report.runner == "pytest"
    assert (report.passed, report.failed, report.skipped, report.errors) == (3, 1, 1, 0)
    assert statuses(report) == {"tests/test_a.py::test_x": "failed"}
    assert parse("no tests ran in 0.01s\n", "pytest").passed == 0


def test_junit_xml_names_are_pytest_node_ids(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="5">'
        '<testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" line="3" time="0.010" />'
        '<testcase classname="tests.test_a.TestK" name="test_two[1-2]" file="tests/test_a.py" time="0.002">'
        '<failure message="assert 1 == 2">boom</failure></testcase>'
        '<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" time="0">'
        '<skipped type="pytest.skip" message="no db" /></testcase>'
        '<testcase classname="" name="tests.test_b" time="0"><error message="collection" /></testcase>'
        '<testcase classname="pkg.mod" name="test_plain" time="0.1" />'
        "</testsuite></testsuites>"
    )
    report = parse_junit_xml(xml)
    assert report is not None
    assert statuses(report) == {
        "tests/test_a.py::test_one": "passed",
        "tests/test_a.py::TestK::test_two[1-2]": "failed",
        "tests/test_a.py::test_skip": "skipped",
        "tests.test_b": "error",
        "pkg.mod::test_plain": "passed",
    }
    assert (report.passed, report.failed, report.skipped, report.errors) == (2, 1, 1, 1)
    assert report.tests[0].duration == 0.01
    (tmp_path / "bad.xml").write_text("<html>")
    assert parse_junit_xml(tmp_path / "bad.xml") is None
    assert parse_junit_xml(tmp_path / "missing.xml") is None


UNITTEST = """\
test_add (tests.test_calc.CalcTest.test_add) ... ok
test_sub (tests.test_calc.CalcTest.test_sub) ... FAIL
test_io (tests.test_calc.CalcTest.test_io) ... skipped 'no disk'

======================================================================
FAIL: test_sub (tests.test_calc.CalcTest.test_sub)
----------------------------------------------------------------------
Ran 3 tests in 0.001s

FAILED (failures=1, skipped=1)
"""


def test_unittest_verbose_and_counts() -> None:
    report = parse(UNITTEST, "unittest")
    assert statuses(report) == {
        "tests.test_calc.CalcTest.test_add": "passed",
        "tests.test_calc.CalcTest.test_sub": "failed",
        "tests.test_calc.CalcTest.test_io": "skipped",
    }
    quiet = parse("..E\n----\nRan 3 tests in 0.01s\n\nFAILED (errors=1)\n", None)
    assert (quiet.runner, quiet.passed, quiet.errors) == ("unittest", 2, 1)


JEST = {
    "numFailedTests": 1,
    "numPassedTests": 2,
    "numPendingTests": 1,
    "numTotalTests": 4,
    "success": False,
    "testResults": [
        {
            "name": "/work/tree/src/sum.test.js",
            "status": "failed",
            "assertionResults": [
                {"ancestorTitles": ["sum"], "title": "adds", "status": "passed", "duration": 3},
                {"ancestorTitles": ["sum"], "title": "subtracts", "status": "failed", "duration": 1},
                {"ancestorTitles": [], "title": "later", "status": "todo", "duration": None},
            ],
        },
        {
            "name": "/work/tree/src/other.test.js",
            "status": "passed",
            "assertionResults": [{"ancestorTitles": [], "title": "works", "status": "passed"}],
        },
        {
            "name": "/work/tree/src/broken.test.js",
            "status": "failed",
            "assertionResults": [],
            "message": "SyntaxError",
        },
    ],
}


def test_jest_json_mixed_with_other_output() -> None:
    text = "PASS src/other.test.js\n" + json.dumps(JEST) + "\nDone in 2.1s\n"
    report = parse(text, "jest")
    assert report.runner == "jest"
    assert statuses(report) == {
        "src/sum.test.js::sum > adds": "passed",
        "src/sum.test.js::sum > subtracts": "failed",
        "src/sum.test.js::later": "skipped",
        "src/other.test.js::works": "passed",
        "src/broken.test.js": "error",
    }
    assert report.tests[0].duration == 0.003
    assert parse(text, None).runner == "jest"


def test_vitest_json_and_text_summaries() -> None:
    vitest = {**JEST, "numTotalTestSuites": 3}
    report = parse_jest_json(json.dumps(vitest, indent=2), "/work/tree", "vitest")
    assert report is not None and report.runner == "vitest" and report.passed == 2
    text = parse(" Test Files  1 failed | 1 passed (2)\n      Tests  1 failed | 4 passed (5)\n", "vitest")
    assert (text.runner, text.passed, text.failed) == ("vitest", 4, 1)
    jest_text = parse("Tests:       1 failed, 1 skipped, 2 passed, 4 total\n", "jest")
    assert (jest_text.passed, jest_text.failed, jest_text.skipped) == (2, 1, 1)


def test_unknown_output_reports_nothing() -> None:
    report = parse("compiling...\nall good\n", None)
    assert report == TestReport()
    hinted = parse("crashed before any summary\n", "pytest")
    assert (hinted.runner, hinted.passed, hinted.tests) == ("pytest", None, [])


def test_a_line_cut_across_reads_and_carriage_returns() -> None:
    report = parse("progress 10%\rprogress 100%\r3 passed in 0.01s\r\n", "pytest", chunk=1)
    assert report.passed == 3


NODE_SPEC = """\
✔ adds (0.940826ms)
✖ fails (0.98341ms)
  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

  2 !== 3

      at TestContext.<anonymous> (/work/tree/a.test.js:4:30)
  }

﹣ skipped (0.103754ms) # SKIP
▶ suite
  ✔ inner ok (0.200007ms)
  ✖ inner bad (0.102923ms)
        at TestContext.<anonymous> (/work/tree/a.test.js:8:38)

✖ suite (0.533973ms)
▶ parent
  ✔ child (0.118686ms)
✔ parent (0.360836ms)
✖ /work/tree/test/broken.test.js (30.1ms)
ℹ tests 8
ℹ suites 1
ℹ pass 4
ℹ fail 3
ℹ cancelled 0
ℹ skipped 1
ℹ todo 0
ℹ duration_ms 467.530036

✖ failing tests:

test at a.test.js:4:1
✖ fails (0.98341ms)
test at a.test.js:8:8
✖ inner bad (0.102923ms)
"""


def test_node_spec_reporter() -> None:
    for runner in ("node", None):
        report = parse(NODE_SPEC, runner)
        assert report.runner == "node"
        assert statuses(report) == {
            "adds": "passed",
            "fails": "failed",
            "skipped": "skipped",
            "suite > inner ok": "passed",
            "suite > inner bad": "failed",
            "parent > child": "passed",
            "test/broken.test.js": "failed",
        }
    counts = parse("ℹ tests 2\nℹ pass 1\nℹ fail 1\n", "node")
    assert (counts.passed, counts.failed, counts.tests) == (1, 1, [])
