"""Load an application named on the command line: ``module:attr`` or ``path/to/app.py[:attr]``.

The named object (or, without ``:attr``, the first of ``setup``, ``create_runtime``,
``runtime`` found in the module) may be:

* a function taking one argument, ``setup(runtime)``: called with the plugin-composed runtime
  to add the application's processes, services and sinks;
* a function taking no argument, ``create_runtime()``: returns the application's ``Runtime``,
  to which the selected plugins are then added;
* a ``Runtime`` instance: the plugins are added to it.

An application with a syntax error or an import that fails raises ``AppError`` with the file
and line to fix (``app_errors.py``): the commands print it as one line and exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .app_errors import import_failure
from .runtime import Runtime

DEFAULT_NAMES = ("setup", "create_runtime", "runtime")


class AppError(Exception):
    """The application could not be found or does not follow the contract."""


def _import_path(path: Path) -> ModuleType:
    if not path.is_file():
        raise AppError(f"application file {str(path)!r} does not exist")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        if getattr(existing, "__file__", None) == str(path.resolve()):
            return existing
        # Replacing an imported module (``json.py``, ``signal.py``) would break everything that
        # uses it; the module name must stay the stem so recorded message types replay.
        raise AppError(
            f"application file {str(path)!r} would shadow the already imported module "
            f"{name!r}; rename the file"
        )
    if not name.isidentifier():
        raise AppError(f"application file {str(path)!r}: {name!r} is not a valid module name")
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    if spec is None or spec.loader is None:
        raise AppError(f"cannot import {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (SyntaxError, ImportError) as exc:
        del sys.modules[name]
        raise AppError(import_failure(exc)) from exc
    return module


def load_module(target: str) -> ModuleType:
    """Import a module by dotted name or file path."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _import_path(Path(target))
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise AppError(f"cannot import application module {target!r}: {exc}") from exc
        raise AppError(import_failure(exc)) from exc
    except (SyntaxError, ImportError) as exc:
        raise AppError(import_failure(exc)) from exc


def resolve(spec: str) -> Any:
    """The object ``spec`` names (see the module docstring for the contract)."""
    if ":" in spec and not _is_drive(spec):
        target, _, attr = spec.rpartition(":")
    else:
        target, attr = spec, ""
    module = load_module(target)
    if attr:
        try:
            return getattr(module, attr)
        except AttributeError:
            raise AppError(f"{target!r} has no attribute {attr!r}") from None
    for name in DEFAULT_NAMES:
        if hasattr(module, name):
            return getattr(module, name)
    raise AppError(
        f"{target!r} defines none of {', '.join(DEFAULT_NAMES)}; "
        "name the object with module:attr (see `bussdcc run --help`)"
    )


def _is_drive(spec: str) -> bool:
    return len(spec) > 1 and spec[1] == ":" and spec[0].isalpha() and spec.count(":") == 1


@dataclass(frozen=True)
class LoadedApp:
    """What ``APP`` named: a ``setup(runtime)`` function, or the application's own runtime."""

    setup: Callable[[Runtime], object] | None = None
    runtime: Runtime | None = None


def load_app(spec: str | None) -> LoadedApp:
    """Import ``spec`` and classify it by the contract in the module docstring."""
    if spec is None:
        return LoadedApp()
    obj = resolve(spec)
    if isinstance(obj, Runtime):
        return LoadedApp(runtime=obj)
    if not callable(obj):
        raise AppError(f"{spec!r} is a {type(obj).__name__}, not a Runtime or a function")
    params = [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) == 1:
        return LoadedApp(setup=obj)
    if len(params) == 0:
        runtime = obj()
        if not isinstance(runtime, Runtime):
            raise AppError(
                f"{spec!r} returned {type(runtime).__name__}; a factory must return a "
                "bussdcc_framework.runtime.Runtime"
            )
        return LoadedApp(runtime=runtime)
    raise AppError(f"{spec!r} takes {len(params)} arguments; expected setup(runtime) or create_runtime()")


def build_runtime(spec: str | None, compose: Callable[[Runtime], Runtime]) -> Runtime:
    """Build the runtime for ``bussdcc run``: the app's own or a new one, composed with plugins."""
    app = load_app(spec)
    runtime = compose(app.runtime if app.runtime is not None else Runtime())
    if runtime.app_name is None:
        runtime.app_name = spec  # recorded as ApplicationStarted: runs say what they ran
    if app.setup is not None:
        app.setup(runtime)
    return runtime
