"""What the adapter does with the ECU's frames on their way to `can/rx`. Pure.

Frames the ECU sends in one go are batched several per rx message (as the firmware does),
unrelated bus traffic can be mixed in, and a reply can be broken on purpose (a skipped
sequence number, or a single frame with an impossible length) to test the receiver.
"""

from __future__ import annotations

from shared.wican_payload import CanFrame

NOISE_IDS = (0x1D4, 0x3B8, 0x5C5, 0x6A1)
PCI_SINGLE, PCI_FIRST, PCI_CONSECUTIVE = 0x0, 0x1, 0x2


def batch(frames: list[CanFrame], per_message: int) -> list[tuple[CanFrame, ...]]:
    """Frames split into rx messages of at most `per_message` frames."""
    return [tuple(frames[i : i + per_message]) for i in range(0, len(frames), per_message)]


class Noise:
    """Unrelated frames of other ECUs, a few per rx message, never on `avoid_id`."""

    def __init__(self) -> None:
        self._counter = 0

    def frames(self, count: int, avoid_id: int) -> list[CanFrame]:
        out = []
        for _ in range(count):
            self._counter += 1
            can_id = NOISE_IDS[self._counter % len(NOISE_IDS)]
            if can_id == avoid_id:
                can_id += 1
            counter = self._counter & 0xFF
            out.append(CanFrame(can_id, False, bytes([0x21, counter, 0, 0, 0, 0, 0, counter])))
        return out


class Breaker:
    """Breaks one reply as it goes out: SN 2 becomes 3 (SN 1 becomes 5 in a two-frame
    reply), a single frame gets length 0. `offset` is 1 under extended addressing."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self._two_frames = False

    def frame(self, frame: CanFrame) -> CanFrame:
        data = bytearray(frame.data)
        pci = data[self.offset]
        kind = pci >> 4
        if kind == PCI_SINGLE:
            data[self.offset] = 0x00
        elif kind == PCI_FIRST:
            length = ((pci & 0x0F) << 8) | data[self.offset + 1]
            first_frame_bytes = 6 - self.offset
            self._two_frames = length <= first_frame_bytes + (7 - self.offset)
        elif kind == PCI_CONSECUTIVE:
            sn = pci & 0x0F
            if sn == 2:
                data[self.offset] = 0x23
            elif sn == 1 and self._two_frames:
                data[self.offset] = 0x25
        return CanFrame(frame.id, frame.extended, bytes(data))
