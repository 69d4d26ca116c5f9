"""A fleet on one machine: a broker, three simulated greenhouses, the collector and the fleet page.

    ./examples/fleet/run                   (or: .venv/bin/python examples/fleet/fleet.py)

Starts Debian's Mosquitto (``apt-get install mosquitto``) on a free port with the settings a
fleet needs (persistence, autosave every second, a large queue per offline client), then three
``bussdcc run examples/greenhouse/app.py`` processes as the devices ``demo/gh1``..``gh3``
(each with the mqtt bridge and its own outbox), and ``bussdcc fleet collect`` with the web
plugin: the fleet page is at the URL it prints. Everything lives under ``fleet-demo/`` (the
broker's files, each greenhouse's outbox and local recording, the central recording in
``fleet-demo/fleet/``). Ctrl-C stops it all and prints how to replay the fleet.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bussdcc_framework_mqtt.testing import BrokerError, MosquittoBroker

HERE = Path(__file__).resolve().parent
GREENHOUSE = HERE.parent / "greenhouse" / "app.py"
BUSSDCC = Path(sys.executable).parent / "bussdcc"
NODES = ("gh1", "gh2", "gh3")


def say(text: str) -> None:
    print(f"fleet: {text}", file=sys.stderr, flush=True)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.update(extra)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a broker, three greenhouses and the collector.")
    parser.add_argument("--dir", default="fleet-demo", help="where everything is kept (default: fleet-demo)")
    parser.add_argument("--port", type=int, default=5000, help="port of the fleet page (default: 5000)")
    args = parser.parse_args()
    work = Path(args.dir).resolve()
    broker = MosquittoBroker(work / "broker")
    try:
        broker.start()
    except BrokerError as exc:
        say(str(exc))
        return 1
    say(f"broker {broker.url} (mosquitto, files in {work / 'broker'})")
    processes: list[subprocess.Popen[bytes]] = []
    for node in NODES:
        env = child_env(
            BUSSDCC_DISABLE_PLUGINS="web,console",
            BUSSDCC_MQTT_URL=broker.url,
            BUSSDCC_MQTT_SITE="demo",
            BUSSDCC_MQTT_NODE=node,
            BUSSDCC_MQTT_OUTBOX=str(work / node / "outbox"),
            BUSSDCC_JSONL_DIR=str(work / node / "events"),
        )
        processes.append(
            subprocess.Popen([str(BUSSDCC), "run", str(GREENHOUSE)], env=env, start_new_session=True)
        )
        say(f"greenhouse demo/{node} started (pid {processes[-1].pid})")
    record = work / "fleet"
    collector_env = child_env(BUSSDCC_PLUGINS="mqtt,web", BUSSDCC_WEB_PORT=str(args.port))
    processes.append(
        subprocess.Popen(
            [str(BUSSDCC), "fleet", "collect", "--broker", broker.url, "--record", str(record)],
            env=collector_env,
            start_new_session=True,
        )
    )
    page = f"http://127.0.0.1:{args.port}/plugins/fleet/"
    stop = False

    def interrupted(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    announced = False
    while not stop:
        if not announced:
            try:
                with urllib.request.urlopen(page + "nodes.json", timeout=2):
                    announced = True
                    say(f"the fleet page: {page}  (Ctrl-C stops everything)")
            except OSError:
                pass
        if any(p.poll() is not None for p in processes):
            say("a process ended on its own; stopping the others")
            break
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = [p.wait(30) for p in processes]
    broker.stop()
    say(f"central recording in {record}/; replay the whole fleet, merged in time order, with")
    app = GREENHOUSE.relative_to(Path.cwd()) if GREENHOUSE.is_relative_to(Path.cwd()) else GREENHOUSE
    print(f"    .venv/bin/bussdcc replay {record} --app {app} --speed 10", file=sys.stderr)
    return 0 if all(code in (0, -signal.SIGTERM) for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
