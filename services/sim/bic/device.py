"""A simulated Mean Well unit (BIC-2200, or an NPB charger): register map, EEPROM semantics,
faults, protocol violations and battery physics (pure, explicit time). Frames come from
``frames`` (the simulator's own DBC), ranges from ``models``, the battery from ``bic_plant``.

Behaviour per the BIC-2200 manual (docs/simulators.md says which rules and which guesses):
* reads answer with the echoed command code and the register's bytes; writes get no answer;
  out-of-range, read-only, unknown or malformed writes are ignored and recorded as violations;
* EEPROM: VOUT/IOUT/REVERSE_* (and the NPB curve) writes are saved unless EEP_OFF is set (if the
  firmware supports it; otherwise bits 8-10 of SYSTEM_CONFIG read back 0); under an EEPROM delay
  mode (EEP_CONFIG = 1 or 10 min) only once all of them have been unchanged that long (values
  still waiting are lost by a power cut or by setting EEP_OFF); OPERATION, SYSTEM_CONFIG and
  BIDIRECTIONAL_CONFIG are always saved; DIRECTION_CTRL is volatile. ``power_cycle`` restores the
  saved values; BIDIRECTIONAL_CONFIG takes effect only then (it reads back the new value before);
* SVR mode (SYSTEM_CONFIG CAN_CTRL = 0, BIC only): VOUT_SET, IOUT_SET and OPERATION writes are
  ignored (a violation: the sender should have known);
* IOUT_SET accepts up to 110 % of rated current in auto-detect mode, 100 % in battery mode;
* battery mode: the direction comes from DIRECTION_CTRL; with the battery above VOUT_SET while
  charging (below REVERSE_VOUT_SET while discharging) the unit drives 5 % of rated current the
  other way; auto-detect mode charges below VOUT_SET and discharges above it;
* NPB: charge only; in charger mode (CURVE_CONFIG CUVE = 1) the curve registers apply and a change
  takes effect at the next output OFF->ON; in power-supply mode VOUT_SET/IOUT_SET act at once.
"""

from __future__ import annotations

from enum import Enum

from services.sim.bic_plant import BicPlant, BicPlantParams

from . import frames
from .faults import Fault, FaultState
from .frames import FrameProblem, Register, Request
from .models import MODELS, SimModel
from .violations import ViolationLog

REVISION_BYTES = bytes.fromhex("0E0DFFFFFFFF")  # MCU1 R01.4, MCU2 R01.3 (fan-capable firmware)
SCALING_BYTES = bytes.fromhex("557606000000")  # VOUT/IOUT 0.01, VIN 0.1, FAN 1, TEMP 0.1
EEP_BITS_MASK = 0b0111_0000_0000  # EEP_CONFIG + EEP_OFF, absent on old firmware
CAN_CTRL_BIT = 1 << 0
EEP_OFF_BIT = 1 << 10
EEP_CONFIG_SHIFT = 8
EEP_DELAY_S = {0b01: 60.0, 0b10: 600.0}  # EEP_CONFIG -> seconds unchanged before saving
OPERATION_INIT_SHIFT = 1
CUVE_BIT = 1 << 7  # NPB CURVE_CONFIG: charger (curve) mode
CV_BAND_V = 0.05  # within this below the target voltage the unit holds voltage (no current)
SVR_IGNORED = frozenset({"VOUT_SET", "IOUT_SET", "OPERATION"})
CURVE = ("CURVE_CC", "CURVE_CV", "CURVE_FV", "CURVE_CONFIG")
NPB_FAULT_MASK = 0x00FE  # bits 1-7: no fan or HV_OVP bit on an NPB
HOT_C = 105.0  # what READ_TEMPERATURE_1 shows while the over-temperature cause is present


class Persistence(Enum):
    EEP = "eep"  # obeys EEP_OFF / EEP_CONFIG
    ALWAYS = "always"  # saved on every write
    VOLATILE = "volatile"


PERSISTENCE = {
    "OPERATION": Persistence.ALWAYS,
    "SYSTEM_CONFIG": Persistence.ALWAYS,
    "BIDIRECTIONAL_CONFIG": Persistence.ALWAYS,
    "DIRECTION_CTRL": Persistence.VOLATILE,
}
CHOICES = {"OPERATION": {0, 1}, "DIRECTION_CTRL": {0, 1}}


def plant_params(model: SimModel, **overrides: float) -> BicPlantParams:
    """The 48 V plant defaults scaled to the model's voltage and current ranges."""
    scale = model.nominal_v / 48
    iout = model.spans["IOUT_SET"]
    riout = model.spans.get("REVERSE_IOUT_SET", iout)
    params = {
        "min_current_a": iout.minimum,
        "max_charge_current_a": iout.maximum,
        "max_discharge_current_a": riout.maximum,
        "empty_voltage_v": 48.0 * scale,
        "full_voltage_v": 54.0 * scale,
        "internal_resistance_ohm": 0.02 * scale * scale,
    }
    params.update(overrides)
    return BicPlantParams(**params)


