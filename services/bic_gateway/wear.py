"""EEPROM wear protection as pure logic (reference section 5).

Which writes wear the EEPROM (``Register.persistence``):
* VOUT_SET, IOUT_SET, REVERSE_VOUT_SET, REVERSE_IOUT_SET: only while EEP_OFF is clear. With
  EEP_CONFIG = 1/10 min delay they are still saved once stable, so only EEP_OFF counts as "no wear".
* OPERATION, SYSTEM_CONFIG, BIDIRECTIONAL_CONFIG: always (persisted, not covered by EEP_OFF).
* DIRECTION_CTRL: undocumented; assumed to wear, like other tools count it.

Budget arithmetic for the default minimum interval. The community figure is 4,000,000 EEPROM
writes (not confirmed by the manual). Spread over a 10-year service life in which the unit is
actively regulated 8 hours a day:

    10 years * 365.25 days * 8 h * 3600 s = 105,192,000 s of active regulation
    105,192,000 s / 4,000,000 writes     = 26.3 s between writes

so ``DEFAULT_MIN_INTERVAL_S`` (~26.3 s) applies per register to wear-relevant writes. The ledger's
``eeprom_total`` is the real budget measure; ``may_write`` refuses routine writes once it is
used up.

Times (``now``) are caller-supplied seconds, wall clock (epoch) if the ledger is persisted across
restarts. One ledger per unit: each BIC has its own EEPROM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .registers import Persistence, RegisterRef, resolve

EEPROM_WRITE_BUDGET = 4_000_000
SERVICE_LIFE_YEARS = 10
ACTIVE_HOURS_PER_DAY = 8
ACTIVE_SECONDS = SERVICE_LIFE_YEARS * 365.25 * ACTIVE_HOURS_PER_DAY * 3600  # 105,192,000 s
DEFAULT_MIN_INTERVAL_S = ACTIVE_SECONDS / EEPROM_WRITE_BUDGET  # 26.298 s

LEDGER_FORMAT_VERSION = 1

RawValue = int | bytes


def needs_write(current_raw: RawValue | None, new_raw: RawValue) -> bool:
    """Read-compare-write: write only if the unit's current raw value differs (None = unknown)."""
    return current_raw is None or current_raw != new_raw


def wears_eeprom(ref: RegisterRef, eep_off: bool) -> bool:
    persistence = resolve(ref).persistence
    if persistence is Persistence.EEP:
        return not eep_off
    return persistence in (Persistence.ALWAYS, Persistence.ASSUMED)


class LedgerFormatError(ValueError):
    """The persisted ledger cannot be read back."""


@dataclass
class WriteLedger:
    """Per-register write counters; serialisable for persistence by the caller."""

    writes: dict[str, int] = field(default_factory=dict)  # every write sent
    eeprom_writes: dict[str, int] = field(default_factory=dict)  # writes that wore the EEPROM
    last_eeprom_write: dict[str, float] = field(default_factory=dict)  # time of last such write
    device: str | None = None  # e.g. the serial number, so a swapped unit is noticed

    def record_write(self, ref: RegisterRef, now: float, eep_off: bool) -> bool:
        """Count one write; True if it wore the EEPROM (the caller must persist that at once)."""
        name = resolve(ref).name
        self.writes[name] = self.writes.get(name, 0) + 1
        if wears_eeprom(name, eep_off):
            self.eeprom_writes[name] = self.eeprom_writes.get(name, 0) + 1
            self.last_eeprom_write[name] = now
            return True
        return False

    @property
    def eeprom_total(self) -> int:
        return sum(self.eeprom_writes.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": LEDGER_FORMAT_VERSION,
            "device": self.device,
            "writes": dict(self.writes),
            "eeprom_writes": dict(self.eeprom_writes),
            "last_eeprom_write": dict(self.last_eeprom_write),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteLedger:
        """Inverse of ``to_json``. Unknown register names are kept (counts must never be lost)."""
        if not isinstance(data, dict) or data.get("version") != LEDGER_FORMAT_VERSION:
            raise LedgerFormatError(f"unsupported ledger format: {data!r:.80}")
        device = data.get("device")
        if device is not None and not isinstance(device, str):
            raise LedgerFormatError("ledger device must be a string or null")
        return cls(
            writes=_counts(data, "writes"),
            eeprom_writes=_counts(data, "eeprom_writes"),
            last_eeprom_write=_times(data, "last_eeprom_write"),
            device=device,
        )


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    section = data.get(key, {})
    if not isinstance(section, dict) or not all(isinstance(k, str) for k in section):
        raise LedgerFormatError(f"ledger {key!r} must map register names to values")
    return section


def _counts(data: dict[str, Any], key: str) -> dict[str, int]:
    section = _section(data, key)
    for name, count in section.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise LedgerFormatError(f"ledger {key}[{name!r}] is not a non-negative int: {count!r}")
    return dict(section)


def _times(data: dict[str, Any], key: str) -> dict[str, float]:
    section = _section(data, key)
    for name, when in section.items():
        if isinstance(when, bool) or not isinstance(when, int | float):
            raise LedgerFormatError(f"ledger {key}[{name!r}] is not a time: {when!r}")
    return {name: float(when) for name, when in section.items()}


@dataclass(frozen=True)
class WearPolicy:
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S
    budget: int = EEPROM_WRITE_BUDGET


class WriteDecision(NamedTuple):
    allowed: bool
    reason: str


@dataclass
class WearGuard:
    ledger: WriteLedger
    policy: WearPolicy = field(default_factory=WearPolicy)

    def may_write(
        self, ref: RegisterRef, now: float, eep_off: bool, *, safety: bool = False
    ) -> WriteDecision:
        """Whether a write may be sent now (call ``needs_write`` first to skip no-ops).

        ``safety=True`` (e.g. the watchdog driving the unit to safe idle) is always allowed: a worn
        EEPROM is cheaper than an uncontrolled battery. The decision is only advice for everything
        else; record every write that is actually sent with ``ledger.record_write``.
        """
        register = resolve(ref)
        if not register.writable:
            return WriteDecision(False, f"{register.name} is read-only")
        if not wears_eeprom(register, eep_off):
            return WriteDecision(True, f"{register.name}: no EEPROM wear (EEP_OFF set)")
        if safety:
            return WriteDecision(True, f"{register.name}: safety write, wear limits bypassed")
        used = self.ledger.eeprom_total
        if used >= self.policy.budget:
            return WriteDecision(
                False, f"EEPROM write budget used up ({used} of {self.policy.budget})"
            )
        last = self.ledger.last_eeprom_write.get(register.name)
        if last is None:
            return WriteDecision(True, f"{register.name}: first EEPROM write")
        elapsed = now - last
        if elapsed < 0:
            return WriteDecision(True, f"{register.name}: clock moved backwards, allowing")
        if elapsed < self.policy.min_interval_s:
            wait = self.policy.min_interval_s - elapsed
            return WriteDecision(
                False,
                f"{register.name}: last EEPROM write {elapsed:.1f} s ago, minimum interval "
                f"{self.policy.min_interval_s:.1f} s (wait {wait:.1f} s)",
            )
        return WriteDecision(True, f"{register.name}: {elapsed:.1f} s since last EEPROM write")
