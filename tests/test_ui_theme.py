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


@pytest.mark.parametrize("size, density", [((800, 480), 1.0), ((720, 1280), 1.0), ((1080, 1920), 1.5),
                                           ((1024, 600), 1.25), ((1920, 1080), 2.25), ((480, 320), 1.0)])
def test_a_larger_panel_scales_the_layout_instead_of_leaving_dead_space(size, density):
    from kiosk.ui.theme import panel_density

    assert panel_density(*size) == density


def test_theme_switches_bump_the_revision_after_every_role_changed():
    """kv rules bind to ``revision``: when it fires, every role must already hold its new value."""
    from kiosk.ui.theme import Theme

    theme = Theme(accent_hex="#8a1538")
    seen = []
    theme.bind(revision=lambda *_a: seen.append((tuple(theme.role("accent")), tuple(theme.role("accent_ink")),
                                                 theme.size("font_m"))))
    theme.apply("high_contrast", large_text=True)
    assert seen[-1] == (HIGH_CONTRAST.accent, HIGH_CONTRAST.accent_ink, pytest.approx(20 * 1.3))
    theme.apply("standard", large_text=False)
    p = branded(STANDARD, "#8a1538")
    assert seen[-1] == (p.accent, p.accent_ink, pytest.approx(20))
    assert tuple(theme.role("muted")) == STANDARD.ink_muted and len(seen) == 2
    theme.set_staff(True)                         # staff pages: compact scale, large text ignored
    theme.apply("standard", large_text=True)
    assert theme.size("font_s") == pytest.approx(16) and theme.size("font_m") == pytest.approx(20)


def test_colour_rules_rerun_on_a_colour_change_and_not_on_a_size_change():
    """Colour rules bind to ``colour_revision`` (issue 19): a large-text switch changes sizes only,
    so the colour rules of every widget on the screen are not evaluated again for nothing."""
    from kiosk.ui.theme import Theme

    theme = Theme()
    colours: list = []
    theme.bind(colour_revision=lambda *_a: colours.append(tuple(theme.role("ink"))))
    theme.apply("standard", large_text=True)
    assert colours == []                                   # sizes only
    theme.apply("high_contrast")
    assert colours == [HIGH_CONTRAST.ink]                  # after every role changed
    theme.apply("high_contrast", large_text=False)
    theme.set_portrait(True)
    assert colours == [HIGH_CONTRAST.ink]
    theme.apply("standard")
    assert colours == [HIGH_CONTRAST.ink, STANDARD.ink]
