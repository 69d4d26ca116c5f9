"""The test infrastructure itself: the real broker keeps what it promised across restarts and
crashes, holds a large backlog for an offline client, and the proxy breaks links as told."""

from __future__ import annotations

import pytest
from bussdcc_framework_mqtt.testing import BrokerError, MosquittoBroker
from flaky_proxy import FlakyProxy
from mqtt_helpers import Peer, wait_for, wait_for_count


@pytest.mark.timeout(900)  # no total bound: each transfer fails only when it stops moving
def test_an_offline_persistent_client_gets_a_5000_message_backlog_across_a_broker_restart(
    broker: MosquittoBroker,
) -> None:
    assert broker.port is not None
    collector = Peer(broker.host, broker.port, client_id="collector", clean_start=False, session_expiry=3600)
    collector.subscribe("fleet/#")
    collector.close()  # offline: the broker queues for it (the default limit would keep 1000)

    device = Peer(broker.host, broker.port).wait_connected()
    infos = [device.publish("fleet/n", str(i).encode()) for i in range(5000)]
    wait_for_count(lambda: sum(i.is_published() for i in infos), 5000, "PUBACKs")
    device.close()
    # autosave_interval 1: wait for two saves that began after the last PUBACK (a busy machine
    # may delay one), then the queue is on disk.
    saves = broker.log_text().count("Saving in-memory database")
    wait_for(lambda: broker.log_text().count("Saving in-memory database") >= saves + 2, 30, "two saves")
    broker.kill()  # a crash, not a clean stop
    broker.start()

    back = Peer(broker.host, broker.port, client_id="collector", clean_start=False, session_expiry=3600)
    wait_for_count(lambda: len(back.received()), 5000, "the backlog")
    payloads = sorted(int(m.payload) for m in back.received())
    assert payloads == list(range(5000))
    back.close()


def test_a_unix_socket_listener_and_a_clear_error_when_the_port_is_taken(
    broker_factory: object, tmp_path: object
) -> None:
    make = broker_factory  # type: ignore[assignment]
    first: MosquittoBroker = make("one", unix_socket=True)  # type: ignore[operator]
    assert first.unix_path is not None and first.unix_path.exists()
    peer = Peer(str(first.unix_path), 1, transport="unix").wait_connected()
    peer.close()
    with pytest.raises(BrokerError, match="Address already in use"):
        make("two", port=first.port)  # type: ignore[operator]


def test_the_proxy_cuts_links_and_partitions_silently(broker: MosquittoBroker, proxy: FlakyProxy) -> None:
    assert broker.port is not None
    watcher = Peer(broker.host, broker.port)
    watcher.subscribe("t/#")
    device = Peer("127.0.0.1", proxy.port, keepalive=1).wait_connected()
    device.publish("t/a", b"1").wait_for_publish(10)
    wait_for(lambda: watcher.received("t/a"), 10, "t/a")

    assert proxy.cut() == 1
    wait_for(lambda: device.disconnects >= 1, 10, "the device to see the cut")
    wait_for(lambda: device.connects >= 2, 30, "the device to reconnect")

    proxy.partition()
    before = device.disconnects
    device.publish("t/b", b"2")
    # Nothing is closed: only the missing PINGRESP (1.5 x keepalive) tells the device.
    wait_for(lambda: device.disconnects > before, 15, "the keepalive to notice the partition")
    assert not watcher.received("t/b")
    proxy.heal()
    wait_for(lambda: watcher.received("t/b"), 30, "t/b after the partition healed")
    device.close()
    watcher.close()
