"""The gateway's writes to a unit: setpoints, the safe idle, ``set/state`` and the writes the
wear governor held back. Each is planned (``plans``: a setpoint -> the unit's registers), sent
through the unit's one write path (``UnitDriver.write``: ``write_path.decide_write``, the wear
governor, read-back), and what became of it is said on ``setpoint``, ``wear`` and ``error``. Runs
on the bus worker only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import structlog

from shared.contract.topics import SET_STATE

from .command_queue import Entry
from .limits import SetpointRejected
from .plans import Plan, plan_request, safe_idle_plan
from .setpoint import BatteryWindow, CurrentLimits
from .setpoint_request import SetpointRequest
from .settings import BicGatewaySettings
from .transport import Interrupted, NoResponse
from .unit import WriteResult
from .unit_publisher import UnitPublisher
from .unit_runtime import UnitRuntime
from .wear import WriteKind
from .write_path import Action

log = structlog.get_logger("bic_gateway")


def registers(results: list[WriteResult], action: Action) -> list[str]:
    """The registers the write path decided ``action`` for, in plan order."""
    return [r.decision.register for r in results if r.decision.action is action]


class UnitWriter:
    def __init__(
        self,
        settings: BicGatewaySettings,
        publisher: UnitPublisher,
        clock: Callable[[], float],
        window: BatteryWindow,
        limits: CurrentLimits,
        *,
        uninterruptible: Callable[[], AbstractContextManager[None]],
        not_answered: Callable[[UnitRuntime], None],
        on_activity: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.clock = clock
        self.window = window  # the configured battery window and current limits
        self.limits = limits
        self.uninterruptible = uninterruptible  # safety writes run to the end
        self.not_answered = not_answered  # an exchange the unit did not answer (availability)
        self.on_activity = on_activity

    def _ready(self, unit: UnitRuntime, command: str) -> bool:
        if not unit.identified:
            self.publisher.error(unit, command, "unit is offline or not identified yet")
            return False
        return True

    def setpoint(self, unit: UnitRuntime, entry: Entry) -> None:
        request: SetpointRequest = entry.payload
        name = entry.command
        if not self._ready(unit, name):
            return
        driver = unit.driver
        if not driver.controllable:
            self.publisher.error(unit, name, "; ".join(driver.control_problems), request.value)
            return
        battery_v = driver.values.get("READ_VOUT")
        if not battery_v:  # e.g. the first setpoint arrives before the first poll round
            try:
                battery_v = driver.read("READ_VOUT")
            except NoResponse:
                battery_v = None
        if not battery_v:
            self.publisher.error(
                unit, name, "battery voltage not known (unit did not answer)", request.value
            )
            return
        try:
            plan = plan_request(
                request, battery_v, driver.model, self.window, self.limits,
                reject_out_of_range=self.settings.range_policy == "reject",
            )  # fmt: skip
        except (SetpointRejected, ValueError) as exc:
            self.publisher.error(unit, name, str(exc), request.value)
            return
        unit.watchdog.refresh(self.clock())
        self._apply_plan(
            unit,
            plan,
            kind=WriteKind.ROUTINE,
            source=name,
            requested={"value": request.value, "unit": request.unit.value},
        )

    def _apply_plan(
        self, unit: UnitRuntime, plan: Plan, *, kind: WriteKind, source: str, **extra: object
    ) -> None:
        try:
            results = unit.driver.apply(plan.register_values(), kind=kind, source=source)
        except NoResponse as exc:  # a read before or after a write, or the interface refused
            self._not_applied(unit, source, exc)
            return
        except Interrupted as exc:  # a safe idle comes next and writes every register it needs
            self.publisher.error(
                unit, source, f"not (fully) applied: {exc}", extra.get("requested")
            )
            return
        deferred = registers(results, Action.DEFER)
        unit.held.plan = plan if deferred else None
        self._report_failed(unit, [(source, r) for r in results])
        if registers(results, Action.WRITE):
            self.publisher.wear(unit)
        self.on_activity()
        self.publisher.setpoint(
            unit,
            plan,
            source=source,
            written=registers(results, Action.WRITE),
            skipped=registers(results, Action.SKIP),
            deferred=deferred,
            **extra,
        )

    def _report_failed(self, unit: UnitRuntime, results: list[tuple[str, WriteResult]]) -> None:
        """Each (source, result) that failed, on `error`."""
        for source, result in results:
            if result.failed:
                why = f"{result.decision.register}: {result.why}"
                self.publisher.error(unit, source, why, result.decision.value)

    def _not_applied(
        self, unit: UnitRuntime, command: str, exc: NoResponse, value: object = None
    ) -> None:
        """A command the unit did not take: say so, and count it as an unanswered exchange."""
        self.publisher.error(unit, command, f"not applied: {exc}", value)
        self.not_answered(unit)

    def safe_idle(self, unit: UnitRuntime, reason: str) -> None:
        log.warning("safe_idle", unit=unit.driver.address, reason=reason)
        if not unit.identified:
            return  # applied when the unit is identified (the watchdog stays tripped)
        if unit.driver.safe_idle_skipped:
            log.info("safe_idle_skipped", unit=unit.driver.address,
                     why=unit.driver.safe_idle_skipped)  # fmt: skip
            return
        try:
            plan = safe_idle_plan(unit.driver.model, self.window, self.limits, reason)
        except (SetpointRejected, ValueError) as exc:
            self.publisher.error(unit, "safe_idle", str(exc))
            return
        with self.uninterruptible():
            self._apply_plan(
                unit,
                plan,
                kind=WriteKind.SAFETY,
                source="watchdog",
                mode="safe_idle",
                idle_reason=reason,
            )

    def operation(self, unit: UnitRuntime, entry: Entry) -> None:
        value: int = entry.payload
        if not self._ready(unit, SET_STATE):
            return
        try:
            result = unit.driver.write("OPERATION", value, source=SET_STATE)
        except NoResponse as exc:
            self._not_applied(unit, SET_STATE, exc, value)
            return
        if result.failed:
            self.publisher.error(unit, SET_STATE, result.why, value)
        if result.decision.action is Action.WRITE:
            self.publisher.wear(unit)  # what is held: with the next poll round (one per round)

    def flush_held(self, unit: UnitRuntime) -> None:
        """Apply what the wear governor held back, once the unit's interval has ended; announce
        what is held on `wear` when that changed (at most once per poll round, however many
        commands a flood brings)."""
        try:
            done = unit.driver.flush_held()
        except NoResponse as exc:
            self._not_applied(unit, "held write", exc)
            return
        if not done:
            held = {name: w.value for name, w in unit.driver.governor.held.items()}
            if held != unit.held.announced:
                self.publisher.wear(unit)
            return
        self._report_failed(unit, done)
        self.publisher.wear(unit)
        plan = unit.held.plan
        if plan is not None:
            still_held = unit.driver.governor.held
            unit.held.plan = (
                plan if any(name in still_held for name in plan.register_values()) else None
            )
            self.publisher.setpoint(
                unit,
                plan,
                source="held",
                written=registers([r for _s, r in done], Action.WRITE),
                deferred=[name for name in plan.register_values() if name in still_held],
            )
