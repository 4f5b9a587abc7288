"""A simulated BIC-2200 unit: register map, EEPROM semantics, battery-mode physics (pure, explicit
time). The battery, efficiency, dead time and current lag come from ``services.sim.bic_plant``.

Behaviour per the manual (reference sections 1.2, 2, 3, 4, 5):
* reads answer with the echoed command code and the register's bytes; writes get no answer;
  out-of-range or malformed writes are ignored (the gateway's read-back notices);
* EEPROM: VOUT/IOUT/REVERSE_* writes are saved unless EEP_OFF is set (if the firmware supports
  it; otherwise bits 8-10 of SYSTEM_CONFIG read back 0); under an EEPROM delay mode (EEP_CONFIG
  = 1 or 10 min) only once all of them have been unchanged that long (values still waiting are
  lost by a power cut or by setting EEP_OFF); OPERATION, SYSTEM_CONFIG and
  BIDIRECTIONAL_CONFIG are always saved; DIRECTION_CTRL is volatile. ``power_cycle`` restores the
  saved values; BIDIRECTIONAL_CONFIG takes effect only then (it reads back the new value before);
* SVR mode (SYSTEM_CONFIG CAN_CTRL = 0): VOUT_SET, IOUT_SET and OPERATION writes are ignored;
* SYSTEM_CONFIG keeps whatever bits are written, reserved ones included;
* battery mode: the direction comes from DIRECTION_CTRL; with the battery above VOUT_SET while
  charging (below REVERSE_VOUT_SET while discharging) the unit drives 5 % of rated current the
  other way; auto-detect mode charges below VOUT_SET and discharges above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.bic_gateway.codec import (
    BIC_IDS,
    DOCUMENTED_SCALING,
    FrameError,
    Request,
    decode_request,
    from_raw,
    to_raw,
)
from services.bic_gateway.flags import (
    EEP_OFF_BIT,
    OperationInit,
    decode_bidirectional_config,
    decode_system_config,
)
from services.bic_gateway.models import DeviceModel
from services.bic_gateway.registers import REGISTERS, Kind, Persistence, Register
from services.sim.bic_plant import BicPlant, BicPlantParams

SCALING_BYTES = bytes.fromhex("557606000000")
REVISION_BYTES = bytes.fromhex("0E0DFFFFFFFF")  # MCU1 R01.4, MCU2 R01.3 (fan-capable firmware)
EEP_BITS_MASK = 0b0111_0000_0000  # EEP_CONFIG + EEP_OFF, absent on old firmware
CV_BAND_V = 0.05  # within this below VOUT_SET the unit holds voltage (no current)
FAULT_OP_OFF = 1 << 6
FAULT_AC_FAIL = 1 << 5
SYSTEM_STATUS_OK = 0x0027  # master, DC_OK, PFC_OK, ready
CAN_CTRL_MASK = 0x0001
EEP_CONFIG_SHIFT = 8
EEP_DELAY_S = {0b01: 60.0, 0b10: 600.0}  # EEP_CONFIG -> seconds unchanged before saving
SVR_IGNORED = ("VOUT_SET", "IOUT_SET", "OPERATION")  # manual: CAN_CTRL = 1 gives these to CAN


def plant_params(model: DeviceModel, **overrides: float) -> BicPlantParams:
    """The 48 V plant defaults scaled to the model's voltage and current ranges."""
    scale = model.nominal_voltage / 48
    params = {
        "min_current_a": model.setpoint_range("IOUT_SET").minimum,
        "max_charge_current_a": model.setpoint_range("IOUT_SET").maximum,
        "max_discharge_current_a": model.setpoint_range("REVERSE_IOUT_SET").maximum,
        "empty_voltage_v": 48.0 * scale,
        "full_voltage_v": 54.0 * scale,
        "internal_resistance_ohm": 0.02 * scale * scale,
    }
    params.update(overrides)
    return BicPlantParams(**params)


def _text(value: str, size: int) -> bytes:
    return value.encode("ascii").ljust(size, b" ")[:size]


