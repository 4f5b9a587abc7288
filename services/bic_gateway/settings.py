"""Configuration of the BIC-2200 gateway (config-file section ``bic-gateway``).

Every key can be set by environment too: ``CANBRIDGE_CAN__INTERFACE=udp_multicast``,
``CANBRIDGE_UNITS='[0,1]'``, ``CANBRIDGE_WATCHDOG__TIMEOUT_S=30``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contract.topics import CONTROLLER, status_topic
from shared.ha_discovery import HomeAssistantSettings
from shared.settings import ServiceSettings

from .codec import MAX_ADDRESS
from .scheduler import PollGroup, poll_groups
from .wear import DEFAULT_MIN_INTERVAL_S, EEPROM_WRITE_BUDGET

CanInterface = Literal["socketcan", "slcan", "udp_multicast", "virtual"]

# python-can's udp_multicast defaults (IPv4 group: Docker bridge networks have IPv6 off).
DEFAULT_MULTICAST_GROUP = "239.74.163.2"
DEFAULT_MULTICAST_PORT = 43113


class CanSettings(BaseModel):
    """Which CAN bus to open: ``can.Bus(interface=..., channel=..., **options)``."""

    model_config = ConfigDict(extra="forbid")

    interface: CanInterface = "socketcan"
    #: socketcan: interface name; slcan: serial device (/dev/serial/by-id/...);
    #: udp_multicast: group address; virtual: channel name. Empty = the interface's default.
    channel: str = ""
    bitrate: int = 250_000  # slcan only (socketcan takes the bitrate from `ip link`)
    port: int = Field(DEFAULT_MULTICAST_PORT, ge=1, le=65535)  # udp_multicast only
    #: extra keyword arguments passed to can.Bus unchanged (e.g. {"tty_baudrate": 115200})
    options: dict[str, Any] = Field(default_factory=dict)

    def resolved_channel(self) -> str:
        if self.channel:
            return self.channel
        return {
            "socketcan": "can0",
            "udp_multicast": DEFAULT_MULTICAST_GROUP,
            "virtual": "canbridge-bic",
            "slcan": "",
        }[self.interface]


class TimingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the manual's minimum period between two requests to one unit
    request_period_s: float = Field(0.02, ge=0.02, le=1.0)
    #: the manual's minimum gap between a response and the next request on the bus
    response_margin_s: float = Field(0.005, ge=0.0, le=1.0)
    #: how long to wait for an answer (the unit answers within 5 ms)
    response_timeout_s: float = Field(0.1, gt=0, le=5.0)
    #: extra attempts after a read timed out
    retries: int = Field(2, ge=0, le=10)
    #: measurements: battery voltage and current (the power)
    poll_interval_s: float = Field(1.0, gt=0, le=3600)
    #: status: faults, status, AC V, temperature, fans, operation, direction, setpoints
    slow_poll_interval_s: float = Field(10.0, gt=0, le=86400)
    #: configuration words (SYSTEM_CONFIG, BIDIRECTIONAL_CONFIG)
    config_poll_interval_s: float = Field(60.0, gt=0, le=86400)
    #: consecutive failed polls before a unit is announced `offline`
    offline_after_failures: int = Field(2, ge=1, le=100)

    def poll_groups(self, family: str = "bic") -> tuple[PollGroup, ...]:
        return poll_groups(
            self.poll_interval_s, self.slow_poll_interval_s, self.config_poll_interval_s, family
        )


class BatterySettings(BaseModel):
    """The battery voltage window and current limits the setpoint API keeps to."""

    model_config = ConfigDict(extra="forbid")

    min_v: float = 46.0  # no discharge at/below; REVERSE_VOUT_SET
    max_v: float = 56.0  # no charge at/above; VOUT_SET
    max_charge_a: float | None = None  # None = model maximum
    max_discharge_a: float | None = None
    min_current_a: float | None = None  # None = model minimum (1 % of rated)
    #: DC<->AC efficiency used for the `ac_power` estimate (the BIC has no AC current register)
    efficiency: float = Field(0.93, gt=0.5, le=1.0)

    @model_validator(mode="after")
    def _window(self) -> BatterySettings:
        if not self.min_v < self.max_v:
            raise ValueError(f"min_v {self.min_v} must be below max_v {self.max_v}")
        return self


class WatchdogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: safe idle when no setpoint arrives for this long (0 = off; not recommended)
    timeout_s: float = Field(30.0, ge=0, le=86400)
    #: retained `online`/`offline` of the controller; `offline` = safe idle at once ("" = off)
    controller_status_topic: str = status_topic("{base}", CONTROLLER)


class WearSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: between two EEPROM writes of one unit, whatever the register and the source
    min_interval_s: float = Field(DEFAULT_MIN_INTERVAL_S, ge=0)
    budget: int = Field(EEPROM_WRITE_BUDGET, ge=1)


class ProvisionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: power-up state stored by provisioning: the boot setpoints are the safe idle values,
    #: so "on" is safe and avoids an OPERATION write (EEPROM) after each power cut
    operation_init: Literal["off", "on", "previous"] = "on"
    eep_off: bool = True  # disable setpoint EEPROM writes (firmware >= ~02/2024)


class BicGatewaySettings(ServiceSettings):
    section: ClassVar[str] = "bic-gateway"

    #: [] = no battery configured: the gateway leaves the CAN bus alone and says so
    units: list[int] = Field(default_factory=lambda: [0])
    #: which Mean Well family the units are: "auto" asks each address on the BIC ids, then on
    #: the NPB ids (docs/npb.md); "bic" / "npb" only tries that one
    family: Literal["auto", "bic", "npb"] = "auto"
    can: CanSettings = CanSettings()
    timing: TimingSettings = TimingSettings()
    battery: BatterySettings = BatterySettings()
    watchdog: WatchdogSettings = WatchdogSettings()
    wear: WearSettings = WearSettings()
    provision: ProvisionSettings = ProvisionSettings()
    #: write counters and fault counters survive restarts here (mount a volume)
    state_file: Path = Path("/data/bic-gateway-state.json")
    #: commands carrying a `ts` (epoch s) older than this are dropped
    max_command_age_s: float = Field(10.0, gt=0)
    #: other commands (set/state, set/cmd, set/provision) waiting per unit; more are refused
    max_queued_commands: int = Field(16, ge=1, le=1000)
    #: incoming commands handled per second at most on the command connection (bursts of a
    #: tenth of it); a flood beyond it waits at the broker, which drops what is over its queue
    #: limits, so the flood cannot take the CPU the safe idle needs (the controller sends one
    #: setpoint per meter sample)
    max_command_rate_per_s: float = Field(1000.0, ge=10.0, le=100000.0)
    #: out-of-range values are rejected (error topic); "clamp" writes the nearest bound
    range_policy: Literal["reject", "clamp"] = "reject"
    #: Home Assistant device discovery (one device per unit, once it is identified)
    homeassistant: HomeAssistantSettings = HomeAssistantSettings()

    @model_validator(mode="after")
    def _units(self) -> BicGatewaySettings:
        if len(set(self.units)) != len(self.units):
            raise ValueError("units: duplicate address")
        for unit in self.units:
            if not 0 <= unit <= MAX_ADDRESS:
                raise ValueError(f"units: address {unit} outside 0..{MAX_ADDRESS}")
        return self

    def controller_status_topic(self) -> str:
        return self.watchdog.controller_status_topic.replace("{base}", self.base_topic)
