"""The closed loop as real processes: BIC simulator and gateway on a private bus, the meter
simulator at a constant house power, and the charge controller, all on the test broker."""

from __future__ import annotations

from bic_gateway.bic_stack import private_bus

QUIET = {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_HEALTH_FILE": ""}


def start_controller_stack(
    service,
    tmp_path,
    house_w: float,
    sim_env: dict | None = None,
    gateway_env: dict | None = None,
    controller_env: dict | None = None,
    meter_env: dict | None = None,
):
    """Start the four processes; returns (gateway, controller). ``*_env``: extra settings."""
    bus = private_bus()
    service(["-m", "services.sim.bic"], "sim", {**bus, **QUIET, **(sim_env or {})})
    gateway = service(
        ["-m", "services.bic_gateway"],
        "bic-gateway",
        {
            **bus,
            **QUIET,
            "CANBRIDGE_STATE_FILE": str(tmp_path / "gateway.json"),
            **(gateway_env or {}),
        },
    )
    service(
        ["-m", "services.sim.meter"],
        "sim-meter",
        {
            **QUIET,
            "CANBRIDGE_SOURCE": "constant",
            "CANBRIDGE_BASE_W": str(house_w),
            **(meter_env or {}),
        },
    )
    controller = service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {**QUIET, **(controller_env or {})},
    )
    return gateway, controller
