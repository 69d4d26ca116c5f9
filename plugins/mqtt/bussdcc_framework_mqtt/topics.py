"""The topic tree of a fleet (see docs/fleet.md#topics): general to specific, one kind per level.

```
<prefix>/v1/<site>/<node>/status        retained: online/offline, boot id, session counter
<prefix>/v1/<site>/<node>/birth         retained: identity, versions, emittable message types
<prefix>/v1/<site>/<node>/evt/<type>    events (the recorder's record + node, boot, seq)
<prefix>/v1/<site>/<node>/cmd/<name>    commands to the node (never retained)
<prefix>/v1/<site>/<node>/cmd_res       answers to commands
```

Levels the framework generates hold only ``[a-z0-9_-]`` (the AWS IoT and Home Assistant
conventions): they are safe in ACL patterns, in file names (the collector records each node
under ``DIR/<site>/<node>/``) and in shells. A topic received from the network is parsed
strictly: anything that does not fit is rejected, never half-understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

VERSION_LEVEL = "v1"
_LEVEL = re.compile(r"[a-z0-9_-]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_MISSING = object()

Kind = Literal["status", "birth", "evt", "cmd", "cmd_res"]
KINDS: tuple[Kind, ...] = ("status", "birth", "evt", "cmd", "cmd_res")


class TopicError(ValueError):
    """A name cannot be a topic level (the message says what is allowed)."""


def slug(text: str) -> str:
    """``text`` as a topic level: lower case, runs of anything outside ``[a-z0-9_-]`` as ``-``.

    ``"Greenhouse 3"`` -> ``"greenhouse-3"``, ``"pi.local"`` -> ``"pi-local"``. Empty after that
    is a ``TopicError``.
    """
    level = re.sub(r"[^a-z0-9_-]+", "-", text.strip().lower()).strip("-")
    if not level:
        raise TopicError(f"{text!r} has no letters or digits to make a topic level from")
    return level


def check_level(text: str, what: str) -> str:
    """``text`` unchanged when it is a valid level; a ``TopicError`` saying what is allowed."""
    if not _LEVEL.fullmatch(text):
        raise TopicError(
            f"{what} {text!r} is not valid: use only a-z, 0-9, '_' and '-', e.g. {slug_or(text)}"
        )
    return text


def slug_or(text: str) -> str:
    """A suggestion for an invalid level (``"greenhouse-3"`` for ``"Greenhouse 3"``)."""
    try:
        return repr(slug(text))
    except TopicError:
        return "'greenhouse-3'"


def check_prefix(prefix: str) -> str:
    """A prefix of one or more levels (``"bussdcc"``, ``"acme/greenhouses"``), no wildcards."""
    levels = prefix.split("/")
    for level in levels:
        check_level(level, "the topic prefix level")
    return prefix


def type_level(type_name: str) -> str:
    """The ``evt/<type>`` level of a record type: the class name in snake case.

    ``"app.messages:SensorReading"`` -> ``"sensor_reading"``; the payload carries the full type,
    the level only lets subscribers and ACLs pick types.
    """
    qualname = type_name.rpartition(":")[2]
    short = qualname.rpartition(".")[2] or qualname
    snake = _CAMEL.sub("_", short).lower()
    return re.sub(r"[^a-z0-9_-]+", "_", snake).strip("_") or "event"


@dataclass(frozen=True, slots=True)
class NodeTopics:
    """The topics of one node."""

    prefix: str
    site: str
    node: str

    @property
    def base(self) -> str:
        """``<prefix>/v1/<site>/<node>``."""
        return f"{self.prefix}/{VERSION_LEVEL}/{self.site}/{self.node}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def birth(self) -> str:
        return f"{self.base}/birth"

    def evt(self, type_name: str) -> str:
        return f"{self.base}/evt/{type_level(type_name)}"

    def cmd(self, name: str) -> str:
        return f"{self.base}/cmd/{check_level(name, 'the command name')}"

    @property
    def cmd_filter(self) -> str:
        """The subscription for every command to this node."""
        return f"{self.base}/cmd/+"

    @property
    def cmd_res(self) -> str:
        return f"{self.base}/cmd_res"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A fleet topic taken apart."""

    site: str
    node: str
    kind: Kind
    name: str = ""  # the ``evt/<type>`` or ``cmd/<name>`` level


class FleetTopics:
    """Subscriptions and parsing for the central side (collector, fleet page, ``fleet`` CLI)."""

    def __init__(self, prefix: str, site: str = "+") -> None:
        self.prefix = check_prefix(prefix)
        self.site = site if site == "+" else check_level(site, "the site")
        self._head = [*prefix.split("/"), VERSION_LEVEL]
        self._parsed: dict[str, ParsedTopic | None] = {}

    def node(self, site: str, node: str) -> NodeTopics:
        return NodeTopics(self.prefix, site, node)

    def filters(self, *kinds: str) -> list[str]:
        """Subscription filters for the given kinds (``evt`` covers every type)."""
        base = f"{self.prefix}/{VERSION_LEVEL}/{self.site}/+"
        out = []
        for kind in kinds:
            out.append(f"{base}/{kind}/+" if kind in ("evt", "cmd") else f"{base}/{kind}")
        return out

    def parse(self, topic: str) -> ParsedTopic | None:
        """The parts of a fleet topic, or None when it is not one (wrong shape or characters).

        Remembered (a fleet has a few topics per node, repeated for every message), up to a
        bound, since topics come from the network.
        """
        found = self._parsed.get(topic, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        parsed = self._parse(topic)
        if len(self._parsed) < 65536:
            self._parsed[topic] = parsed
        return parsed

    def _parse(self, topic: str) -> ParsedTopic | None:
        levels = topic.split("/")
        head = len(self._head)
        if len(levels) < head + 3 or levels[:head] != self._head:
            return None
        site, node, kind, *rest = levels[head:]
        if not (_LEVEL.fullmatch(site) and _LEVEL.fullmatch(node)):
            return None
        if kind in ("evt", "cmd"):
            if len(rest) != 1 or not _LEVEL.fullmatch(rest[0]):
                return None
            return ParsedTopic(site, node, kind, rest[0])  # type: ignore[arg-type]
        if kind in ("status", "birth", "cmd_res") and not rest:
            return ParsedTopic(site, node, kind)  # type: ignore[arg-type]
        return None
