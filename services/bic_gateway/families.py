"""The two Mean Well device families the gateway drives, as data.

docs/protocol-bic2200.md#identifiers-and-addresses and docs/protocol-bic2200.md#npb-differences.

* **BIC-2200**: bidirectional (charge and discharge), ids 0x000C0300/0x000C0200 + address, the
  full ``registers.REGISTERS`` command set.
* **NPB** (NPB-450/750/1200/1700): a charger only, ids 0x000C0100/0x000C0000 + address. It shares
  the BIC's basic registers (same codes, sizes and meaning) but has no fan, direction, discharge
  or BIDIRECTIONAL_CONFIG registers, and adds the charge-curve registers 0x00B0-0x00B9.

Which family a configured address holds comes from the configuration (``family``) or, with
``auto``, from which id scheme the unit answers on; MFR_MODEL then has to agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import BIC_IDS, NPB_IDS, IdScheme
from .registers import NPB_CURVE_REGISTERS, REGISTERS


@dataclass(frozen=True)
class Family:
    key: str  # configuration value: "bic" / "npb"
    name: str  # as in MFR_MODEL and in `info`
    ids: IdScheme
    registers: frozenset[str]
    bidirectional: bool

    def has(self, register: str) -> bool:
        return register.upper() in self.registers


#: registers an NPB shares with the BIC (0x0000-0x0062, 0x0080-0x0088, 0x00C0-0x00C2;
#: docs/protocol-bic2200.md#npb-differences)
NPB_SHARED: tuple[str, ...] = (
    "OPERATION",
    "VOUT_SET",
    "IOUT_SET",
    "FAULT_STATUS",
    "READ_VIN",
    "READ_VOUT",
    "READ_IOUT",
    "READ_TEMPERATURE_1",
    "MFR_ID_B0B5",
    "MFR_ID_B6B11",
    "MFR_MODEL_B0B5",
    "MFR_MODEL_B6B11",
    "MFR_REVISION_B0B5",
    "MFR_LOCATION_B0B2",
    "MFR_DATE_B0B5",
    "MFR_SERIAL_B0B5",
    "MFR_SERIAL_B6B11",
    "SCALING_FACTOR",
    "SYSTEM_STATUS",
    "SYSTEM_CONFIG",
)

BIC = Family("bic", "BIC-2200", BIC_IDS, frozenset(r.name for r in REGISTERS), True)
NPB = Family(
    "npb",
    "NPB",
    NPB_IDS,
    frozenset(NPB_SHARED) | frozenset(r.name for r in NPB_CURVE_REGISTERS),
    False,
)

FAMILIES: dict[str, Family] = {family.key: family for family in (BIC, NPB)}
BY_NAME: dict[str, Family] = {family.name: family for family in (BIC, NPB)}


def probe_order(configured: str, last_known: str | None = None) -> tuple[Family, ...]:
    """Id schemes to try when identifying a unit: the configured family only, or with ``auto``
    the last family seen at this address first, then the other."""
    if configured != "auto":
        return (FAMILIES[configured],)
    first = FAMILIES.get(last_known or "bic", BIC)
    return (first, *(f for f in FAMILIES.values() if f is not first))


#: the response id bases the gateway listens to (BIC and NPB answers on one bus)
RESPONSE_BASES: tuple[int, ...] = tuple(f.ids.response_base for f in FAMILIES.values())


def family_of(model_family: str) -> Family:
    """The Family of a DeviceModel (``DeviceModel.family`` holds its name)."""
    return BY_NAME[model_family]
