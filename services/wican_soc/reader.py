"""One vehicle's reply stream: WiCAN frames in, Flow Control and decoded values out.

Pure (no I/O, explicit `now`): the service feeds the frames of each `can/rx` message
and publishes what comes back; `replay` uses the same class on a recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.wican_soc.decode import DecodeResult, decode_values
from services.wican_soc.profiles import Profile
from shared.isotp import IsoTpReceiver, Message, SendFlowControl, TransferError
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
    """Reassembles and decodes the replies of one vehicle (one profile).

    One ISO-TP receiver per answering id: a profile with `any_responder` (a functional
    request) may be answered by any ECU, and each gets its own Flow Control.
    """

    def __init__(self, profile: Profile, n_cr_timeout_s: float = 1.0) -> None:
        self.profile = profile
        self.n_cr_timeout_s = n_cr_timeout_s
        self._receivers: dict[int, IsoTpReceiver] = {
            profile.response_id: profile.new_receiver(n_cr_timeout_s)
        }

    def feed(self, frames: Iterable[CanFrame], now: float) -> list[Outcome]:
        """All frames of one rx message; frames of other ids are ignored."""
        outcomes: list[Outcome] = []
        for frame in frames:
            if not self.profile.answers(frame.id, frame.extended):
                continue
            receiver = self._receivers.get(frame.id)
            if receiver is None:
                receiver = self.profile.new_receiver(self.n_cr_timeout_s, frame.id)
                self._receivers[frame.id] = receiver
            events = receiver.feed(frame.id, frame.extended, frame.data, now)
            outcomes += [self._outcome(event, frame.id) for event in events]
        return outcomes

    def poll(self, now: float) -> list[Outcome]:
        """Drop a transfer that stalled for longer than the N_Cr timeout."""
        return [
            self._outcome(event, can_id)
            for can_id, receiver in self._receivers.items()
            for event in receiver.poll(now)
        ]

    def reset(self) -> None:
        """Forget a transfer in progress (the adapter went offline)."""
        for receiver in self._receivers.values():
            receiver.reset()

    def _outcome(self, event: SendFlowControl | Message | TransferError, can_id: int) -> Outcome:
        if isinstance(event, SendFlowControl):
            profile = self.profile
            target = profile.flow_control_id(can_id)
            return SendFrame(CanFrame(target, profile.extended, event.data))
        if isinstance(event, Message):
            return Reading(event.payload, decode_values(self.profile, event.payload))
        return Dropped(event.reason)
