"""One BIC unit on the bus: identification, reads with a value cache, verified writes.

Thin I/O around the pure parts: ``write_path.decide_write`` decides, this sends, records the write
with the unit's wear governor (persisted ledger) and reads it back. Every write to the unit goes
through ``write``; writes the governor holds back wait in ``governor.held`` until
``flush_held``.

Battery mode is trusted only with evidence of a re-power: BIDIRECTIONAL_CONFIG reads back the new
value at once but takes effect only after one, so a unit whose battery mode was just written (or
appeared while it kept answering) is not ``controllable`` until it has stopped answering and come
back (``forget``), or its FAULT_STATUS has shown AC_FAIL and then cleared.

Family (docs/npb.md): with ``family = "auto"`` identification asks for MFR_MODEL on the BIC ids,
then on the NPB ids (the family last seen at the address first); MFR_MODEL must then name a model
of the family that answered. An NPB has no battery mode: it is controllable once it is in
power-supply mode (CURVE_CONFIG CUVE = 0), in which VOUT_SET/IOUT_SET act at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from .codec import Response, ScalingFactors, Value, resolve_scaling
from .families import Family, family_of, probe_order
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
    UnknownModel,
    decode_date,
    decode_location,
    decode_manufacturer,
    decode_model_name,
    decode_revisions,
    decode_serial,
    identify,
)
from .npb_flags import curve_config_flags, decode_curve_config
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
    "CURVE_CONFIG",
    "VOUT_SET",
    "REVERSE_VOUT_SET",
    "IOUT_SET",
    "REVERSE_IOUT_SET",
    "DIRECTION_CTRL",
    "OPERATION",
)
NPB_CHARGER_MODE = (
    "NPB is in charger mode (CURVE_CONFIG CUVE = 1): it follows its charge curve and ignores "
    "VOUT_SET/IOUT_SET; run `init_mode` (with confirm) to switch it to power-supply mode"
)
REPOWER_PENDING = (
    "battery mode was written but takes effect only after a re-power: power-cycle the unit "
    "(AC off for at least 10 s, then on); until then setpoints are refused"
)


class NotIdentified(RuntimeError):
    """The unit has not answered the identification reads yet."""


class NotInFamily(ValueError):
    """A register the unit's family does not have (e.g. DIRECTION_CTRL on an NPB charger)."""


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

    @property
    def family(self) -> Family:
        return family_of(self.model.family)

    @property
    def unpolled(self) -> set[str]:
        """Registers of the family's poll schedule this unit does not answer."""
        skip: set[str] = set()
        if not self.fans_supported and self.family.has(FAN_REGISTERS[0]):
            skip.update(FAN_REGISTERS)  # old firmware
        if not self.model.has_vin:
            skip.add("READ_VIN")
        return skip

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "manufacturer": self.manufacturer,
            "family": self.family.name,
            "bidirectional": self.model.bidirectional,
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
            "ac_voltage_supported": self.model.has_vin,
            "ranges": {
                name: [rng.minimum, rng.maximum]
                for name in self.model.setpoint_registers
                if (rng := self.model.setpoint_range(name))
            },
        }


