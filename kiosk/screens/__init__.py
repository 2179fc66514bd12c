"""The patron screens: one ``foo.py`` (a small controller) + ``foo.kv`` (layout) per screen.

Screens render a :class:`~kiosk.circulation.view.SessionView` and forward taps to
``app.intent(...)``; they hold no protocol or circulation logic.  ``SCREENS`` maps each screen
name to its class, in the order the app creates them.
"""

from __future__ import annotations

SCREEN_MODULES = ("home", "identify", "items", "account", "receipt", "goodbye", "out_of_service", "staff",
                  # staff tools and after hours (docs/staff-mode.md)
                  "staff_home", "staff_settings", "staff_diagnostics", "staff_journal", "staff_stats",
                  "returns_only", "morning_report",
                  "staff_station")   # staff station: tag programming and shelf check (kiosk/station/)
