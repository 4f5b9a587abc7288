"""`PATCH /config/controller`: turn a partial configuration into controller commands. No I/O.

The patch is merged (JSON merge, ``null`` is a value, not a deletion) onto the controller's
runtime configuration as it last published it, and the merged whole is validated with the
controller's own model and rules (``ControllerConfig`` / ``with_changes``), so what the API accepts
is exactly what the controller will accept. The commands are one per top-level key: a section
(``control``) is sent as one ``set/control`` with the changed keys, so keys that are only valid
together (``min_power_w`` and ``start_power_w``) arrive together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.charge_controller.controller_config import (
    RESTART_ONLY,
    CommandError,
    ControllerConfig,
    with_changes,
)
from shared.contract.topics import CONTROLLER

SERVICE = CONTROLLER


class PatchError(ValueError):
    """The patch is refused; ``problems`` are ``(field path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Plan:
    #: top-level key -> value of the ``<base>/charge-controller/set/<key>`` command
    commands: dict[str, Any]
    #: the runtime configuration once every command is applied
    config: ControllerConfig

    def applied(self) -> dict[str, Any]:
        """The validated values of what the commands change, shaped like the patch."""
        data = self.config.model_dump(mode="json")
        return {
            key: {k: data[key][k] for k in value} if isinstance(value, dict) else data[key]
            for key, value in self.commands.items()
        }


def runtime_part(published: Any) -> ControllerConfig:
    """The runtime configuration inside the controller's retained config payload."""
    if not isinstance(published, dict):
        raise ValueError("the controller's config payload is not a JSON object")
    return ControllerConfig.model_validate(
        {k: v for k, v in published.items() if k in ControllerConfig.model_fields}
    )


def merge(base: Any, patch: Any) -> Any:
    """JSON merge of ``patch`` onto ``base``: objects merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: merge(base.get(k), v) for k, v in patch.items()}}
    return patch


def _restart_only(dotted: str) -> bool:
    return any(dotted == r or dotted.startswith(r + ".") for r in RESTART_ONLY)


def plan(current: ControllerConfig, patch: Any) -> Plan:
    """The commands for ``patch``; PatchError naming the fields if it is not acceptable.

    Restart-only keys (``switches``, ``battery.soc_topic``, ...) may appear with their current
    value (a GET-modify-PATCH round trip) and are then left out; a different value is refused.
    """
    if not isinstance(patch, dict):
        raise PatchError([("body", "must be a JSON object (a partial runtime configuration)")])
    now = current.model_dump(mode="json")
    merged = merge(now, patch)
    commands: dict[str, Any] = {}
    for key, value in patch.items():
        if key in now and isinstance(value, dict) and isinstance(now[key], dict):
            section = {
                k: merged[key][k]
                for k in value
                if not (
                    (_restart_only(key) or _restart_only(f"{key}.{k}"))
                    and k in now[key]
                    and merged[key][k] == now[key][k]
                )
            }
            if section:
                commands[key] = section
        elif not (_restart_only(key) and key in now and merged[key] == now[key]):
            commands[key] = merged.get(key, value)
    try:
        config = with_changes(current, commands)
    except CommandError as exc:
        raise PatchError(exc.problems or [("body", str(exc))]) from None
    return Plan(commands, config)


def patch_schemas() -> dict[str, Any]:
    """OpenAPI component schemas for the request body (the controller's own model)."""
    schema = ControllerConfig.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    schema["title"] = "ControllerConfigPatch"
    schema["description"] = (
        "Any part of the charge controller's runtime configuration (JSON merge: objects merge "
        "key by key, anything else replaces; null is a value). Omitted keys keep their value. "
        "Keys that need a restart (switches, battery.soc_topic, battery.soc_json_path, "
        "ev.wallbox_topic, ev.json_path, ev.scale) may only repeat their current value."
    )
    return {**defs, "ControllerConfigPatch": schema}
