"""One vehicle's reply stream: WiCAN frames in, Flow Control and decoded values out.

Pure (no I/O, explicit `now`): the service feeds the frames of each `can/rx` message
and publishes what comes back; `replay` uses the same class on a recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.wican_soc.decode import DecodeResult, decode_values
from services.wican_soc.profiles import Profile
from shared.isotp import Message, SendFlowControl, TransferError
from shared.wican_payload import CanFrame


@dataclass(frozen=True)
class SendFrame:
    """Send this frame on the adapter's `can/tx` (the Flow Control after a First Frame)."""

    frame: CanFrame


@dataclass(frozen=True)
class Reading:
    """A complete reply, decoded. `result.soc` is None when it was rejected."""

    payload: bytes
    result: DecodeResult


@dataclass(frozen=True)
class Dropped:
    """Frames that did not make a reply (sequence error, timeout, bad PCI...)."""

    reason: str


Outcome = SendFrame | Reading | Dropped


class VehicleReader:
    """Reassembles and decodes the replies of one vehicle (one profile)."""

    def __init__(self, profile: Profile, n_cr_timeout_s: float = 1.0) -> None:
        self.profile = profile
        self._receiver = profile.new_receiver(n_cr_timeout_s)

    def feed(self, frames: Iterable[CanFrame], now: float) -> list[Outcome]:
        """All frames of one rx message; frames of other ids are ignored."""
        outcomes: list[Outcome] = []
        for frame in frames:
            events = self._receiver.feed(frame.id, frame.extended, frame.data, now)
            outcomes += [self._outcome(event) for event in events]
        return outcomes

    def poll(self, now: float) -> list[Outcome]:
        """Drop a transfer that stalled for longer than the N_Cr timeout."""
        return [self._outcome(event) for event in self._receiver.poll(now)]

    def reset(self) -> None:
        """Forget a transfer in progress (the adapter went offline)."""
        self._receiver.reset()

    def _outcome(self, event: SendFlowControl | Message | TransferError) -> Outcome:
        if isinstance(event, SendFlowControl):
            profile = self.profile
            return SendFrame(CanFrame(profile.request_id, profile.extended, event.data))
        if isinstance(event, Message):
            return Reading(event.payload, decode_values(self.profile, event.payload))
        return Dropped(event.reason)
