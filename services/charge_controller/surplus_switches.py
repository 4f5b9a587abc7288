"""Surplus switches: turn loads on when surplus power stays high, off when it is gone (pure).

Surplus is the export to the grid (``-grid_w``), plus the battery's charging power when
``include_battery_charge`` is set (then loads come before the battery). Switches are in
priority order: the first is switched on first and off last. Per switch:

* on when surplus >= ``on_above_w`` for ``on_after_s`` and it has been off >= ``min_off_s``;
* off when surplus < ``off_below_w`` for ``off_after_s`` and it has been on >= ``min_on_s``,
  or when it has been on for ``max_on_s`` (0 = no limit);
* at most one switch action per ``gap_s`` over all switches (the load must show up in the
  meter before the next decision).

``all_off`` (meter lost, controller disabled) switches every load off at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SwitchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    command_topic: str | None = Field(
        None, description="None: <base>/charge-controller/switch/<name>/command"
    )
    payload_on: str = "ON"
    payload_off: str = "OFF"
    on_above_w: float = Field(ge=0, le=50000)
    off_below_w: float = Field(0.0, ge=-50000, le=50000)
    on_after_s: float = Field(60.0, ge=0, le=86400)
    off_after_s: float = Field(30.0, ge=0, le=86400)
    min_on_s: float = Field(300.0, ge=0, le=86400)
    max_on_s: float = Field(0.0, ge=0, le=7 * 86400, description="0 = no limit")
    min_off_s: float = Field(300.0, ge=0, le=86400)

    @model_validator(mode="after")
    def _thresholds(self) -> SwitchSettings:
        if self.off_below_w >= self.on_above_w:
            raise ValueError("off_below_w must be below on_above_w")
        return self


class SwitchesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: tuple[SwitchSettings, ...] = Field((), max_length=8)
    gap_s: float = Field(40.0, ge=0, le=3600, description="delay between two switch actions")
    include_battery_charge: bool = Field(
        False, description="count battery charging as surplus (loads before the battery)"
    )

    @model_validator(mode="after")
    def _unique(self) -> SwitchesSettings:
        names = [s.name for s in self.items]
        if len(set(names)) != len(names):
            raise ValueError("switch names must be unique")
        return self


@dataclass(frozen=True)
class SwitchAction:
    name: str
    on: bool
    reason: str


@dataclass
class _SwitchState:
    on: bool = False
    since: float | None = None  # time of the last change (None = never switched)
    above_since: float | None = None
    below_since: float | None = None


class SurplusSwitches:
    def __init__(self, settings: SwitchesSettings) -> None:
        self.settings = settings
        self.states = {s.name: _SwitchState() for s in settings.items}
        self.last_action: float | None = None

    def surplus(self, grid_w: float, battery_w: float | None) -> float:
        extra = max(battery_w or 0.0, 0.0) if self.settings.include_battery_charge else 0.0
        return -grid_w + extra

    def _act(self, now: float, name: str, on: bool, reason: str) -> SwitchAction:
        state = self.states[name]
        state.on, state.since = on, now
        state.above_since = state.below_since = None
        self.last_action = now
        return SwitchAction(name, on, reason)

    def update(self, now: float, surplus_w: float) -> list[SwitchAction]:
        for cfg in self.settings.items:
            state = self.states[cfg.name]
            if surplus_w >= cfg.on_above_w:
                state.above_since = now if state.above_since is None else state.above_since
            else:
                state.above_since = None
            if surplus_w < cfg.off_below_w:
                state.below_since = now if state.below_since is None else state.below_since
            else:
                state.below_since = None
        if self.last_action is not None and now - self.last_action < self.settings.gap_s:
            return []
        for cfg in reversed(self.settings.items):  # off: lowest priority first
            state = self.states[cfg.name]
            if not state.on:
                continue
            on_for = 0.0 if state.since is None else now - state.since
            if cfg.max_on_s and on_for >= cfg.max_on_s:
                return [self._act(now, cfg.name, False, f"on for {on_for:.0f} s >= max_on_s")]
            if (
                state.below_since is not None
                and now - state.below_since >= cfg.off_after_s
                and on_for >= cfg.min_on_s
            ):
                return [
                    self._act(
                        now,
                        cfg.name,
                        False,
                        f"surplus {surplus_w:.0f} W < {cfg.off_below_w:.0f} W "
                        f"for {now - state.below_since:.0f} s",
                    )
                ]
        for cfg in self.settings.items:  # on: highest priority first
            state = self.states[cfg.name]
            if state.on:
                continue
            off_for = None if state.since is None else now - state.since
            if (
                state.above_since is not None
                and now - state.above_since >= cfg.on_after_s
                and (off_for is None or off_for >= cfg.min_off_s)
            ):
                return [
                    self._act(
                        now,
                        cfg.name,
                        True,
                        f"surplus {surplus_w:.0f} W >= {cfg.on_above_w:.0f} W "
                        f"for {now - state.above_since:.0f} s",
                    )
                ]
        return []

    def all_off(self, now: float, reason: str) -> list[SwitchAction]:
        return [self._act(now, name, False, reason) for name, s in self.states.items() if s.on]