@dataclass
class WriteResult:
    decision: WriteDecision
    verified: Value | None = None  # value read back after the write (a number)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.decision.action in (Action.WRITE, Action.SKIP)

    @property
    def failed(self) -> bool:
        """Refused by the write path, or sent but not taken (no or a wrong read-back)."""
        return bool(self.error) or self.decision.action is Action.REJECT

    @property
    def why(self) -> str:
        """What went wrong (when ``failed``), else what the write path decided and why."""
        return self.error or self.decision.reason

    def to_json(self) -> dict[str, Any]:
        out: dict[str, object] = {
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
    #: "auto", "bic" or "npb" (settings ``family``)
    family_setting: str = "auto"
    info: UnitInfo | None = None
    ac_failed: bool = False  # FAULT_STATUS showed AC_FAIL since the last re-power evidence
    raw: dict[str, int] = field(default_factory=dict)  # last raw int per register
    values: dict[str, Any] = field(default_factory=dict)  # last engineering value per register

    def __post_init__(self) -> None:
        self.governor = WearGovernor(self.record.ledger, self.wear_policy)
        self.family: Family | None = None  # known once a unit answered on its id scheme

    def _check_family(self, name: str) -> None:
        family = self.family
        if family is not None and not family.has(name):
            model = self.info.model.name if self.info is not None else family.name
            raise NotInFamily(f"{model} has no {name} register")

    # --- reads -----------------------------------------------------------------------------
    def read_response(self, ref: RegisterRef) -> Response:
        register = resolve(ref)
        self._check_family(register.name)
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

    def _probe(self) -> tuple[Family, bytes]:
        """The family whose ids the unit answers on, and the first MFR_MODEL chunk it sent."""
        last = self.family.key if self.family is not None else self.record.family
        tried = []
        for family in probe_order(self.family_setting, last):
            self.family = family
            self.transport.ids_by_address[self.address] = family.ids
            try:
                return family, self._bytes("MFR_MODEL_B0B5")
            except NoResponse as exc:
                tried.append(f"{family.name} ids: {exc}")
                error = exc
        self.family = None  # next time, start from the family the state file remembers
        raise type(error)("; ".join(tried)) if len(tried) > 1 else error

    def identify(self) -> UnitInfo:
        """Read the manufacturer data, scaling and configuration; raises NoResponse/UnknownModel."""
        family, model_head = self._probe()
        try:
            scaling_raw: bytes | None = self._bytes("SCALING_FACTOR")
        except NoResponse:
            scaling_raw = None
        scaling, warnings = resolve_scaling(scaling_raw)
        for warning in warnings:
            log.warning("scaling_factor", unit=self.address, detail=warning)
        self.transport.scaling[self.address] = scaling
        model_name = decode_model_name(model_head, self._bytes("MFR_MODEL_B6B11"))
        model = identify(model_name)
        if model.family != family.name:
            raise UnknownModel(
                f"unit {self.address} answers on the {family.name} ids but reports "
                f"{model.name} ({model.family}); check the address and `family` setting"
            )
        if self.record.family != family.key:
            self.record.family = family.key
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
        fans = family.has(FAN_REGISTERS[0])
        if family.bidirectional:
            self.read("BIDIRECTIONAL_CONFIG")
        else:
            self.read("CURVE_CONFIG")
        if fans:
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
    def bidirectional(self) -> bool:
        return self.family is None or self.family.bidirectional

    def _charger_problems(self) -> list[str]:
        """NPB: setpoints act in power-supply mode only (CAN_CTRL is not described for the NPB,
        so SYSTEM_CONFIG is not a reason to refuse)."""
        curve = self.raw.get("CURVE_CONFIG")
        if self.raw.get("SYSTEM_CONFIG") is None or curve is None:
            return ["configuration not read yet"]
        problems = []
        misfit = self.configuration_problem()
        if misfit:
            problems.append(misfit)
        if decode_curve_config(curve).charger_mode:
            problems.append(NPB_CHARGER_MODE)
        return problems

    @property
    def control_problems(self) -> list[str]:
        """Why setpoints would do nothing (empty: CAN control on, battery mode active)."""
        if not self.bidirectional:
            return self._charger_problems()
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
    def safe_idle_skipped(self) -> str | None:
        """Why the watchdog's safe idle must leave this unit alone (None: it applies). An NPB in
        charger mode charges by its own curve, which the gateway does not control: switching it
        off because no controller sends setpoints would stop a charger nobody asked to stop."""
        if self.bidirectional or self.raw.get("CURVE_CONFIG") is None:
            return None
        if decode_curve_config(self.raw["CURVE_CONFIG"]).charger_mode:
            return "NPB in charger mode follows its own charge curve: not controlled, not idled"
        return None

    @property
    def controllable(self) -> bool:
        """CAN control on and battery mode active (else setpoints would do nothing)."""
        return not self.control_problems

    def config_json(self) -> dict[str, Any]:
        config = self.raw.get("SYSTEM_CONFIG")
        bidir = self.raw.get("BIDIRECTIONAL_CONFIG")
        if not self.bidirectional:
            curve = self.raw.get("CURVE_CONFIG")
            return {
                "system_config": system_config_flags(config) if config is not None else None,
                "curve_config": curve_config_flags(curve) if curve is not None else None,
                "controllable": self.controllable,
                "control_problems": self.control_problems,
                "eep_off_active": self.eep_off,
                "eep_off_supported": self.record.eep_off_supported,
            }
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
        try:
            self._check_family(register.name)
        except NotInFamily as exc:
            return WriteDecision(register.name, Action.REJECT, None, None, str(exc))
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
            # the NPB's CAN_CTRL bit is not described: its SVR check does not apply
            system_config_raw=self.raw.get("SYSTEM_CONFIG") if self.bidirectional else None,
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
        known = self.family is None or self.family.has(register.name)
        if register.name not in self.raw and known:
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
            error=f"read-back mismatch: wrote {decision.value}, unit holds {back.value!r}",
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
            if result.failed:
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
