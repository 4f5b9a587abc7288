import math

import pytest

from services.sim.bic_plant import BicPlant, BicPlantParams


def run(plant: BicPlant, seconds: float, dt: float = 0.1) -> None:
    for _ in range(round(seconds / dt)):
        plant.step(dt)


def test_dead_time_then_first_order_lag() -> None:
    plant = BicPlant(BicPlantParams(dead_time_s=1.0, time_constant_s=2.0), soc=0.5)
    plant.command(1000.0)
    run(plant, 1.0)
    assert plant.current_a == 0.0 and plant.ac_power_w == 0.0
    run(plant, 2.0)  # one time constant after the dead time
    target = plant.target_current_a
    assert target > 0
    assert plant.current_a / target == pytest.approx(1 - math.exp(-1), abs=0.02)
    run(plant, 20.0)
    # current is regulated, so AC power drifts with the voltage rise (I*R, SoC): < 1 %
    assert plant.ac_power_w == pytest.approx(1000.0, rel=0.01)


def test_current_quantised_to_centiamps_and_min_current_idles() -> None:
    plant = BicPlant(BicPlantParams(min_current_a=0.45), soc=0.5)
    amps = plant.current_for(777.0)
    assert round(amps * 100) == pytest.approx(amps * 100, abs=1e-9)
    assert plant.current_for(25.0) == 0.0  # below 0.45 A at ~51 V after losses
    assert plant.current_for(-5.0) == 0.0  # 16 W DC incl. fixed loss: 0.31 A
    assert plant.current_for(-30.0) <= -0.45


def test_efficiency_near_93_percent_at_three_quarter_load() -> None:
    params = BicPlantParams()
    dc = params.dc_from_ac(1650.0)
    assert dc / 1650.0 == pytest.approx(0.94, abs=0.01)
    out = params.ac_from_dc(-1350.0)
    assert -out / 1350.0 == pytest.approx(0.94, abs=0.01)
    assert params.ac_from_dc(params.dc_from_ac(-700.0)) == pytest.approx(-700.0)
    assert params.ac_from_dc(params.dc_from_ac(700.0)) == pytest.approx(700.0)


def test_power_ratings_clamp() -> None:
    plant = BicPlant(soc=0.5)
    voltage = plant.params.open_circuit_voltage(0.5)
    assert plant.current_for(10000.0) * voltage <= 2160.0 + 1.0
    assert -plant.current_for(-10000.0) * voltage <= 1800.0 + 1.0


def test_soc_tracks_energy_and_stops_at_limits() -> None:
    params = BicPlantParams(capacity_wh=100.0, time_constant_s=0.0, dead_time_s=0.0, max_soc=0.9)
    plant = BicPlant(params, soc=0.5)
    plant.command(1000.0)
    run(plant, 36.0, dt=0.5)  # ~10 Wh DC into 100 Wh
    assert 0.58 < plant.soc < 0.62
    run(plant, 600.0, dt=0.5)
    assert plant.soc == pytest.approx(0.9, abs=0.01)
    assert plant.current_a == 0.0 and plant.ac_power_w == 0.0
    plant.command(-500.0)
    run(plant, 1.0, dt=0.5)
    assert plant.ac_power_w == pytest.approx(-500.0, abs=15.0)


def test_discharge_stops_when_empty() -> None:
    params = BicPlantParams(capacity_wh=50.0, time_constant_s=0.0, dead_time_s=0.0, min_soc=0.1)
    plant = BicPlant(params, soc=0.12)
    plant.command(-1500.0)
    run(plant, 60.0, dt=0.5)
    assert plant.soc == pytest.approx(0.1, abs=0.01)
    assert plant.ac_power_w == 0.0


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        BicPlant(soc=1.5)
    with pytest.raises(ValueError):
        BicPlantParams(min_soc=0.9, max_soc=0.5)
    with pytest.raises(ValueError):
        BicPlant().step(0.0)
