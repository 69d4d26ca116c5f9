"""The greenhouse demo application.

Run it live (recording, console and web UI come from the installed plugins)::

    bussdcc run examples/greenhouse/app.py --record events

then replay what was recorded, ten times faster, in the same web UI::

    bussdcc replay events/ --app examples/greenhouse/app.py --speed 10 --hold

``bussdcc run`` and ``bussdcc replay`` both call ``setup(runtime)`` with a runtime already
composed from the selected plugins. ``setup`` declares the greenhouse's message types (the web
page's "send a message" form offers them, replay rebuilds them). In a replay
(``runtime.replaying``) the recorded readings are the input, so the simulator is left out and
the alert monitor only rebuilds its state.
"""

from __future__ import annotations

from greenhouse import plugin
from greenhouse.alerts import AlertMonitor
from greenhouse.messages import MESSAGE_TYPES
from greenhouse.simulator import GreenhouseSimulator

from bussdcc_framework.plugins import register_plugin
from bussdcc_framework.runtime import Runtime, run_with_signals


def setup(runtime: Runtime) -> None:
    """Add the greenhouse to a runtime: its message types, web page, sensors and alert monitor."""
    runtime.add_message_types(*MESSAGE_TYPES)
    register_plugin(plugin, name=plugin.PLUGIN_NAME)  # the web page; a no-op the second time
    replaying = runtime.replaying
    runtime.state.set("greenhouse.replay", replaying)
    if not replaying:
        runtime.add_service(GreenhouseSimulator())
    runtime.add_process(AlertMonitor(act=not replaying))


if __name__ == "__main__":
    # `python examples/greenhouse/app.py` works too: the same as `bussdcc run` without options.
    app_runtime = Runtime.from_plugins()
    setup(app_runtime)
    run_with_signals(app_runtime)
