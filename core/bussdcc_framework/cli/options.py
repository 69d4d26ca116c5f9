"""Command-line options that plugins declare on their settings (``Setting(..., cli="--port")``).

The core names no plugin: ``bussdcc run --record DIR`` exists because the jsonl plugin declares
``cli="--record"`` on ``jsonl.dir``. ``PluginOptionsCommand`` adds one option per such setting
of the loaded plugins to a command (``run`` and the replay plugin's ``replay`` use it), and
``collect_overrides`` turns what the user typed into setting overrides that remember how they
were typed, so a bad value is reported as ``--port 70000``, not as the setting's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click

from ..plugins import load_plugins
from ..report import report
from ..settings import Override, Setting, parse_assignment, written

F = TypeVar("F", bound=Callable[..., Any])

#: ``ctx.meta`` keys where option callbacks leave what the user typed.
_GIVEN = "bussdcc.setting_options"
_IMPLIED = "bussdcc.setting_options.implied"

_METAVARS = {
    "int": "N",
    "float": "NUMBER",
    "path": "PATH",
    "list": "A[,B...]",
    "size": "SIZE",
    "duration": "DURATION",
    "str": "TEXT",
}


def _store(setting: Setting) -> Any:
    """The option callback: remember the value as an ``Override`` and what it implies."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if (
            value is None
            or ctx.get_parameter_source(param.name or "") != click.core.ParameterSource.COMMANDLINE
        ):
            return
        if isinstance(value, bool):
            flags = setting.cli.split("/") if setting.cli else []
            flag = flags[0] if value or len(flags) < 2 else flags[1]
            raw = "true" if value else "false"
            origin = flag
        else:
            raw = str(value)
            origin = written(f"{setting.cli} ", raw)
        ctx.meta.setdefault(_GIVEN, {})[setting.key] = Override(raw, origin)
        implied = ctx.meta.setdefault(_IMPLIED, {})
        for key, implied_raw in setting.implies:
            implied[key] = Override(implied_raw, f"{origin} (which sets {key}={implied_raw})")

    return callback


def set_option(help: str = "Set a plugin setting (repeatable); see `bussdcc settings`.") -> Callable[[F], F]:
    """``--set/-s PLUGIN.SETTING=VALUE`` (repeatable) into ``assignments``, as every command spells it.

    ``collect_overrides(assignments)`` turns the values into overrides for ``load_settings``.
    """
    return click.option(
        "--set", "-s", "assignments", multiple=True, metavar="PLUGIN.SETTING=VALUE", help=help
    )


def setting_option(setting: Setting) -> click.Option:
    """The click option of a setting that declares ``cli`` (``type`` parsing is the setting's)."""
    if setting.cli is None:
        raise ValueError(f"setting {setting.key} declares no cli option")
    help_text = setting.cli_help or f"{setting.help} (sets {setting.key})"
    name = "setting__" + setting.key.replace(".", "__").replace("-", "_")
    if setting.type == "bool":
        return click.Option(
            [setting.cli, name],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_store(setting),
            help=help_text,
        )
    return click.Option(
        [setting.cli, name],
        metavar=setting.cli_metavar or _METAVARS.get(setting.type, "VALUE"),
        default=None,
        expose_value=False,
        callback=_store(setting),
        help=help_text,
    )


def setting_options(
    settings: Iterable[Setting], taken: Iterable[str] = (), command: str = ""
) -> list[click.Option]:
    """Options for the settings that declare ``cli``; clashes are reported and skipped.

    ``taken`` are the option strings the command already has; a second setting declaring the
    same option as an earlier one is skipped too (the user can still use ``--set``).
    """
    used: dict[str, str] = {flag: f"bussdcc {command}".strip() for flag in taken}
    options = []
    for setting in settings:
        if setting.cli is None:
            continue
        flags = setting.cli.split("/")
        clash = next((used[f] for f in flags if f in used), None)
        if clash is not None:
            report(
                f"bussdcc: the setting {setting.key} declares the option {setting.cli}, which "
                f"{clash} already has; ignoring the option (use --set {setting.key}=VALUE)"
            )
            continue
        for flag in flags:
            used[flag] = f"the setting {setting.key}"
        options.append(setting_option(setting))
    return options


class PluginOptionsCommand(click.Command):
    """A command that also takes the ``cli`` options the loaded plugins declare on settings."""

    _plugin_options: list[click.Option] | None = None

    def plugin_options(self) -> list[click.Option]:
        """The options of the loaded plugins' settings (built once, on first use)."""
        if self._plugin_options is None:
            taken = [flag for param in self.params for flag in (*param.opts, *param.secondary_opts)]
            declared = load_plugins().declared_settings()
            self._plugin_options = setting_options(declared, [*taken, "--help", "-h"], self.name or "")
        return self._plugin_options

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        help_option = self.get_help_option(ctx)
        own = [p for p in params if p is not help_option]
        return [*own, *self.plugin_options(), *([help_option] if help_option is not None else [])]


def collect_overrides(assignments: Sequence[str] = (), ctx: click.Context | None = None) -> dict[str, Any]:
    """Setting overrides from ``--set k=v`` and the plugins' options given on the command line.

    Precedence, lowest first: what an option implies (``--record`` sets ``jsonl.enabled``),
    ``--set``, the option itself.
    """
    context = ctx if ctx is not None else click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    overrides: dict[str, Any] = dict(meta.get(_IMPLIED, {}))
    for text in assignments:
        key, value = parse_assignment(text)
        overrides[key] = value
    overrides.update(meta.get(_GIVEN, {}))
    return overrides


__all__ = ["PluginOptionsCommand", "collect_overrides", "set_option", "setting_option", "setting_options"]
