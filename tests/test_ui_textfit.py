"""A word wider than its label shrinks the type instead of breaking between two letters."""

from __future__ import annotations

from kiosk.ui.textfit import fit_font_size


def _measure(word: str, size: float, bold: bool) -> float:
    return len(word) * size * (0.53 if bold else 0.5)   # Roboto Bold: "Zurückgegeben:" is 191 px at 26 px


def test_the_german_tally_shrinks_to_keep_its_word_whole():
    # "Zurückgegeben:" at 26 px bold is ~191 px; the tally card had ~162 px
    size = fit_font_size("Zurückgegeben: 2", 162, 26, 20, True, measure=_measure)
    assert 20 <= size < 26
    assert _measure("Zurückgegeben:", size, True) <= 162


def test_short_words_and_empty_text_keep_the_theme_size():
    assert fit_font_size("Borrowed: 2", 162, 26, 20, True, measure=_measure) == 26
    assert fit_font_size("", 162, 26, 20, True, measure=_measure) == 26
    assert fit_font_size("Returned: 1", 0, 26, 20, True, measure=_measure) == 26


def test_never_below_the_floor():
    assert fit_font_size("Donaudampfschifffahrtsgesellschaft", 100, 26, 20, True, measure=_measure) == 20


def test_the_library_name_shrinks_to_one_line_in_the_header():
    from kiosk.ui.textfit import fit_line_size

    name = "Musterstadt Public Library"        # 26 chars: ~358 px at 26 px bold
    assert fit_line_size(name, 500, 26, 16, True, measure=_measure) == 26
    size = fit_line_size(name, 300, 26, 16, True, measure=_measure)
    assert 16 <= size < 26 and _measure(name, size, True) <= 300
    assert fit_line_size(name, 100, 26, 16, True, measure=_measure) == 16   # then the label shortens it