@dataclass
class SimulatedBic:
    address: int
    model: DeviceModel
    plant: BicPlant
    eep_off_supported: bool = True
    fans_supported: bool = True
    serial: str = ""
    registers: dict[str, int] = field(default_factory=dict)  # raw ints of the numeric registers
    eeprom: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    eeprom_writes: dict[str, int] = field(default_factory=dict)
    battery_mode_active: bool = False
    muted: bool = False
    ac_fail: bool = False  # grid cut while the CAN side keeps answering
    clock_s: float = 0.0  # simulated time, advanced by ``step``
    unsaved: dict[str, int] = field(default_factory=dict)  # waiting for an EEPROM delay
    last_change_s: float = 0.0
    _commanded_a: float | None = None

    @classmethod
    def create(
        cls,
        address: int,
        model: DeviceModel,
        *,
        soc: float = 0.5,
        provisioned: bool = True,
        eep_off_supported: bool = True,
        fans_supported: bool = True,
        system_config: int | None = None,
        **plant_overrides: float,
    ) -> SimulatedBic:
        plant = BicPlant(plant_params(model, **plant_overrides), soc=soc)
        sim = cls(
            address, model, plant, eep_off_supported, fans_supported, serial=f"240215{address:06d}"
        )
        for register in REGISTERS:
            value_range = register.range_for(model.nominal_voltage)
            if register.writable and register.kind is Kind.NUMBER and value_range:
                sim.eeprom[register.name] = to_raw(register, value_range.default)
        sim.eeprom["OPERATION"] = 1
        if provisioned:
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
        self.registers = dict(self.eeprom)
        self.registers["DIRECTION_CTRL"] = 0
        config = decode_system_config(self.eeprom["SYSTEM_CONFIG"])
        if config.operation_init is OperationInit.OFF:
            self.registers["OPERATION"] = 0
        elif config.operation_init is OperationInit.ON:
            self.registers["OPERATION"] = 1
        self.battery_mode_active = decode_bidirectional_config(
            self.eeprom["BIDIRECTIONAL_CONFIG"]
        ).battery_mode
        self._commanded_a = None

    # --- CAN -----------------------------------------------------------------------------------
    def handle(self, arbitration_id: int, data: bytes) -> bytes | None:
        """Answer data for a request frame, None for writes, foreign or malformed frames."""
        if self.muted:
            return None
        try:
            request = decode_request(arbitration_id, data, BIC_IDS)
        except FrameError:
            return None
        if request.address not in (None, self.address):
            return None
        if request.is_write:
            self._write(request)
            return None
        if request.address is None:
            return None  # broadcast reads are undocumented; stay silent
        payload = self._read(request.register)
        if payload is None:
            return None
        return request.register.code.to_bytes(2, "little") + payload

    def _read(self, register: Register) -> bytes | None:
        name = register.name
        if name.startswith("READ_FAN") and not self.fans_supported:
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
            return _text(texts[name], register.size)
        if name == "MFR_REVISION_B0B5":
            return REVISION_BYTES
        if name == "SCALING_FACTOR":
            return SCALING_BYTES
        raw = self._measurement(name)
        if raw is None:
            raw = self.registers.get(name, 0)
        return raw.to_bytes(register.size, "little", signed=register.signed)

    def _measurement(self, name: str) -> int | None:
        plant = self.plant
        measured = {
            "READ_VOUT": plant.voltage_v,
            "READ_IOUT": plant.current_a,
            "READ_VIN": 230.0,
            "READ_TEMPERATURE_1": 30.0 + abs(plant.dc_power_w) / 200,
            "READ_FAN_SPEED_1": 2000.0 + abs(plant.dc_power_w),
            "READ_FAN_SPEED_2": 2000.0 + abs(plant.dc_power_w),
        }
        if name in measured:
            return to_raw(name, round(measured[name], 2), DOCUMENTED_SCALING)
        if name == "FAULT_STATUS":
            ac = FAULT_AC_FAIL if self.ac_fail else 0
            return ac | (0 if self.registers.get("OPERATION") else FAULT_OP_OFF)
        if name == "SYSTEM_STATUS":
            return SYSTEM_STATUS_OK
        return None

    def _write(self, request: Request) -> None:
        register = request.register
        assert request.raw is not None
        raw = int.from_bytes(request.raw, "little", signed=register.signed)
        if not self._accepts(register, raw):
            return
        if register.name == "SYSTEM_CONFIG" and not self.eep_off_supported:
            raw &= ~EEP_BITS_MASK
        if register.name in SVR_IGNORED and not self.registers["SYSTEM_CONFIG"] & CAN_CTRL_MASK:
            return  # SVR mode: the front potentiometer rules
        self.registers[register.name] = raw
        self.writes[register.name] = self.writes.get(register.name, 0) + 1
        config = self.registers["SYSTEM_CONFIG"]
        if config >> EEP_OFF_BIT & 1:
            self.unsaved.clear()  # parameters are no longer saved
        if register.persistence is Persistence.ALWAYS:
            self._save(register.name, raw)
        elif register.persistence is Persistence.EEP and not config >> EEP_OFF_BIT & 1:
            if self._eeprom_delay_s() is None:
                self._save(register.name, raw)
            else:
                self.unsaved[register.name] = raw
                self.last_change_s = self.clock_s

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

    def _accepts(self, register: Register, raw: int) -> bool:
        if register.kind is Kind.NUMBER:
            value_range = register.range_for(self.model.nominal_voltage)
            value = from_raw(register, raw)
            return value_range is None or value_range.contains(value)
        if register.kind is Kind.CHOICE:
            return raw in register.choice_names
        return True

    # --- physics -------------------------------------------------------------------------------
    def value(self, name: str) -> float:
        return from_raw(name, self.registers[name])

    def target_current(self) -> float:
        """DC current the unit drives now (+ charge), before dead time and lag."""
        if not self.registers.get("OPERATION"):
            return 0.0
        voltage = self.plant.voltage_v
        vout, iout = self.value("VOUT_SET"), self.value("IOUT_SET")
        rvout, riout = self.value("REVERSE_VOUT_SET"), self.value("REVERSE_IOUT_SET")
        trickle = self.model.reverse_trickle_a
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
            "soc": round(self.plant.soc, 4),
            "voltage": round(self.plant.voltage_v, 2),
            "current": round(self.plant.current_a, 2),
            "ac_power": round(self.ac_power_w, 1),
            "writes": dict(self.writes),
            "eeprom_writes": dict(self.eeprom_writes),
            "battery_mode_active": self.battery_mode_active,
            "muted": self.muted,
        }
