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
from tracer.replay.widgets import Timeline

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
        await pilot.press("right")
        assert app.position == starts[0]
        await pilot.press("tab", "tab", "right")  # focus moved around the views: still commands
        assert app.position == starts[1]
        await pilot.press("left")
        assert app.position == starts[0]
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
