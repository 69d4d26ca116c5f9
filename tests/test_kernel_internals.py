"""The kernel's private names the framework relies on: checked here, and used nowhere but _kernel.py.

When the pinned kernel renames or changes one of them, ``test_the_pinned_kernel_still_has_...``
fails with a line naming the attribute, instead of the framework misbehaving somewhere else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from bussdcc.clock import ReplayClock as KernelReplayClock
from bussdcc.runtime import Runtime as KernelRuntime
from bussdcc.runtime.replay import ReplayRuntime as KernelReplayRuntime
from bussdcc.service import ServiceSupervisor

from bussdcc_framework import _kernel
from bussdcc_framework.runtime import Runtime, is_replaying

ROOT = Path(__file__).resolve().parents[1]


def test_the_pinned_kernel_still_has_every_private_name_the_framework_uses() -> None:
    problems = _kernel.check_kernel()
    assert problems == [], "the kernel changed:\n" + "\n".join(problems)


def test_every_checked_name_is_listed_with_its_reason() -> None:
    assert set(_kernel.PRIVATE_NAMES) >= {
        "bussdcc.runtime.Runtime._booted",
        "bussdcc.runtime.Runtime._stop_event",
        "bussdcc.runtime.Runtime._sub",
        "bussdcc.service.supervisor._ServiceEntry",
        "bussdcc.clock.ReplayClock._now",
    }
    assert all(reason for reason in _kernel.PRIVATE_NAMES.values())


class RenamedBooted(KernelRuntime):
    """A kernel runtime as it would be if a release renamed ``_booted``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.__dict__["_is_booted"] = self.__dict__.pop("_booted")

    def __getattr__(self, name: str) -> Any:
        if name == "_booted":
            raise AttributeError(name)
        raise AttributeError(name)


class MovedClockTime(KernelReplayClock):
    """A kernel replay clock whose time moved to another attribute."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        del self._now
        self._time = None

    def start(self, start_time: Any) -> None:
        self._time = start_time


class LockFreeSupervisor(ServiceSupervisor):
    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._lock = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"clock_class": MovedClockTime}, "bussdcc.clock.ReplayClock._now"),
        ({"supervisor_class": LockFreeSupervisor}, "bussdcc.service.ServiceSupervisor._lock"),
    ],
)
def test_a_changed_kernel_is_reported_naming_the_attribute(changed: dict[str, Any], named: str) -> None:
    problems = _kernel.check_kernel(**changed)
    assert problems, "the change was not noticed"
    assert any(line.startswith(named) for line in problems), problems


def test_a_renamed_runtime_attribute_is_named() -> None:
    problems = _kernel.check_kernel(runtime_class=RenamedBooted)
    assert any(line.startswith("bussdcc.runtime.Runtime._booted") for line in problems), problems


def test_accessors_fail_loudly_instead_of_defaulting() -> None:
    with pytest.raises(AttributeError, match="_now"):
        _kernel.replay_clock_time(MovedClockTime())


def test_no_module_but_kernel_touches_the_kernels_private_names() -> None:
    names = re.compile(
        r"\b_booted\b|\b_stop_event\b|\._sub\b|\b_ServiceEntry\b|\._now\b|\._monotonic\b"
        r"|\b_dispatch_to_(process|service)\b|\bdef _dispatch\(|\._dispatch\b|\._services\b"
        r"|getattr\([^)]*\"_(now|state|lock|sub|booted)\""
    )
    sources = [
        *ROOT.glob("core/bussdcc_framework/**/*.py"),
        *ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py"),
        *ROOT.glob("examples/**/*.py"),
    ]
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources
        if path.name != "_kernel.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if names.search(line)
    ]
    assert offenders == []


def test_a_kernel_replay_clock_reports_its_time_through_the_accessor() -> None:
    from datetime import UTC, datetime

    clock = KernelReplayClock()
    assert _kernel.replay_clock_time(clock) is None
    start = datetime(2026, 5, 1, tzinfo=UTC)
    clock.start(start)
    assert _kernel.replay_clock_time(clock) == start


def test_is_replaying() -> None:
    assert Runtime.replaying is False
    assert not is_replaying(Runtime().ctx)
    assert not is_replaying(KernelRuntime().ctx)
    assert is_replaying(KernelReplayRuntime().ctx)
