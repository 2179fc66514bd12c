"""Speech in the real app: the home screen's switch, what is said screen by screen and item by
item, off Kivy's main thread, and off again for the next patron."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.gui


class _Proc:
    """Stands in for one espeak-ng process (no audio device on a test machine); notes its thread."""

    def __init__(self, cmd, log, **_kw):  # noqa: ANN001, ANN003
        self.cmd, self.log, self.stdin, self.text = cmd, log, self, b""

    def write(self, data: bytes) -> None:
        self.text += data

    def close(self) -> None:
        self.log.append((self.text.decode(), self.cmd[2], threading.current_thread().name))

    def poll(self) -> int:
        return 0

    def kill(self) -> None:
        pass

    def wait(self) -> int:
        return 0


def test_speech_switch_reads_each_screen_and_item_off_the_main_thread(gui_kiosk):
    with gui_kiosk({"speech.enabled": True, "kiosk.language": "en"}) as k:
        d, app, lib = k.driver, k.app, k.library
        from kiosk.speech.engine import Speaker
        from kiosk.speech.narrator import Narrator

        said: list[tuple[str, str, str]] = []
        app.narrator = Narrator(Speaker(popen=lambda cmd, **kw: _Proc(cmd, said, **kw)))
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin") and p["loans"])
        held = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                    and any(h["card"] != patron["card"] for h in i["holds"]))
        assert not app.speech_on
        d.tap(d.button("Speech off"))                       # the home screen's switch
        assert app.speech_on and d.button("Speech on")

        def heard(words: str) -> bool:
            return any(words in text for text, _voice, _thread in said)

        d.until(lambda: heard("Speech is on.") and heard("tap your library card"), 5, "speech on")
        d.tap(d.button("Deutsch"))
        d.tap(d.button("Ausleihen"))
        d.until(lambda: heard("Bitte legen") or heard("Kartenleser ist unter dem Bildschirm"), 5, "German speech")
        k.devices.card_reader.tap(patron["card"])
        d.until_screen("items", 15)
        d.until(lambda: heard("Legen Sie Ihre Medien auf die Ablage."), 5, "the items instruction")
        k.devices.tag_reader.place(held["barcode"])
        d.until(lambda: heard("Bitte an der Theke abgeben."), 20, "the refused item read out")
        assert all(voice == "de" for text, voice, _t in said[2:]), said
        assert all(thread == "speech" for _text, _voice, thread in said)    # never Kivy's main thread
        assert not any(patron["name"].split()[0] in text or patron["card"] in text for text, _v, _t in said)
        d.tap(d.button("Beenden"))                          # only a refusal: no receipt question
        d.until_screen("home", 15)
        assert not app.speech_on                             # the next patron starts without speech
