"""``LazyCommand``: a sub-command whose module is imported only when the command is used.

``bussdcc --help`` lists every plugin's commands; without this, listing them would import each
command's module (and whatever it needs: the codec, msgspec, Flask) just to print one line.
A plugin returns ``LazyCommand("replay", "pkg.cli:replay_command", short_help=...)`` from
``register_commands``; the real command is imported when the command runs or shows its help.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click


class LazyCommand(click.Command):
    """A named placeholder for the click command at ``target`` (``"module:attribute"``)."""

    def __init__(self, name: str, target: str, *, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)
        module, sep, attribute = target.partition(":")
        if not sep or not module or not attribute:
            raise ValueError(f"LazyCommand target {target!r} must be 'module:attribute'")
        self.target = target
        self._command: click.Command | None = None

    def load(self) -> click.Command:
        """The real command (imported on first use)."""
        if self._command is None:
            module, _, attribute = self.target.partition(":")
            command = getattr(import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.target} is {command!r}, not a click command")
            self._command = command
        return self._command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The context (and so the parsing, the help and the invocation) is the real command's.
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self.load().get_params(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        return self.load().invoke(ctx)


__all__ = ["LazyCommand"]
