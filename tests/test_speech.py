"""Speech output (kiosk/speech/): the words for every screen and state in every language, privacy,
an engine that never blocks and can be interrupted, and a real espeak-ng utterance to a WAV file."""

from __future__ import annotations

import re
import threading
import wave
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.circulation.view import ItemLine, LoanLine, PatronSummary, SessionView
from kiosk.speech import engine
from kiosk.speech.engine import Speaker
from kiosk.speech.narrator import Narrator
from kiosk.speech.texts import Guide, item_text, screen_text
from kiosk.ui.i18n import extract_msgids, load_catalog
from kiosk.ui.texts import REASONS, RETURNS_MESSAGES

LANGS = ("en", "de", "es", "fr")
DUE = datetime(2026, 12, 24)
NAME = "Example, Alice"
CARD = "2000000001"
ALICE = PatronSummary(name=NAME, masked_id="******0001", loans=(LoanLine("3901", "Emma", due_date=DUE),),
                      holds_ready=("Dune",), fine_amount="2.50", currency="EUR")


def _blocked(key: str) -> PatronSummary:
    return PatronSummary(name=NAME, can_checkout=False, block_keys=(key,), fine_amount="12.50", currency="EUR",
                         overdue_count=3, loan_count=10)


ITEM_LINES = {
    "borrowed": ItemLine("1", "Emma", state="done", due_date=DUE),
    "borrowed-offline": ItemLine("1", "Emma", state="done", due_date=DUE, journaled=True),
    "refused-hold": ItemLine("2", "Dune", state="refused", reason_key="on_hold_for_other"),
    "refused-parts": ItemLine("2", "Dune", state="refused", reason_key="missing_parts"),
    "desk": ItemLine("3", "Solaris", state="needs_staff", reason_key="check_at_desk"),
    "returned": ItemLine("4", "Emma", state="done", action="checkin"),
    "returned-hold": ItemLine("4", "Emma", state="done", action="checkin", alert="hold_here"),
    "returned-transfer": ItemLine("4", "Emma", state="done", action="checkin", alert="transfer"),
    "not-on-loan": ItemLine("4", "Emma", state="refused", action="checkin", reason_key="not_checked_out"),
}


def _states() -> dict[str, dict]:
    """Every screen and state speech covers: name -> screen_text() arguments."""
    s: dict[str, dict] = {
        "home": dict(screen="home", view=SessionView()),
        "identify-card": dict(screen="identify", view=SessionView(state="identifying", mode="borrow")),
        "identify-pin": dict(screen="identify", view=SessionView(state="identifying", needs_pin=True)),
        "identify-wrong-pin": dict(screen="identify", view=SessionView(state="identifying", needs_pin=True,
                                                                       message_key="wrong_pin")),
        "identify-unknown-card": dict(screen="identify", view=SessionView(state="identifying",
                                                                          message_key="unknown_card")),
        "items-borrow": dict(screen="items", view=SessionView(state="identified", mode="borrow", patron=ALICE)),
        "items-return": dict(screen="items", view=SessionView(state="working", mode="return")),
        "account": dict(screen="account", view=SessionView(state="identified", mode="account", patron=ALICE)),
        "receipt-borrow": dict(screen="receipt", view=SessionView(state="receipt", mode="borrow", patron=ALICE,
                                                                  items=(ITEM_LINES["borrowed"],))),
        "receipt-return": dict(screen="receipt", view=SessionView(state="receipt", mode="return",
                                                                  items=(ITEM_LINES["returned"],))),
        "receipt-account": dict(screen="receipt", view=SessionView(state="receipt", mode="account", patron=ALICE,
                                                                   items=(ItemLine("R1", "Emma", state="done",
                                                                                   action="renew"),))),
        "goodbye-borrow": dict(screen="goodbye", view=SessionView(
            state="ended", mode="borrow", items=(ITEM_LINES["borrowed"], ITEM_LINES["refused-hold"]))),
        "goodbye-cancelled": dict(screen="goodbye", view=SessionView(state="ended", mode="borrow",
                                                                     message_key="cancelled")),
        "out-of-service": dict(screen="out_of_service", view=SessionView(state="out_of_service")),
        "timeout-warning": dict(screen="items", view=SessionView(state="identified", mode="borrow", patron=ALICE),
                                warning_s=15),
    }
    for key in ("fines", "card_expired", "card_lost", "limit_reached", "overdue_items", "patron_blocked"):
        s[f"blocked-{key}"] = dict(screen="items", view=SessionView(state="identified", mode="borrow",
                                                                    patron=_blocked(key)))
    for key in RETURNS_MESSAGES:
        s[f"returns-only-{key}"] = dict(screen="returns_only", view=None, returns_key=key)
    return s


