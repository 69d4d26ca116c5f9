"""Interfaces: processes that connect a runtime to the outside world (web, CLI, fieldbus).

``bussdcc_framework.interface.web`` points at the web plugin and is imported lazily, so
importing this package never imports Flask.
"""

from bussdcc.process import Process


class Interface(Process):
    """A process registered with the runtime's interface manager rather than its processes.

    Plugins return ``Interface`` instances from ``register_processes``; the runtime registers
    them as interfaces so they start after processes and stop before them.
    """


__all__ = ["Interface"]
