"""The gateway: one bus worker thread that owns the CAN bus; MQTT handlers only enqueue.

Each loop of the worker does one thing, chosen by the command queue's priorities
(``command_queue``): a controller status and the watchdog checks (safe idle) first, then a
setpoint, then one poll read (or starting the next due poll cycle), then another command; else it
sleeps until something is due or arrives. A poll cycle is read one register per loop, so a
setpoint arriving mid-cycle waits for at most one request (plus the manual's 20 ms pacing). A
pending ``offline`` interrupts whatever runs at its next request (``transport.Interrupted``), so
the safe idle waits for one request at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
import structlog

from shared.contract.retained import RetainedCommands
from shared.contract.status import OFFLINE
from shared.contract.topics import SET_CMD, SET_PROVISION, SET_STATE
from shared.payload_limits import MESSAGE_CHARS, echo, excerpt
from shared.publisher import Publisher

from .command_intake import CommandIntake
from .command_queue import SETPOINT_COMMANDS, CommandQueue, Dropped, Entry, Turn, Why
from .commands import COMMANDS, CommandFailed, run_command
from .flags import system_status_problems
from .ledger_store import SAVE_INTERVAL_S, StateStore
from .models import UnknownModel
from .provisioning import provision
from .setpoint import BatteryWindow, CurrentLimits
from .settings import BicGatewaySettings
from .transport import BusError, CanTransport, Interrupted, NoResponse
from .unit import UnitDriver, UnitInfo
from .unit_publisher import UnitPublisher, iso_now
from .unit_runtime import UnitRuntime, build_units
from .unit_writes import UnitWriter

log = structlog.get_logger("bic_gateway")


class Gateway:
    def __init__(
        self,
        settings: BicGatewaySettings,
        client: Publisher,
        transport: CanTransport,
        store: StateStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_activity: Callable[[], None] = lambda: None,
        on_identified: Callable[[UnitInfo], None] = lambda _info: None,
        on_problem: Callable[[str | None], None] = lambda _reason: None,
        retained: RetainedCommands | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.transport = transport
        self.store = store
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_activity = on_activity
        self.on_identified = on_identified  # e.g. announce the unit to Home Assistant
        self.on_problem = on_problem  # why the gateway cannot work (health), None when it can
        self._problem: str | None = None
        self.window = BatteryWindow(settings.battery.min_v, settings.battery.max_v)
        self.limits = CurrentLimits(
            settings.battery.max_charge_a,
            settings.battery.max_discharge_a,
            settings.battery.min_current_a,
        )
        self._queue = CommandQueue(settings.max_queued_commands, settings.max_command_age_s)
        self.publisher = UnitPublisher(client, clock, wall_clock, settings.battery.efficiency)
        self.writer = UnitWriter(
            settings,
            self.publisher,
            clock,
            self.window,
            self.limits,
            uninterruptible=self._uninterruptible,
            not_answered=lambda unit: self._set_availability(unit, unit.availability.failed()),
            on_activity=lambda: self.on_activity(),
        )
        #: command topic -> its job (bus worker)
        self._jobs: dict[str, Callable[[UnitRuntime, Entry], None]] = {
            **dict.fromkeys(SETPOINT_COMMANDS, self.writer.setpoint),
            SET_STATE: self.writer.operation,
            SET_CMD: self._command,
            SET_PROVISION: self._command,
        }
        self._cond = threading.Condition()  # guards _queue; notified when work arrives
        transport.interrupt = self._interrupt_reason
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bic-bus", daemon=True)
        now = clock()
        self._saved_at = now
        self.units = build_units(
            settings, transport, store, wall_clock, now, self.window, self.limits
        )
        self.intake = CommandIntake(
            settings,
            self.units,
            self._queue,
            self._cond,
            self.publisher,
            retained if retained is not None else RetainedCommands(log.warning),
            clock,
            wall_clock,
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        for unit in self.units.values():
            self.publisher.availability(unit, OFFLINE)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker, drive every unit to safe idle, announce `offline`."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=10)
        for unit in self.units.values():
            if unit.identified and unit.availability.online:
                try:
                    self.writer.safe_idle(unit, "gateway stopping")
                except Exception:  # the bus may be gone; still announce offline
                    log.exception("safe_idle_on_stop_failed", unit=unit.driver.address)
            self.publisher.availability(unit, OFFLINE)
        try:
            self._save_state()  # energy and EEP_OFF write counts since the last save
        except OSError:
            log.exception("state_save_on_stop_failed", path=str(self.store.path))
        self.transport.close()

    def _save_state(self) -> None:
        self.store.save()
        self._saved_at = self.clock()

    # --- MQTT handlers (network thread: parse, then enqueue) -----------------------------------
    def on_controller_status(self, msg: mqtt.MQTTMessage) -> None:
        self.intake.on_controller_status(msg)

    def on_set(self, msg: mqtt.MQTTMessage) -> None:
        self.intake.on_set(msg)

    def flush_withheld_answers(self) -> None:
        """Say how many answers a flood's end left withheld (the bus worker calls this)."""
        self.publisher.flush_withheld(self.units.values())

    def _set_availability(self, unit: UnitRuntime, changed: str | None) -> None:
        if changed is None:
            return
        log.info("unit_availability", unit=unit.driver.address, state=changed)
        self.publisher.availability(unit, changed)
        if changed == OFFLINE:
            unit.went_offline()

    def _publish_state(self, unit: UnitRuntime) -> None:
        driver = unit.driver
        state = self.publisher.state(unit)
        unit.energy.add(self.clock(), state["dc_power"])
        driver.record.charged_kwh = unit.energy.charged_kwh
        driver.record.discharged_kwh = unit.energy.discharged_kwh
        self.store.dirty = True
        if self.clock() - self._saved_at >= SAVE_INTERVAL_S:
            self._save_state()
        self.publisher.values(unit, state)
        fault_raw = driver.raw.get("FAULT_STATUS")
        if fault_raw is not None and unit.faults.update(fault_raw):
            driver.record.fault_counts = dict(unit.faults.counts)
            self._save_state()
            self.publisher.fault(unit, fault_raw)
        status_raw = driver.raw.get("SYSTEM_STATUS")
        if status_raw is not None and "eeprom_error" in system_status_problems(status_raw):
            log.error("unit_eeprom_error", unit=driver.address)

    # --- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # keep the bus worker alive whatever one step did
                log.exception("bus_worker_step_failed")
                self._stop.wait(0.5)

    def _step(self) -> None:
        now = self.clock()
        with self._cond:
            dropped = self._queue.expire(now)
            status = self._queue.take_status()
        for item in dropped:
            self.intake.report_dropped(item)
        self.flush_withheld_answers()
        if status is not None:
            self._controller_status(*status)
        for unit in self.units.values():
            reason = unit.watchdog.check(now)
            if reason is not None:
                self.writer.safe_idle(unit, reason)
        if status is not None:
            return
        poll, poll_pending, wait = self._poll_work(now)
        with self._cond:
            turn = self._queue.next(poll_pending=poll_pending, poll_ready=poll is not None)
            if turn is None:
                watchdogs = [u.watchdog.next_check(now) for u in self.units.values()]
                self._cond.wait(min([0.5, wait, *watchdogs]))
                return
        if turn is Turn.POLL:
            assert poll is not None
            poll()
        elif isinstance(turn, Entry):
            self._run_entry(turn)

    def _poll_work(self, now: float) -> tuple[Callable[[], None] | None, bool, float]:
        """(the poll-side step to run now or None, whether one is pending, seconds to wait).

        Pending: a poll cycle in progress, or a unit to identify now. A due cycle is started
        here (no I/O: it only lists the registers to read, one per step)."""
        for unit in self.units.values():
            if unit.pending_reads:
                # wait out the request pacing here, not inside the transport, so that a
                # setpoint arriving meanwhile goes first instead of queueing behind this read
                delay = self.transport.pacer.delay(unit.driver.address, now)
                return (partial(self._poll_one, unit) if delay <= 0 else None), True, delay
        waits = [0.5]
        for unit in self.units.values():
            if not unit.identified:
                if unit.identification.due(now):
                    return partial(self._identify, unit), True, 0.0
                waits.append(unit.identification.retry_at - now)
                continue
            due = unit.scheduler.due(now)
            if due:
                unit.pending_reads[:] = due
                delay = self.transport.pacer.delay(unit.driver.address, now)
                return (partial(self._poll_one, unit) if delay <= 0 else None), True, delay
            waits.append(unit.scheduler.seconds_until_due(now))
        return None, False, min(waits)

    def _interrupt_reason(self) -> str | None:
        """Asked by the transport before each request of a running command or poll."""
        return (
            "the controller went offline: safe idle first" if self._queue.offline_pending else None
        )

    @contextmanager
    def _uninterruptible(self) -> Iterator[None]:
        """Safety writes and provisioning run to the end."""
        saved, self.transport.interrupt = self.transport.interrupt, None
        try:
            yield
        finally:
            self.transport.interrupt = saved

    def _run_entry(self, entry: Entry) -> None:
        unit = self.units[entry.unit]
        try:
            self._jobs[entry.command](unit, entry)
        except Interrupted as exc:
            self.intake.report_dropped(
                Dropped(entry, Why.INTERRUPTED, f"not (fully) applied: {exc}")
            )

    def _set_problem(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self.on_problem(problem)

    def _identify(self, unit: UnitRuntime) -> None:
        driver = unit.driver
        try:
            info = driver.identify()
        except Interrupted:
            return  # again right after the safe idle
        except NoResponse as exc:
            # the interface refusing frames is the gateway's problem; a silent unit is not
            self._set_problem(str(exc) if isinstance(exc, BusError) else None)
            retry_at = self.clock() + self.settings.timing.poll_interval_s
            if unit.identification.not_answered(str(exc), retry_at):  # once per cause
                log.warning(
                    "unit_not_answering",
                    unit=driver.address,
                    error=str(exc),
                    retry_every_s=self.settings.timing.poll_interval_s,
                )
            self._set_availability(unit, unit.availability.failed())
            return
        except UnknownModel as exc:
            unit.identification.retry_at = self.clock() + self.settings.timing.slow_poll_interval_s
            self.publisher.error(unit, "identify", str(exc))
            return
        unit.identification.succeeded()
        self._set_problem(None)
        unit.scheduler.groups = self.settings.timing.poll_groups(info.family.key)
        unit.scheduler.unsupported.update(info.unpolled)
        log.info(
            "unit_identified",
            unit=driver.address,
            model=info.model.name,
            serial=info.serial,
            controllable=driver.controllable,
            eep_off=driver.eep_off,
        )
        self.store.save()
        self.publisher.info(unit)
        self.publisher.wear(unit)
        self.on_identified(info)
        self._set_availability(unit, unit.availability.answered())
        self.on_activity()
        if not driver.controllable:
            self.publisher.error(
                unit, "identify", "setpoints are refused: " + "; ".join(driver.control_problems)
            )
        if unit.watchdog.tripped:
            self.writer.safe_idle(unit, unit.watchdog.reason)

    def _poll_one(self, unit: UnitRuntime) -> None:
        name = unit.pending_reads.pop(0)
        try:
            unit.driver.read(name)
        except Interrupted:
            unit.pending_reads.insert(0, name)
            return
        except NoResponse as exc:
            # the interface refusing frames is the gateway's problem; a silent unit is not
            self._set_problem(str(exc) if isinstance(exc, BusError) else None)
            log.info("poll_unanswered", unit=unit.driver.address, register=name, error=str(exc))
            unit.pending_reads.clear()
            self._set_availability(unit, unit.availability.failed())
            return
        self._set_availability(unit, unit.availability.answered())
        self._set_problem(None)
        if not unit.pending_reads:
            self.on_activity()
            self._publish_state(unit)
            self.writer.flush_held(unit)

    # --- jobs (worker thread) -----------------------------------------------------------------
    def _controller_status(self, status: str, went_offline: bool) -> None:
        """An `offline` trips the watchdog (safe idle) even if `online` followed it already."""
        now = self.clock()
        log.info("controller_status", status=status.strip(), went_offline=went_offline)
        for unit in self.units.values():
            if went_offline:
                unit.watchdog.controller_status(OFFLINE)
                reason = unit.watchdog.check(now)
                if reason is not None:
                    self.writer.safe_idle(unit, reason)
            unit.watchdog.controller_status(status)

    def _provision(self, driver: UnitDriver) -> dict[str, Any]:
        prov = self.settings.provision
        with self._uninterruptible():
            return provision(driver, eep_off=prov.eep_off, operation_init=prov.operation_init)

    def _command(self, unit: UnitRuntime, entry: Entry) -> None:
        data: dict[str, Any] = entry.payload
        name = data["cmd"]
        command = COMMANDS.get(name)
        request_id = data.get("id")
        value = data.get("value")
        started = iso_now()
        answer: dict[str, Any]
        try:
            if command is None:
                raise CommandFailed(f"unknown command {name!r}")
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise CommandFailed(f"value must be a number, got {value!r}")
            if not unit.identified:
                self._identify(unit)
                if not unit.identified:
                    raise CommandFailed("unit does not answer")
            result = run_command(
                unit.driver,
                name,
                value,
                provision=self._provision,
                confirm=data.get("confirm") is True,
                source=f"cmd {name}",
            )
            answer = {"result": result}
        except CommandFailed as exc:
            answer = {"error": excerpt(str(exc), MESSAGE_CHARS)}
            self.publisher.error(unit, f"cmd {name}", str(exc), value)
        self.publisher.reply(unit, echo(request_id), echo(name), started, **answer)
        if name == "init_mode" or (command is not None and command.register):
            self.publisher.wear(unit)
        if name in ("init_mode", "typeread"):
            self.publisher.info(unit)