STATES = _states()
RAW_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")       # "on_hold_for_other", "card_expired": a key, not words


def _render(name: str, lang: str, **kw) -> str:  # noqa: ANN003
    args = dict(STATES[name])
    return screen_text(args.pop("screen"), args.pop("view"), lang, **args, **kw)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(STATES))
def test_every_screen_and_state_is_spoken_in_words(name, lang):
    text = _render(name, lang)
    assert text and len(text) > 10, (name, lang, text)
    assert "{" not in text and "}" not in text, text
    assert not RAW_KEY.search(text), text
    assert NAME.split(", ")[1] not in text and CARD not in text            # no name, no card number
    if lang != "en":
        assert text != _render(name, "en"), f"{name} is not translated into {lang}: {text}"


def test_the_receipt_question_after_renewals_says_renewed():
    assert _render("receipt-account", "en").startswith("Items renewed: 1.")
    ended = SessionView(state="ended", mode="account",
                        items=(ItemLine("R2", "Dune", state="refused", action="renew", reason_key="renewal_limit"),))
    text = screen_text("goodbye", ended, "en")
    assert "Not renewed (the due date stays): Dune" in text and "desk" not in text and "returned" not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(ITEM_LINES))
def test_every_item_result_is_spoken_with_where_it_goes(name, lang):
    text = item_text(ITEM_LINES[name], lang)
    assert ITEM_LINES[name].title in text and not RAW_KEY.search(text) and "{" not in text
    if lang != "en":
        assert text != item_text(ITEM_LINES[name], "en")
    if lang == "en":
        assert text.rstrip(".").endswith(("Take it with you", "Leave it at the desk", "Take it to the desk",
                                          "Put it in the return bin",
                                          "Place every part on the pad together")), text


def test_every_speech_sentence_is_in_every_catalog():
    """No sentence only speech uses may be missing from a language (it would be read in English)."""
    root = Path(__file__).resolve().parent.parent / "kiosk" / "speech"
    msgids = extract_msgids(sorted(root.glob("*.py")))
    assert len(msgids) >= 20
    for lang in ("de", "es", "fr"):
        missing = [m for m in msgids if m not in load_catalog(lang)]
        assert not missing, (lang, missing)


def test_blocked_reasons_all_have_their_own_words():
    said = {key: _render(f"blocked-{key}", "en") for key in ("fines", "card_expired", "card_lost",
                                                            "limit_reached", "overdue_items")}
    assert "€12.50" in said["fines"] and "3" in said["overdue_items"] and "10" in said["limit_reached"]
    assert "expired" in said["card_expired"] and "lost" in said["card_lost"]
    assert all(REASONS[k][1] in v or k == "fines" for k, v in said.items())
    assert "Place your items" not in " ".join(said.values())                 # not invited to place items


def test_the_name_is_spoken_only_when_the_library_allows_it():
    assert "Alice" not in _render("items-borrow", "en")
    assert "Alice" in _render("items-borrow", "en", personal=True)
    assert "Alice" in _render("account", "de", personal=True) and CARD not in _render("account", "de", personal=True)


def test_where_things_are_follows_the_kiosk_model():
    assert "below the screen" in _render("home", "en")
    assert "left of the screen" in _render("identify-card", "en", guide=Guide(card_reader="left"))
    assert "card reader" not in _render("identify-card", "en", guide=Guide(card_reader="none"))
    assert "right of the screen" in _render("items-borrow", "en", guide=Guide(item_pad="right"))


# ------------------------------------------------------------------------------------------ engine
class FakeProc:
    """An espeak-ng that 'speaks' until killed (or until ``finish`` is set)."""

    def __init__(self, cmd, **_kw):  # noqa: ANN001, ANN003
        self.cmd = cmd
        self.killed = False
        self.finish = threading.Event()
        self.stdin = self
        self.text = b""

    def write(self, data: bytes) -> None:
        self.text += data

    def close(self) -> None:
        pass

    def poll(self):  # noqa: ANN201
        return 0 if (self.killed or self.finish.is_set()) else None

    def kill(self) -> None:
        self.killed = True

    def wait(self) -> int:
        return 0


