"""What ``bussdcc replay`` and ``bussdcc events`` share: options, the type registry, sources."""

from __future__ import annotations

import heapq
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any, NoReturn, TypeVar

import click
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.app import AppError, resolve
from bussdcc_framework.codec import Codec, TypeRegistry, default_registry, type_name
from bussdcc_framework.plugins import FrameworkPluginManager, load_plugins, load_settings
from bussdcc_framework.report import report
from bussdcc_framework.settings import SettingError, Settings
from bussdcc_framework.sources import SourceFactory

from ..factory import JsonlSourceFactory
from ..filters import TimeBound
from ..reader import RawRecord
from ..source import JsonlSource
from ..stats import SourceStats
from .format import printable
from .timeparse import TIME_BOUND

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line on stderr and exit with ``code``."""
    report(f"bussdcc: error: {message}")
    sys.exit(code)


def source_options(function: F) -> F:
    """The options every command reading logs takes: window, types, strict, imports."""
    decorators = [
        click.argument("paths", nargs=-1, required=True, metavar="PATH..."),
        click.option(
            "--start",
            type=TIME_BOUND,
            default=None,
            help="Skip events before this time: ISO-8601 (naive means UTC) or an offset "
            "from the first event (+90, 90s, 5m, 1h30m).",
        ),
        click.option(
            "--end",
            type=TIME_BOUND,
            default=None,
            help="Skip events after this time (same forms as --start).",
        ),
        click.option(
            "--types",
            "-t",
            "types",
            multiple=True,
            metavar="PATTERN",
            help="Only these types: shell patterns on module:QualName or the class "
            "name, comma-separated or repeated; !PATTERN excludes.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Stop at the first damaged line or unknown type instead of skipping it.",
        ),
        click.option(
            "--import",
            "imports",
            multiple=True,
            metavar="MODULE",
            help="Allow rebuilding types from MODULE (imported when a record names it); "
            "repeatable. Nothing is imported from log data otherwise.",
        ),
        click.option(
            "--node",
            "nodes",
            multiple=True,
            metavar="PATTERN",
            expose_value=False,
            callback=_remember_nodes,
            help="Only these nodes of a fleet recording (bussdcc fleet collect): shell patterns "
            "on NODE or SITE/NODE, comma-separated or repeated.",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


#: Where ``--node`` leaves its patterns for ``open_sources`` (so no command signature changes).
NODES_META = "bussdcc_replay_nodes"
#: The file ``bussdcc fleet collect`` keeps at the top of a fleet recording.
FLEET_MARKER = ".bussdcc-collector.json"


def _remember_nodes(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    ctx.meta[NODES_META] = [p.strip() for item in value for p in item.split(",") if p.strip()]


def select_nodes(paths: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The node directories (``DIR/<site>/<node>``) of the fleet recordings in ``paths`` whose
    ``site/node`` or ``node`` matches one of ``patterns``; exits 2 with what exists otherwise."""
    from fnmatch import fnmatchcase

    selected: list[str] = []
    known: list[str] = []
    for raw in paths:
        root = os.fspath(raw)
        if not os.path.isfile(os.path.join(root, FLEET_MARKER)):
            fail(
                f"--node needs a fleet recording made by bussdcc fleet collect (DIR/<site>/<node>/); "
                f"{printable(root)} is not one",
                2,
            )
        for site in sorted(os.listdir(root)):
            site_dir = os.path.join(root, site)
            if site.startswith(".") or not os.path.isdir(site_dir):
                continue
            for node in sorted(os.listdir(site_dir)):
                node_dir = os.path.join(site_dir, node)
                if node.startswith(".") or not os.path.isdir(node_dir):
                    continue
                known.append(f"{site}/{node}")
                if any(fnmatchcase(f"{site}/{node}", p) or fnmatchcase(node, p) for p in patterns):
                    selected.append(node_dir)
    if not selected:
        fail(
            f"--node {printable(','.join(patterns))} matches no node; the recording has: "
            + (printable(", ".join(known)) or "none"),
            2,
        )
    return selected


def app_option(function: F) -> F:
    """``--app APP`` for the ``events`` commands: import the application, so its types are known."""
    return click.option(
        "--app",
        metavar="APP",
        help="Import an application (module:attr or path/app.py[:attr], as for `bussdcc run`) "
        "so its message types are known; --import then also finds modules next to it.",
    )(function)


