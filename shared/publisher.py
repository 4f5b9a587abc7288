"""What publishing code needs of the MQTT client: `Publisher`.

Code that only sends (the BIC gateway's state, answers and errors) takes a `Publisher`
instead of the whole `shared.mqtt_client.MqttClient`, so a test hands it a small recording
fake that type-checks as it is. `MqttClient` satisfies it structurally; nothing subclasses it.
The return value is whatever the client reports (paho's message info, or nothing in a fake):
publishing code does not rely on it.
"""

from __future__ import annotations

from typing import Protocol

#: what an MQTT payload may be given as (paho sends str UTF-8, numbers as text, None empty)
Payload = bytes | bytearray | str | float | int | None


class Publisher(Protocol):
    def publish(
        self, topic: str, payload: Payload, /, qos: int = ..., retain: bool = ...
    ) -> object:
        """Send `payload` on `topic`."""
        ...

    def publish_json(
        self, topic: str, obj: object, /, qos: int = ..., retain: bool = ...
    ) -> object:
        """Send `obj` as JSON on `topic` (an unserialisable object is logged, not sent)."""
        ...
