"""Serve a simulated serial device on a pseudo-terminal (for driver tests and benchmarks).

The driver under test opens ``PtyDevice.port`` (``/dev/pts/N``) with pyserial exactly as it
would open ``/dev/ttyUSB0``.  The simulator supplies two pure functions: ``frame_length(prefix)``
(total length of the frame starting with ``prefix``, None while more bytes are needed) and
``handle(frame) -> reply bytes`` (None or empty: no answer).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import tty
from collections.abc import Callable

log = logging.getLogger(__name__)


class PtyDevice:
    """A thread answering frames on the master side of a pty.  Test hooks: ``mute``,
    ``corrupt_next`` (flip the last byte of the next reply)."""

    min_frame = 1
    header = 3          # bytes handed to frame_length()

    def __init__(self, frame_length: Callable[[bytes], int | None], handle: Callable[[bytes], bytes | None],
                 name: str = "pty-sim") -> None:
        self._frame_length = frame_length
        self._handle = handle
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.corrupt_next = False
        self.mute = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> PtyDevice:
        self._thread.start()
        return self

    def __enter__(self) -> PtyDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.2)[0]:
                continue
            try:
                buf += os.read(self._master, 4096)
            except OSError:
                return
            while True:
                n = self._frame_length(bytes(buf[:self.header]))
                if n is None or len(buf) < n:
                    break
                if n < self.min_frame:      # garbage: resynchronise on the next byte
                    del buf[0]
                    continue
                frame, buf = bytes(buf[:n]), buf[n:]
                try:
                    reply = self._handle(frame)
                except Exception as exc:    # a real device ignores frames it cannot parse
                    log.debug("simulated device ignored a frame: %s", exc)
                    continue
                if not reply or self.mute:
                    continue
                if self.corrupt_next:
                    self.corrupt_next = False
                    reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
                os.write(self._master, reply)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
