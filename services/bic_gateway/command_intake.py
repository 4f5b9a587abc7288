"""The gateway's MQTT side (network thread): a command is parsed and checked here, then refused
on ``error`` or queued for the bus worker (``command_queue``); nothing here touches the bus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

import paho.mqtt.client as mqtt
import structlog

from shared.contract.retained import RetainedCommands
from shared.contract.status import is_offline
from shared.contract.topics import (
    SET_CHARGE,
    SET_CMD,
    SET_CURRENT,
    SET_POWER,
    SET_PROVISION,
    SET_STATE,
    parse_set_topic,
)
from shared.mqtt_client import decode_json
from shared.payload_limits import echo, excerpt

from .command_queue import CommandQueue, Dropped, Entry, Why
from .commands import COMMANDS
from .setpoint_request import parse_setpoint, parse_state, sent_before_offline, too_old
from .settings import BicGatewaySettings
from .unit_publisher import UnitPublisher
from .unit_runtime import UnitRuntime

log = structlog.get_logger("bic_gateway")

Raw = bytes | bytearray  # an MQTT payload


class CommandIntake:
    def __init__(
        self,
        settings: BicGatewaySettings,
        units: dict[int, UnitRuntime],
        queue: CommandQueue,
        cond: threading.Condition,
        publisher: UnitPublisher,
        retained: RetainedCommands,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.units = units
        self._queue = queue
        self._cond = cond  # guards the queue; notified when work arrives
        self.publisher = publisher
        self.retained = retained  # the one policy for retained commands
        self.clock = clock
        self.wall_clock = wall_clock
        #: when the controller was last seen going offline (wall clock): a setpoint stamped
        #: before it is from the controller's previous run, still queued after a quick restart
        self._offline_since_wall: float | None = None
        #: command topic -> its parser
        self._parsers: dict[str, Callable[[str, Raw, Callable[..., Entry]], Entry]] = {
            SET_POWER: self._parse_setpoint,
            SET_CURRENT: self._parse_setpoint,
            SET_CHARGE: self._parse_setpoint,
            SET_STATE: self._parse_state,
            SET_CMD: self._parse_cmd,
            SET_PROVISION: self._parse_provision,
        }

    def on_controller_status(self, msg: mqtt.MQTTMessage) -> None:
        status = msg.payload.decode("utf-8", "replace")
        if is_offline(status):
            self._offline_since_wall = self.wall_clock()
        with self._cond:
            dropped = self._queue.controller_status(status)
            self._cond.notify()
        for item in dropped:
            self.report_dropped(item)

    def on_set(self, msg: mqtt.MQTTMessage) -> None:
        parsed = parse_set_topic(self.settings.base_topic, msg.topic)
        if parsed is None:
            return
        address, name = parsed
        unit = self.units.get(address)
        if unit is None:
            log.warning("command_for_unknown_unit", topic=msg.topic)
            return
        stale = self.retained.refuse(msg.topic, bool(msg.retain), self.clock())
        if stale is not None:
            if self.publisher.answer_allowed(unit):
                value = msg.payload[:200].decode("utf-8", "replace")
                self.publisher.error_message(unit, excerpt(name), stale, echo(value))
            return
        if not msg.payload:
            return  # clearing a (retained) command topic is not a command
        parse = self._parsers.get(name)
        try:
            if parse is None:
                raise ValueError(f"unknown command topic set/{name}")
            self._enqueue(
                parse(name, msg.payload, partial(Entry, address, name, queued_at=self.clock()))
            )
        except ValueError as exc:
            value = msg.payload[:200].decode("utf-8", "replace")
            self.publisher.error(unit, name, str(exc), value)

    # --- command topic parsers: (topic name, payload, the entry's constructor) -> the entry to
    # queue; a ValueError says why the payload is refused ---------------------------------------
    def _parse_setpoint(self, name: str, payload: Raw, entry: Callable[..., Entry]) -> Entry:
        request = parse_setpoint(name, payload)
        stale = too_old(request.ts, self.wall_clock(), self.settings.max_command_age_s)
        if stale:
            raise ValueError(stale)
        stale = sent_before_offline(request.ts, self._offline_since_wall)
        if stale:
            raise ValueError(stale)
        return entry(request)

    @staticmethod
    def _parse_state(_name: str, payload: Raw, entry: Callable[..., Entry]) -> Entry:
        return entry(parse_state(payload), key="OPERATION")

    @staticmethod
    def _parse_cmd(_name: str, payload: Raw, entry: Callable[..., Entry]) -> Entry:
        data = decode_json(payload)
        if not isinstance(data, dict) or not isinstance(data.get("cmd"), str):
            raise ValueError(
                'expected {"id": ..., "cmd": "<command>", "value": ..., "confirm": ...}'
            )
        command = COMMANDS.get(data["cmd"])
        writes = command is not None and (command.takes_value or command.fixed_value is not None)
        key = command.register if writes and command is not None else None
        return entry(data, key=key, request_id=data.get("id"))

    @staticmethod
    def _parse_provision(_name: str, payload: Raw, entry: Callable[..., Entry]) -> Entry:
        data = decode_json(payload)
        if not (isinstance(data, dict) and data.get("confirm") is True):
            raise ValueError('provisioning needs {"confirm": true}')
        return entry({"cmd": "init_mode", "id": None, "confirm": True}, key="init_mode")

    def _enqueue(self, entry: Entry) -> None:
        with self._cond:
            put = self._queue.put(entry)
            self._cond.notify()
        if put.refused is not None:
            self.report_dropped(put.refused)
        elif put.replaced is not None and put.replaced.command == SET_CMD:
            reason = f"superseded by a newer command for {put.replaced.key}"
            self.report_dropped(Dropped(put.replaced, Why.SUPERSEDED, reason))

    def report_dropped(self, item: Dropped) -> None:
        """An entry that will not run (refused, replaced, expired, interrupted): answered."""
        self.publisher.dropped(self.units[item.entry.unit], item)
