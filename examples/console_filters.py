"""Console filters: what to print, in which format.

    python examples/console_filters.py

Two console sinks on one runtime: a human-readable one showing warnings and above, and a JSON
one showing only the ``Watering`` messages. The same filters for ``bussdcc run`` come from
settings: ``BUSSDCC_CONSOLE_FORMAT=human BUSSDCC_CONSOLE_LEVEL=warning`` or
``BUSSDCC_CONSOLE_TYPES='*Watering'``. See docs/console.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from bussdcc import Message, Severity

from bussdcc_framework.io.console import ConsoleSink
from bussdcc_framework.runtime import Runtime


@dataclass(slots=True, frozen=True)
class Watering(Message):
    bed: str
    litres: float


@dataclass(slots=True, frozen=True)
class FrostWarning(Message):
    severity = Severity.WARNING

    temperature_c: float


def main() -> None:
    runtime = Runtime()
    runtime.add_sink(ConsoleSink("human", level="warning", color="never", utc=True))
    runtime.add_sink(ConsoleSink("json", types=["*:Watering"]))
    runtime.boot()
    runtime.ctx.emit(Watering(bed="lettuce", litres=2.0))
    runtime.ctx.emit(FrostWarning(temperature_c=-1.5))
    runtime.shutdown("example finished")


if __name__ == "__main__":
    main()
