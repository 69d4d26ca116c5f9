"""``bussdcc replay PATH...``: replay recorded logs through a runtime with the selected plugins.

The replay runs on a worker thread; the main thread draws the progress bar and turns Ctrl-C
or SIGTERM into ``stop_replay()``, so the runtime shuts down cleanly (sinks flushed) and the
summary still says how far it got. Recording is off unless ``--record DIR`` is given: with
``BUSSDCC_JSONL_ENABLED`` on, a replay of ``./events`` would otherwise write into ``./events``.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from types import FrameType
from typing import Any, Self

import click

from bussdcc_framework.app import AppError
from bussdcc_framework.cli.options import PluginOptionsCommand, collect_overrides, set_option
from bussdcc_framework.interrupts import Interrupts, startup
from bussdcc_framework.plugins import load_plugins, load_settings
from bussdcc_framework.report import describe, printable, report
from bussdcc_framework.settings import SettingError

from ..config import ReplayConfig
from ..filters import TimeBound
from ..reader import ReplayDataError
from ..runtime import ReplayRuntime
from .appload import load_app
from .common import build_registry, fail, open_sources, source_options
from .keys import Keys
from .keys import wanted as keys_wanted
from .progress import Progress, wanted
from .runsource import run_source
from .summary import combine, replay_summary


def _overrides(assignments: tuple[str, ...]) -> dict[str, Any]:
    """The user's overrides; recording stays off unless they turn it on (``--record DIR``)."""
    overrides = collect_overrides(assignments)
    declared = {s.key for s in load_plugins().declared_settings()}
    if "jsonl.enabled" in declared and "jsonl.enabled" not in overrides:
        # A replay of ./events with BUSSDCC_JSONL_ENABLED on would write into ./events.
        overrides["jsonl.enabled"] = "false"
    return overrides


def _speed(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if math.isnan(value) or value < 0:
        raise click.BadParameter("must be >= 0 (0: as fast as possible)")
    return value


@click.command("replay", cls=PluginOptionsCommand)
@source_options
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    callback=_speed,
    help="1 = recorded pace, N = N times faster, 0 = as fast as possible.",
)
@click.option(
    "--app",
    metavar="APP",
    help="Load an application (module:attr or path/app.py[:attr], as for `bussdcc run`) "
    "so its message types are known and its processes run.",
)
@set_option()
@click.option(
    "--hold", is_flag=True, help="After the last event keep the runtime (and the web UI) up until Ctrl-C."
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress line (default: when stdout and stderr are terminals).",
)
@click.option(
    "--keys/--no-keys",
    default=None,
    help="Take keys on the terminal: space pause/resume, s or right arrow step, +/- speed, "
    "q quit (default: when stdin is a terminal; nothing reads stdin otherwise).",
)
@click.option(
    "--paused", is_flag=True, help="Start paused before the first event (step or resume from there)."
)
@click.option("--loop", is_flag=True, help="After the last event start again from the first.")
@click.option(
    "--run",
    "which_run",
    metavar="N",
    help="Replay one run of the recording: latest, first, N or -N (see `bussdcc events runs`); "
    "--start/--end offsets then count from its start.",
)
def replay_command(
    paths: tuple[str, ...],
    start: TimeBound,
    end: TimeBound,
    types: tuple[str, ...],
    strict: bool,
    imports: tuple[str, ...],
    speed: float,
    app: str | None,
    assignments: tuple[str, ...],
    progress: bool | None,
    hold: bool,
    keys: bool | None,
    paused: bool,
    loop: bool,
    which_run: str | None,
) -> None:
    """Replay recorded events (directories, .jsonl and .jsonl.gz files, merged by time).

    The selected plugins see the replayed events (console, web); recorded lifecycle events
    are not re-emitted on top of the replay runtime's own. Damaged lines and unknown types are
    skipped and counted (see the summary) unless --strict. Recording is off unless asked
    for (--record DIR). The options after --progress are declared by the loaded plugins on
    their settings, as for `bussdcc run`.
    """
    try:
        settings = load_settings(_overrides(assignments))
        config = ReplayConfig.from_settings(settings)
    except SettingError as exc:
        fail(str(exc), 2)
    pm = load_plugins()
    try:
        runtime, setup = load_app(
            app, lambda **kw: ReplayRuntime(speed=speed, max_wait=config.max_wait, **kw)
        )
    except AppError as exc:
        fail(str(exc), 2)
    registry = build_registry(imports)
    if which_run is not None:
        source = run_source(
            paths,
            which_run,
            start=start,
            end=end,
            types=types,
            strict=strict,
            registry=registry,
            config=config,
        )
    else:
        source = open_sources(
            paths,
            start=start,
            end=end,
            types=types,
            strict=strict,
            registry=registry,
            settings=settings,
        )
    # Without the plugins' services: they produce live data, a replay shows the recorded.
    runtime.add_plugins(settings=settings, plugins=pm, services=False)
    try:
        setup(runtime)
    except Exception as exc:
        fail(f"--app {app}: setup failed: {describe(exc)}", 2)
    # The types the app declared (runtime.add_message_types) rebuild recorded events.
    registry.register_all(runtime.message_types)

    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            runtime.replay(source, speed=speed, hold=hold, paused=paused)
        except BaseException as exc:
            outcome["error"] = exc

    if hold:
        runtime.on_hold = lambda: report(
            "bussdcc replay: replay complete; holding the runtime up until Ctrl-C"
        )
    if loop:
        runtime.controller.set_loop(True)
    runtime.controller.run = source.run  # GET /api/replay says which run it is
    worker = threading.Thread(target=work, name="bussdcc-replay", daemon=True)
    interrupted = _Interrupts(runtime)
    reading_keys = keys_wanted(keys)
    bar = Progress(source, runtime, wanted(progress), keys=reading_keys)
    key_reader = Keys(runtime.controller, runtime.stop_replay, enabled=reading_keys, changed=bar.update)
    with interrupted, bar, key_reader:
        if startup.pending:
            # Ctrl-C came while the command started and its KeyboardInterrupt was swallowed on
            # the way (see bussdcc_framework.interrupts): stop instead of starting the replay.
            raise KeyboardInterrupt
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:
                interrupted.stop()
            if interrupted.count:
                # Again until it ends: a Ctrl-C while the replay was still starting up may have
                # come before it listened.
                runtime.stop_replay()
            bar.update()
        bar.update()

    error = outcome.get("error")
    stats = combine(source.stats)
    for line in replay_summary(runtime.stats, stats):
        report(printable(line))  # names and examples come from the files read
    if isinstance(error, ReplayDataError):
        fail(f"--strict: {error}", 1)
    if error is not None:
        fail(f"replay failed: {describe(error)}", 1)
    if interrupted.count and not runtime.stats.held:
        sys.exit(130)


class _Interrupts:
    """SIGINT/SIGTERM stop the replay, under the core's Ctrl-C policy (``Interrupts``)."""

    def __init__(self, runtime: ReplayRuntime) -> None:
        self.runtime = runtime
        self.policy = Interrupts()
        self._previous: dict[int, Any] = {}

    @property
    def count(self) -> int:
        return self.policy.count

    def stop(self) -> None:
        if self.policy.interrupt():
            self.runtime.stop_replay()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored at start: stays so
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
