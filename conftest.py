"""The whole suite's rules (core tests and every plugin's): applied before any test runs.

* **No ``BUSSDCC_*`` variable from the shell reaches a test.** A developer's exported
  ``BUSSDCC_PLUGINS`` would otherwise change which plugins load, skip tests silently or make
  them pass for the wrong reason. They are removed for the whole session, and again before each
  test (one test's leak is not the next test's input); a test that needs one sets it itself
  (``monkeypatch.setenv``, or the ``env=`` of a subprocess). Variables about the test machine,
  not the framework (``TEST_MACHINE_VARIABLES``), are kept.
* **Every test, and every process it starts, gets Ctrl-C.** A suite started as a background job
  of a non-interactive shell (``./tests/run > log &`` in a script) inherits SIGINT *ignored*,
  and so would every example a test starts and then stops with Ctrl-C: it would wait for it
  forever (the "rare Ctrl-C hang" of ``examples/minimal.py``). Python's own handler, set before
  each test, makes children start with SIGINT at its default. It also undoes a handler a test
  left behind (a runtime shut down from another thread, a Socket.IO test client's). Likewise
  under ``nohup`` (SIGHUP ignored) and for SIGTERM, SIGUSR1/2 and SIGQUIT: one ignored when
  the suite started stays ignored in it, through a handler that does nothing, so that the
  processes the tests start and signal get it at its default (exec resets a caught signal,
  not an ignored one).
* **One way to drive a browser.** ``browser`` (one headless Chromium per test module, Debian's
  ``/usr/bin/chromium`` or ``BUSSDCC_TEST_CHROMIUM``, driven by Playwright; ``tests/run``
  installs it, ``playwright install`` is never used) serves every test marked ``browser``;
  ``BUSSDCC_SKIP_BROWSER_TESTS=1`` skips them on purpose (a failure in CI, like any skip).
* **A skipped test is a failure in CI** (``--strict-skips``, which ``./tests/run`` passes, or a
  ``CI`` variable), unless it is on ``ALLOWED_SKIPS`` with the reason it may be skipped: a skip
  that hides a missing tool or a broken environment must not look green.
"""

from __future__ import annotations

import fnmatch
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: ``BUSSDCC_*`` variables that describe the test machine rather than configure the framework.
TEST_MACHINE_VARIABLES = frozenset({"BUSSDCC_TEST_CHROMIUM", "BUSSDCC_SKIP_BROWSER_TESTS"})


@dataclass(frozen=True)
class AllowedSkip:
    """A test that may be skipped in CI: which one, with which skip reason, and why that is fine."""

    nodeid: str  # a glob over pytest node ids
    reason: str  # a regular expression the skip reason must match
    why: str


ALLOWED_SKIPS: tuple[AllowedSkip, ...] = (
    AllowedSkip(
        "plugins/jsonl/tests/test_outages.py::test_a_real_full_disk_leaves_at_most_one_new_segment_per_outage",
        r"cannot mount a tmpfs|unshare \(util-linux\) is not installed",
        "mounting a private tmpfs needs user namespaces, which some CI containers forbid; "
        "test_enospc_retries_leave_no_empty_segments covers the same logic with a simulated ENOSPC",
    ),
    AllowedSkip(
        "plugins/replay/tests/test_hostile_input.py::test_the_open_file_limit_is_raised_and_said_so",
        r"hard open-file limit",
        "an unprivileged test cannot raise a hard RLIMIT_NOFILE below 4096; the machine decides",
    ),
)


def _bussdcc_variables() -> list[str]:
    return [k for k in os.environ if k.startswith("BUSSDCC_") and k not in TEST_MACHINE_VARIABLES]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--strict-skips",
        action="store_true",
        help="fail every skipped test that is not on ALLOWED_SKIPS (conftest.py); on when CI is set",
    )


def pytest_configure(config: pytest.Config) -> None:
    for key in _bussdcc_variables():
        del os.environ[key]
    config.stash[_STRICT] = bool(config.getoption("--strict-skips") or os.environ.get("CI"))
    _patient_browser_assertions()


def _patient_browser_assertions() -> None:
    """Playwright's ``expect`` waits 5 s by default: too short beside busy processes on 2 cores.

    An assertion on the page still passes the moment it holds; only a failing one waits longer.
    """
    try:
        from playwright.sync_api import expect
    except ImportError:  # pragma: no cover - the dev group installs playwright
        return
    expect.set_options(timeout=30_000)


_STRICT = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _no_bussdcc_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without ``BUSSDCC_*`` variables (see the module docstring)."""
    for key in _bussdcc_variables():
        monkeypatch.delenv(key)
    yield


#: Debian's Chromium, which ``tests/run`` installs; ``BUSSDCC_TEST_CHROMIUM`` names another.
CHROMIUM = os.environ.get("BUSSDCC_TEST_CHROMIUM", "/usr/bin/chromium")
#: Headless on a CI machine: no sandbox (containers forbid it), no GPU, nothing fetched.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SKIP_BROWSER_TESTS = "BUSSDCC_SKIP_BROWSER_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SKIP_BROWSER_TESTS) != "1":
        return
    skip = pytest.mark.skip(reason=f"{SKIP_BROWSER_TESTS}=1")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the tests of one module (see the module docstring)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: tests/run installs Debian's chromium (apt-get install chromium); "
            f"set {SKIP_BROWSER_TESTS}=1 to skip the browser tests on purpose"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


#: Signals the tests send to the processes they start; ignored ones would be inherited.
SIGNALS_FOR_CHILDREN = (signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT)


def _ignored_here(signum: int, frame: object) -> None:
    """Ignores a signal in the suite's own process; a caught signal is not inherited."""


def _children_get_default_signals() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in SIGNALS_FOR_CHILDREN:
        if signal.getsignal(signum) is signal.SIG_IGN:
            signal.signal(signum, _ignored_here)


@pytest.fixture(autouse=True)
def _python_owns_ctrl_c() -> Iterator[None]:
    """Every test and its children start with Python's SIGINT handling and with the signals
    they are sent at their defaults (module docstring)."""
    _children_get_default_signals()
    yield
    _children_get_default_signals()


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def allowed_skip(nodeid: str, reason: str) -> AllowedSkip | None:
    """The ``ALLOWED_SKIPS`` entry that lets ``nodeid`` be skipped for ``reason``, if any."""
    for entry in ALLOWED_SKIPS:
        if fnmatch.fnmatchcase(nodeid, entry.nodeid) and re.search(entry.reason, reason):
            return entry
    return None


def _fail_unlisted_skip(config: pytest.Config, report: Any) -> None:
    if not (config.stash.get(_STRICT, False) and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if allowed_skip(report.nodeid, reason) is None:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI ({reason}); a skip is a failure here unless conftest.py's ALLOWED_SKIPS "
            "lists the test with the reason it may be skipped"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    _fail_unlisted_skip(item.config, report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[Any]:
    report = yield
    _fail_unlisted_skip(collector.config, report)
    return report
