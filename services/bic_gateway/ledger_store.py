"""Persistence of per-unit write ledgers, fault counters and energy counters in one JSON file.

Written atomically (temp file + rename) and durably (fsync) at once after every write that wears
the EEPROM, so a crash never loses one of those and never leaves a half-written file. What
changes often and wears nothing (writes under EEP_OFF, several a minute with a control loop; the
energy counters, every poll) is saved with the next such save, at least every
``SAVE_INTERVAL_S`` and on stop: a crash loses at most that much of it, and an SD card is not
written every few seconds. An unreadable file is moved aside (kept for
inspection) and counting starts again from zero, loudly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from shared.atomic_file import write_atomic

from .wear import LedgerFormatError, WriteLedger

log = structlog.get_logger("bic_gateway.state")

STATE_FORMAT_VERSION = 1
SAVE_INTERVAL_S = 300.0


@dataclass
class UnitRecord:
    ledger: WriteLedger = field(default_factory=WriteLedger)
    fault_counts: dict[str, int] = field(default_factory=dict)
    eep_off_supported: bool | None = None  # learned by provisioning (write-and-read-back)
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0
    #: battery mode was written (or appeared) and the unit has not been re-powered since
    battery_mode_unconfirmed: bool = False
    #: "bic"/"npb": the family last identified at this address (tried first with `auto`)
    family: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger.to_json(),
            "fault_counts": dict(self.fault_counts),
            "eep_off_supported": self.eep_off_supported,
            "energy_kwh": {"charged": self.charged_kwh, "discharged": self.discharged_kwh},
            "battery_mode_unconfirmed": self.battery_mode_unconfirmed,
            "family": self.family,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnitRecord:
        counts = data.get("fault_counts", {})
        if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
            raise LedgerFormatError("fault_counts must map flag names to ints")
        supported = data.get("eep_off_supported")
        if supported is not None and not isinstance(supported, bool):
            raise LedgerFormatError("eep_off_supported must be a bool or null")
        energy = data.get("energy_kwh", {})  # absent in files written before the counters
        if not isinstance(energy, dict):
            raise LedgerFormatError("energy_kwh must be an object")
        kwh = [energy.get(k, 0.0) for k in ("charged", "discharged")]
        if not all(isinstance(v, int | float) and v >= 0 for v in kwh):
            raise LedgerFormatError("energy_kwh must hold non-negative charged/discharged numbers")
        unconfirmed = data.get("battery_mode_unconfirmed", False)
        if not isinstance(unconfirmed, bool):
            raise LedgerFormatError("battery_mode_unconfirmed must be a bool")
        family = data.get("family")  # absent in files written before the NPB
        if family not in (None, "bic", "npb"):
            raise LedgerFormatError("family must be 'bic', 'npb' or null")
        return cls(
            WriteLedger.from_json(data.get("ledger", {})),
            dict(counts),
            supported,
            float(kwh[0]),
            float(kwh[1]),
            unconfirmed,
            family,
        )


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.units: dict[int, UnitRecord] = {}
        self.dirty = False  # changes not yet on disk (see the module docstring)

    def load(self) -> StateStore:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            log.info("state_file_new", path=str(self.path))
            return self
        try:
            data = json.loads(text)
            if data.get("version") != STATE_FORMAT_VERSION:
                raise LedgerFormatError(f"unsupported state format {data.get('version')!r}")
            self.units = {
                int(address): UnitRecord.from_json(record)
                for address, record in data.get("units", {}).items()
            }
        except (ValueError, AttributeError, TypeError) as exc:
            aside = self.path.with_suffix(self.path.suffix + ".corrupt")
            os.replace(self.path, aside)
            log.error(
                "state_file_unreadable",
                path=str(self.path),
                moved_to=str(aside),
                reason=str(exc),
                consequence="write counters restart from zero",
            )
            self.units = {}
        return self

    def unit(self, address: int) -> UnitRecord:
        return self.units.setdefault(address, UnitRecord())

    def save(self) -> None:
        data = {
            "version": STATE_FORMAT_VERSION,
            "units": {str(a): r.to_json() for a, r in sorted(self.units.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), durable=True)
        self.dirty = False