def import_app(spec: str | None) -> None:
    """Import the application ``spec`` names (nothing is called), or exit 2 with one line.

    A file's folder goes on ``sys.path`` (``bussdcc_framework.app``), which is what lets
    ``--import messages`` find ``messages.py`` next to ``path/app.py``.
    """
    if spec is None:
        return
    try:
        resolve(spec)
    except AppError as exc:  # a syntax or import error is one line with file:line already
        fail(printable(str(exc)), 2)
    except Exception as exc:
        fail(f"--app {printable(spec)}: cannot import it: {type(exc).__name__}: {printable(str(exc))}", 2)


def build_registry(imports: Sequence[str]) -> TypeRegistry:
    """The default registry plus the modules ``--import`` allows."""
    registry = default_registry()
    for module in imports:
        try:
            registry.allow_import(module)
        except ValueError as exc:
            fail(f"--import {module!r}: {exc}", 2)
    return registry


class MergedSource:
    """Several sources (from one or more factories) merged by event time, stable by order."""

    def __init__(self, sources: Sequence[Any], codec: Codec | None = None) -> None:
        self.sources = list(sources)
        self.codec = codec if codec is not None else Codec(default_registry(plugins=False))
        #: The run replayed (``replay --run``), as the replay's status shows it; None otherwise.
        self.run: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Event[Message]]:
        if len(self.sources) == 1:
            return iter(self.sources[0])
        return heapq.merge(*self.sources, key=attrgetter("time"))

    def records(self) -> Iterator[RawRecord]:
        """The raw records of every source merged by time (``events cat``).

        JSONL sources give their lines as they are; any other source's events are encoded.
        """
        streams = [s.records() if isinstance(s, JsonlSource) else self._encoded(s) for s in self.sources]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=attrgetter("time"))

    def _encoded(self, source: Any) -> Iterator[RawRecord]:
        encode = self.codec.encode_record_exact
        for evt in source:
            yield RawRecord(evt.time, type_name(type(evt.payload)), encode(evt))

    @property
    def stats(self) -> list[SourceStats]:
        """The stats of the JSONL sources among them."""
        return [s.stats for s in self.sources if isinstance(s, JsonlSource)]

    def progress(self) -> tuple[int, int]:
        """(bytes read, bytes total) over the JSONL sources."""
        done = total = 0
        for source in self.sources:
            if isinstance(source, JsonlSource):
                d, t = source.progress()
                done += d
                total += t
        return done, total


#: Where ``bussdcc events --set`` leaves its overrides for the subcommand that runs.
SETTINGS_META = "bussdcc_framework_replay.settings"


def command_settings(pm: FrameworkPluginManager) -> Settings:
    """The settings of an ``events`` command: its ``--set``, the environment, then the defaults.

    A wrong value stops the command with exit 2 and the one-line error that names it.
    """
    context = click.get_current_context(silent=True)
    overrides = context.meta.get(SETTINGS_META, {}) if context is not None else {}
    try:
        return load_settings(overrides, plugins=pm)
    except SettingError as exc:
        fail(str(exc), 2)


def open_sources(
    paths: Sequence[str],
    *,
    start: TimeBound,
    end: TimeBound,
    types: Sequence[str],
    strict: bool,
    registry: TypeRegistry,
    settings: Settings | None = None,
) -> MergedSource:
    """Open ``paths`` with the registered source factories (JSONL first-class), or fail."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        fail(f"no such file or directory: {missing[0]}", 2)
    context = click.get_current_context(silent=True)
    nodes = context.meta.get(NODES_META) if context is not None else None
    if nodes:
        paths = select_nodes(paths, nodes)
    pm = load_plugins()
    resolved = settings if settings is not None else command_settings(pm)
    factories: list[SourceFactory] = pm.sources(resolved)
    if not any(isinstance(f, JsonlSourceFactory) for f in factories):
        factories.append(JsonlSourceFactory())
    codec = Codec(registry)
    groups: dict[int, tuple[SourceFactory, list[str]]] = {}
    for path in paths:
        for position, factory in enumerate(factories):
            if factory.can_open(path):
                groups.setdefault(position, (factory, []))[1].append(path)
                break
        else:
            names = ", ".join(f.name for f in factories)
            fail(f"{path}: no source can read it (tried: {names})", 2)
    sources = []
    for factory, group in groups.values():
        configure = getattr(factory, "with_options", None)
        if callable(configure):
            factory = configure(strict=strict, registry=registry, codec=codec)
        sources.append(factory.open(group, start=start, end=end, types=types))  # type: ignore[arg-type]
    return MergedSource(sources, codec)
