"""The replay as a person uses it: a small window, the mouse on the tabs, verify from a hostile directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from replay_sessions import build_demo, write_session
from textual.widgets import Tabs
from textual.widgets._footer import FooterKey

from conftest import wait_until
from tracer.model import Session
from tracer.replay import ReplayApp
from tracer.replay.widgets import Timeline, render_item

pytestmark = pytest.mark.timeout(60)


async def _ready(app: ReplayApp, pilot: object) -> None:
    await wait_until(pilot, lambda: app.ready and app.keyframes is not None and app.keyframes.complete)


async def test_at_80_by_24_the_footer_shows_the_main_keys_and_the_timeline_the_commands(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await pilot.pause()
        shown = {key.key for key in app.screen.query(FooterKey) if key.region.right <= 80 and key.region.width > 0}
        for wanted in ("space", "left", "right", "a", "slash", "v", "question_mark", "q"):
            assert wanted in shown, (wanted, shown)
        timeline = app.query_one(Timeline)
        rows = [timeline.render_line(y).text for y in range(len(app.items))]
        assert any("ls --color" in row for row in rows)
        assert any("vim slugify/core.py" in row for row in rows), rows  # 19 characters, not 6


async def test_after_a_click_on_a_tab_the_arrows_still_step_commands(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        starts = [c.start for c in demo_session.commands()]
        await pilot.click(Tabs, offset=(12, 0))  # the "Output" tab
        await pilot.pause()
        assert app.query_one("#views").active == "tab-output"  # type: ignore[attr-defined]
        assert app.position == starts[0]  # where it opens
        await pilot.press("right")
        assert app.position == starts[1]
        await pilot.press("tab", "tab", "right")  # focus moved around the views: still commands
        assert app.position == starts[2]
        await pilot.press("left")
        assert app.position == starts[1]
        assert app.query_one("#views").active == "tab-output"  # type: ignore[attr-defined]


def test_verify_runs_tracer_even_from_a_directory_with_a_hostile_click_py(tmp_path: Path) -> None:
    from tracer.app.replaying import verify_command

    session = write_session(build_demo().session(), tmp_path / "demo.tracer")
    hostile = tmp_path / "cwd"
    hostile.mkdir()
    (hostile / "click.py").write_text("raise SystemExit('the cwd click.py was imported')\n")
    (hostile / "tracer.py").write_text("raise SystemExit('the cwd tracer.py was imported')\n")
    argv = verify_command(session)
    argv[argv.index("verify")] = "show"  # the same entry point, a command that needs no repository
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    done = subprocess.run(argv, cwd=hostile, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "imported" not in done.stderr
    assert argv[0] == sys.executable
    # without -P, the directory's modules would win: the test's hostile files are really hostile
    unsafe = [a for a in argv if a != "-P"]
    assert "imported" in subprocess.run(unsafe, cwd=hostile, env=env, capture_output=True, text=True).stderr


async def test_keys_faster_than_the_screen_each_take_a_step(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(app, pilot)
        starts = [c.start for c in demo_session.commands()]
        for key in ("end", "home", "right", "right", "right"):  # in the queue together, as a fast typist's
            app.simulate_key(key)
        await wait_until(pilot, lambda: app.position == starts[2])
        await pilot.pause()
        assert app.position == starts[2]
        for _ in range(2):
            app.simulate_key("left")
        await wait_until(pilot, lambda: app.position == starts[0])


BUG = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n"
)


@pytest.mark.parametrize("answer", ["n", "y"])
async def test_v_on_someone_elses_session_asks_first_then_verifies_with_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """A session this user did not record runs its tests only after a yes: `tracer verify` cannot ask (it has no
    terminal in the replay), so the replay asks in a dialog that shows the plan, and passes --yes on a yes."""
    import shutil

    from tests.conftest import make_repo
    from tests.verify.conftest import craft

    from tracer.app.replaying import build_app
    from tracer.replay.widgets import ConfirmDialog, VerifyPanel

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed: an untrusted session's tests run only in its sandbox")
    repo = make_repo(tmp_path / "proj", {"calc.py": BUG, "test_calc.py": TEST})
    marker = tmp_path / "marker"
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command=f"touch {marker}; python -m pytest -q")
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    app = build_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one("#confirm-question").render())
        assert "is not trusted" in question and f"touch {marker}" in question and "calc.py" in question
        await pilot.press(answer)
        panel = app.query_one(VerifyPanel)
        if answer == "n":
            await pilot.pause(0.5)
            assert panel.process is None and not marker.exists()
            return
        await wait_until(pilot, lambda: app.replay_verdict is not None and app.replay_verdict.verdict != "running", 60)
        assert app.replay_verdict is not None and app.replay_verdict.verdict == "passed", panel.lines_written
        assert panel.process is not None and panel.process.args[-1] == "--yes"
        assert not marker.exists()  # the sandbox keeps the tests' writes in the worktree


async def test_a_judged_session_shows_its_judgement_in_the_timeline_and_in_full_on_enter() -> None:
    from tracer.model import JudgeResult, JudgeScore, ProcessCheck
    from tracer.replay.widgets import ReportScreen

    b = build_demo()
    judged = JudgeResult(
        t=b.t,
        judged_at="2026-11-21T11:00:00.000000Z",
        checks=(
            ProcessCheck("reproduced_before_edit", ok=True, detail="pytest -q failed before the first edit"),
            ProcessCheck("tested_after_last_edit", ok=False, detail="no test ran after the last edit"),
            ProcessCheck("repeated_failures", count=0),
        ),
        judge_kind="model",
        judge="qwen2.5-coder",
        rubric_id="tracer-debugging",
        rubric_version="1",
        scores=(JudgeScore("use_of_evidence", 4, ("c2",), "read the traceback"),),
        overall=4,
        comments="A clean \x1b]52;c;aGk=\x07loop.",
    )
    b.events.append(judged)
    app = ReplayApp(b.session())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        timeline = app.query_one(Timeline)
        (row,) = [i for i, item in enumerate(app.items) if item.kind == "judge"]
        assert row == len(app.items) - 1
        assert "judge: overall 4/5 (model qwen2.5-coder), 1 of 2 checks ok" in render_item(app.items[row], 100).plain
        timeline.focus()
        timeline.select(row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen))
        assert isinstance(app.screen, ReportScreen) and app.screen.text is not None
        text = app.screen.text
        assert "✗ tested_after_last_edit" in text and "use_of_evidence 4/5  read the traceback  [c2]" in text
        assert "\x1b" not in text  # the judge's text is escaped (an OSC 52 in it must not reach the terminal)
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportScreen)


@pytest.mark.parametrize("works", [True, False])
async def test_capital_i_shows_the_insights_of_the_sessions_repository(demo_session: Session, works: bool) -> None:
    from tracer.errors import TracerError
    from tracer.replay.widgets import ReportScreen

    asked: list[str] = []

    def insights() -> str:
        asked.append("yes")
        if not works:
            raise TracerError("tracer insights needs DuckDB: pip install 'tracer[insights]'")
        return "\x1b[1mtracer insights · last 7 days\x1b[0m\nsessions  3"

    app = ReplayApp(demo_session, insights=insights)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("I")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen) and app.screen.text is not None)
        assert isinstance(app.screen, ReportScreen) and app.screen.text is not None
        assert ("sessions  3" if works else "needs DuckDB") in app.screen.text and asked == ["yes"]
        await pilot.press("q")
        assert not isinstance(app.screen, ReportScreen)


async def test_capital_i_in_a_replay_of_a_recorded_session_runs_the_real_insights(tmp_path: Path) -> None:
    from tracer.app.replaying import build_app
    from tracer.replay.widgets import ReportScreen

    pytest.importorskip("duckdb")
    repo = tmp_path / "repo"
    from tests.conftest import make_repo

    make_repo(repo, {"a.txt": "a\n"})
    env = {**os.environ, "TRACER_DIR": os.environ["TRACER_DIR"]}
    done = subprocess.run([sys.executable, "-m", "tracer", "shell", "-q", "-c", "false"], cwd=repo, env=env, timeout=60)
    assert done.returncode == 1
    (session,) = Path(os.environ["TRACER_DIR"]).glob("*.tracer")
    app = build_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press("I")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen) and app.screen.text is not None, 60)
        assert isinstance(app.screen, ReportScreen) and app.screen.text is not None
        text = app.screen.text
        assert "tracer insights" in text and f"repository {repo.name}" in text.replace(str(repo.parent) + "/", "")