def model_named(model: str | SimModel) -> SimModel:
    if isinstance(model, SimModel):
        return model
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    return MODELS[model]


class SimulatedBic:
    """One unit at ``address``. Call ``handle`` for every frame, ``step`` to advance time."""

    def __init__(
        self,
        address: int,
        model: SimModel,
        plant: BicPlant,
        *,
        eep_off_supported: bool = True,
        fans_supported: bool = True,
    ) -> None:
        self.address = address
        self.model = model
        self.family = frames.family(model.family)
        self.plant = plant
        self.eep_off_supported = eep_off_supported
        self.fans_supported = fans_supported and model.family == "BIC"
        self.serial = f"240215{address:06d}"
        self.registers: dict[str, int] = {}  # raw ints of the numeric registers
        self.eeprom: dict[str, int] = {}
        self.writes: dict[str, int] = {}
        self.eeprom_writes: dict[str, int] = {}
        self.battery_mode_active = False
        self.muted = False
        self.lost_replies = 0  # dropped on purpose (``lost_reply_rate``)
        self.faults = FaultState()
        self.violations = ViolationLog()
        self.clock_s = 0.0  # simulated time, advanced by ``step``
        self.unsaved: dict[str, int] = {}  # waiting for an EEPROM delay
        self.last_change_s = 0.0
        self.curve: dict[str, int] = {}  # NPB: the curve latched at the last output OFF->ON
        self._commanded_a: float | None = None

    @classmethod
    def create(
        cls,
        address: int,
        model: str | SimModel,
        *,
        soc: float = 0.5,
        provisioned: bool = True,
        eep_off_supported: bool = True,
        fans_supported: bool = True,
        system_config: int | None = None,
        **plant_overrides: float,
    ) -> SimulatedBic:
        model = model_named(model)
        plant = BicPlant(plant_params(model, **plant_overrides), soc=soc)
        sim = cls(
            address,
            model,
            plant,
            eep_off_supported=eep_off_supported,
            fans_supported=fans_supported,
        )
        battery_mode = provisioned and not model.charge_only
        for name in sim.family.registers:
            span = model.span(name, battery_mode)
            if span is not None:
                sim.eeprom[name] = sim.family.registers[name].to_raw(span.default)
        sim.eeprom["OPERATION"] = 1
        if model.charge_only:
            sim.eeprom["CURVE_CONFIG"] = 0x0084  # charger mode, -3 mV/degC/cell
            sim.eeprom["SYSTEM_CONFIG"] = 0x0402 if provisioned and eep_off_supported else 0x0002
        elif provisioned:
            sim.eeprom["SYSTEM_CONFIG"] = 0x0403 if eep_off_supported else 0x0003
            sim.eeprom["BIDIRECTIONAL_CONFIG"] = 1
        else:
            sim.eeprom["SYSTEM_CONFIG"] = 0x0002
            sim.eeprom["BIDIRECTIONAL_CONFIG"] = 0
        if system_config is not None:  # e.g. an EEPROM delay mode or SVR mode
            sim.eeprom["SYSTEM_CONFIG"] = system_config
        sim.power_cycle()
        return sim

    # --- power ---------------------------------------------------------------------------------
    def power_cycle(self) -> None:
        self.unsaved.clear()  # a delayed save that had not happened yet is lost
        self.faults.power_cycle()
        self.registers = dict(self.eeprom)
        config = self.eeprom["SYSTEM_CONFIG"]
        init = config >> OPERATION_INIT_SHIFT & 0b11
        if init == 0b00:
            self.registers["OPERATION"] = 0
        elif init == 0b01:
            self.registers["OPERATION"] = 1
        if self.model.charge_only:
            self.battery_mode_active = False
            self.curve = {name: self.registers[name] for name in CURVE}
        else:
            self.registers["DIRECTION_CTRL"] = 0
            self.battery_mode_active = bool(self.eeprom["BIDIRECTIONAL_CONFIG"] & 1)
            iout = self.model.span("IOUT_SET", self.battery_mode_active)
            if iout is not None:  # a 110 % auto-detect value does not fit battery mode
                limit = self.family.registers["IOUT_SET"].to_raw(iout.maximum)
                self.registers["IOUT_SET"] = min(self.registers["IOUT_SET"], limit)
        self._commanded_a = None

    def set_fault(self, fault: Fault, present: bool) -> None:
        self.faults.set_cause(fault, present)

    @property
    def ac_fail(self) -> bool:
        return Fault.AC_FAIL in self.faults.causes

    @ac_fail.setter
    def ac_fail(self, present: bool) -> None:
        self.set_fault(Fault.AC_FAIL, present)

    # --- CAN -----------------------------------------------------------------------------------
    def violation(self, kind: str, detail: str) -> None:
        self.violations.add(kind, detail, self.clock_s)

    def handle(self, arbitration_id: int, data: bytes) -> bytes | None:
        """Answer data for a request frame, None for writes, foreign or malformed frames."""
        if self.muted or arbitration_id & frames.ADDRESS_MASK != self.family.request_base:
            return None
        address = frames.address_of(arbitration_id)
        if address not in (self.address, frames.BROADCAST):
            return None
        try:
            request = frames.parse_request(self.family, arbitration_id, data)
        except FrameProblem as problem:
            self.violation(problem.kind, str(problem))
            return None
        if request.is_write:
            self._write(request)
            return None
        if request.address is None:
            self.violation("broadcast_read", f"broadcast read of {request.register.name}")
            return None
        raw = self._read(request.register)
        if raw is None:
            return None
        return frames.encode_reply(self.family, self.address, request.register, raw)[1]

    def _read(self, register: Register) -> int | None:
        name = register.name
        if name.startswith("READ_FAN") and not self.fans_supported:
            return None  # older firmware: no answer
        if name == "READ_VIN" and not self.model.has_vin:
            return None
        texts = {
            "MFR_ID_B0B5": "MEANWE",
            "MFR_ID_B6B11": "LL",
            "MFR_MODEL_B0B5": self.model.name[:6],
            "MFR_MODEL_B6B11": self.model.name[6:],
            "MFR_LOCATION_B0B2": "TW",
            "MFR_DATE_B0B5": self.serial[:6],
            "MFR_SERIAL_B0B5": self.serial[:6],
            "MFR_SERIAL_B6B11": self.serial[6:],
        }
        if name in texts:
            return frames.text_raw(texts[name], register.size)
        if name == "MFR_REVISION_B0B5":
            return int.from_bytes(REVISION_BYTES, "little")
        if name == "SCALING_FACTOR":
            return int.from_bytes(SCALING_BYTES, "little")
        measured = self._measurement(name)
        if measured is not None:
            return register.to_raw(measured)
        status = self._status(name)
        if status is not None:
            return status
        return self.registers.get(name, 0)

    def _measurement(self, name: str) -> float | None:
        plant = self.plant
        hot = Fault.OVER_TEMPERATURE in self.faults.causes
        fan = 0.0 if Fault.FAN_FAIL in self.faults.causes else 2000.0 + abs(plant.dc_power_w)
        measured = {
            "READ_VOUT": plant.voltage_v,
            "READ_IOUT": plant.current_a,
            "READ_VIN": 0.0 if self.ac_fail else 230.0,
            "READ_TEMPERATURE_1": HOT_C if hot else 30.0 + abs(plant.dc_power_w) / 200,
            "READ_FAN_SPEED_1": fan,
            "READ_FAN_SPEED_2": fan,
        }
        value = measured.get(name)
        return None if value is None else round(value, 2)

    def _status(self, name: str) -> int | None:
        operation_on = bool(self.registers.get("OPERATION"))
        if name == "FAULT_STATUS":
            bits = self.faults.fault_bits(operation_on)
            return bits & NPB_FAULT_MASK if self.model.charge_only else bits
        if name == "SYSTEM_STATUS":
            return self.faults.system_status(operation_on)
        if name == "CHG_STATUS":
            return self._charge_status()
        return None

    def _charge_status(self) -> int:
        """NPB CHG_STATUS: bit 0 full, 1 constant current, 2 constant voltage."""
        if self.plant.soc >= self.plant.params.max_soc:
            return 0b001
        if self.plant.current_a > 0 and self.target_current() > 0:
            return 0b010
        return 0b100 if self.registers.get("OPERATION") else 0

    def _write(self, request: Request) -> None:
        register = request.register
        assert request.raw is not None
        raw = request.raw
        name = register.name
        if not self._accepts(register, raw):
            return
        if name == "SYSTEM_CONFIG" and not self.eep_off_supported:
            raw &= ~EEP_BITS_MASK
        if (
            name in SVR_IGNORED
            and not self.model.charge_only
            and not self.registers["SYSTEM_CONFIG"] & CAN_CTRL_BIT
        ):
            self.violation("svr_ignored", f"{name} written in SVR mode (CAN_CTRL = 0): ignored")
            return
        was_on = bool(self.registers.get("OPERATION"))
        self.registers[name] = raw
        self.writes[name] = self.writes.get(name, 0) + 1
        if self.model.charge_only and name == "OPERATION" and raw and not was_on:
            self.curve = {n: self.registers[n] for n in CURVE}  # output OFF->ON latches the curve
        config = self.registers["SYSTEM_CONFIG"]
        if config & EEP_OFF_BIT:
            self.unsaved.clear()  # parameters are no longer saved
        persistence = PERSISTENCE.get(name, Persistence.EEP)
        if persistence is Persistence.ALWAYS:
            self._save(name, raw)
        elif persistence is Persistence.EEP and not config & EEP_OFF_BIT:
            if self._eeprom_delay_s() is None:
                self._save(name, raw)
            else:
                self.unsaved[name] = raw
                self.last_change_s = self.clock_s

    def _accepts(self, register: Register, raw: int) -> bool:
        name = register.name
        if name in CHOICES:
            ok = raw in CHOICES[name]
            detail = f"{name} = {raw} (allowed {sorted(CHOICES[name])})"
        else:
            span = self.model.span(name, self.battery_mode_active)
            value = register.from_raw(raw)
            ok = span is None or span.contains(value)
            detail = (
                "" if span is None else f"{name} = {value} outside {span.minimum}..{span.maximum}"
            )
        if not ok:
            self.violation("out_of_range", detail)
        return ok

    def _eeprom_delay_s(self) -> float | None:
        return EEP_DELAY_S.get(self.registers["SYSTEM_CONFIG"] >> EEP_CONFIG_SHIFT & 0b11)

    def _save(self, name: str, raw: int) -> None:
        self.eeprom[name] = raw
        self.eeprom_writes[name] = self.eeprom_writes.get(name, 0) + 1

    def _save_delayed(self) -> None:
        delay = self._eeprom_delay_s()
        if self.unsaved and (delay is None or self.clock_s - self.last_change_s >= delay):
            for name, raw in self.unsaved.items():
                self._save(name, raw)
            self.unsaved.clear()

    # --- physics -------------------------------------------------------------------------------
    def value(self, name: str) -> float:
        return self.family.registers[name].from_raw(self.registers[name])

    def target_current(self) -> float:
        """DC current the unit drives now (+ charge), before dead time and lag."""
        if not self.registers.get("OPERATION") or self.faults.output_inhibited:
            return 0.0
        if self.model.charge_only:
            return self._charger_current()
        voltage = self.plant.voltage_v
        vout, iout = self.value("VOUT_SET"), self.value("IOUT_SET")
        rvout, riout = self.value("REVERSE_VOUT_SET"), self.value("REVERSE_IOUT_SET")
        trickle = self.model.trickle_a
        if not self.battery_mode_active:  # auto-detect: the DC voltage picks the direction
            if voltage < vout - CV_BAND_V:
                return iout
            return -riout if voltage > vout else 0.0
        if self.registers.get("DIRECTION_CTRL", 0) == 0:
            if voltage > vout:
                return -trickle
            return iout if voltage < vout - CV_BAND_V else 0.0
        if voltage < rvout:
            return trickle
        return -riout

    def _charger_current(self) -> float:
        scale = self.family.registers["VOUT_SET"].scale
        if self.curve.get("CURVE_CONFIG", 0) & CUVE_BIT:
            volts, amps = self.curve["CURVE_CV"] * scale, self.curve["CURVE_CC"] * scale
        else:
            volts, amps = self.value("VOUT_SET"), self.value("IOUT_SET")
        return amps if self.plant.voltage_v < volts - CV_BAND_V else 0.0

    def step(self, dt: float) -> None:
        self.clock_s += dt
        self._save_delayed()
        target = self.target_current()
        if target != self._commanded_a:
            self._commanded_a = target
            dc_w = target * self.plant.params.open_circuit_voltage(self.plant.soc)
            self.plant.command(self.plant.params.ac_from_dc(dc_w))
        self.plant.step(dt)

    @property
    def ac_power_w(self) -> float:
        return self.plant.ac_power_w

    def snapshot(self) -> dict[str, object]:
        return {
            "model": self.model.name,
            "soc": round(self.plant.soc, 4),
            "voltage": round(self.plant.voltage_v, 2),
            "current": round(self.plant.current_a, 2),
            "ac_power": round(self.ac_power_w, 1),
            "writes": dict(self.writes),
            "eeprom_writes": dict(self.eeprom_writes),
            "battery_mode_active": self.battery_mode_active,
            "muted": self.muted,
            "lost_replies": self.lost_replies,
            "faults": sorted(f.value for f in self.faults.active),
            "violations": self.violations.summary(),
        }
