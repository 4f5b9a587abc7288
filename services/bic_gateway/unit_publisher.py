"""What the gateway says about its units on MQTT, and how much of it under a flood.

Every JSON payload is built from its topic-contract model (``shared.contract.payloads``), so what
goes out is what the contract describes: the fields given, in the model's order (a field left
out stays out, as the model's defaults describe). Refusals and drops are answered on ``error``
(and ``reply`` for ``set/cmd``) within each unit's answer budget (``answer_budget``), and logged
once per kind (``shared.log_throttle``, ``shared.log_reminder``): a flood of bad commands is not a
flood of answers or log lines. Both threads answer (MQTT handlers and the bus worker), so the
budgets and the drop reminders are guarded by locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel

from shared.contract.payloads import (
    UnitError,
    UnitFault,
    UnitInfo,
    UnitReply,
    UnitSetpoint,
    UnitState,
    UnitWear,
)
from shared.contract.topics import SET_CMD
from shared.log_reminder import Reminder
from shared.log_throttle import MessageThrottle
from shared.payload_limits import MESSAGE_CHARS, echo, excerpt
from shared.publisher import Payload, Publisher

from .answer_budget import AnswerBudget
from .command_queue import Dropped, Why
from .plans import Plan
from .setpoint_request import SetpointRequest
from .telemetry import plain_values, state_payload
from .unit_runtime import UnitRuntime

log = structlog.get_logger("bic_gateway")

DROP_LOG_EVERY_S = 60.0  # dropped/refused commands: one line per kind, then one a minute


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def as_published(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


class UnitPublisher:
    def __init__(
        self,
        client: Publisher,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        efficiency: float,
    ) -> None:
        self.client = client
        self.clock = clock
        self.wall_clock = wall_clock
        self.efficiency = efficiency  # for the `state`'s AC power estimate
        self._error_log = MessageThrottle()
        self._drop_logs: dict[Why, Reminder] = {}  # guarded by _drop_lock
        self._drop_lock = threading.Lock()
        self._answer_budgets: dict[int, AnswerBudget] = {}  # guarded by _answer_lock
        self._answer_lock = threading.Lock()

    def publish(
        self,
        topic: str,
        payload: Payload | dict[str, object] | list[object],
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> None:
        if isinstance(payload, dict | list):
            self.client.publish_json(topic, payload, qos=qos, retain=retain)
        else:
            self.client.publish(topic, payload, qos=qos, retain=retain)

    def availability(self, unit: UnitRuntime, state: str) -> None:
        self.publish(unit.topics.availability, state, retain=True)

    # --- answers: refusals, drops, replies --------------------------------------------------------
    def error(self, unit: UnitRuntime, command: str, message: str, value: object = None) -> None:
        # bounded echoes: 1 MB on set/power once came back as 1.5 MB on the error topic
        command, message = excerpt(command), excerpt(message, MESSAGE_CHARS)
        value = echo(value)
        # every error goes to the error topic; the log gets the first of each kind, then a
        # reminder with the count (a flood of bad commands is not a flood of log lines)
        suppressed = self._error_log.admit(command, message, self.clock())
        if suppressed is not None:
            log.warning(
                "command_error",
                unit=unit.driver.address,
                command=command,
                error=message,
                suppressed_since_last_log=suppressed,
            )
        if self.answer_allowed(unit):
            self.error_message(unit, command, message, value)

    def error_message(
        self, unit: UnitRuntime, command: str | None, error: str, value: object, qos: int = 1
    ) -> None:
        """One message on the unit's ``error`` topic (``command`` None: about several)."""
        payload = UnitError(time=iso_now(), command=command, error=error, value=value)
        self.publish(unit.topics.error, as_published(payload), qos=qos)

    def reply(
        self,
        unit: UnitRuntime,
        request_id: object,
        cmd: object,
        time: str,
        *,
        result: object = None,
        error: str | None = None,
        qos: int = 1,
    ) -> None:
        """The answer to a ``set/cmd`` on ``reply``: ``ok`` with its ``result``, or the
        ``error``; ``time`` when the request was taken up."""
        outcome = {"result": result} if error is None else {"error": error}
        payload = UnitReply(id=request_id, cmd=cmd, time=time, ok=error is None, **outcome)
        self.publish(unit.topics.reply, as_published(payload), qos=qos)

    def dropped(self, unit: UnitRuntime, item: Dropped) -> None:
        """An entry that will not run: on `error` (and `reply` for set/cmd, whose sender waits);
        logged once per kind, then a reminder with a count (a flood must not flood the log).

        QoS 0: as many of these as a flood has messages; at QoS 1 they would fill the MQTT
        client's in-flight window and hold up `setpoint` and `state` behind them."""
        entry = item.entry
        value = entry.payload.value if isinstance(entry.payload, SetpointRequest) else entry.payload
        with self._drop_lock:
            reminder = self._drop_logs.setdefault(item.why, Reminder(DROP_LOG_EVERY_S))
            reminder.log(
                log.warning,
                "command_dropped",
                item.why.value,
                self.clock(),
                unit=entry.unit,
                command=entry.command,
                detail=item.reason,
            )
        if not self.answer_allowed(unit):
            return
        if entry.command == SET_CMD:
            value = entry.payload.get("value")
            # bounded: both come from the sender
            request_id, cmd = echo(entry.request_id), echo(entry.payload.get("cmd"))
            self.reply(unit, request_id, cmd, iso_now(), error=item.reason, qos=0)
        self.error_message(unit, entry.command, item.reason, value, qos=0)

    def answer_allowed(self, unit: UnitRuntime) -> bool:
        """Within the unit's answer budget (a flood is not answered message by message); the
        first answer after a withheld stretch is preceded by one that says how many."""
        with self._answer_lock:
            budget = self._answer_budgets.setdefault(unit.driver.address, AnswerBudget())
            allowed, withheld = budget.take(self.clock())
        self._tell_withheld(unit, withheld, budget.rate_per_s)
        return allowed

    def flush_withheld(self, units: Iterable[UnitRuntime]) -> None:
        """Say how many answers a flood's end left withheld."""
        now = self.clock()
        by_address = {unit.driver.address: unit for unit in units}
        with self._answer_lock:
            told = [(a, b.flush(now), b.rate_per_s) for a, b in self._answer_budgets.items()]
        for address, withheld, rate in told:
            self._tell_withheld(by_address[address], withheld, rate)

    def _tell_withheld(self, unit: UnitRuntime, withheld: int, rate_per_s: float) -> None:
        if not withheld:
            return
        error = (
            f"{withheld} more refused or dropped commands were not answered one by one "
            f"(at most {rate_per_s:g} answers/s per unit under a flood)"
        )
        self.error_message(unit, None, error, withheld, qos=0)

    # --- the unit's retained topics ---------------------------------------------------------------
    def info(self, unit: UnitRuntime) -> None:
        info = unit.driver.info
        if info is None:
            return
        payload = UnitInfo(**info.to_json(), **unit.driver.config_json())
        self.publish(unit.topics.info, as_published(payload), retain=True)

    def wear(self, unit: UnitRuntime) -> None:
        driver = unit.driver
        ledger = driver.record.ledger
        unit.held.announced = {name: w.value for name, w in driver.governor.held.items()}
        payload = UnitWear(
            time=iso_now(),
            writes=ledger.writes,
            eeprom_writes=ledger.eeprom_writes,
            eeprom_total=ledger.eeprom_total,
            budget=driver.wear_policy.budget,
            eep_off_active=driver.eep_off,
            eep_off_supported=driver.record.eep_off_supported,
            min_interval_s=driver.wear_policy.min_interval_s,
            next_eeprom_write_in_s=round(driver.governor.wait_s(self.wall_clock()), 1),
            held=unit.held.announced,
        )
        self.publish(unit.topics.wear, as_published(payload), retain=True)

    def setpoint(self, unit: UnitRuntime, plan: Plan, **outcome: Any) -> None:
        """What became of a plan: ``outcome`` names the source, the registers written, skipped
        and deferred, and what was requested (or why the unit idles)."""
        battery_v = unit.driver.values.get("READ_VOUT")
        payload = UnitSetpoint(
            time=iso_now(),
            **outcome,
            direction=plan.direction.value,
            current_a=plan.signed_current_a,
            registers=plan.register_values(),
            reason=plan.reason,
            # the applied setpoint in DC W (quantised current x measured battery voltage)
            power_w=round(plan.signed_current_a * battery_v, 1) if battery_v else None,
            watchdog="tripped" if unit.watchdog.tripped else "armed",
            watchdog_timeout_s=unit.watchdog.timeout_s,
        )
        self.publish(unit.topics.setpoint, as_published(payload), retain=True)

    def state(self, unit: UnitRuntime) -> dict[str, Any]:
        """The unit's `state` from its last register values; returns it as published."""
        driver = unit.driver
        payload = UnitState(
            **state_payload(driver.values, self.efficiency, iso_now()),
            controllable=driver.controllable,
            control_problems=driver.control_problems,
        )
        state = as_published(payload)
        self.publish(unit.topics.state, state, retain=True)
        return state

    def values(self, unit: UnitRuntime, state: dict[str, Any]) -> None:
        """The plain per-value topics of a `state`, and the energy counters."""
        for suffix, value in {**plain_values(state), **unit.energy.values()}.items():
            self.publish(unit.topics.value(suffix), value, retain=True, qos=0)

    def fault(self, unit: UnitRuntime, raw: int) -> None:
        payload = UnitFault.model_validate(unit.faults.payload(raw, iso_now()))
        self.publish(unit.topics.fault, as_published(payload), retain=True)
