"""Type patterns: the one dialect the console, replay, web and other filters use to pick types.

A pattern is a shell glob (``*``, ``?``, ``[...]``) matched case-insensitively against three
names of a type: the full record type ``module:QualName``, the qualified name and the short
class name. A bare word (no glob character) must equal one of them. ``!pattern`` or
``-pattern`` excludes. An empty include list means every type; an exclude always wins. See
``docs/configuration.md#type-patterns``.

Filters sit on the hot path (every event crosses them), so the decision is cached: per class
(one dict lookup) or per type name (bounded, since names can come from files and networks).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from fnmatch import translate

from .names import short_name, type_name

_GLOB = frozenset("*?[")
#: Names remembered by ``allows_name``; beyond this, answers are computed each time.
NAME_CACHE_SIZE = 4096

_Matcher = Callable[[str], bool]


def split_patterns(items: Iterable[str]) -> list[str]:
    """Flatten ``["A,B", " C "]`` into ``["A", "B", "C"]``, dropping blanks."""
    return [p.strip() for item in items for p in item.split(",") if p.strip()]


def _matcher(pattern: str) -> _Matcher:
    body = pattern.lower()
    if _GLOB.isdisjoint(body):
        return body.__eq__
    match = re.compile(translate(body)).match
    return lambda name: match(name) is not None


class TypePatterns:
    """Include and exclude patterns over message types; ``allows(cls)`` is the question.

    ``TypePatterns.parse(["Service*,!ServiceError", "myapp.*:*"])`` takes the command-line and
    setting form (comma lists, ``!``/``-`` to exclude); ``TypePatterns(include=..., exclude=...)``
    takes the two lists apart (a leading ``!``/``-`` in ``include`` still excludes).
    """

    __slots__ = ("_by_class", "_by_name", "_exclude", "_include", "_lock", "exclude", "include")

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        inc: list[str] = []
        exc: list[str] = []
        for pattern in split_patterns(include):
            if pattern[0] in "!-":
                if pattern[1:].strip():
                    exc.append(pattern[1:].strip())
            else:
                inc.append(pattern)
        for pattern in split_patterns(exclude):
            body = pattern[1:].strip() if pattern[0] in "!-" else pattern
            if body:
                exc.append(body)
        self.include: tuple[str, ...] = tuple(inc)
        self.exclude: tuple[str, ...] = tuple(exc)
        self._include = tuple(_matcher(p) for p in inc)
        self._exclude = tuple(_matcher(p) for p in exc)
        self._by_class: dict[type, bool] = {}
        self._by_name: dict[str, bool] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, items: Iterable[str] | str) -> TypePatterns:
        """Patterns as users write them: comma lists, ``!pattern``/``-pattern`` excludes."""
        return cls(include=[items] if isinstance(items, str) else items)

    def __bool__(self) -> bool:
        """False when the patterns filter nothing (every type is allowed)."""
        return bool(self.include or self.exclude)

    def __repr__(self) -> str:
        return f"TypePatterns(include={self.include!r}, exclude={self.exclude!r})"

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns in their written form: includes, then excludes as ``!pattern``."""
        return (*self.include, *(f"!{p}" for p in self.exclude))

    def decide(self, full: str, qualname: str, short: str) -> bool:
        """The uncached answer for a type known by its three names."""
        names = (full.lower(), qualname.lower(), short.lower())
        if self._include and not any(m(n) for m in self._include for n in names):
            return False
        return not any(m(n) for m in self._exclude for n in names)

    def allows(self, cls: type) -> bool:
        """Whether events of ``cls`` pass (cached per class, safe from any thread)."""
        decision = self._by_class.get(cls)
        if decision is None:
            decision = self.decide(type_name(cls), cls.__qualname__, cls.__name__)
            with self._lock:
                # Copy-on-write: readers never see a dict being resized.
                cache = dict(self._by_class)
                cache[cls] = decision
                self._by_class = cache
        return decision

    def allows_name(self, name: str) -> bool:
        """Whether a ``module:QualName`` type name passes (names need not be importable)."""
        decision = self._by_name.get(name)
        if decision is None:
            qualname = name.rpartition(":")[2]
            decision = self.decide(name, qualname, short_name(name))
            if len(self._by_name) < NAME_CACHE_SIZE:
                self._by_name[name] = decision  # one atomic store; a lost race costs a recompute
        return decision


__all__ = ["NAME_CACHE_SIZE", "TypePatterns", "split_patterns"]
