"""The "send a message" form: kept as the web plugin's name for the core's ``emittable`` module.

``describe`` and ``validate`` live in ``bussdcc_framework.emittable`` since the mqtt plugin's
commands follow the same rule and validation as ``/api/emit``.
"""

from __future__ import annotations

from bussdcc_framework.emittable import FieldSpec, TypeSpec, describe, validate

__all__ = ["FieldSpec", "TypeSpec", "describe", "validate"]
