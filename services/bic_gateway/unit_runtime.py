"""A unit as the gateway runs it: its driver and topics, its per-unit helpers, and what the bus
worker keeps about it between steps, one small piece per concern.

The unit's life, as far as the gateway tracks it: *not identified* (identification is retried,
``Identification``) until it answers the identification reads, then *identified* (polled, takes
commands, ``online``) until it stops answering (``Availability`` says ``offline``), then not
identified again (``went_offline``): it may come back re-powered. Whether it takes setpoints
(``controllable``) is not a state of its own but the driver's reading of its registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.contract.topics import UnitTopics

from .availability import Availability
from .energy import EnergyCounter
from .ledger_store import StateStore
from .limits import BatteryWindow, CurrentLimits, RangePolicy
from .plans import Plan
from .scheduler import PollScheduler
from .settings import BicGatewaySettings
from .telemetry import FaultCounter
from .transport import CanTransport
from .unit import UnitDriver
from .watchdog import Watchdog
from .wear import WearPolicy


@dataclass
class Identification:
    """Whether the unit is identified; while not, when to try again and why the last try failed."""

    identified: bool = False
    retry_at: float = float("-inf")
    failure: str | None = None  # why the unit did not answer (logged once per reason)

    def due(self, now: float) -> bool:
        return not self.identified and now >= self.retry_at

    def succeeded(self) -> None:
        self.identified, self.failure = True, None

    def not_answered(self, why: str, retry_at: float) -> bool:
        """An attempt the unit did not answer; True if ``why`` differs from the last one's."""
        new = why != self.failure
        self.retry_at, self.failure = retry_at, why
        return new


@dataclass
class HeldPlan:
    """The last plan while the wear governor holds some of its writes, and the held values as
    last announced on ``wear`` (announced again only when they change)."""

    plan: Plan | None = None
    announced: dict[str, float | int] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitRuntime:
    driver: UnitDriver
    topics: UnitTopics
    availability: Availability
    scheduler: PollScheduler
    watchdog: Watchdog
    faults: FaultCounter
    energy: EnergyCounter
    identification: Identification = field(default_factory=Identification)
    held: HeldPlan = field(default_factory=HeldPlan)
    #: the running poll cycle's registers still to read (one per bus-worker step)
    pending_reads: list[str] = field(default_factory=list)

    @property
    def identified(self) -> bool:
        return self.identification.identified

    def went_offline(self) -> None:
        """It may come back power-cycled, holding its boot values: re-identify, and forget the
        cached registers so read-compare cannot skip a write the unit now needs, and read every
        group at once instead of when it would have been due."""
        self.identification.identified = False
        self.driver.forget()
        self.scheduler.reset()
        self.energy.pause()
        self.pending_reads.clear()


def build_units(
    settings: BicGatewaySettings,
    transport: CanTransport,
    store: StateStore,
    wall_clock: Callable[[], float],
    now: float,
    window: BatteryWindow,
    limits: CurrentLimits,
) -> dict[int, UnitRuntime]:
    """One runtime per configured address, its counters taken from the state file."""
    timing = settings.timing
    wear = WearPolicy(settings.wear.min_interval_s, settings.wear.budget)
    units: dict[int, UnitRuntime] = {}
    for address in settings.units:
        record = store.unit(address)
        driver = UnitDriver(
            transport,
            address,
            record,
            store,
            wear,
            RangePolicy(settings.range_policy),
            wall_clock,
            window=window,
            currents=limits,
            family_setting=settings.family,
        )
        units[address] = UnitRuntime(
            driver,
            UnitTopics(settings.base_topic, address),
            Availability(timing.offline_after_failures),
            PollScheduler(timing.poll_groups()),
            Watchdog(settings.watchdog.timeout_s, last_refresh=now),
            FaultCounter(counts=dict(record.fault_counts)),
            EnergyCounter(
                max_gap_s=max(5 * timing.poll_interval_s, 10.0),
                charged_kwh=record.charged_kwh,
                discharged_kwh=record.discharged_kwh,
            ),
        )
    return units
