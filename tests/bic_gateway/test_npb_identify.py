"""Identification of an NPB on an in-process virtual bus: which id scheme is asked, and when."""

from __future__ import annotations

import can
import pytest
from bic_gateway.bic_stack import unit_on_virtual_bus

from services.bic_gateway.can_bus import id_filter
from services.bic_gateway.codec import BIC_IDS, NPB_IDS
from services.bic_gateway.families import RESPONSE_BASES
from services.bic_gateway.ledger_store import UnitRecord
from services.bic_gateway.transport import CanTransport, NoResponse
from services.bic_gateway.unit import NotInFamily, UnitDriver

pytestmark = pytest.mark.integration


def driver_on(channel: str, family: str, record: UnitRecord) -> tuple[UnitDriver, list[int]]:
    bus = can.Bus(
        interface="virtual",
        channel=channel,
        receive_own_messages=False,
        can_filters=[id_filter(base) for base in RESPONSE_BASES],
    )
    transport = CanTransport(bus, timeout_s=0.05, retries=0)
    sent: list[int] = []
    transport.on_frame_sent = lambda msg: sent.append(msg.arbitration_id)
    return UnitDriver(transport, 0, record, family_setting=family), sent


def test_auto_finds_the_npb_on_its_ids_and_asks_there_first_next_time():
    record = UnitRecord()
    with unit_on_virtual_bus("NPB-750-24") as (_unit, _loop, channel):
        driver, sent = driver_on(channel, "auto", record)
        info = driver.identify()
        assert info.model.name == "NPB-750-24" and info.family.name == "NPB"
        assert sent[0] == BIC_IDS.request_id(0)  # asked as a BIC first: no answer
        assert set(sent[1:]) == {NPB_IDS.request_id(0)}  # then everything on the NPB ids
        assert record.family == "npb" and info.unpolled == {"READ_VIN"}  # 750 W: no AC reading
        with pytest.raises(NotInFamily, match="NPB-750-24 has no DIRECTION_CTRL"):
            driver.read("DIRECTION_CTRL")
        # a new driver (e.g. after a restart) with the unit's record from the state file; the
        # same transport, whose pacer keeps the manual's timing
        again = UnitDriver(driver.transport, 0, record, family_setting="auto")
        sent.clear()
        again.identify()
        assert set(sent) == {NPB_IDS.request_id(0)}
        driver.transport.close()


def test_a_configured_family_asks_only_on_its_ids():
    with unit_on_virtual_bus("NPB-1700-12") as (_unit, _loop, channel):
        driver, sent = driver_on(channel, "bic", UnitRecord())
        with pytest.raises(NoResponse):
            driver.identify()
        assert set(sent) == {BIC_IDS.request_id(0)}
        driver.transport.close()
