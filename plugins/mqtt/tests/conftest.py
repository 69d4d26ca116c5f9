"""Fixtures of the mqtt plugin's tests: a real Mosquitto broker per test and a flaky TCP proxy.

Every test that talks MQTT talks to Debian's ``mosquitto`` started here (``./tests/run``
installs it); without it these tests fail with the install hint instead of being skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bussdcc_framework_mqtt.testing import MosquittoBroker

_HERE = Path(__file__).parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from flaky_proxy import FlakyProxy  # noqa: E402
from mqtt_helpers import kill_leftovers  # noqa: E402

BrokerFactory = Callable[..., MosquittoBroker]


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[BrokerFactory]:
    """``broker_factory(**options)``: start a broker with its own directory; all stopped after."""
    started: list[MosquittoBroker] = []

    def make(name: str = "broker", **options: Any) -> MosquittoBroker:
        broker = MosquittoBroker(tmp_path / name, **options)
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.kill()


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> MosquittoBroker:
    """A running broker on 127.0.0.1 (a free port) with persistence and no queue limit."""
    return broker_factory()


@pytest.fixture
def proxy(broker: MosquittoBroker) -> Iterator[FlakyProxy]:
    """A flaky link in front of ``broker``: ``cut()``, ``cut_every(s)``, ``partition()``."""
    assert broker.port is not None
    link = FlakyProxy(broker.host, broker.port)
    yield link
    link.close()


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    kill_leftovers()
