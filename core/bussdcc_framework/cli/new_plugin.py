"""``bussdcc new-plugin NAME``: write the skeleton of a third-party plugin distribution.

The skeleton is a complete distribution (pyproject with the entry point; a hook module, its
settings, a message, a service, a sink, a ``bussdcc NAME`` command and a web route, each in its
own module and each with a test using the framework's pytest fixtures; a README) whose tests
pass as generated, so an author starts from green and changes one thing at a time. Templates
are plain files in ``bussdcc_framework/templates/new_plugin/`` filled with
``string.Template``: no template engine, no code execution, and a missing placeholder is an
error rather than a silent blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

import click

from ..version import get_version

TEMPLATE_ROOT = "templates/new_plugin"
_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
#: Template file names that cannot be shipped under their final name.
_RENAMES = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of a plugin's name the skeleton needs, derived from one NAME."""

    name: str
    entry_name: str
    dist: str
    package: str
    env_var: str
    class_prefix: str
    message_class: str
    service_class: str
    sink_class: str

    @classmethod
    def from_name(cls, raw: str) -> PluginNames:
        """Derive the names from NAME, e.g. ``csv-sink``; ``ValueError`` says what is allowed."""
        text = raw.strip().lower()
        for prefix in ("bussdcc-framework-", "bussdcc_framework_", "bussdcc-", "bussdcc_"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        if not _NAME.fullmatch(text):
            raise ValueError(
                f"{raw!r} is not a plugin name: use lower-case letters, digits and single "
                "'-' or '_' between them, starting with a letter (e.g. csv-sink)"
            )
        short = text.replace("-", "_")
        camel = "".join(part.capitalize() for part in short.split("_"))
        return cls(
            name=text,
            entry_name=short,
            dist="bussdcc-" + short.replace("_", "-"),
            package="bussdcc_" + short,
            env_var=f"BUSSDCC_{short.upper()}_GREETING",
            class_prefix=camel,
            message_class=f"{camel}Greeting",
            service_class=f"{camel}Service",
            sink_class=f"{camel}Sink",
        )

    def mapping(self) -> dict[str, str]:
        """The placeholders available to templates."""
        floor = ".".join(get_version().split(".")[:2]) + ".0"
        return {**self.__dict__, "framework_floor": floor}


def _walk(node: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                found.extend(_walk(child, (*prefix, child.name)))
        elif child.name.endswith(".tmpl"):
            found.append(((*prefix, child.name), child.read_text(encoding="utf-8")))
    return found


def render_skeleton(names: PluginNames) -> dict[Path, str]:
    """Relative path -> file content of the whole skeleton (nothing written yet)."""
    root = files("bussdcc_framework").joinpath(TEMPLATE_ROOT)
    values = names.mapping()
    rendered: dict[Path, str] = {}
    for parts, text in _walk(root):
        *dirs, filename = parts
        filename = filename.removesuffix(".tmpl")
        filename = _RENAMES.get(filename, filename)
        dirs = [names.package if d == "package" else d for d in dirs]
        try:
            rendered[Path(*dirs, filename)] = Template(text).substitute(values)
        except (KeyError, ValueError) as exc:
            raise RuntimeError(f"template {'/'.join(parts)} is broken: {exc!r}") from exc
    return rendered


def write_skeleton(names: PluginNames, parent: Path) -> Path:
    """Write the skeleton into ``parent/<dist>``; refuses to touch an existing non-empty folder."""
    target = parent / names.dist
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} already exists and is not empty")
    files_to_write = render_skeleton(names)
    for relative, content in files_to_write.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return target


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder in which to create bussdcc-NAME/.",
)
def new_plugin_command(name: str, parent: Path) -> None:
    """Create bussdcc-NAME/, a plugin distribution whose tests pass as generated.

    NAME is short and lower-case, e.g. csv-sink: the distribution is bussdcc-csv-sink, the
    import package bussdcc_csv_sink, the entry point (and BUSSDCC_PLUGINS name) csv_sink.
    """
    try:
        names = PluginNames.from_name(name)
        target = write_skeleton(names, parent)
    except (ValueError, FileExistsError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"created {target}/ (distribution {names.dist}, entry point {names.entry_name})")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo("  pip install -e '.[test]'    # or: uv pip install -e '.[test]'")
    click.echo("  pytest                      # passes as generated")
    click.echo(f"  bussdcc plugins             # lists {names.entry_name}")
