"""The names the mqtt plugin took from the core before issue 9's settings and patterns landed.

They have landed (``Setting`` with constraints, ``values_of``, ``bussdcc_framework.patterns``):
these are now the core's own, re-exported until the plugin imports them directly.
"""

from __future__ import annotations

from bussdcc_framework.patterns import TypePatterns
from bussdcc_framework.settings import Setting as declare
from bussdcc_framework.settings import values_of

__all__ = ["TypePatterns", "declare", "values_of"]
