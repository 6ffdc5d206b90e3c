"""A session as a SWE-bench task instance and a prediction (https://github.com/SWE-bench/SWE-bench).

``swe-bench/instances.jsonl`` holds one instance per session that has a start commit and a patch, with the
fields of ``swebench.harness.constants.SWEbenchInstance`` (``FAIL_TO_PASS`` and ``PASS_TO_PASS`` as JSON text,
as in the SWE-bench datasets on the Hub), plus ``tracer_session_id`` and ``test_command``;
``swe-bench/predictions.jsonl`` holds ``{instance_id, model_name_or_path, model_patch}`` for each, the recorded
person's patch as the prediction. Both load with ``swebench.harness.utils.load_swebench_dataset`` and
``get_predictions_from_file``.

The recorded patch is split as SWE-bench splits its gold patches: the changes to test files go to
``test_patch`` (applied by the harness before the tests run), the rest to ``patch``. A session that started
with uncommitted changes carries them at the head of ``patch`` (SWE-bench has no field for a dirty start).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

from tracer.dataset._text import content_text, name_text
from tracer.model import Session
from tracer.store.facts import patch_from_commit, session_uuid

#: ``model_name_or_path`` of the predictions: the patch a person made, recorded by tracer.
MODEL_NAME = "human-tracer"

_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|__tests__|spec)/"
    r"|(^|/)test_[^/]*$|_test\.[^/]+$|(^|/)(conftest|tests?)\.py$|\.(test|spec)\.[jt]sx?$|Tests?\.[^/]+$"
)


def is_test_path(path: str) -> bool:
    """True for files SWE-bench would count as tests: under ``test/``, ``tests/``, ``testing/``, ``__tests__/``,
    ``spec/``; named ``test_*``, ``*_test.*``, ``tests.py``, ``conftest.py``, ``*.test.js``, ``*.spec.ts``,
    ``*Test.java``."""
    return _TEST_PATH.search(path) is not None


_DIFF_START = re.compile(r"^diff --git ", re.MULTILINE)
_DIFF_PATHS = re.compile(r'^diff --git (?:"?a/)(.*?)"? (?:"?b/)(.*?)"?$', re.MULTILINE)


def split_patch(patch: str) -> tuple[str, str]:
    """``(code, tests)``: the file diffs of a ``git diff`` patch, split by whether they change a test file."""
    starts = [m.start() for m in _DIFF_START.finditer(patch)]
    if not starts:
        return patch, ""
    code = [patch[: starts[0]]]
    tests: list[str] = []
    for begin, end in zip(starts, [*starts[1:], len(patch)], strict=True):
        chunk = patch[begin:end]
        m = _DIFF_PATHS.match(chunk)
        (tests if m is not None and is_test_path(m.group(2)) else code).append(chunk)
    return "".join(code), "".join(tests)


def repo_name(session: Session) -> str:
    """``owner/name`` from the repository's remote URL when the session has one, else the workspace's directory
    name."""
    remote = session.header.repository
    if remote:
        path = urlsplit(remote).path if "://" in remote else remote.split(":", 1)[-1]
        parts = [p for p in path.removesuffix(".git").split("/") if p]
        if parts:
            return "/".join(parts[-2:])
    return name_text(os.path.basename(session.header.workspace.rstrip("/")) or "workspace")


def instance(session: Session) -> dict[str, Any] | None:
    """The SWE-bench instance of ``session`` (already redacted), ``None`` when it has no start commit or no
    patch."""
    h = session.header
    if not h.head_commit:
        return None
    final = session.final_patch
    code, tests = split_patch(content_text(final.patch) if final is not None else "")
    patch = patch_from_commit(content_text(h.baseline_patch), code)
    if not patch and not tests:
        return None
    repo = repo_name(session)
    sid = session_uuid(h)
    result = session.verify_result
    return {
        "repo": repo,
        "instance_id": f"{repo.replace('/', '__')}-{sid}",
        "base_commit": h.head_commit,
        "patch": patch,
        "test_patch": tests,
        "problem_statement": content_text(h.task or ""),
        "hints_text": "",
        "created_at": h.started_at,
        "version": "",
        "FAIL_TO_PASS": json.dumps(list(result.fail_to_pass or ()) if result is not None else []),
        "PASS_TO_PASS": json.dumps(list(result.pass_to_pass or ()) if result is not None else []),
        "environment_setup_commit": h.head_commit,
        "tracer_session_id": sid,
        "test_command": None if h.test_command is None else name_text(h.test_command),
    }


def prediction(inst: dict[str, Any]) -> dict[str, Any]:
    """The prediction for an instance: the recorded patch (without its test files) as the model patch."""
    return {"instance_id": inst["instance_id"], "model_name_or_path": MODEL_NAME, "model_patch": inst["patch"]}
