"""The greenhouse demo: simulated climate sensors, a pump, alerts, and a web page.

The package has a stable import name (``greenhouse``) so that recorded events carry types such
as ``greenhouse.messages:ClimateReading`` that replay can resolve again later.
"""

from .alerts import AlertMonitor, Thresholds
from .messages import AlertCleared, AlertRaised, ClimateReading, PumpSwitched, SwitchPump
from .simulator import GreenhouseSimulator

__all__ = [
    "AlertCleared",
    "AlertMonitor",
    "AlertRaised",
    "ClimateReading",
    "GreenhouseSimulator",
    "PumpSwitched",
    "SwitchPump",
    "Thresholds",
]
