"""The type registry: which ``Message`` classes a record's ``type`` may resolve to.

Recorded files are data, and data must not choose code to run. The original replay imported
whatever module a line named; here a name resolves only to

* a class registered explicitly (kernel and framework messages, plugins'
  ``register_message_types``, ``register()`` calls, aliases of renamed classes);
* a ``Message`` subclass the application has *already imported* (found by walking
  ``Message.__subclasses__()``, never by importing);
* a class in a module the user allowed with ``allow_import()`` (``bussdcc replay --import``);
  only then is a module named in data imported.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import threading
import time
from collections.abc import Iterable

from bussdcc.message import Message

from ..report import describe, report
from .names import split_type_name, type_name


def is_message_class(obj: object) -> bool:
    """True for a dataclass that subclasses the kernel's ``Message``."""
    return isinstance(obj, type) and issubclass(obj, Message) and dataclasses.is_dataclass(obj)


def _all_subclasses(root: type) -> list[type]:
    found: list[type] = []
    stack = [root]
    seen: set[type] = set()
    while stack:
        sub: type
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                found.append(sub)
                stack.append(sub)
    return found


class TypeRegistry:
    """Maps record type names to ``Message`` classes without ever importing from data.

    Thread-safe: readers on several threads may resolve while a plugin registers.
    """

    #: On a miss, the imported classes are walked again when a module was imported or a direct
    #: ``Message`` subclass appeared since the last walk, and otherwise at most this often
    #: (seconds), which catches classes defined later in an already imported module.
    rescan_interval: float = 1.0

    def __init__(self, *, include_imported: bool = True) -> None:
        self._lock = threading.RLock()
        self._explicit: dict[type, None] = {}
        self._by_name: dict[str, type] = {}
        self._allowed: set[str] = set()
        self._include_imported = include_imported
        self._imported: dict[str, type] = {}
        # (len(sys.modules), len(Message.__subclasses__())) and time.monotonic() at the last walk
        self._imported_at = (-1, -1)
        self._walked_at = 0.0
        self.import_errors: dict[str, str] = {}
        #: Modules ``allow_import`` allowed whose import failed, with the error: tried once,
        #: not once per record naming them.
        self.module_errors: dict[str, str] = {}

    # -- registration --------------------------------------------------------------------

    def register(self, cls: type, *, name: str | None = None) -> type:
        """Register a message class (under ``name`` too, for a class renamed since recording).

        Returns the class, so it works as a decorator.
        """
        if not is_message_class(cls):
            raise TypeError(
                f"{cls!r} is not a Message dataclass; only subclasses of bussdcc.message.Message "
                "decorated with @dataclass can be registered"
            )
        key = type_name(cls) if name is None else name
        split_type_name(key)  # an alias must be a well-formed name too
        with self._lock:
            self._explicit.setdefault(cls, None)
            self._by_name[key] = cls
            self._by_name.setdefault(type_name(cls), cls)
        return cls

    def register_all(self, classes: Iterable[type]) -> None:
        """Register several classes."""
        for cls in classes:
            self.register(cls)

    def alias(self, name: str, cls: type) -> None:
        """Resolve the old name ``name`` of a renamed or moved class to ``cls``."""
        self.register(cls, name=name)

    def registered(self) -> list[type]:
        """The explicitly registered classes, in registration order (the emittable ones)."""
        with self._lock:
            return list(self._explicit)

    def allow_import(self, module: str) -> None:
        """Allow ``resolve`` to import ``module`` (and its submodules) when data names it."""
        split_type_name(f"{module}:X")  # validates a dotted module name
        with self._lock:
            self._allowed.add(module)

    def allowed_modules(self) -> list[str]:
        """The modules ``allow_import`` allowed, sorted."""
        with self._lock:
            return sorted(self._allowed)

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, name: str) -> type | None:
        """The class a record ``type`` names, or ``None`` when it is unknown or malformed."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        try:
            module, qualname = split_type_name(name)
        except ValueError:
            return None
        with self._lock:
            found = self._by_name.get(name)
            if found is None and self._include_imported:
                found = self._find_imported(name)
            if found is None and self._is_allowed(module):
                found = self._import(name, module, qualname)
            if found is not None:
                self._by_name[name] = found
            return found

    def _find_imported(self, name: str) -> type | None:
        # Walking the subclass tree is cheap but not free, so a file full of unknown types
        # must not walk it per line: walk again only when something may have changed (a module
        # imported, a direct subclass of Message defined) or, failing that, once per interval
        # (a subclass of a subclass defined in a module already imported).
        found = self._imported.get(name)
        if found is not None:
            return found
        signature = (len(sys.modules), len(Message.__subclasses__()))
        now = time.monotonic()
        if signature != self._imported_at or now - self._walked_at >= self.rescan_interval:
            self._imported_at = signature
            self._walked_at = now
            self._imported = {
                type_name(cls): cls for cls in _all_subclasses(Message) if is_message_class(cls)
            }
        return self._imported.get(name)

    #: How many failed type names ``import_errors`` remembers (data may name millions).
    max_import_errors: int = 10_000

    def _remember_error(self, name: str, error: str) -> None:
        if len(self.import_errors) < self.max_import_errors:
            self.import_errors[name] = error

    def _is_allowed(self, module: str) -> bool:
        return any(module == allowed or module.startswith(allowed + ".") for allowed in self._allowed)

    def _import(self, name: str, module: str, qualname: str) -> type | None:
        if name in self.import_errors:
            return None
        failed = self.module_errors.get(module)
        if failed is not None:
            self._remember_error(name, failed)
            return None
        try:
            obj: object = importlib.import_module(module)
        except Exception as exc:
            self.module_errors[module] = describe(exc)
            self._remember_error(name, self.module_errors[module])
            return None
        try:
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            self._remember_error(name, describe(exc))
            return None
        if not is_message_class(obj):
            self._remember_error(name, f"{module}:{qualname} is not a Message dataclass")
            return None
        assert isinstance(obj, type)
        return obj


def kernel_message_types() -> list[type]:
    """Every message class the kernel defines (``bussdcc.message``)."""
    import bussdcc.message as kernel

    return [obj for obj in vars(kernel).values() if is_message_class(obj) and obj is not Message]


def framework_message_types() -> list[type]:
    """Every message class the framework core defines (``bussdcc_framework.message``)."""
    from .. import message as framework

    return [obj for obj in vars(framework).values() if is_message_class(obj)]


def default_registry(*, plugins: bool = True) -> TypeRegistry:
    """A new registry with kernel, framework and plugin message types, plus imported classes.

    Plugin types come from ``register_message_types`` of the plugins ``load_plugins()`` selects;
    pass ``plugins=False`` to skip plugin discovery (tests, tools that must not load plugins).
    """
    registry = TypeRegistry()
    registry.register_all(kernel_message_types())
    registry.register_all(framework_message_types())
    if plugins:
        from ..plugins import load_plugins

        for cls in load_plugins().message_types():
            try:
                registry.register(cls)
            except (TypeError, ValueError) as exc:
                # One bad declaration (a class defined in a function has no importable name)
                # must not stop replay or recording.
                report(f"bussdcc: register_message_types: {exc}")
    return registry
