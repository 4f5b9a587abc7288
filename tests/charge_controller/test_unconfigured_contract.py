"""The unconfigured controller's state matches the topic contract."""

from services.charge_controller.unconfigured import state_payload
from shared.contract.payloads import ControllerUnconfigured


def test_unconfigured_state_matches_its_model():
    assert ControllerUnconfigured.model_validate(state_payload()).configured is False
