"""The ``bussdcc`` click group: run, plugins, settings, and sub-commands contributed by plugins."""

from __future__ import annotations

from typing import Any

import click

from ..interrupts import EXIT_INTERRUPTED
from ..plugins import FrameworkPluginManager, load_plugins, load_settings
from ..report import report
from ..settings import SettingError, Settings
from .core_commands import plugins_command, run_command, settings_command
from .new_plugin import new_plugin_command
from .versions import print_versions


class PluginGroup(click.Group):
    """A click group that adds the ``register_commands`` of the loaded plugins on first use.

    Ctrl-C anywhere in a command that does not handle it itself (plugins loading, an app
    importing, a command that leaves it alone) ends it with status 130, no traceback and no
    "Aborted!": a command that runs until Ctrl-C (``run``, ``replay``) and is stopped while it
    starts has not failed. The one Ctrl-C policy (``interrupts.Interrupts``) takes over once a
    command runs its runtime.
    """

    _plugins_added = False

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except KeyboardInterrupt:
            report("")  # ends the terminal's "^C" line
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            report("")  # ends the terminal's "^C" line
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    def _add_plugin_commands(self) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        pm = load_plugins()
        owners: dict[str, str] = {}
        for plugin, command in pm.commands(_command_settings(pm)):
            name = command.name or ""  # the manager passes only named commands
            if name in self.commands:
                owner = owners.get(name, "bussdcc itself")
                report(
                    f'bussdcc: plugin "{plugin}" registers the command "{name}", which '
                    f"{owner} already provides; ignoring it (rename the command, or disable "
                    f"the plugin with BUSSDCC_DISABLE_PLUGINS={plugin})"
                )
                continue
            owners[name] = f'plugin "{plugin}"'
            self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)


def _command_settings(pm: FrameworkPluginManager) -> Settings:
    """The settings ``register_commands`` receives: from the environment, or the defaults.

    Commands are added before any of them runs; a value the user set wrongly must not hide
    every plugin command (nor ``--help``). The command that uses the settings (``run``,
    ``replay``, ``settings``...) resolves them again and stops on the error (exit 2).
    """
    try:
        return load_settings(plugins=pm)
    except SettingError:
        return load_settings(plugins=pm, environ={})


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=print_versions,
    help="Show the versions of the framework, the kernel and each loaded plugin.",
)
def cli() -> None:
    """bussdcc: run, record, replay and inspect bussdcc systems.

    Plugins are selected with BUSSDCC_PLUGINS (unset: all, empty: none, or a comma list)
    and BUSSDCC_DISABLE_PLUGINS.
    """


cli.add_command(run_command)
cli.add_command(plugins_command)
cli.add_command(settings_command)
cli.add_command(new_plugin_command)
