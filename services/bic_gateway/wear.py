"""EEPROM wear protection as pure logic: one governor per unit (docs/bic2200.md#the-wear-governor).

Which writes wear the EEPROM (``Register.persistence``; docs/protocol-bic2200.md#what-is-stored):
* VOUT_SET, IOUT_SET, REVERSE_VOUT_SET, REVERSE_IOUT_SET (starred in the manual): only while EEP_OFF
  is clear. Under an EEPROM delay mode (EEP_CONFIG = 1/10 min) the unit stores them once they have
  been stable that long; we cannot see when, so they count as wear then too (the safe side).
* OPERATION, SYSTEM_CONFIG, BIDIRECTIONAL_CONFIG: always (factory-reset list, not covered by
  EEP_OFF).
* DIRECTION_CTRL: never (neither starred nor in the factory-reset list: volatile).

The budget belongs to the **unit**, not to a register: the unit has one EEPROM, and the community
figure of 4,000,000 writes is for the device. Spread over a 10-year service life in which the unit
is actively regulated 8 hours a day:

    10 years * 365.25 days * 8 h * 3600 s = 105,192,000 s of active regulation
    105,192,000 s / 4,000,000 writes     = 26.3 s between writes

so one EEPROM write per ``DEFAULT_MIN_INTERVAL_S`` (~26.3 s) per unit, whatever the register and
whatever the source (controller, Home Assistant, CLI, ``set/cmd``, provisioning). Every such write
moves the unit's next allowed write one interval on (``next_eeprom_write_at``, persisted), so a
confirmed provisioning batch that writes several words at once borrows intervals the following
writes then wait out: over any stretch of time the average never exceeds one per interval.

Coalescing: a routine write the governor holds back is kept (``held``, one per register, the last
requested value wins) and applied when the interval ends, unless a newer request for the same
register supersedes it. Safety writes (safe idle, shutdown) are never held back but are counted.
At the budget, routine and provisioning writes are refused.

Times (``now``) are caller-supplied seconds, wall clock (epoch) because the ledger is persisted
across restarts. One ledger and one governor per unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

from .registers import Persistence, RegisterRef, resolve

EEPROM_WRITE_BUDGET = 4_000_000
SERVICE_LIFE_YEARS = 10
ACTIVE_HOURS_PER_DAY = 8
ACTIVE_SECONDS = SERVICE_LIFE_YEARS * 365.25 * ACTIVE_HOURS_PER_DAY * 3600  # 105,192,000 s
DEFAULT_MIN_INTERVAL_S = ACTIVE_SECONDS / EEPROM_WRITE_BUDGET  # 26.298 s
#: the most EEPROM writes one confirmed provisioning run may borrow (see provisioning.py)
MAX_BATCH_WRITES = 8

LEDGER_FORMAT_VERSION = 1

RawValue = int | bytes


def needs_write(current_raw: RawValue | None, new_raw: RawValue) -> bool:
    """Read-compare-write: write only if the unit's current raw value differs (None = unknown)."""
    return current_raw is None or current_raw != new_raw


def wears_eeprom(ref: RegisterRef, eep_off: bool) -> bool:
    persistence = resolve(ref).persistence
    if persistence is Persistence.EEP:
        return not eep_off
    return persistence is Persistence.ALWAYS


class LedgerFormatError(ValueError):
    """The persisted ledger cannot be read back."""


