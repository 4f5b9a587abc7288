"""The car's ECU on the CAN side: an ISO-TP peer built on can-isotp, not on canbridge's code.

can-isotp (an independent ISO 15765-2 implementation) does the segmentation, waits for the
tester's Flow Control, honours its block size and STmin (or the ECU's own minimum gap),
Wait frames up to `wftmax`, and gives up after N_Bs without Flow Control. This class only
feeds it frames and collects what it sends; no thread, no I/O. `step()` is called after
each received frame and whenever `next_delay()` says a Consecutive Frame is due.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import isotp

from shared.wican_payload import CanFrame


@dataclass(frozen=True)
class EcuAddressing:
    """Where an ECU listens and answers."""

    request_id: int  # physical: requests and the tester's Flow Control arrive here
    response_id: int
    id_29bit: bool = False
    functional_id: int | None = None  # requests may also arrive here (single frames)
    ecu_address: int | None = None  # extended addressing: first byte of frames to the ECU
    tester_address: int | None = None  # ... and of frames from it
    pad: int | None = 0xAA  # None: frames as short as their data


@dataclass(frozen=True)
class IsoTpTuning:
    """How the ECU's ISO-TP layer behaves (per car)."""

    #: the ECU's own minimum gap between Consecutive Frames in s; None: the tester's STmin
    min_separation_s: float | None = None
    #: block size and STmin the ECU asks for when it receives a multi-frame request
    block_size: int = 0
    st_min: int = 0
    #: Flow Control "wait" frames accepted per transfer (0: a wait is an error)
    wftmax: int = 4
    #: N_Bs: how long the ECU waits for a Flow Control, in ms
    n_bs_ms: int = 1000


#: (request, arrived on the functional id) -> reply or None
Answer = Callable[[bytes, bool], bytes | None]

#: can-isotp's own log: quiet, its errors reach our log through the error handler
ISOTP_LOGGER = "sim-wican.isotp"
logging.getLogger(ISOTP_LOGGER).addHandler(logging.NullHandler())
logging.getLogger(ISOTP_LOGGER).propagate = False


def addressing_mode(id_29bit: bool, extended: bool) -> isotp.AddressingMode:
    """can-isotp's name for 11/29-bit ids with normal or extended addressing."""
    return {
        (False, False): isotp.AddressingMode.Normal_11bits,
        (True, False): isotp.AddressingMode.Normal_29bits,
        (False, True): isotp.AddressingMode.Extended_11bits,
        (True, True): isotp.AddressingMode.Extended_29bits,
    }[(id_29bit, extended)]


def _message(frame: CanFrame) -> isotp.CanMessage:
    return isotp.CanMessage(
        arbitration_id=frame.id, data=frame.data, extended_id=frame.extended, dlc=len(frame.data)
    )


class Ecu:
    """One diagnostic ECU of a car: answers its request with `answer(request)`."""

    def __init__(
        self, model: EcuAddressing, answer: Answer, tuning: IsoTpTuning = IsoTpTuning()
    ) -> None:
        self.model = model
        self._answer = answer
        self._inbox: deque[isotp.CanMessage] = deque()
        self._functional_inbox: deque[isotp.CanMessage] = deque()
        self._sent: list[CanFrame] = []
        self.errors: list[str] = []
        params = {
            "stmin": tuning.st_min,
            "blocksize": tuning.block_size,
            "override_receiver_stmin": tuning.min_separation_s,
            "wftmax": tuning.wftmax,
            "rx_flowcontrol_timeout": tuning.n_bs_ms,
            "tx_padding": model.pad,
            "wait_func": lambda _s: None,  # never sleeps: the caller paces with next_delay
            "logger_name": ISOTP_LOGGER,
        }
        # can-isotp takes a zero-argument rxfn as non-blocking (what this needs); its annotation
        # names only the blocking one-argument form
        self.stack = isotp.TransportLayerLogic(
            rxfn=self._take(self._inbox),  # type: ignore[arg-type]
            txfn=self._send,
            address=self._address(model),
            params=params,
            error_handler=self._error,
        )
        self.functional = None
        if model.functional_id is not None:
            mode = addressing_mode(model.id_29bit, False)
            self.functional = isotp.TransportLayerLogic(
                rxfn=self._take(self._functional_inbox),  # type: ignore[arg-type]  # as above
                txfn=self._send,
                address=isotp.Address(mode, rxid=model.functional_id, txid=model.response_id),
                params={**params, "listen_mode": True},  # single frames only, no answers
                error_handler=self._error,
            )

    @staticmethod
    def _address(model: EcuAddressing) -> isotp.Address:
        mode = addressing_mode(model.id_29bit, model.ecu_address is not None)
        if model.ecu_address is None:
            return isotp.Address(mode, rxid=model.request_id, txid=model.response_id)
        return isotp.Address(
            mode,
            rxid=model.request_id,
            txid=model.response_id,
            source_address=model.ecu_address,
            target_address=model.tester_address,
        )

    @staticmethod
    def _take(inbox: deque) -> Callable[[], isotp.CanMessage | None]:
        return lambda: inbox.popleft() if inbox else None

    def _send(self, message: isotp.CanMessage) -> None:
        data = bytes(message.data)
        self._sent.append(CanFrame(message.arbitration_id, message.is_extended_id, data))

    def _error(self, error: Exception) -> None:
        self.errors.append(f"{type(error).__name__}: {error}")

    def receive(self, frame: CanFrame) -> None:
        """A frame from the bus (the adapter's can/tx); frames for other ids are ignored."""
        if frame.extended != self.model.id_29bit:
            return
        if frame.id == self.model.request_id:
            self._inbox.append(_message(frame))
        elif frame.id == self.model.functional_id:
            self._functional_inbox.append(_message(frame))

    def step(self) -> list[CanFrame]:
        """Let the ISO-TP layer work; returns the frames it puts on the bus now."""
        stacks = [(self.stack, self._inbox)]
        if self.functional is not None:
            stacks.append((self.functional, self._functional_inbox))
        for stack, inbox in stacks:
            stack.process()
            while inbox:  # can-isotp leaves frames after a First Frame or Flow Control
                stack.process()
            while (request := stack.recv()) is not None:
                reply = self._answer(bytes(request), stack is self.functional)
                if reply is not None:
                    self.stack.send(reply)
        self.stack.process()
        sent, self._sent = self._sent, []
        return sent

    def clear_errors(self) -> None:
        self.errors.clear()

    def busy(self) -> bool:
        """A reply is on its way (waiting for Flow Control or sending Consecutive Frames)."""
        return self.stack.transmitting()

    def next_delay(self) -> float | None:
        """Seconds until the next Consecutive Frame is due (None: none is due)."""
        return self.stack.next_cf_delay()

    def abort(self) -> None:
        """Drop any transfer (the adapter went to sleep)."""
        self.stack.reset()
        self._inbox.clear()
        self._functional_inbox.clear()
