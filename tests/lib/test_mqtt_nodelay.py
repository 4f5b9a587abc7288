"""Every service's MQTT socket has TCP_NODELAY (Nagle off), on the first connect and after a
reconnect: read back from the real connected socket with getsockopt."""

from __future__ import annotations

import socket

import pytest
from harness import TIMEOUT, Probe
from lib.test_mqtt_client import make_client

pytestmark = pytest.mark.integration


def nodelay(sock) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_plain_paho_socket_has_nagle_on(broker):
    """The control: without our hook the option is off, so the test below can fail."""
    plain = Probe(broker, "api")
    try:
        plain.wait_connack()
        assert nodelay(plain.client.socket()) == 0
    finally:
        plain.close()


def test_service_client_socket_has_tcp_nodelay_also_after_a_reconnect(broker):
    client = make_client(broker, reconnect_min_s=0.2, reconnect_max_s=1.0)
    client.start()
    try:
        assert client.wait_connected(TIMEOUT)
        first = client._client.socket()
        assert isinstance(first, socket.socket)
        assert nodelay(first) != 0

        broker.stop()
        broker.start()
        assert client.wait_connects(2, TIMEOUT)
        again = client._client.socket()
        assert again is not first  # a new socket, set again
        assert nodelay(again) != 0
    finally:
        client.stop()
