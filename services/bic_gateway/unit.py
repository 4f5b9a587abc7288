"""One BIC unit on the bus: identification, reads with a value cache, verified writes.

Thin I/O around the pure parts: ``write_path.decide_write`` decides, this sends, records the write
with the unit's wear governor (persisted ledger) and reads it back. Every write to the unit goes
through ``write``; writes the governor holds back wait in ``governor.held`` until
``flush_held``.

Battery mode is trusted only with evidence of a re-power: BIDIRECTIONAL_CONFIG reads back the new
value at once but takes effect only after one, so a unit whose battery mode was just written (or
appeared while it kept answering) is not ``controllable`` until it has stopped answering and come
back (``forget``), or its FAULT_STATUS has shown AC_FAIL and then cleared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from .codec import Response, ScalingFactors, resolve_scaling
from .flags import (
    decode_bidirectional_config,
    decode_fault_status,
    decode_system_config,
    system_config_flags,
)
from .ledger_store import StateStore, UnitRecord
from .limits import BatteryWindow, CurrentLimits, OperatingLimits, RangePolicy
from .models import (
    DeviceModel,
    decode_date,
    decode_location,
    decode_manufacturer,
    decode_model_name,
    decode_revisions,
    decode_serial,
    identify,
)
from .registers import Kind, RegisterRef, resolve
from .transport import CanTransport, NoResponse
from .wear import WearGovernor, WearPolicy, WriteKind
from .write_path import Action, WriteDecision, control_problem, decide_write

log = structlog.get_logger("bic_gateway.unit")

FAN_REGISTERS = ("READ_FAN_SPEED_1", "READ_FAN_SPEED_2")
#: the order held writes are applied in: voltages, currents, direction, output (as a plan)
HELD_WRITE_ORDER = (
    "SYSTEM_CONFIG",
    "BIDIRECTIONAL_CONFIG",
    "VOUT_SET",
    "REVERSE_VOUT_SET",
    "IOUT_SET",
    "REVERSE_IOUT_SET",
    "DIRECTION_CTRL",
    "OPERATION",
)
REPOWER_PENDING = (
    "battery mode was written but takes effect only after a re-power: power-cycle the unit "
    "(AC off for at least 10 s, then on); until then setpoints are refused"
)


class NotIdentified(RuntimeError):
    """The unit has not answered the identification reads yet."""


@dataclass
class UnitInfo:
    address: int
    manufacturer: str
    model: DeviceModel
    revisions: tuple[str | None, ...]
    location: str
    date: str
    serial: str
    scaling: ScalingFactors
    scaling_warnings: list[str]
    fans_supported: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "manufacturer": self.manufacturer,
            "model": self.model.name,
            "nominal_voltage": self.model.nominal_voltage,
            "rated_current_a": self.model.rated_current_a,
            "firmware": [r for r in self.revisions if r is not None],
            "location": self.location,
            "date": self.date,
            "serial": self.serial,
            "scaling": {k: str(v) for k, v in vars(self.scaling).items()},
            "scaling_warnings": self.scaling_warnings,
            "fans_supported": self.fans_supported,
            "ranges": {
                name: [rng.minimum, rng.maximum]
                for name in ("VOUT_SET", "IOUT_SET", "REVERSE_VOUT_SET", "REVERSE_IOUT_SET")
                if (rng := self.model.setpoint_range(name))
            },
        }


@dataclass
class WriteResult:
    decision: WriteDecision
    verified: float | int | None = None  # value read back after the write
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.decision.action in (Action.WRITE, Action.SKIP)

    def to_json(self) -> dict[str, Any]:
        out = {
            "register": self.decision.register,
            "action": self.decision.action.value,
            "value": self.decision.value,
            "reason": self.decision.reason,
        }
        if self.verified is not None:
            out["read_back"] = self.verified
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class UnitDriver:
    transport: CanTransport
    address: int
    record: UnitRecord
    store: StateStore | None = None
    wear_policy: WearPolicy = field(default_factory=WearPolicy)
    range_policy: RangePolicy = RangePolicy.REJECT
    wall_clock: Callable[[], float] = time.time
    #: the configured battery window (None: the model's voltage range, e.g. in unit tests)
    window: BatteryWindow | None = None
    currents: CurrentLimits = field(default_factory=CurrentLimits)
    info: UnitInfo | None = None
    ac_failed: bool = False  # FAULT_STATUS showed AC_FAIL since the last re-power evidence
    raw: dict[str, int] = field(default_factory=dict)  # last raw int per register
    values: dict[str, Any] = field(default_factory=dict)  # last engineering value per register

    def __post_init__(self) -> None:
        self.governor = WearGovernor(self.record.ledger, self.wear_policy)

    # --- reads -----------------------------------------------------------------------------
    def read_response(self, ref: RegisterRef) -> Response:
        register = resolve(ref)
        response = self.transport.read(self.address, register)
        if register.kind in (Kind.NUMBER, Kind.CHOICE, Kind.BITS):
            if register.name == "BIDIRECTIONAL_CONFIG":
                self._battery_mode_seen(self.raw.get(register.name), response.raw_int)
            elif register.name == "FAULT_STATUS":
                self._ac_seen(response.raw_int)
            self.raw[register.name] = response.raw_int
        self.values[register.name] = response.value
        return response

    def read(self, ref: RegisterRef) -> Any:
        return self.read_response(ref).value

    def _bytes(self, ref: RegisterRef) -> bytes:
        return self.read_response(ref).raw

    def identify(self) -> UnitInfo:
        """Read the manufacturer data, scaling and configuration; raises NoResponse/UnknownModel."""
        try:
            scaling_raw: bytes | None = self._bytes("SCALING_FACTOR")
        except NoResponse:
            scaling_raw = None
        scaling, warnings = resolve_scaling(scaling_raw)
        for warning in warnings:
            log.warning("scaling_factor", unit=self.address, detail=warning)
        self.transport.scaling[self.address] = scaling
        model_name = decode_model_name(
            self._bytes("MFR_MODEL_B0B5"), self._bytes("MFR_MODEL_B6B11")
        )
        model = identify(model_name)
        manufacturer = decode_manufacturer(self._bytes("MFR_ID_B0B5"), self._bytes("MFR_ID_B6B11"))
        revisions = decode_revisions(self._bytes("MFR_REVISION_B0B5"))
        location = decode_location(self._bytes("MFR_LOCATION_B0B2"))
        date_raw = self._bytes("MFR_DATE_B0B5")
        try:
            date = decode_date(date_raw).isoformat()
        except ValueError:
            date = date_raw.decode("ascii", "replace")
        serial = decode_serial(self._bytes("MFR_SERIAL_B0B5"), self._bytes("MFR_SERIAL_B6B11"))
        self.read("SYSTEM_CONFIG")
        self.read("BIDIRECTIONAL_CONFIG")
        fans = True
        try:
            self.read(FAN_REGISTERS[0])
        except NoResponse:
            fans = False  # firmware before ~2024 does not answer the fan registers
        if self.record.ledger.device not in (None, serial):
            log.warning(
                "unit_replaced",
                unit=self.address,
                was=self.record.ledger.device,
                now=serial,
                note="write counters continue from the old unit's",
            )
        self.record.ledger.device = serial
        self.info = UnitInfo(
            self.address,
            manufacturer,
            model,
            revisions,
            location,
            date,
            serial,
            scaling,
            warnings,
            fans,
        )
        return self.info

    def forget(self) -> None:
        """Drop every cached register value (the unit stopped answering: it may have been
        re-powered and restarted with other values, which also activates a new battery mode)."""
        self.raw.clear()
        self.values.clear()
        self._repowered("the unit stopped answering and came back")

    def _repowered(self, evidence: str) -> None:
        self.ac_failed = False
        if self.record.battery_mode_unconfirmed:
            log.info("battery_mode_repower_seen", unit=self.address, evidence=evidence)
            self.record.battery_mode_unconfirmed = False
            self._persist()

    def _ac_seen(self, fault_raw: int) -> None:
        """AC cut and back while the unit kept answering (e.g. its CAN side powered from the
        battery) is re-power evidence too."""
        if decode_fault_status(fault_raw)["ac_fail"]:
            self.ac_failed = True
        elif self.ac_failed:
            self._repowered("AC failed and came back")

    def _battery_mode_seen(self, before: int | None, now: int) -> None:
        """Battery mode that appears while the unit keeps answering (our own provisioning write,
        read back, or another tool's) is not active yet."""
        switched_on = decode_bidirectional_config(now).battery_mode and (
            before is not None and not decode_bidirectional_config(before).battery_mode
        )
        if switched_on and not self.record.battery_mode_unconfirmed:
            log.warning("battery_mode_needs_repower", unit=self.address)
            self.record.battery_mode_unconfirmed = True
            self._persist()

    # --- derived state -----------------------------------------------------------------------
    @property
    def model(self) -> DeviceModel:
        if self.info is None:
            raise NotIdentified(f"unit {self.address} not identified yet")
        return self.info.model

    @property
    def eep_off(self) -> bool:
        raw = self.raw.get("SYSTEM_CONFIG")
        return raw is not None and decode_system_config(raw).eep_off

    @property
    def limits(self) -> OperatingLimits:
        """Raises ValueError (SetpointRejected) if the configuration does not fit the model."""
        model = self.model
        window = self.window
        if window is None:
            volts = model.setpoint_range("VOUT_SET")
            window = BatteryWindow(volts.minimum, volts.maximum)
        return OperatingLimits(model, window, self.currents)

    def configuration_problem(self) -> str | None:
        """Why the configured battery window or current limits cannot apply to this unit."""
        try:
            _ = self.limits  # validates on construction
        except ValueError as exc:
            return f"the configured battery limits do not fit this {self.model.name}: {exc}"
        return None

    @property
    def control_problems(self) -> list[str]:
        """Why setpoints would do nothing (empty: CAN control on, battery mode active)."""
        config, bidir = self.raw.get("SYSTEM_CONFIG"), self.raw.get("BIDIRECTIONAL_CONFIG")
        if config is None or bidir is None:
            return ["configuration not read yet"]
        problems = []
        misfit = self.configuration_problem()
        if misfit:
            problems.append(misfit)
        svr = control_problem(config)
        if svr:
            problems.append(svr)
        if not decode_bidirectional_config(bidir).battery_mode:
            problems.append(
                "unit is in auto-detect mode (BIDIRECTIONAL_CONFIG): it ignores DIRECTION_CTRL; "
                "run `init_mode` (with confirm) and power-cycle it"
            )
        elif self.record.battery_mode_unconfirmed:
            problems.append(REPOWER_PENDING)
        return problems

    @property
    def controllable(self) -> bool:
        """CAN control on and battery mode active (else setpoints would do nothing)."""
        return not self.control_problems

    def config_json(self) -> dict[str, Any]:
        config = self.raw.get("SYSTEM_CONFIG")
        bidir = self.raw.get("BIDIRECTIONAL_CONFIG")
        return {
            "system_config": system_config_flags(config) if config is not None else None,
            "battery_mode": (
                decode_bidirectional_config(bidir).battery_mode if bidir is not None else None
            ),
            "controllable": self.controllable,
            "control_problems": self.control_problems,
            "eep_off_active": self.eep_off,
            "eep_off_supported": self.record.eep_off_supported,
        }

    # --- writes ------------------------------------------------------------------------------
    def decide(
        self, ref: RegisterRef, value: float | int, *, kind: WriteKind = WriteKind.ROUTINE
    ) -> WriteDecision:
        register = resolve(ref)
        misfit = self.configuration_problem()
        if misfit:  # e.g. a 48 V battery window configured for a 24 V unit: write nothing
            return WriteDecision(register.name, Action.REJECT, None, None, misfit)
        return decide_write(
            self.limits,
            register,
            value,
            self.raw.get(register.name),
            self.governor,
            self.wall_clock(),
            eep_off=self.eep_off,
            system_config_raw=self.raw.get("SYSTEM_CONFIG"),
            kind=kind,
            policy=self.range_policy,
            scaling=self.transport.scaling_for(self.address),
        )

    def write(
        self,
        ref: RegisterRef,
        value: float | int,
        *,
        kind: WriteKind = WriteKind.ROUTINE,
        retry: bool = True,
        source: str = "",
    ) -> WriteResult:
        """Validate, read-compare, wear governor, write, read back (one bounded retry).

        A write the governor holds back is kept (last value wins) for ``flush_held``; any other
        outcome for the register supersedes what was held for it.
        """
        register = resolve(ref)
        if register.name not in self.raw:
            self.read(register)  # read-compare needs the current value
        decision = self.decide(register, value, kind=kind)
        if decision.action is Action.DEFER:
            superseded = self.governor.hold(register, value, source)
            log.info(
                "write_held",
                unit=self.address,
                register=register.name,
                value=decision.value,
                source=source,
                superseded=None if superseded is None else superseded.value,
                reason=decision.reason,
            )
            return WriteResult(decision)
        self.governor.release(register)
        if decision.action is not Action.WRITE:
            if decision.action is Action.SKIP:
                # debug: a controller re-sends its setpoint every few seconds; the `setpoint`
                # topic lists skipped registers anyway
                log.debug(
                    "write_skipped_identical",
                    unit=self.address,
                    register=register.name,
                    value=decision.value,
                )
            return WriteResult(decision)
        assert decision.raw is not None
        for attempt in (1, 2) if retry else (1,):
            self.transport.write(self.address, register, decision.raw)
            if self.governor.record(register, self.wall_clock(), self.eep_off):
                self._persist()  # the wear budget must survive a crash
            elif self.store is not None:
                self.store.dirty = True  # a volatile (EEP_OFF) write: saved with the next save
            log.info(
                "register_written",
                unit=self.address,
                register=register.name,
                value=decision.value,
                attempt=attempt,
                kind=kind.value,
                source=source,
            )
            try:
                back = self.read_response(register)
            except NoResponse as exc:
                return WriteResult(decision, error=f"read-back failed: {exc}")
            if back.raw_int == decision.raw:
                return WriteResult(decision, verified=back.value)
            log.warning(
                "read_back_mismatch",
                unit=self.address,
                register=register.name,
                wrote=decision.raw,
                read=back.raw_int,
                attempt=attempt,
            )
        return WriteResult(
            decision,
            verified=back.value,
            error=f"read-back mismatch: wrote {decision.value}, unit holds {back.value}",
        )

    def apply(
        self,
        values: dict[str, float | int],
        *,
        kind: WriteKind = WriteKind.ROUTINE,
        source: str = "",
    ) -> list[WriteResult]:
        """Write several registers in order; stops at the first failure or rejection."""
        results: list[WriteResult] = []
        for name, value in values.items():
            result = self.write(name, value, kind=kind, source=source)
            results.append(result)
            if result.error or result.decision.action is Action.REJECT:
                break
        return results

    def flush_held(self) -> list[tuple[str, WriteResult]]:
        """Apply the writes the governor held back, if the interval has ended: (source, result)."""
        if not self.governor.due(self.wall_clock()):
            return []
        held = sorted(
            self.governor.held.items(),
            key=lambda item: (
                HELD_WRITE_ORDER.index(item[0])
                if item[0] in HELD_WRITE_ORDER
                else len(HELD_WRITE_ORDER)
            ),
        )
        done = []
        for name, write in held:
            result = self.write(name, write.value, source=write.source)
            done.append((write.source, result))
            if result.decision.action is Action.DEFER:
                break  # that one used the interval's write; the rest wait for the next
        return done

    def _persist(self) -> None:
        if self.store is not None:
            self.store.save()