def test_speaker_never_blocks_and_a_new_screen_interrupts_the_old_one():
    procs: list[FakeProc] = []

    def popen(cmd, **kw):  # noqa: ANN001, ANN003, ANN202
        procs.append(FakeProc(cmd, **kw))
        return procs[-1]

    sp = Speaker(volume=50, rate=140, popen=popen)
    sp.say("Tap your card.", "en")                      # returns at once although it 'speaks' forever
    for _ in range(200):
        if procs:
            break
        threading.Event().wait(0.01)
    assert procs and procs[0].cmd[:7] == ["espeak-ng", "-v", "en-gb", "-a", "100", "-s", "140"]
    assert procs[0].cmd[-1] == "--stdin" and procs[0].text == b"Tap your card."   # text on stdin, not argv
    sp.say("Place your items.", "de")                    # a new screen: the old sentence is cut off
    sp.say("Emma. Due back.", "de", interrupt=False)     # an item result queues behind it
    for _ in range(200):
        if len(procs) >= 2:
            break
        threading.Event().wait(0.01)
    assert procs[0].killed and procs[1].text.decode() == "Place your items." and procs[1].cmd[2] == "de"
    procs[1].finish.set()
    for _ in range(200):
        if len(procs) >= 3:
            break
        threading.Event().wait(0.01)
    assert not procs[1].killed and procs[2].text.decode() == "Emma. Due back."
    procs[2].finish.set()
    assert sp.idle(5)
    sp.close()


def test_narrator_says_each_screen_once_and_each_item_result_once():
    said: list[tuple[str, bool]] = []

    class Recorder:
        def say(self, text, lang, interrupt=True):  # noqa: ANN001
            said.append((text, interrupt))

        def stop(self) -> None:
            said.append(("<stop>", True))

    n = Narrator(Recorder())
    working = SessionView(state="identified", mode="borrow", patron=ALICE)
    n.update("items", working, "en")
    n.update("items", working, "en")                    # nothing new: nothing said
    assert len(said) == 1 and "Place your items" in said[0][0] and said[0][1]
    one = SessionView(state="working", mode="borrow", patron=ALICE, items=(
        ItemLine("1", "Emma", state="in_progress"), ItemLine("2", "Dune", state="refused",
                                                              reason_key="on_hold_for_other")))
    n.update("items", one, "en")
    assert said[-1] == (item_text(one.items[1], "en"), False)       # queued, not interrupting
    two = SessionView(state="working", mode="borrow", patron=ALICE, items=(
        ItemLine("1", "Emma", state="done", due_date=DUE), one.items[1]))
    n.update("items", two, "en")
    n.update("items", two, "en")
    assert [t for t, _ in said].count(item_text(two.items[0], "en")) == 1 and len(said) == 3
    n.update("items", two, "en", warning_s=10)
    assert "Are you still there?" in said[-1][0] and said[-1][1]
    n.switched(False, "en", "items", two)
    assert said[-1] == ("<stop>", True)


def test_volume_and_voice_reach_the_command_line():
    assert engine.command("fr", volume=100, rate=120)[:7] == ["espeak-ng", "-v", "fr-fr", "-a", "200", "-s", "120"]
    assert engine.command("es", volume=0, wav=Path("/tmp/x.wav"))[5:] == ["-s", "150", "-w", "/tmp/x.wav", "--stdin"]


@pytest.mark.skipif(not engine.available(), reason="espeak-ng is not installed (scripts/sysdeps.sh installs it)")
@pytest.mark.parametrize("lang", LANGS)
def test_espeak_ng_speaks_every_language_into_a_wav_file(tmp_path, lang):
    path = engine.to_wav(_render("identify-pin", lang), lang, tmp_path / f"{lang}.wav", volume=80)
    with wave.open(str(path)) as w:
        frames = w.getnframes()
        assert w.getframerate() > 8000 and frames / w.getframerate() > 1.0      # over a second of speech
        samples = w.readframes(frames)
    assert any(b != 0 for b in samples[: 200000])                            # not silence
