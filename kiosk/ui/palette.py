"""The kiosk's design system, pure part: colour roles, contrast maths, type scale (no Kivy).

Screens never name a colour or a font size; they name a *role* (``app.theme.surface``,
``app.theme.font_l``).  Switching theme (standard / high contrast) or large text only changes
the values behind the roles, and every kv binding follows.  Library branding (accent colour)
is applied here too, so no screen needs changing when a library sets its colours.

Contrast rules we hold ourselves to (WCAG 2.x; reference libraries-and-kiosks.md §5):
* standard theme: every text/background pair >= 4.5:1 (WCAG 1.4.3, AA);
* high-contrast theme: every pair >= 7:1 (WCAG 1.4.6, AAA).
``text_pairs()`` lists the pairs so a test can check them, including the accent a library
configured (a too-light or too-dark accent gets its text colour picked for contrast and, if
even that cannot reach the target, is darkened until it does).
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.circulation.record import Record, record

RGBA = tuple[float, float, float, float]


def hex_to_rgba(text: str) -> RGBA:
    """``"#1a5fb4"`` (or ``"1a5fb4"``, ``"#15b"``) -> RGBA floats; ValueError on anything else."""
    s = text.strip().lstrip("#")
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6 or any(c not in "0123456789abcdefABCDEF" for c in s):
        raise ValueError(f"not a colour like #1a5fb4: {text!r}")
    return (int(s[0:2], 16) / 255, int(s[2:4], 16) / 255, int(s[4:6], 16) / 255, 1.0)


def relative_luminance(c: RGBA) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    def chan(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (chan(v) for v in c[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGBA, b: RGBA) -> float:
    """WCAG contrast ratio between two opaque colours (1..21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(c: RGBA, towards: RGBA, amount: float) -> RGBA:
    return tuple(c[i] + (towards[i] - c[i]) * amount for i in range(3)) + (1.0,)  # type: ignore[return-value]


BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)


def readable_on(bg: RGBA, minimum: float) -> tuple[RGBA, RGBA]:
    """(background, text) for a filled button: white or near-black text, whichever reads better;
    the background is darkened/lightened step by step until the pair reaches ``minimum``."""
    ink_dark: RGBA = (0.07, 0.07, 0.09, 1.0)
    for step in range(21):
        for ink in (WHITE, ink_dark):
            if contrast_ratio(bg, ink) >= minimum:
                return bg, ink
        # move away from the text colour that is closer to working
        target = BLACK if contrast_ratio(bg, WHITE) >= contrast_ratio(bg, ink_dark) else WHITE
        bg = _mix(bg, target, 0.08 * (step + 1) / 4)
    return (BLACK, WHITE)


@record          # a frozen dataclass without its methods compiled at import (~1 ms before the first frame)
class Palette(Record):
    """Colour roles.  ``*_ink`` is the text drawn on the matching fill."""

    name: str
    background: RGBA
    surface: RGBA          # cards, rows, panels
    surface_alt: RGBA      # header bar, keypad keys
    ink: RGBA              # body text on background/surface
    ink_muted: RGBA        # secondary text (still >= the theme's contrast target)
    line: RGBA             # dividers, outlines
    accent: RGBA           # library colour: primary buttons, header
    accent_ink: RGBA
    ok: RGBA               # item done
    ok_ink: RGBA
    fail: RGBA             # item refused
    fail_ink: RGBA
    warn: RGBA             # needs staff, timeout warning, offline banner
    warn_ink: RGBA
    busy: RGBA             # in progress
    busy_ink: RGBA
    minimum_contrast: float