@dataclass
class WriteLedger:
    """Per-register write counters; serialisable for persistence by the caller."""

    writes: dict[str, int] = field(default_factory=dict)  # every write sent
    eeprom_writes: dict[str, int] = field(default_factory=dict)  # writes that wore the EEPROM
    last_eeprom_write: dict[str, float] = field(default_factory=dict)  # time of last such write
    device: str | None = None  # e.g. the serial number, so a swapped unit is noticed
    #: the unit's next routine EEPROM write is allowed from here on (None: derive, see governor)
    next_eeprom_write_at: float | None = None

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
            "next_eeprom_write_at": self.next_eeprom_write_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteLedger:
        """Inverse of ``to_json``. Unknown register names are kept (counts must never be lost)."""
        if not isinstance(data, dict) or data.get("version") != LEDGER_FORMAT_VERSION:
            raise LedgerFormatError(f"unsupported ledger format: {data!r:.80}")
        device = data.get("device")
        if device is not None and not isinstance(device, str):
            raise LedgerFormatError("ledger device must be a string or null")
        next_at = data.get("next_eeprom_write_at")  # absent in files of earlier versions
        if next_at is not None and (
            isinstance(next_at, bool) or not isinstance(next_at, int | float)
        ):
            raise LedgerFormatError(f"ledger next_eeprom_write_at is not a time: {next_at!r}")
        return cls(
            writes=_counts(data, "writes"),
            eeprom_writes=_counts(data, "eeprom_writes"),
            last_eeprom_write=_times(data, "last_eeprom_write"),
            device=device,
            next_eeprom_write_at=None if next_at is None else float(next_at),
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
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S  # per unit, all registers and sources
    budget: int = EEPROM_WRITE_BUDGET


class WriteKind(Enum):
    """Who asks for a write; decides what the governor may hold back."""

    ROUTINE = "routine"  # controller, Home Assistant, CLI, set/cmd: interval and budget
    SAFETY = "safety"  # safe idle and shutdown: never held back, still counted
    PROVISIONING = "provisioning"  # confirmed batch: interval checked once (``may_start_batch``)


class WearDecision(NamedTuple):
    allowed: bool
    reason: str
    retry: bool = False  # held back by the interval: waiting helps (not so at the budget)


@dataclass(frozen=True)
class HeldWrite:
    """A routine write held back by the interval; applied when it ends unless superseded."""

    value: float | int
    source: str


@dataclass
class WearGovernor:
    """The one gate every write to one unit passes (see the module docstring)."""

    ledger: WriteLedger
    policy: WearPolicy = field(default_factory=WearPolicy)
    held: dict[str, HeldWrite] = field(default_factory=dict)

    # --- timing ------------------------------------------------------------------------------
    def _last_write_at(self) -> float | None:
        return max(self.ledger.last_eeprom_write.values(), default=None)

    def next_write_at(self) -> float | None:
        """When the next routine EEPROM write is allowed (None: now)."""
        if self.ledger.next_eeprom_write_at is not None:
            return self.ledger.next_eeprom_write_at
        last = self._last_write_at()  # a ledger from before the whole-device budget
        return None if last is None else last + self.policy.min_interval_s

    def wait_s(self, now: float) -> float:
        """Seconds until the next routine EEPROM write is allowed (0 = now)."""
        last = self._last_write_at()
        if last is not None and now < last:
            return 0.0  # the clock moved backwards: do not block for hours
        next_at = self.next_write_at()
        return 0.0 if next_at is None else max(0.0, next_at - now)

    def _budget_left(self) -> WearDecision | None:
        used = self.ledger.eeprom_total
        if used >= self.policy.budget:
            return WearDecision(
                False, f"EEPROM write budget used up ({used} of {self.policy.budget})"
            )
        return None

    # --- decisions ---------------------------------------------------------------------------
    def may_write(
        self, ref: RegisterRef, now: float, eep_off: bool, kind: WriteKind = WriteKind.ROUTINE
    ) -> WearDecision:
        """Whether a write may be sent now (call ``needs_write`` first to skip no-ops)."""
        register = resolve(ref)
        if not register.writable:
            return WearDecision(False, f"{register.name} is read-only")
        if not wears_eeprom(register, eep_off):
            why = "volatile register" if register.persistence is Persistence.VOLATILE else "EEP_OFF"
            return WearDecision(True, f"{register.name}: no EEPROM wear ({why})")
        if kind is WriteKind.SAFETY:
            return WearDecision(True, f"{register.name}: safety write, wear limits bypassed")
        exhausted = self._budget_left()
        if exhausted:
            return exhausted
        if kind is WriteKind.PROVISIONING:
            return WearDecision(True, f"{register.name}: part of a confirmed provisioning batch")
        wait = self.wait_s(now)
        if wait > 0:
            return WearDecision(
                False,
                f"{register.name}: the unit's EEPROM allows one write per "
                f"{self.policy.min_interval_s:.1f} s (any register, any source); "
                f"next in {wait:.1f} s",
                retry=True,
            )
        return WearDecision(True, f"{register.name}: EEPROM write within the budget")

    def may_start_batch(self, now: float, writes: int) -> WearDecision:
        """Whether a confirmed batch (provisioning) of up to ``writes`` EEPROM writes may start."""
        if writes > MAX_BATCH_WRITES:
            return WearDecision(False, f"{writes} EEPROM writes exceed {MAX_BATCH_WRITES}")
        if self.ledger.eeprom_total + writes > self.policy.budget:
            used = self.ledger.eeprom_total
            return WearDecision(
                False, f"EEPROM write budget too low ({used} of {self.policy.budget} used)"
            )
        wait = self.wait_s(now)
        if wait > 0:
            return WearDecision(
                False, f"the unit's last EEPROM write was too recent: try again in {wait:.0f} s"
            )
        return WearDecision(True, f"up to {writes} EEPROM writes; later writes wait them out")

    def record(self, ref: RegisterRef, now: float, eep_off: bool) -> bool:
        """Count one sent write; True if it wore the EEPROM (the caller must persist that)."""
        start = now + self.wait_s(now)  # after any interval still owed (a batch borrows)
        wore = self.ledger.record_write(ref, now, eep_off)
        if wore:
            self.ledger.next_eeprom_write_at = start + self.policy.min_interval_s
        return wore

    # --- coalescing --------------------------------------------------------------------------
    def hold(self, ref: RegisterRef, value: float | int, source: str) -> HeldWrite | None:
        """Keep a held-back write (last value wins); returns the one it supersedes, if any."""
        name = resolve(ref).name
        previous = self.held.get(name)
        self.held[name] = HeldWrite(value, source)
        return previous

    def release(self, ref: RegisterRef) -> HeldWrite | None:
        """Forget the held write of a register (a newer request decided it)."""
        return self.held.pop(resolve(ref).name, None)

    def due(self, now: float) -> bool:
        """Held writes wait, and the interval has ended."""
        return bool(self.held) and self.wait_s(now) == 0
