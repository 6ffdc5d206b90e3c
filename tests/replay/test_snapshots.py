"""SVG snapshots of the main screens (fixed size, fixed moments, nothing clock-dependent on screen)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from replay_sessions import SECOND, build_demo
from textual.pilot import Pilot

from conftest import wait_until
from tracer.replay import ReplayApp

pytestmark = pytest.mark.timeout(60)

SIZE = (120, 40)


def _at(moment: Callable[[ReplayApp], int], *keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ReplayApp)
        await wait_until(pilot, lambda: app.ready and app.keyframes is not None and app.keyframes.complete)
        app.set_position(moment(app))
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


def _failing_pytest_end(app: ReplayApp) -> int:
    end = app.commands[1].end
    assert end is not None
    return end


def _inside_vim(app: ReplayApp) -> int:
    return app.commands[2].start + SECOND // 2


def test_screen_after_a_failing_command(snap_compare: Callable[..., bool]) -> None:
    app = ReplayApp(build_demo().session())
    assert snap_compare(app, terminal_size=SIZE, run_before=_at(_failing_pytest_end))


def test_alternate_screen_inside_vim(snap_compare: Callable[..., bool]) -> None:
    app = ReplayApp(build_demo().session())
    assert snap_compare(app, terminal_size=SIZE, run_before=_at(_inside_vim))


def test_diff_of_an_edit(snap_compare: Callable[..., bool]) -> None:
    app = ReplayApp(build_demo().session())
    assert snap_compare(app, terminal_size=SIZE, run_before=_at(lambda app: 0, "c"))
