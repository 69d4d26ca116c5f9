"""A pytest plugin for ``test_hookspecs_meta.py``: what each test really did, written as JSON.

``test_hookspecs_meta`` runs the ``test_hook_<name>`` tests in a child pytest with this plugin
(``-p hook_exercise``) and ``enable_assertion_pass_hook``, then requires of each one that it
passed, that assertions ran in it, and that hook ``<name>`` was called while it ran. A test
that merely exists, or that asserts nothing, or that never reaches the hook, is caught.

Hook calls are seen two ways:

* in this process: every ``FrameworkPluginManager`` created gets pluggy's public
  ``add_hookcall_monitoring``, which notes each hook called with at least one implementation
  (and the ``on_event`` observers, called without pluggy, are wrapped);
* in a ``bussdcc`` subprocess: the test runs it with ``BUSSDCC_TRACE_PLUGINS=1`` and hands its
  stderr to the ``hook_trace`` fixture (``tests/conftest.py``), which notes the traced calls
  in the test's ``user_properties``.

The report goes to the file named by ``HOOK_EXERCISE_REPORT``:
``{nodeid: {"outcome": ..., "asserts": n, "hooks": [...]}}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bussdcc_framework.manager import FrameworkPluginManager

_results: dict[str, dict[str, Any]] = {}
_current: list[str] = []  # the nodeid of the test running now, if any


def _entry(nodeid: str) -> dict[str, Any]:
    return _results.setdefault(nodeid, {"outcome": "not run", "asserts": 0, "hooks": []})


def _before(hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    if _current and hook_impls:
        hooks = _entry(_current[-1])["hooks"]
        if hook_name not in hooks:
            hooks.append(hook_name)


def _after(outcome: Any, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    pass


_original_init = FrameworkPluginManager.__init__


def _monitored_init(self: FrameworkPluginManager, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self.add_hookcall_monitoring(_before, _after)


FrameworkPluginManager.__init__ = _monitored_init  # type: ignore[method-assign]

# ``on_event`` is called without pluggy on the per-event path (``event_observers`` hands out the
# implementations themselves), so its calls are seen by wrapping what that method returns.
_original_observers = FrameworkPluginManager.event_observers


def _seen_on_event(call: Any) -> Any:
    def observe(evt: Any) -> Any:
        _before("on_event", [call], {"evt": evt})
        return call(evt)

    return observe


def _monitored_observers(self: FrameworkPluginManager, ctx: Any) -> Any:
    return tuple((name, _seen_on_event(call)) for name, call in _original_observers(self, ctx))


FrameworkPluginManager.event_observers = _monitored_observers  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    _current.append(item.nodeid)
    try:
        return (yield)
    finally:
        _current.pop()


def pytest_assertion_pass(item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
    _entry(item.nodeid)["asserts"] += 1


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _entry(report.nodeid)
    if report.when == "call" or report.outcome != "passed":
        entry["outcome"] = report.outcome if report.when == "call" else f"{report.when} {report.outcome}"
    for key, value in report.user_properties:
        if key == "hook_called" and value not in entry["hooks"]:
            entry["hooks"].append(value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(os.environ["HOOK_EXERCISE_REPORT"], "w", encoding="utf-8") as out:
        json.dump(_results, out, indent=1)
