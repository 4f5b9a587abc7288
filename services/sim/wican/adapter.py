"""One reply on its way out: ISO-TP framing with Flow Control, batching and noise.

Pure: `start` returns the messages (lists of frames) to publish now, `on_flow_control`
the block to publish next with the pause between messages (STmin).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.sim.wican.car import corrupt
from shared.isotp import IsoTpError, IsoTpSender, segment
from shared.wican_payload import CanFrame

PAD = 0xAA
NOISE_IDS = (0x1D4, 0x3B8, 0x5C5, 0x6A1)


@dataclass(frozen=True)
class Batch:
    """Publish each of `messages` (frames of one rx message), pausing `gap_s` between them."""

    messages: tuple[tuple[CanFrame, ...], ...]
    gap_s: float = 0.0
    done: bool = False


class ReplyTransfer:
    """Sends one reply payload from `response_id`."""

    def __init__(
        self,
        payload: bytes,
        response_id: int,
        extended: bool,
        frames_per_message: int = 1,
        noise_frames: int = 0,
        broken: bool = False,
    ) -> None:
        self._sender = IsoTpSender(payload, PAD)
        frames = segment(payload, PAD)
        self._frames = corrupt(frames) if broken else frames
        self._sent = 0
        self.response_id = response_id
        self.extended = extended
        self.frames_per_message = frames_per_message
        self.noise_frames = noise_frames
        self._noise_counter = 0

    @property
    def done(self) -> bool:
        return self._sender.done or self._sender.aborted

    def start(self) -> Batch:
        """The Single Frame or First Frame."""
        self._sender.first_frame()
        return Batch((self._message([self._next()]),), 0.0, self._sender.done)

    def on_flow_control(self, data: bytes) -> Batch:
        """The block of Consecutive Frames a Flow Control frame allows (empty on wait)."""
        try:
            block = self._sender.on_flow_control(data)
        except IsoTpError:
            return Batch((), 0.0, True)
        if block.status != "continue":
            return Batch((), 0.0, block.status == "overflow")
        frames = [self._next() for _ in block.frames]
        # frames in one MQTT message leave together, so batching only without STmin
        size = self.frames_per_message if block.st_min == 0 else 1
        messages = tuple(self._message(frames[i : i + size]) for i in range(0, len(frames), size))
        return Batch(messages, block.st_min, block.done)

    def _next(self) -> CanFrame:
        data = self._frames[self._sent]
        self._sent += 1
        return CanFrame(self.response_id, self.extended, data)

    def _message(self, frames: list[CanFrame]) -> tuple[CanFrame, ...]:
        noise = []
        for _ in range(self.noise_frames):
            self._noise_counter += 1
            can_id = NOISE_IDS[self._noise_counter % len(NOISE_IDS)]
            if can_id == self.response_id and not self.extended:
                can_id += 1
            counter = self._noise_counter & 0xFF
            noise.append(CanFrame(can_id, False, bytes([0x21, counter, 0, 0, 0, 0, 0, counter])))
        return (*noise, *frames)
