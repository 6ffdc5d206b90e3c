"""The command path (`--command CMD`) against real scripts, and rubrics (`--rubric FILE`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.judge.conftest import Recorded
from tracer.app.judging import JudgeOptions, judge_session
from tracer.judge import BadRubric, InvalidReply, JudgeFailed, load_rubric, reply_schema
from tracer.model import JudgeResult
from tracer.store import read_session
from tracer.store.schema import validate_trace

# A team's own judge: reads the trace JSON on stdin and the rubric from $TRACER_JUDGE_RUBRIC, keeps what it was
# given for the test to look at, and scores every criterion citing the session's first command and edit.
JUDGE_SCRIPT = """\
import json, os, sys
document = json.load(sys.stdin)
rubric = json.load(open(os.environ["TRACER_JUDGE_RUBRIC"]))
given = {
    "document": document,
    "rubric": rubric,
    "schema": json.load(open(os.environ["TRACER_JUDGE_SCHEMA"])),
    "request": json.load(open(os.environ["TRACER_JUDGE_REQUEST"])),
    "files": [os.environ[k] for k in ("TRACER_JUDGE_RUBRIC", "TRACER_JUDGE_SCHEMA", "TRACER_JUDGE_REQUEST")],
}
json.dump(given, open(sys.argv[1], "w"))
first = [e["id"] for e in document["events"] if e["type"] == "terminal_command"][0]
edit = [e["id"] for e in document["events"] if e["type"] == "edit"][0]
print(json.dumps({
    "scores": {c["id"]: {"score": 3, "steps": [first, edit], "reason": "by the script"} for c in rubric["criteria"]},
    "overall": 3,
    "comments": "scored by a script",
    "strengths": [], "weaknesses": ["no hypothesis"], "recommendations": [],
}))
"""


@pytest.fixture
def path(careful: Recorded, tmp_path: Path) -> Path:
    return careful.copy(tmp_path / "sessions")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    f = tmp_path / "judge.py"
    f.write_text(JUDGE_SCRIPT)
    return f


def command(script: Path, given: Path) -> str:
    return f"{sys.executable} {script} {given}"


def test_a_command_scores_the_session(path: Path, script: Path, tmp_path: Path) -> None:
    given_path = tmp_path / "given.json"
    cmd = command(script, given_path)
    result = judge_session(path, JudgeOptions(command=cmd, timeout=60))

    given = json.loads(given_path.read_text())
    validate_trace(given["document"])  # the session's trace JSON on stdin, each event with its step id
    assert given["document"]["events"][0]["id"] == "c1"
    rubric = load_rubric()
    assert given["rubric"] == rubric.to_dict()
    assert given["schema"] == reply_schema(rubric)
    assert "model" not in given["request"] and [m["role"] for m in given["request"]["messages"]] == ["system", "user"]
    assert given["request"]["response_format"]["json_schema"]["schema"] == reply_schema(rubric)
    assert not any(Path(f).exists() for f in given["files"])  # removed once it ended

    assert read_session(path).judge_result == result
    assert (result.judge_kind, result.judge, result.endpoint) == ("command", cmd, None)
    assert [(s.criterion, s.score, s.steps) for s in result.scores] == [
        (c.id, 3, ("c1", "e1")) for c in rubric.criteria
    ]
    assert (result.overall, result.comments, result.weaknesses) == (3, "scored by a script", ("no hypothesis",))


def test_a_command_that_fails_shows_its_stderr_and_stores_nothing(path: Path, tmp_path: Path) -> None:
    before = path.read_bytes()
    failing = "echo 'loading the weights…' >&2; echo 'CUDA out of memory' >&2; exit 2"
    with pytest.raises(JudgeFailed) as raised:
        judge_session(path, JudgeOptions(command=failing, timeout=60))
    message = str(raised.value)
    assert message.startswith(f"the judge command `{failing}` exited with status 2; nothing was stored")
    assert message.endswith("its standard error:\nloading the weights…\nCUDA out of memory")
    assert path.read_bytes() == before


def test_a_command_that_prints_no_json(path: Path) -> None:
    before = path.read_bytes()
    with pytest.raises(InvalidReply, match=r"the judge command `echo 4 out of 5` did not reply with JSON"):
        judge_session(path, JudgeOptions(command="echo 4 out of 5", timeout=60))
    assert path.read_bytes() == before


def test_a_command_that_hangs_is_killed_with_what_it_started(path: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hang = f"sleep 300 & echo $! > {pid_file}; echo thinking >&2; wait"
    before = path.read_bytes()
    started = time.monotonic()
    with pytest.raises(JudgeFailed, match=r"gave no reply within 1 s \(--timeout\) and was killed; .*\nthinking$"):
        judge_session(path, JudgeOptions(command=hang, timeout=1.0))
    assert time.monotonic() - started < 15
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)  # the background `sleep` went with the group
    assert path.read_bytes() == before


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


TEAM_RUBRIC = {
    "id": "team-review",
    "version": "2.1",
    "title": "Our own review",
    "instructions": "Score the session.",
    "criteria": [
        {"id": "tests_first", "name": "Tests first", "question": "Was a failing test run first?"},
        {"id": "small_patch", "name": "Small patch", "question": "Is the patch small?", "scale": {"1": "huge"}},
    ],
}


def test_a_rubric_file_replaces_the_rubric(path: Path, script: Path, tmp_path: Path) -> None:
    rubric_file = tmp_path / "team.json"
    rubric_file.write_text(json.dumps(TEAM_RUBRIC))
    given_path = tmp_path / "given.json"
    result = judge_session(path, JudgeOptions(command=command(script, given_path), rubric=rubric_file, timeout=60))
    assert (result.rubric_id, result.rubric_version) == ("team-review", "2.1")
    assert [s.criterion for s in result.scores] == ["tests_first", "small_patch"]
    given = json.loads(given_path.read_text())
    assert list(given["schema"]["properties"]["scores"]["properties"]) == ["tests_first", "small_patch"]
    assert given["rubric"]["criteria"][1]["scale"] == {"1": "huge"}


def test_the_builtin_rubric() -> None:
    rubric = load_rubric()
    assert (rubric.id, rubric.version, rubric.source) == ("tracer-debugging", "1", "built-in")
    assert [c.id for c in rubric.criteria] == [
        "problem_understanding",
        "investigation_strategy",
        "decision_rationale",
        "use_of_evidence",
        "reproducibility",
        "safety_privacy",
    ]
    assert all([score for score, _ in c.scale] == [1, 3, 5] for c in rubric.criteria)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.toml", 'id = "x"\nversion = \n', r"the rubric .*r\.toml is not valid TOML: .*line 2"),
        ("r.json", '{"id": "x",', r"the rubric .*r\.json is not valid JSON: .* at line 1"),
        (
            "r.toml",
            'id = "x"\nversion = "1"\ninstructions = "i"\n[[criteria]]\nid = "Bad Id"\nname = "n"\nquestion = "q"\n',
            r"r\.toml does not follow rubric\.schema\.json: at criteria/0/id: 'Bad Id' does not match",
        ),
        (
            "r.toml",
            'id = "x"\nversion = "1"\ninstructions = "i"\n'
            + '[[criteria]]\nid = "a"\nname = "n"\nquestion = "q"\n' * 2,
            r"names the criterion a more than once",
        ),
        (
            "r.toml",
            'id = "x"\nversion = "1"\ninstructions = "i"\ncriteria = []\n',
            r"at criteria: \[\] should be non-empty",
        ),
        ("r.toml", b"\xff\xfe", r"is not UTF-8 text"),
    ],
)
def test_bad_rubrics_are_clear_errors(tmp_path: Path, name: str, text: str | bytes, message: str) -> None:
    f = tmp_path / name
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadRubric, match=message):
        load_rubric(f)


def test_a_missing_rubric_file(tmp_path: Path) -> None:
    with pytest.raises(BadRubric, match=r"cannot read the rubric .*nope\.toml: No such file"):
        load_rubric(tmp_path / "nope.toml")


def test_tracer_judge_command_on_the_command_line(path: Path, script: Path, tmp_path: Path) -> None:
    cmd = command(script, tmp_path / "given.json")
    done = subprocess.run(
        [sys.executable, "-m", "tracer", "judge", str(path), "--command", cmd],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"scored by command `{cmd}`" in done.stdout and "overall" in done.stdout
    assert f"tracer: asking the judge command `{cmd}`" in done.stderr
    assert read_session(path).of_type(JudgeResult)[-1].judge_kind == "command"
