"""The ``bussdcc`` command: run, plugins, settings, and sub-commands contributed by plugins."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..plugins import FrameworkPluginManager, PluginHookError, PluginLoadError, load_plugins, load_settings
from ..report import report
from ..settings import SettingError, Settings
from .core_commands import plugins_command, run_command, settings_command
from .new_plugin import new_plugin_command
from .versions import print_versions


class PluginGroup(click.Group):
    """A click group that adds the ``register_commands`` of the loaded plugins on first use."""

    _plugins_added = False

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

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; a Ctrl-C it does not handle itself ends it with status 130.

        The one Ctrl-C policy (``runtime.signals.Interrupts``) starts once a command runs its
        runtime; a Ctrl-C before that (plugins loading, an app importing) or in a command that
        leaves it alone is an interrupt like any other: status 130, no "Aborted!", no traceback.
        """
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            report("")  # ends the terminal's "^C" line
            ctx.exit(130)


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


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point.

    Plugin problems that are fatal by choice (``BUSSDCC_STRICT_PLUGINS=1``) and malformed
    ``BUSSDCC_*`` variables end the command with one line on stderr, not a traceback.
    """
    try:
        return cli.main(args=argv, prog_name="bussdcc")
    except (PluginLoadError, PluginHookError) as exc:
        report(f"{exc} (BUSSDCC_STRICT_PLUGINS is on)")
        sys.exit(1)
    except SettingError as exc:
        report(f"bussdcc: error: {exc}")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