STANDARD = Palette(
    name="standard",
    background=(0.957, 0.953, 0.941, 1), surface=(1, 1, 1, 1), surface_alt=(0.905, 0.898, 0.882, 1),
    ink=(0.11, 0.11, 0.13, 1), ink_muted=(0.33, 0.33, 0.36, 1), line=(0.80, 0.79, 0.77, 1),
    accent=(0.10, 0.33, 0.60, 1), accent_ink=WHITE,
    ok=(0.09, 0.45, 0.22, 1), ok_ink=WHITE,
    fail=(0.70, 0.11, 0.11, 1), fail_ink=WHITE,
    warn=(0.98, 0.78, 0.25, 1), warn_ink=(0.11, 0.09, 0.02, 1),
    busy=(0.30, 0.32, 0.40, 1), busy_ink=WHITE,
    minimum_contrast=4.5,
)

# Black/white/yellow: the classic high-visibility scheme; every text pair is well above 7:1.
HIGH_CONTRAST = Palette(
    name="high_contrast",
    background=BLACK, surface=(0.0, 0.0, 0.0, 1), surface_alt=(0.12, 0.12, 0.12, 1),
    ink=WHITE, ink_muted=(0.93, 0.93, 0.93, 1), line=WHITE,
    accent=(1.0, 0.92, 0.0, 1), accent_ink=BLACK,
    ok=(0.55, 1.0, 0.55, 1), ok_ink=BLACK,
    fail=(1.0, 0.62, 0.62, 1), fail_ink=BLACK,
    warn=(1.0, 0.92, 0.0, 1), warn_ink=BLACK,
    busy=(0.75, 0.85, 1.0, 1), busy_ink=BLACK,
    minimum_contrast=7.0,
)


def branded(palette: Palette, accent_hex: str) -> Palette:
    """The palette with the library's accent colour (standard theme only: high contrast keeps
    its own yellow, because the patron chose it to read better, not to see the brand)."""
    if palette.name == "high_contrast" or not accent_hex:
        return palette
    bg, ink = readable_on(hex_to_rgba(accent_hex), max(palette.minimum_contrast, 4.5))
    return replace(palette, accent=bg, accent_ink=ink)


def text_pairs(p: Palette) -> dict[str, tuple[RGBA, RGBA]]:
    """Every (text, background) combination the screens draw: checked by tests/test_ui_theme.py."""
    return {
        "ink/background": (p.ink, p.background), "ink/surface": (p.ink, p.surface),
        "ink/surface_alt": (p.ink, p.surface_alt), "muted/background": (p.ink_muted, p.background),
        "muted/surface": (p.ink_muted, p.surface), "accent_ink/accent": (p.accent_ink, p.accent),
        "ok_ink/ok": (p.ok_ink, p.ok), "fail_ink/fail": (p.fail_ink, p.fail),
        "warn_ink/warn": (p.warn_ink, p.warn), "busy_ink/busy": (p.busy_ink, p.busy),
    }


# Type scale (sp at scale 1.0) and spacing (dp).  Sized for 800x480 at arm's length: body text
# 20 sp is ~4.5 mm on the official 7" panel, above ADA 707's 3/16 in (4.8 mm) only in large-text
# mode -- which is why large text exists (reference libraries-and-kiosks.md §5).
# The smallest size is 18 sp: every line a patron must read (an item's status, what to do) is
# body text, and small print at arm's length is exactly what the audit (kiosk/ui/audit.py) flags.
TYPE_SCALE = {"font_s": 18, "font_m": 20, "font_l": 26, "font_xl": 34, "font_xxl": 44}
LARGE_TEXT_FACTOR = 1.3
LARGE_TEXT_MIN = 1.2      # a text shrunk to fit its box stays at least this much larger with large text on
# Staff pages: tables and forms for librarians, laid out for this compact scale (not the patron's).
STAFF_TYPE_SCALE = {"font_s": 16, "font_m": 20, "font_l": 26, "font_xl": 34, "font_xxl": 44}
PORTRAIT_FACTOR = 1.2   # portrait panels (720x1280, 1080x1920) have the height for larger type
TOUCH_MIN = 44          # px: WCAG 2.5.5 target size (reference libraries-and-kiosks.md §5)


