"""A stand-in for a USB-CAN adapter speaking slcan (LAWICEL ASCII) on a pseudo-terminal.

The gateway opens the pty's device path exactly like `/dev/ttyACM0` of a CANable; this side
answers the adapter commands, turns `T` lines into frames on a python-can `virtual` bus (where
the BIC simulator listens) and the simulator's answers back into `T` lines. It records the
commands it got, so a test can check the bitrate the gateway asked for.

LAWICEL: `C` close, `O` open, `S0`..`S8` bitrate (S5 = 250 kbit/s), `Tiiiiiiiil<data>` send an
extended frame (acknowledged with `Z`), every line ends in CR; CR answers OK, BEL an error.
"""

from __future__ import annotations

import os
import select
import threading
import tty

import can

OK = b"\r"
ERROR = b"\a"


class SlcanAdapter:
    def __init__(self, virtual_channel: str) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.bus = can.Bus(interface="virtual", channel=virtual_channel)
        self.commands: list[str] = []
        self.is_open = False
        self.frames_from_host = 0
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._from_host, daemon=True),
            threading.Thread(target=self._to_host, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        self.bus.shutdown()
        os.close(self._master)
        os.close(self._slave)

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            os.write(self._master, data)

    def _from_host(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.1)
            if not ready:
                continue
            buffer += os.read(self._master, 4096)
            while b"\r" in buffer:
                line, buffer = buffer.split(b"\r", 1)
                self._write(self._command(line.decode("ascii", "replace")))

    def _command(self, line: str) -> bytes:
        self.commands.append(line)
        if line == "O":
            self.is_open = True
        elif line == "C":
            self.is_open = False
        elif line.startswith("S") and line[1:] in {str(n) for n in range(9)}:
            if self.is_open:
                return ERROR  # the bitrate can only change while closed
        elif line.startswith("T") and len(line) >= 10:
            if not self.is_open:
                return ERROR
            dlc = int(line[9])
            self.bus.send(
                can.Message(
                    arbitration_id=int(line[1:9], 16),
                    data=bytes.fromhex(line[10 : 10 + 2 * dlc]),
                    is_extended_id=True,
                )
            )
            self.frames_from_host += 1
            return b"Z" + OK
        elif line == "":
            pass  # python-can sends an empty line for "no CAN FD data bitrate"
        else:
            return ERROR
        return OK

    def _to_host(self) -> None:
        while not self._stop.is_set():
            msg = self.bus.recv(0.1)
            if msg is None or not self.is_open or not msg.is_extended_id:
                continue
            line = f"T{msg.arbitration_id:08X}{msg.dlc}{bytes(msg.data).hex().upper()}"
            self._write(line.encode("ascii") + OK)
