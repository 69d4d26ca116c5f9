"""The core's own sub-commands: ``run``, ``plugins`` and ``settings``."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from ..app import AppError, build_runtime
from ..plugins import hook_names, load_plugins, load_settings
from ..report import describe, report
from ..runtime import Runtime, run_with_signals
from ..settings import SettingError
from .options import PluginOptionsCommand, collect_overrides, set_option
from .table import format_table


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line on stderr and exit with ``code``."""
    report(f"bussdcc: error: {message}")
    sys.exit(code)


@click.command("run", cls=PluginOptionsCommand)
@click.argument("app", required=False)
@set_option()
def run_command(app: str | None, assignments: tuple[str, ...]) -> None:
    """Boot a runtime with the selected plugins and APP until Ctrl-C.

    APP is `module:attr` or `path/to/app.py[:attr]`. Without :attr the module's `setup`,
    `create_runtime` or `runtime` is used: setup(runtime) configures the plugin-composed
    runtime, create_runtime() returns the app's own Runtime, and a Runtime instance is used
    as it is. Plugins are added in every case. Without APP the plugins run alone. The
    options below --set are declared by the loaded plugins on their settings.
    """
    try:
        settings = load_settings(collect_overrides(assignments))
    except SettingError as exc:
        fail(str(exc), 2)
    pm = load_plugins()

    def compose(runtime: Runtime) -> Runtime:
        return runtime.add_plugins(settings=settings, plugins=pm)

    try:
        runtime = build_runtime(app, compose)
    except (AppError, SettingError) as exc:  # SettingError: a plugin rejected a value
        fail(str(exc), 2)
    try:
        run_with_signals(runtime)
    except Exception as exc:
        fail(describe(exc) if not str(exc).startswith(type(exc).__name__) else str(exc))


@click.command("plugins")
@click.option(
    "--all", "show_all", is_flag=True, help="Also list installed plugins that are disabled or not selected."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--hook", metavar="NAME", help="Only plugins that implement hook NAME.")
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Also print the full traceback of each plugin that failed to load or whose hook raised.",
)
def plugins_command(show_all: bool, as_json: bool, hook: str | None, show_traceback: bool) -> None:
    """List plugins: name, version, entry point, hooks and status (failed ones with their error)."""
    if hook is not None and hook not in hook_names():
        fail(f"--hook {hook!r} is not a hook; hooks: {', '.join(hook_names())}", 2)
    pm = load_plugins()
    if show_traceback:
        # The hooks every command calls, so that their failures are known and shown.
        pm.declared_settings()
        pm.message_types()
    records = list(pm.records.values())
    if not show_all:
        records = [r for r in records if r.status in ("loaded", "failed", "duplicate")]
    if hook:
        records = [r for r in records if hook in r.hooks]
    failures = {r.name: [f for f in pm.failures if f.plugin == r.name] for r in records}
    if as_json:
        listed = [r.as_dict() for r in records]
        if show_traceback:
            for item, r in zip(listed, records, strict=True):
                item["traceback"] = r.traceback
                item["hook_failures"] = [
                    {"hook": f.hook, "error": f.summary, "location": f.location, "traceback": f.traceback}
                    for f in failures[r.name]
                ]
        click.echo(json.dumps(listed, indent=2))
        return
    if not records:
        click.echo("no plugins" + (" implement " + hook if hook else " loaded"))
        return
    rows = []
    for r in records:
        status = r.status if not r.error else f"{r.status}: {r.error}"
        rows.append([r.name, r.version or "-", r.entry_point, ", ".join(r.hooks) or "-", status])
    click.echo(format_table(["name", "version", "entry point", "hooks", "status"], rows))
    if show_traceback:
        for r in records:
            if r.traceback:
                click.echo(f"\n{r.name} failed to load:\n{r.traceback.rstrip()}")
            for f in failures[r.name]:
                click.echo(f"\n{r.name} failed in hook {f.hook} ({f.location}):\n{f.traceback.rstrip()}")


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@set_option("Show the values as they would be with these overrides.")
def settings_command(as_json: bool, assignments: tuple[str, ...]) -> None:
    """Every declared setting: its value, where it came from, its variable and help."""
    try:
        settings = load_settings(collect_overrides(assignments))
    except SettingError as exc:
        fail(str(exc), 2)
    resolved = settings.resolved()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "key": r.setting.key,
                        "value": _jsonable(r.setting.shown(r.value)),
                        "source": r.source,
                        "env": r.setting.env_var,
                        "type": r.setting.type,
                        "help": r.setting.help,
                    }
                    for r in resolved
                ],
                indent=2,
            )
        )
        return
    if not resolved:
        click.echo("no settings declared by the loaded plugins")
        return
    rows = [
        [r.setting.key, _show(r.setting.shown(r.value)), r.source, r.setting.env_var, r.setting.help]
        for r in resolved
    ]
    click.echo(format_table(["setting", "value", "source", "variable", "help"], rows))


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    return str(value)
