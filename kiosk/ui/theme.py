"""The observable theme: the palette's roles as Kivy properties that kv rules bind to.

See :mod:`kiosk.ui.palette` for the colours, the contrast rules and the type scale.
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty

from kiosk.ui.hidden import same_tree
from kiosk.ui.palette import (
    HIGH_CONTRAST,
    LARGE_TEXT_FACTOR,
    LARGE_TEXT_MIN,
    PORTRAIT_FACTOR,
    RGBA,
    STAFF_TYPE_SCALE,
    STANDARD,
    TYPE_SCALE,
    Palette,
    branded,
)


def panel_density(width: int, height: int) -> float:
    """Kivy's dp/sp density for a panel: the layouts are drawn for 800x480 (landscape) and 720x1280
    (portrait); a larger panel (a 1080x1920 totem) scales everything up instead of showing the same
    small type in a sea of space.  In 0.25 steps, never below 1."""
    base = 480 if width >= height else 720
    return max(1.0, min(3.0, int(min(width, height) / base * 4) / 4))


ROLES = ("background", "surface", "surface_alt", "ink", "ink_muted", "line", "accent", "accent_ink", "ok",
         "ok_ink", "fail", "fail_ink", "warn", "warn_ink", "busy", "busy_ink")


class Theme(EventDispatcher):
    """Observable design tokens.  kv binds to these; ``apply()`` swaps them all at once."""

    name = StringProperty("standard")
    large_text = BooleanProperty(False)
    background = ColorProperty(STANDARD.background)
    surface = ColorProperty(STANDARD.surface)
    surface_alt = ColorProperty(STANDARD.surface_alt)
    ink = ColorProperty(STANDARD.ink)
    ink_muted = ColorProperty(STANDARD.ink_muted)
    line = ColorProperty(STANDARD.line)
    accent = ColorProperty(STANDARD.accent)
    accent_ink = ColorProperty(STANDARD.accent_ink)
    ok = ColorProperty(STANDARD.ok)
    ok_ink = ColorProperty(STANDARD.ok_ink)
    fail = ColorProperty(STANDARD.fail)
    fail_ink = ColorProperty(STANDARD.fail_ink)
    warn = ColorProperty(STANDARD.warn)
    warn_ink = ColorProperty(STANDARD.warn_ink)
    busy = ColorProperty(STANDARD.busy)
    busy_ink = ColorProperty(STANDARD.busy_ink)
    font_s = NumericProperty(16)
    font_m = NumericProperty(20)
    font_l = NumericProperty(26)
    font_xl = NumericProperty(34)
    font_xxl = NumericProperty(44)
    pad = NumericProperty(dp(16))       # outer padding
    gap = NumericProperty(dp(12))       # between siblings
    radius = NumericProperty(dp(14))    # corner radius of buttons and cards
    button_h = NumericProperty(dp(64))  # primary buttons: well above TOUCH_MIN
    # Bumped once at the end of every ``apply()``, when *all* roles hold their new values.  A kv
    # rule that picks a size by name (``app.theme.size(self.size_key, app.theme.revision)``) binds to
    # it: Kivy cannot bind through ``getattr(app.theme, name)``, and a Python handler bound to
    # ``name`` would run before the colours changed (white text on the new yellow).
    revision = NumericProperty(0)
    # Bumped with ``revision`` when the colours changed (a contrast switch), not when only the sizes
    # did: the colour rules bind to it, so a large-text switch leaves them alone (issue 19).
    colour_revision = NumericProperty(0)
    # ``revision`` for the buttons' type (KButton): a patron's switch moves it one frame after the
    # labels' (``apply(spread=True)``), otherwise with ``revision``.
    button_revision = NumericProperty(0)
    portrait = BooleanProperty(False)   # portrait screens get a larger type scale (PORTRAIT_FACTOR)
    staff = BooleanProperty(False)      # a staff page is shown: the compact staff type scale (below)

    def __init__(self, accent_hex: str = "", **kw):
        super().__init__(**kw)
        self.accent_hex = accent_hex
        self.apply("standard", large_text=False)

    @property
    def palette(self) -> Palette:
        return branded(HIGH_CONTRAST if self.name == "high_contrast" else STANDARD, self.accent_hex)

    def apply(self, name: str, large_text: bool | None = None, spread: bool = False) -> None:
        """Switch to ``"standard"`` or ``"high_contrast"`` (and optionally large text).

        ``spread`` (a patron's switch mid-session): ``revision`` -- the sizes picked by name,
        every KLabel's -- moves in the next frame and ``button_revision`` (every KButton's) in the
        one after, so the rules of the sizes bound directly and those of the sizes picked by name
        do not all run in one frame (issue 19).
        The colours always change together."""
        with same_tree():       # ~270 rules follow these properties: each widget's screen looked up once
            self._apply(name, large_text, spread)

    def _apply(self, name: str, large_text: bool | None, spread: bool) -> None:
        self.name = name
        if large_text is not None:
            self.large_text = large_text
        p = self.palette
        recoloured = False
        for role in ROLES:
            value = getattr(p, role)
            if list(getattr(self, role)) != list(value):
                setattr(self, role, value)
                recoloured = True
        factor = (LARGE_TEXT_FACTOR if self.large_text else 1.0) * (PORTRAIT_FACTOR if self.portrait else 1.0)
        scale = TYPE_SCALE
        if self.staff:      # dense tables for librarians at arm's length: large text is a patron setting
            factor, scale = 1.0, STAFF_TYPE_SCALE
        for key, size in scale.items():
            setattr(self, key, sp(size * factor))
        if recoloured:
            self.colour_revision += 1
        if spread:
            from kiosk.ui import pacing

            pacing.after_switch(pacing.LABELS_STAGE, lambda: self._bump("revision"))
            pacing.after_switch(pacing.BUTTONS_STAGE, lambda: self._bump("button_revision"))
        else:
            self.revision += 1
            self.button_revision += 1

    def _bump(self, revision: str) -> None:
        """A switch's later stage: the rules bound to ``revision`` run (same widget tree)."""
        with same_tree():
            setattr(self, revision, getattr(self, revision) + 1)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait panels are read from closer and have the height: a larger type scale."""
        if portrait != self.portrait:
            self.portrait = portrait
            self.apply(self.name)

    def set_staff(self, staff: bool) -> None:
        """Staff pages (kiosk/screens/staff_*, the morning report) use STAFF_TYPE_SCALE."""
        if staff != self.staff:
            self.staff = staff
            self.apply(self.name)

    def role(self, name: str, _revision: float = 0) -> RGBA:
        """The colour of a role by name (``"muted"`` is ``ink_muted``).  kv passes
        ``app.theme.colour_revision`` as the second argument so the rule re-runs after every
        change of colours."""
        return getattr(self, {"muted": "ink_muted"}.get(name, name))

    def size(self, key: str, _revision: float = 0) -> float:
        """A type-scale size by key (``"font_m"``), bound like :meth:`role`."""
        return getattr(self, key)

    def fit_floor(self, key: str, smaller: str, _revision: float = 0) -> float:
        """The least a ``key``-sized text may shrink to fit its box (kiosk/ui/textfit.py): the
        ``smaller`` size, but with large text on never under LARGE_TEXT_MIN x its standard size --
        large text shrunk back to the standard size would not be large text.  kv passes
        ``app.theme.revision`` last, as for :meth:`size`."""
        floor = getattr(self, smaller)
        if self.large_text and not self.staff:
            floor = max(floor, getattr(self, key) / LARGE_TEXT_FACTOR * LARGE_TEXT_MIN)
        return floor

    def status_colours(self, state: str, _revision: float = 0) -> tuple[RGBA, RGBA]:
        """(fill, ink) for an item line state; the icon and the words carry the meaning too."""
        return {
            "done": (self.ok, self.ok_ink), "refused": (self.fail, self.fail_ink),
            "needs_staff": (self.warn, self.warn_ink), "in_progress": (self.busy, self.busy_ink),
        }.get(state, (self.surface_alt, self.ink))
