"""Fixtures of the replay tests: sessions (see ``replay_sessions``), the ``append`` collector, backends."""

from __future__ import annotations

import asyncio
import inspect
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from replay_sessions import build_demo

from tracer.model import Event, Session
from tracer.replay import available_backends


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (Textual's Pilot needs one; no plugin required)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


@pytest.fixture
def demo_session() -> Session:
    """The session most app tests replay (see :func:`build_demo`)."""
    return build_demo().session()


@pytest.fixture
def appended() -> list[Event]:
    """Collects what the app appends to the session (the ``append`` collaborator)."""
    return []


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    """Every terminal backend available here."""
    return str(request.param)


async def wait_until(pilot: object, condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    await asyncio.sleep(0)


@pytest.fixture
def verify_script(tmp_path: Path) -> Callable[[int], list[str]]:
    """``make(status)``: argv of a tiny script that prints two lines and exits with ``status``."""

    def make(status: int, sleep: float = 0.0) -> list[str]:
        script = tmp_path / f"verify_{status}.py"
        script.write_text(
            "import sys, time\n"
            "print('running tests', flush=True)\n"
            f"time.sleep({sleep})\n"
            f"ok = {status} == 0\n"
            "print('\\x1b[32m3 passed\\x1b[0m' if ok else '\\x1b[31m1 failed\\x1b[0m', flush=True)\n"
            f"sys.exit({status})\n"
        )
        return [sys.executable, str(script)]

    return make
