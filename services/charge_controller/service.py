"""Thin MQTT adapter around the supervisor: subscriptions, setpoint writes, state, commands.

Handlers run on paho's network thread, the periodic check on its own thread; both go through
one lock. Nothing here decides anything: ``Supervisor`` does, and every decision's reason is
logged and published in the retained ``<base>/charge-controller/state``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from services.charge_controller.charge_only import parse_info
from services.charge_controller.control_law import Decision
from services.charge_controller.controller_config import (
    CommandError,
    ControllerConfig,
    parse_value,
    with_change,
)
from services.charge_controller.gateway_link import parse_state, setpoint_payload
from services.charge_controller.meter_input import MeterInput, extract_value
from services.charge_controller.plausible import SOC_PCT, within
from services.charge_controller.runtime_state import RuntimeState
from services.charge_controller.settings import ChargeControllerSettings
from services.charge_controller.supervisor import Supervisor
from services.charge_controller.surplus_switches import SurplusSwitches, SwitchAction
from shared.contract.payloads import CommandResult, ControllerState
from shared.contract.retained import RetainedCommands
from shared.contract.status import is_online
from shared.contract.topics import (
    CONTROLLER,
    config_topic,
    controller_set,
    controller_switch,
    controller_topic,
)
from shared.heartbeat import iso_now
from shared.log_throttle import LogThrottle, MessageThrottle
from shared.mqtt_client import correlation_of
from shared.payload_limits import COMMAND_LIMITS, MESSAGE_CHARS, SMALL_LIMITS, excerpt
from shared.runtime import ServiceRuntime

SERVICE = CONTROLLER


class ControllerService:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: ChargeControllerSettings,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.client = runtime.client
        self.log = runtime.log
        self.base = settings.base_topic
        self.commands = controller_set(self.base, "")  # + the parameter's key path
        self.monotonic, self.wall = monotonic, wall
        self.lock = threading.Lock()
        # config file/env < runtime changes persisted by an earlier run (runtime_state.py)
        self.runtime_state = RuntimeState(settings.runtime_state_file, self.log)
        self.supervisor = Supervisor(self.runtime_state.start_config(settings.runtime_part()))
        if settings.meter is None:  # __main__ runs unconfigured.py instead
            raise ValueError("the charge controller needs a meter (charge-controller: meter)")
        self.meter = MeterInput(settings.meter)
        self.switches = SurplusSwitches(settings.switches)
        gw = settings.gateway
        self.setpoint_topic = gw.topic(gw.setpoint_topic, self.base)
        self.state_topic = gw.topic(gw.state_topic, self.base)
        self.info_topic = gw.topic(gw.info_topic, self.base)
        self.availability_topic = gw.topic(gw.availability_topic, self.base)
        self.gateway_online: bool | None = None
        self.writes = 0
        self.last_sent: float | None = None
        self._published_summary: tuple | None = None
        #: repeated input problems: once per cause, then a reminder with a count
        self._throttle = LogThrottle(reminder_s=300.0, forget_s=3600.0)
        self._published_at: float | None = None
        # every refusal is answered; the log gets each kind once, then a count
        self._rejected_log = MessageThrottle()
        self._retained = RetainedCommands(self.log.warning)  # shared.contract.retained
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    # --- wiring ---------------------------------------------------------------------
    def setup(self) -> Callable[[], None]:
        c = self.client
        for topic in self.meter.topics:
            c.subscribe(topic, self._on_meter, qos=0)
        c.subscribe(self.state_topic, self._on_gateway_state, qos=0)
        c.subscribe(self.info_topic, self._on_gateway_info, qos=1)
        c.subscribe(
            self.availability_topic,
            self._on_gateway_availability,
            qos=1,
            max_bytes=SMALL_LIMITS.max_bytes,
        )
        cfg = self.settings
        if cfg.battery.soc_topic:
            c.subscribe(cfg.battery.soc_topic, self._on_soc, qos=0)
        if cfg.ev.wallbox_topic:
            c.subscribe(cfg.ev.wallbox_topic, self._on_wallbox, qos=0)
        c.subscribe(
            controller_set(self.base, "#"),
            self._on_command,
            qos=1,
            max_bytes=COMMAND_LIMITS.max_bytes,
        )
        # after shared.runtime's hook (file settings): the config topic shows runtime changes
        c.add_connect_hook(self._publish_config)
        self._thread.start()
        self.log.info(
            "controller_configured",
            meter_topics=self.meter.topics,
            setpoint_topic=self.setpoint_topic,
            gateway_state=self.state_topic,
            mode=cfg.mode,
            enabled=cfg.enabled,
        )
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        with self.lock:
            now = self.monotonic()
            decision = self.supervisor.controller.idle(now, "stopping")
            self._send_setpoint(now, decision.setpoint_w or 0.0, force=True)
            self._apply_switches(self.switches.all_off(now, "controller stopping"))

    def _run(self) -> None:
        self.client.wait_connected()
        self._publish_config()
        while not self._stop.wait(self.settings.tick_s):
            with self.lock:
                self._tick()

    # --- handlers (network thread) --------------------------------------------------
    def _on_meter(self, msg: mqtt.MQTTMessage) -> None:
        now = self.monotonic()
        with self.lock:
            result = self.meter.ingest(msg.topic, msg.payload, now, retained=bool(msg.retain))
            if result.sample is None:
                self.log.debug("meter_value_not_used", topic=msg.topic, reason=result.reason)
                return
            decision = self.supervisor.on_grid(now, result.sample, self.wall().time())
            self._handle(now, decision)
            if self.supervisor.watchdog.health(now).ok and self.supervisor.config.enabled:
                surplus = self.switches.surplus(result.sample.grid_w, self.supervisor.battery_w)
                self._apply_switches(self.switches.update(now, surplus))

    def _on_gateway_state(self, msg: mqtt.MQTTMessage) -> None:
        reading = parse_state(msg.payload)
        if reading is None:
            self._warn("gateway_state_unreadable", msg.topic, topic=msg.topic)
            return
        with self.lock:
            self.supervisor.record_battery(self.monotonic(), reading)

    def _on_gateway_info(self, msg: mqtt.MQTTMessage) -> None:
        """The unit's retained `info`: a charge-only NPB is never asked to discharge."""
        if (unit := parse_info(msg.payload)) is None:
            return self._warn("gateway_info_unreadable", msg.topic, topic=msg.topic)
        with self.lock:
            if unit != self.supervisor.unit:
                self.log.info("battery_unit", model=unit.model, charge_only=unit.charge_only,
                              min_charge_a=unit.min_charge_a)  # fmt: skip
            self.supervisor.record_unit_info(unit, self.settings.gateway.efficiency)

    def _on_gateway_availability(self, msg: mqtt.MQTTMessage) -> None:
        online = is_online(msg.payload)  # anything but a clear `online` counts as offline
        with self.lock:
            if online != self.gateway_online:
                self.log.info("gateway_availability", online=online)
            self.gateway_online = online
            self.supervisor.record_unit_online(online)

    def _on_soc(self, msg: mqtt.MQTTMessage) -> None:
        value = within(extract_value(msg.payload, self.settings.battery.soc_json_path), SOC_PCT)
        if value is None:
            self._warn("bms_soc_no_value", msg.topic, topic=msg.topic)
            return
        with self.lock:
            self.supervisor.record_soc(self.monotonic(), value)

    def _on_wallbox(self, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            problem = self.supervisor.record_wallbox(self.monotonic(), msg.payload)
        if problem:
            self._warn(
                "wallbox_no_value", f"{msg.topic}: {problem}", topic=msg.topic, reason=problem
            )

    def _on_command(self, msg: mqtt.MQTTMessage) -> None:
        path = msg.topic[len(self.commands) :]
        correlation = correlation_of(msg)  # echoed, so a sender can tell its answer apart
        stale = self._retained.refuse(msg.topic, bool(msg.retain), self.monotonic())
        if stale is not None:
            self._command_result(path, None, stale, correlation)
            return
        try:
            value = parse_value(msg.payload)
            with self.lock:
                new = with_change(self.supervisor.config, path, value)
                self.supervisor.reconfigure(new)
                now = self.monotonic()
                self._tick()
                self._publish_state(now, force=True)
        except CommandError as exc:
            self._command_result(path, None, str(exc), correlation)
            return
        self.log.info("parameter_changed", parameter=path, value=value)
        self.runtime_state.record(path, value, new)  # saved before the result confirms it
        self._command_result(path, value, None, correlation)
        self._publish_config()

    # --- decisions ------------------------------------------------------------------
    def _tick(self) -> None:
        now = self.monotonic()
        sup = self.supervisor
        decision = sup.tick(now, self.wall().time())
        self._handle(now, decision)
        health = sup.watchdog.health(now)
        if not sup.config.enabled or not health.ok:
            why = "disabled" if not sup.config.enabled else health.reason
            self._apply_switches(self.switches.all_off(now, why))
        keepalive = self.settings.gateway.keepalive_s
        if self.last_sent is None or now - self.last_sent >= keepalive:
            self._send_setpoint(now, sup.controller.setpoint_w, force=True)
        self._publish_state(now)

    def _handle(self, now: float, decision: Decision) -> None:
        if decision.writes:
            self._send_setpoint(now, decision.setpoint_w or 0.0)
            self.runtime.heartbeat.mark_activity()
            self._publish_state(now, force=True, decision=decision)
        else:
            self.log.debug("no_write", reason=decision.reason)

    def _send_setpoint(self, now: float, ac_w: float, force: bool = False) -> None:
        gw = self.settings.gateway
        self.client.publish(
            self.setpoint_topic,
            setpoint_payload(ac_w, gw.efficiency),
            qos=1,
            expiry_s=gw.command_expiry_s,
        )
        self.last_sent = now
        if not force:
            self.writes += 1

    def _apply_switches(self, actions: list[SwitchAction]) -> None:
        for action in actions:
            cfg = next(s for s in self.settings.switches.items if s.name == action.name)
            own = controller_switch(self.base, cfg.name)
            topic = (cfg.command_topic or f"{own}/command").replace("{base}", self.base)
            payload = cfg.payload_on if action.on else cfg.payload_off
            self.client.publish(topic, payload, qos=1)
            self.client.publish(own, "ON" if action.on else "OFF", qos=1, retain=True)
            self.log.info("switch", name=action.name, on=action.on, reason=action.reason)

    # --- reporting ------------------------------------------------------------------
    def state(self, now: float) -> ControllerState:
        sup = self.supervisor
        cfg = sup.config
        limits = sup.last_limits
        soc = sup.protection.soc(now)
        health = sup.watchdog.health(now)
        car, car_reason = sup.ev.charging(cfg.ev, now)
        return ControllerState(
            time=iso_now(),
            enabled=cfg.enabled,
            mode=cfg.mode,
            target_w=sup.controller.params.target_w,
            setpoint_w=sup.controller.setpoint_w,
            grid_w=sup.grid_w,
            battery_w=sup.battery_w,
            soc=None if soc is None else {"pct": round(soc.value, 1), "source": soc.source},
            meter={
                "ok": health.ok,
                "reason": health.reason,
                "period_s": self.meter.period_s,
                "silences": sup.watchdog.silences,
            },
            limits=None
            if limits is None
            else {
                "max_charge_w": limits.limits.max_charge_w,
                "max_discharge_w": limits.limits.max_discharge_w,
                "profile": limits.profile,
                "reasons": list(limits.reasons),
            },
            last_decision={
                "setpoint_w": sup.last_decision.setpoint_w,
                "reason": sup.last_decision.reason,
            },
            ev={"charging": car, "reason": car_reason},
            gateway_online=self.gateway_online,
            switches={n: ("ON" if s.on else "OFF") for n, s in self.switches.states.items()},
            writes=self.writes,
        )

    def _state_fields(self, now: float) -> dict[str, Any]:
        """What the controller is in, as plain log fields (no reprs)."""
        sup = self.supervisor
        limits = sup.last_limits
        health = sup.watchdog.health(now)
        fields: dict[str, Any] = {
            "enabled": sup.config.enabled,
            "mode": sup.config.mode,
            "meter_ok": health.ok,
        }
        if not health.ok:
            fields["meter_reason"] = health.reason
        if limits is not None:
            fields["max_charge_w"] = limits.limits.max_charge_w
            fields["max_discharge_w"] = limits.limits.max_discharge_w
            fields["limits"] = "; ".join(limits.reasons)
        return fields

    def _publish_state(self, now: float, force: bool = False, decision: Decision | None = None):
        """Publish the state when due or changed; log one line per decision or state change."""
        sup = self.supervisor
        limits = sup.last_limits
        # what the controller is in, apart from the setpoint (that is the decision's line)
        summary = (
            sup.config.enabled,
            sup.config.mode,
            sup.watchdog.health(now).ok,
            None if limits is None else (limits.limits, limits.reasons),
        )
        setpoint = sup.controller.setpoint_w
        changed = self._published_summary is not None and summary != self._published_summary[0]
        due = self._published_at is None or now - self._published_at >= (
            self.settings.state_interval_s
        )
        if not (force or due or (summary, setpoint) != self._published_summary):
            return
        if decision is not None:
            # one line per decision; what changed with it rides along
            extra = self._state_fields(now) if changed else {}
            self.log.info(
                "setpoint", setpoint_w=decision.setpoint_w, reason=decision.reason, **extra
            )
        elif changed:
            self.log.info(
                "controller_state", reason=sup.last_decision.reason, **self._state_fields(now)
            )
        self._published_summary, self._published_at = (summary, setpoint), now
        self.client.publish_json(
            controller_topic(self.base, "state"), self.state(now).model_dump(), qos=1, retain=True
        )

    def _publish_config(self) -> None:
        # the effective settings (secrets redacted) with the runtime configuration in force
        config: ControllerConfig = self.supervisor.config
        self.client.publish_json(
            config_topic(self.base, SERVICE),
            {**self.settings.redacted(), **config.model_dump(mode="json")},
            qos=1,
            retain=True,
        )

    def _warn(self, event: str, cause: str, **fields: Any) -> None:
        """A warning about an input, once per cause and then every 5 min with a count."""
        verdict = self._throttle.check(event, cause, self.monotonic())
        if verdict.log:
            if verdict.repeated:
                fields["repeated"] = verdict.repeated
            self.log.warning(event, **fields)

    def _command_result(
        self, path: str, value: Any, error: str | None, correlation: bytes | None = None
    ) -> None:
        # echoes of what a sender sent are bounded (a 1 MB array came back as a 44 MB error);
        # `value` is only set for an accepted (validated, <= 16 KiB) change
        path, error = excerpt(path), None if error is None else excerpt(error, MESSAGE_CHARS)
        suppressed = (
            None if error is None else self._rejected_log.admit(path, error, time.monotonic())
        )
        if suppressed is not None:  # the first of each kind; repeats are counted, not logged
            self.log.warning(
                "parameter_rejected",
                parameter=path,
                reason=error,
                suppressed_since_last_log=suppressed,
            )
        self.client.publish_json(
            controller_topic(self.base, "command_result"),
            CommandResult(parameter=path, ok=error is None, value=value, error=error).model_dump(),
            qos=1,
            correlation=correlation,
        )
