"""Runtime changes that survive a restart: the keys changed over MQTT, kept in a JSON file.

Only the keys changed at runtime are stored (dotted path -> value), never the whole
configuration, so a key nobody changed at runtime still follows the config file. At start-up the
overrides are applied on top of the config file/environment and validated as a whole with the
same model the commands use (``with_changes``); a file that cannot be read, parsed or validated
is logged with the reason and ignored (the service starts with the config file alone).

File format::

    {"format": 1, "saved_at": "2025-01-01T12:00:00+00:00",
     "overrides": {"control.gain": 0.5, "mode": "hold"}}

Writes are atomic: a temporary file in the same folder, fsync, then rename over the old one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import structlog

from services.charge_controller.controller_config import (
    CommandError,
    ControllerConfig,
    with_changes,
)
from shared.atomic_file import write_atomic
from shared.heartbeat import iso_now

FORMAT = 1


class StateFileError(ValueError):
    """The state file cannot be used; the message says why."""


def _keys(path: str) -> list[str]:
    return [k for k in path.replace("/", ".").split(".") if k]


def _get(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        data = data[key]
    return data


def record_change(
    overrides: dict[str, Any], path: str, value: Any, config: ControllerConfig
) -> dict[str, Any]:
    """The overrides after ``path`` was set to ``value`` (already applied, giving ``config``).

    A mapping sent to a section (``set/control {"gain": 0.8}``) records each of its keys.
    Values are taken from the validated ``config``, so they are stored normalised.
    """
    dotted = ".".join(_keys(path))
    data = config.model_dump(mode="json")
    if isinstance(value, dict) and isinstance(_get(data, dotted), dict):
        entries = [f"{dotted}.{k}" for k in value]
    else:
        entries = [dotted]
    result = dict(overrides)
    for entry in entries:
        ancestor = next((a for a in result if entry.startswith(a + ".")), None)
        if ancestor is not None:  # e.g. control.pid stored whole, now control.pid.kp changed
            result[ancestor] = _get(data, ancestor)
            continue
        for key in [k for k in result if k == entry or k.startswith(entry + ".")]:
            del result[key]
        result[entry] = _get(data, entry)
    return result


def apply_overrides(base: ControllerConfig, overrides: dict[str, Any]) -> ControllerConfig:
    """``base`` with every override applied, validated as a whole; CommandError if invalid."""
    return with_changes(base, overrides)


def read_state(path: Path) -> dict[str, Any] | None:
    """The stored overrides; None if there is no file; StateFileError if it is unusable."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f"{path} is not a format-{FORMAT} runtime state file")
    overrides = data.get("overrides")
    if not isinstance(overrides, dict):
        raise StateFileError(f"{path}: 'overrides' must be an object")
    return overrides


def write_state(path: Path, overrides: dict[str, Any]) -> None:
    """Replace the file atomically (OSError if the folder is not writable)."""
    body = json.dumps(
        {"format": FORMAT, "saved_at": iso_now(), "overrides": overrides}, indent=2
    ).encode()
    write_atomic(path, body + b"\n", durable=True)


class RuntimeState:
    """The controller's persisted runtime overrides (``path`` None: persistence off)."""

    def __init__(self, path: Path | None, log: structlog.stdlib.BoundLogger) -> None:
        self.path = path
        self.log = log
        self.overrides: dict[str, Any] = {}

    def start_config(self, base: ControllerConfig) -> ControllerConfig:
        """The config to start with: ``base`` plus the stored overrides when they are valid."""
        if self.path is None:
            return base
        try:
            stored = read_state(self.path)
            if stored is None:
                self.log.info("runtime_state_none", path=str(self.path))
                return base
            config = apply_overrides(base, stored)
        except (StateFileError, CommandError) as exc:
            self.log.error(
                "runtime_state_ignored",
                path=str(self.path),
                reason=str(exc),
                consequence="starting with the config file; the next runtime change rewrites it",
            )
            return base
        self.overrides = stored
        self.log.info("runtime_state_applied", path=str(self.path), overrides=stored)
        return config

    def record(self, path: str, value: Any, config: ControllerConfig) -> None:
        """Remember a change that was applied and save (a failure is logged, never raised)."""
        self.overrides = record_change(self.overrides, path, value, config)
        if self.path is None:
            return
        try:
            write_state(self.path, self.overrides)
        except OSError as exc:
            self.log.error(
                "runtime_state_not_saved",
                path=str(self.path),
                reason=exc.strerror or str(exc),
                consequence="the change is lost on restart",
            )
