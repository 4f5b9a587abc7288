"""LocalBroker (the tests' and the demo's mosquitto) starts on a port nobody else holds."""

from __future__ import annotations

import shutil
import socket

import pytest

from services.broker_setup.local_broker import LocalBroker, PortTakenError

pytestmark = pytest.mark.integration  # starts mosquitto


def test_a_picked_port_taken_before_mosquitto_binds_it_is_picked_again():
    broker = LocalBroker()  # a folder of its own under /tmp, which mosquitto can reach
    taken = broker.port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))  # as an outgoing connection holds its local port
        broker.start()
        try:
            assert broker.port != taken
            with socket.create_connection(("127.0.0.1", broker.port), timeout=2):
                pass
            assert f"listener {broker.port} " in (broker.root / "mosquitto.conf").read_text()
        finally:
            broker.stop()
            shutil.rmtree(broker.root)


def test_a_given_port_that_is_taken_is_an_error_naming_it():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        broker = LocalBroker(port=port)
        try:
            with pytest.raises(PortTakenError, match=f"port {port} is taken"):
                broker.start()
        finally:
            shutil.rmtree(broker.root)


def test_a_later_failure_is_not_taken_for_an_earlier_port_clash():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        broker = LocalBroker(port=holder.getsockname()[1])
        with pytest.raises(PortTakenError):
            broker.start()
    try:
        (broker.root / "passwd").unlink()  # the port is free now; the broker fails otherwise
        with pytest.raises(RuntimeError, match="passwd") as info:
            broker.start()
        assert not isinstance(info.value, PortTakenError)
    finally:
        shutil.rmtree(broker.root)
