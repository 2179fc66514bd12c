"""Design system: contrast targets for both themes and for any library accent colour."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.ui.palette import HIGH_CONTRAST, STANDARD, branded, contrast_ratio, hex_to_rgba, text_pairs


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert contrast_ratio(hex_to_rgba("#777777"), hex_to_rgba("#ffffff")) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("pair", sorted(text_pairs(HIGH_CONTRAST)))
def test_high_contrast_theme_reaches_7_to_1(pair):
    fg, bg = text_pairs(HIGH_CONTRAST)[pair]
    assert contrast_ratio(fg, bg) >= 7.0, pair


@pytest.mark.parametrize("pair", sorted(text_pairs(STANDARD)))
def test_standard_theme_reaches_aa(pair):
    fg, bg = text_pairs(STANDARD)[pair]
    assert contrast_ratio(fg, bg) >= 4.5, pair


@given(st.integers(0, 0xFFFFFF))
def test_any_accent_colour_stays_readable(rgb):
    """A library may configure any accent; the button text must still read (>= 4.5:1)."""
    p = branded(STANDARD, f"#{rgb:06x}")
    assert contrast_ratio(p.accent_ink, p.accent) >= 4.5


def test_high_contrast_ignores_branding():
    assert branded(HIGH_CONTRAST, "#ffcc00") == HIGH_CONTRAST


@pytest.mark.parametrize("bad", ["", "blue", "#12345", "#gg0000"])
def test_bad_colours_are_rejected(bad):
    with pytest.raises(ValueError):
        hex_to_rgba(bad)
