"""One type-pattern dialect, one ``type_name``, one report helper, shared by the core and plugins."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bussdcc.message import Message, ServiceError, ServiceStarted

from bussdcc_framework import names
from bussdcc_framework.patterns import NAME_CACHE_SIZE, TypePatterns, split_patterns
from bussdcc_framework.report import describe, printable, report

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SoilMoisture(Message):
    percent: float = 0.0


class Outer:
    @dataclass(frozen=True)
    class Inner(Message):
        pass


SOIL = names.type_name(SoilMoisture)
STARTED = "bussdcc.message.service:ServiceStarted"

# (pattern list, type, allowed?)
CASES: list[tuple[list[str], type, bool]] = [
    (["ServiceStarted"], ServiceStarted, True),
    (["servicestarted"], ServiceStarted, True),  # case-insensitive
    (["Service"], ServiceStarted, False),  # a bare word is the whole name, not a substring
    (["Service*"], ServiceStarted, True),
    (["service*"], ServiceError, True),
    (["bussdcc.message.*"], ServiceStarted, True),
    (["bussdcc.message.service:ServiceStarted"], ServiceStarted, True),
    ([f"{__name__}:*"], SoilMoisture, True),
    (["Service*,!ServiceError"], ServiceError, False),
    (["Service*", "-ServiceError"], ServiceError, False),
    (["!ServiceError"], ServiceStarted, True),  # only excludes: everything else passes
    (["*", "!SOIL*"], SoilMoisture, False),  # exclude wins, case-insensitive too
    (["Outer.Inner"], Outer.Inner, True),  # the qualified name
    (["Inner"], Outer.Inner, True),  # the short name
    (["Out?r.*"], Outer.Inner, True),
    (["[ST]oil*"], SoilMoisture, True),
    ([], SoilMoisture, True),
    ([" , "], SoilMoisture, True),  # blanks are no pattern
    (["!"], SoilMoisture, True),  # an empty exclusion excludes nothing
]


@pytest.mark.parametrize(("patterns", "cls", "allowed"), CASES)
def test_the_dialect(patterns: list[str], cls: type, allowed: bool) -> None:
    parsed = TypePatterns.parse(patterns)
    assert parsed.allows(cls) is allowed
    assert parsed.allows(cls) is allowed  # cached answer, same
    assert parsed.allows_name(names.type_name(cls)) is allowed


@pytest.mark.parametrize(("patterns", "cls", "allowed"), CASES)
def test_every_filter_of_the_workspace_speaks_it(patterns: list[str], cls: type, allowed: bool) -> None:
    from bussdcc_framework_console import TypeFilter as ConsoleFilter
    from bussdcc_framework_replay import TypeFilter as ReplayFilter
    from bussdcc_framework_web.filters import EventFilter

    assert ConsoleFilter(include=patterns).allows(cls) is allowed
    assert ReplayFilter(patterns)(cls) is allowed
    assert ReplayFilter(patterns).matches_name(names.type_name(cls)) is allowed
    record: Any = {"type": names.type_name(cls), "name": cls.__qualname__, "severity": 20}
    assert EventFilter.parse(",".join(patterns)).matches(record) is allowed


def test_include_and_exclude_apart() -> None:
    patterns = TypePatterns(include=["Service*", "!ServiceError"], exclude=["ServiceStopped", "-X"])
    assert patterns.include == ("Service*",)
    assert patterns.exclude == ("ServiceError", "ServiceStopped", "X")
    assert patterns.patterns == ("Service*", "!ServiceError", "!ServiceStopped", "!X")
    assert bool(patterns) and not TypePatterns() and not TypePatterns.parse("")
    assert split_patterns(["a, b", " ", "c"]) == ["a", "b", "c"]


def test_names_from_data_are_cached_within_a_bound() -> None:
    patterns = TypePatterns.parse("a*")
    for i in range(NAME_CACHE_SIZE + 100):
        patterns.allows_name(f"m:B{i}")
    assert patterns.allows_name("m:Zed") is False and patterns.allows_name("m:Apple") is True
    assert len(patterns._by_name) == NAME_CACHE_SIZE


def test_class_answers_are_safe_from_many_threads() -> None:
    patterns = TypePatterns.parse("Soil*")
    kinds = [type(f"Soil{i}", (), {}) for i in range(200)]
    results: list[bool] = []

    def work() -> None:
        results.extend(patterns.allows(k) for k in kinds)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 800


def test_one_type_name_everywhere() -> None:
    from bussdcc_framework import codec, testing
    from bussdcc_framework.codec import names as codec_names

    assert codec.type_name is names.type_name is testing.type_name is codec_names.type_name
    assert names.type_name(Outer.Inner) == f"{__name__}:Outer.Inner"
    assert names.short_name("pkg.mod:Outer.Inner") == "Inner"
    assert not (ROOT / "plugins/console/bussdcc_framework_console/_codec.py").exists()
    # No other module defines its own copy.
    copies = [
        p
        for p in [*ROOT.glob("core/**/*.py"), *ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py")]
        if "def type_name(" in p.read_text() and p.name != "names.py"
    ]
    assert copies == []


def test_printable_makes_control_characters_visible() -> None:
    assert printable("plain text, é, 日本") == "plain text, é, 日本"
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("line\nnext\r") == "line\\nnext\\r"
    assert printable("\u202eevil") == "\\u202eevil"
    assert printable("tab\there") == "tab\\there"


def test_report_is_one_flushed_line_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    report("bussdcc: something happened")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "bussdcc: something happened\n")


def test_reports_go_through_the_core() -> None:
    """No module of the core or of a plugin prints to stderr on its own (a progress bar aside)."""
    allowed = {"core/bussdcc_framework/report.py", "plugins/replay/bussdcc_framework_replay/cli/progress.py"}
    offenders = []
    for path in [
        *ROOT.glob("core/bussdcc_framework/**/*.py"),
        *ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py"),
    ]:
        text = path.read_text()
        if ("file=sys.stderr" in text or "err=True" in text) and str(path.relative_to(ROOT)) not in allowed:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_an_error_is_named_by_its_type_and_its_message_if_it_has_one() -> None:
    assert describe(ValueError("no such port")) == "ValueError: no such port"
    assert describe(RuntimeError()) == "RuntimeError"
    assert describe(KeyError("x")) == "KeyError: 'x'"


def test_errors_are_described_through_the_core() -> None:
    """No module spells ``f"{type(exc).__name__}: {exc}"``, which reads ``RuntimeError: ``."""
    spelled = re.compile(r"\{type\((\w+)\)\.__name__\}: \{\1\}")
    offenders = [
        str(path.relative_to(ROOT))
        for path in [
            *ROOT.glob("core/bussdcc_framework/**/*.py"),
            *ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py"),
        ]
        if spelled.search(path.read_text())
    ]
    assert offenders == []


def test_report_survives_a_closed_stderr(python: Any) -> None:
    result = python(
        """
        import os, sys
        from bussdcc_framework.report import report
        os.close(2)
        report("nobody hears this")
        print("still here")
        """
    )
    assert (result.returncode, result.stdout) == (0, "still here\n")
