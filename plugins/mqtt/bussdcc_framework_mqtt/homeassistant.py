"""Home Assistant MQTT discovery (``mqtt.homeassistant``): the node's numbers and flags as entities.

For every numeric field (``int``, ``float``) of the application's message types, a ``sensor``;
for every ``bool`` field, a ``binary_sensor``. Each config is retained on
``<discovery prefix>/<component>/<node id>/<object id>/config`` (Home Assistant's convention,
so entities survive a Home Assistant restart), reads its value from the type's ``evt/<type>``
topic and its availability from the node's retained ``status``. No command entity is created:
commands are never retained, and a retained command would act again after every restart.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from bussdcc.message import Message

from bussdcc_framework.codec import type_name

from .topics import NodeTopics, type_level


def _field_kinds(cls: type) -> list[tuple[str, str]]:
    """(field, "sensor" | "binary_sensor") for the numeric and boolean fields of ``cls``."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return []
    out = []
    for field in dataclasses.fields(cls):
        hint = hints.get(field.name)
        if hint is bool:
            out.append((field.name, "binary_sensor"))
        elif hint in (int, float):
            out.append((field.name, "sensor"))
    return out


def discovery_configs(
    topics: NodeTopics, prefix: str, types: list[type[Message]], versions: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, config) for every entity of ``types`` on this node."""
    device_id = f"bussdcc_{topics.site}_{topics.node}".replace("-", "_")
    device = {
        "identifiers": [device_id],
        "name": f"{topics.node} ({topics.site})",
        "manufacturer": "bussdcc-framework",
        "model": "bussdcc node",
        "sw_version": str(versions.get("framework") or ""),
    }
    configs = []
    for cls in types:
        level = type_level(type_name(cls))
        for field, component in _field_kinds(cls):
            object_id = f"{level}_{field}"
            value = f"value_json.data.{field}"
            config: dict[str, Any] = {
                "name": f"{cls.__name__} {field}",
                "unique_id": f"{device_id}_{object_id}",
                "object_id": f"{device_id}_{object_id}",
                "state_topic": topics.evt(type_name(cls)),
                "value_template": "{{ " + value + " }}",
                "availability_topic": topics.status,
                "availability_template": "{{ value_json.state }}",
                "payload_available": "online",
                "payload_not_available": "offline",
                "device": device,
            }
            if component == "binary_sensor":
                config["value_template"] = "{{ 'ON' if " + value + " else 'OFF' }}"
            configs.append((f"{prefix}/{component}/{device_id}/{object_id}/config", config))
    return configs
