"""The speech engine: espeak-ng in a subprocess, driven from one worker thread.

espeak-ng is offline, small, packaged for Debian and Raspberry Pi OS (``apt install espeak-ng``),
and speaks en/de/es/fr.  The kiosk never waits for it: :meth:`Speaker.say` only queues the text
and returns (Kivy's main thread calls it); the worker starts ``espeak-ng``, feeds the text on
stdin (so no sentence shows in ``ps``), and kills it the moment something newer must be said --
a patron who moves on must not hear the last screen's instructions to the end.

Audio goes to the default output (on a Pi, the headphone jack or HDMI as set in
``raspi-config``); ``to_wav`` writes a file instead (tests, and a staff "test speech" check).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)

VOICES = {"en": "en-gb", "de": "de", "es": "es", "fr": "fr-fr"}
POLL_S = 0.05          # how often the worker checks for an interruption while espeak-ng speaks


def available(engine: str = "espeak-ng") -> bool:
    """True when the engine's program is installed."""
    return shutil.which(engine) is not None


def command(lang: str, *, volume: int = 80, rate: int = 150, wav: Path | None = None,
            engine: str = "espeak-ng") -> list[str]:
    """The espeak-ng command line for one utterance read from stdin.

    ``volume`` 0-100 maps onto espeak-ng's amplitude 0-200 (100 is its default loudness)."""
    amplitude = max(0, min(200, round(volume * 2)))
    cmd = [engine, "-v", VOICES.get(lang, lang), "-a", str(amplitude), "-s", str(max(80, min(450, rate)))]
    if wav is not None:
        cmd += ["-w", str(wav)]
    return cmd + ["--stdin"]


def to_wav(text: str, lang: str, path: Path, *, volume: int = 80, rate: int = 150, engine: str = "espeak-ng",
           timeout: float = 20.0) -> Path:
    """Speak ``text`` into a WAV file (blocking: never call this on the UI thread)."""
    subprocess.run(command(lang, volume=volume, rate=rate, wav=path, engine=engine), input=text.encode("utf-8"),
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, check=True)
    return path


class Speaker:
    """Says one thing at a time, newest first.

    ``say(text, lang, interrupt=True)`` drops whatever is queued and stops what is being said;
    ``interrupt=False`` queues behind it (a stack of item results, read one after the other)."""

    def __init__(self, *, volume: int = 80, rate: int = 150, engine: str = "espeak-ng",
                 popen=subprocess.Popen, wav: Path | None = None):  # noqa: ANN001 - injectable for tests
        self.volume, self.rate, self.engine = volume, rate, engine
        self.wav = wav          # synthesize into this file instead of the audio output (benchmarks)
        self._popen = popen
        self._queue: deque[tuple[str, str]] = deque()
        self._cond = threading.Condition()
        self._interrupt = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.spoken: list[tuple[str, str]] = []      # what was started, for tests and diagnostics

    def say(self, text: str, lang: str, *, interrupt: bool = True) -> None:
        """Queue ``text`` (returns at once; safe to call from Kivy's main thread)."""
        text = (text or "").strip()
        if not text or self._closed:
            return
        with self._cond:
            if interrupt:
                self._queue.clear()
                self._interrupt = True
            self._queue.append((text, lang))
            self._cond.notify_all()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop speaking and forget the queue (the session ended; speech was switched off)."""
        with self._cond:
            self._queue.clear()
            self._interrupt = True
            self._cond.notify_all()

    def close(self) -> None:
        self._closed = True
        self.stop()

    def idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued or being said (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    _busy = False

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed and not self._queue:
                    return
                text, lang = self._queue.popleft()
                self._interrupt = False
                self._busy = True
            try:
                self._speak(text, lang)
            except Exception:  # noqa: BLE001 - a missing/broken engine must not take the kiosk down
                log.warning("speech engine %s failed", self.engine, exc_info=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _speak(self, text: str, lang: str) -> None:
        self.spoken.append((text, lang))
        proc = self._popen(command(lang, volume=self.volume, rate=self.rate, engine=self.engine, wav=self.wav),
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.stdin.write(text.encode("utf-8"))
            proc.stdin.close()
        except OSError:
            pass
        while proc.poll() is None:
            with self._cond:
                if self._cond.wait_for(lambda: self._interrupt or self._closed, POLL_S):
                    proc.kill()
                    proc.wait()
                    return
