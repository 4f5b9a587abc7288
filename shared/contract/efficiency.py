"""The BIC's DC <-> AC power conversion, both directions (pure).

The BIC has no AC current register, so AC power is estimated from DC power and the round-trip
``efficiency`` (``battery.efficiency`` of the gateway, ``gateway.efficiency`` of the
controller: the same value, so a setpoint and the ``ac_power`` reported for it agree). Sign
convention: > 0 charging (AC -> DC, losses on the grid side), < 0 discharging (DC -> AC).
"""

from __future__ import annotations


def ac_from_dc(dc_w: float, efficiency: float) -> float:
    """AC power for a DC power: what the meter sees (``state``'s ``ac_power``)."""
    return dc_w / efficiency if dc_w >= 0 else dc_w * efficiency


def dc_from_ac(ac_w: float, efficiency: float) -> float:
    """DC power for an AC power (inverse of ``ac_from_dc``): what ``set/power`` takes."""
    return ac_w * efficiency if ac_w >= 0 else ac_w / efficiency
