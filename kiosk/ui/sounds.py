"""Sounds for success and failure, so the patron knows without looking (WCAG: not by sight alone).

The cues come from comparing two session views (pure: :func:`cues_between`); :class:`Sounds`
plays them through Kivy's SoundLoader when an audio device exists and keeps a ``history`` either
way (tests assert on it; a kiosk without a speaker still works).  The WAV files are generated
by :func:`write_tones` (sine tones, no third-party audio) and shipped in ``kiosk/assets/sounds``.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SOUND_DIR = Path(__file__).resolve().parent.parent / "assets" / "sounds"
# (frequency Hz, duration s) notes: a rising pair for success, a low double note for failure,
# three short notes for attention (timeout warning).
TONES = {
    "success": ((880, 0.09), (1320, 0.14)),
    "failure": ((330, 0.16), (0, 0.05), (262, 0.24)),
    "attention": ((660, 0.08), (0, 0.06), (660, 0.08), (0, 0.06), (660, 0.08)),
}


def write_tones(directory: Path = SOUND_DIR, rate: int = 22050) -> list[Path]:
    """(Re)generate the cue WAVs: 16-bit mono, with 5 ms fades so they do not click."""
    import math  # a build-time tool: kept off the kiosk's start-up imports
    import struct
    import wave

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, notes in TONES.items():
        frames = bytearray()
        for freq, dur in notes:
            n = int(rate * dur)
            fade = int(rate * 0.005)
            for i in range(n):
                env = min(1.0, i / fade, (n - i) / fade) if fade else 1.0
                v = 0.35 * env * math.sin(2 * math.pi * freq * i / rate) if freq else 0.0
                frames += struct.pack("<h", int(v * 32767))
        path = directory / f"{name}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(bytes(frames))
        out.append(path)
    return out


def cues_between(old, new) -> list[str]:  # noqa: ANN001 - SessionView | None
    """Which sounds a change from ``old`` to ``new`` deserves (at most one of each per change)."""
    before = {i.item_id: i.state for i in old.items} if old is not None else {}
    cues: list[str] = []
    for line in new.items:
        prev = before.get(line.item_id)
        if prev == line.state:
            continue
        if line.state == "done" and "success" not in cues:
            cues.append("success")
        elif line.state in ("refused", "needs_staff") and "failure" not in cues:
            cues.append("failure")
    if new.message_key in ("unknown_card", "wrong_pin", "patron_blocked") and (
            old is None or old.message_key != new.message_key) and "failure" not in cues:
        cues.append("failure")
    if new.warning_s is not None and (old is None or old.warning_s is None):
        cues.append("attention")
    return cues


class Sounds:
    """Plays cues; never raises (no speaker is not a reason to stop lending books)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.history: list[str] = []
        self._cache: dict = {}

    def play(self, cue: str) -> None:
        self.history.append(cue)
        if not self.enabled:
            return
        try:
            sound = self._cache.get(cue)
            if sound is None:
                from kivy.core.audio import SoundLoader

                sound = SoundLoader.load(str(SOUND_DIR / f"{cue}.wav"))
                self._cache[cue] = sound or False
            if sound:
                sound.stop()
                sound.play()
        except Exception:  # noqa: BLE001 - audio backends fail in many ways; sound is a nicety
            log.debug("could not play %s", cue, exc_info=True)
            self._cache[cue] = False
