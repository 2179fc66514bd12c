"""Opening hours and the effective mode (pure: kiosk.afterhours.hours, kiosk.afterhours.mode)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from kiosk import config
from kiosk.afterhours.hours import OpeningHours, parse_intervals
from kiosk.afterhours.mode import StaffOverride, effective_mode, override_until_next_change
from kiosk.errors import ConfigError


def section(**kw):
    base = dict(mon="09:00-12:00,14:00-18:00", tue="09:00-18:00", wed="09:00-18:00", thu="09:00-18:00",
                fri="09:00-18:00", sat="10:00-14:00", sun="", holidays=["2026-12-25", "01-01"],
                exceptions={"2026-12-24": "09:00-12:00", "2026-12-27": "10:00-12:00"})
    base.update(kw)
    return SimpleNamespace(**base)


HOURS = OpeningHours.from_section(section())
# 2026-11-30 is a Monday.


@pytest.mark.parametrize("at, is_open", [
    ("2026-11-30T08:59", False), ("2026-11-30T09:00", True), ("2026-11-30T11:59", True),
    ("2026-11-30T12:00", False), ("2026-11-30T13:30", False), ("2026-11-30T14:00", True),
    ("2026-11-30T17:59:59", True), ("2026-11-30T18:00", False), ("2026-12-05T13:00", True),  # Saturday
    ("2026-12-06T12:00", False),                                      # Sunday: closed
    ("2026-12-25T10:00", False),                                      # holiday (a Friday)
    ("2027-01-01T10:00", False),                                      # yearly holiday
    ("2026-12-24T11:00", True), ("2026-12-24T13:00", False),          # exception: short day
    ("2026-12-27T11:00", True),                                       # exception opens a Sunday
])
def test_is_open(at, is_open):
    assert HOURS.is_open(datetime.fromisoformat(at)) is is_open


@pytest.mark.parametrize("at, change", [
    ("2026-11-30T08:00", "2026-11-30T09:00"),
    ("2026-11-30T10:00", "2026-11-30T12:00"),
    ("2026-11-30T12:30", "2026-11-30T14:00"),
    ("2026-12-05T15:00", "2026-12-07T09:00"),      # Saturday afternoon -> Monday (Sunday closed)
    ("2026-12-23T19:00", "2026-12-24T09:00"),
    ("2026-12-24T12:00", "2026-12-27T10:00"),      # short Christmas Eve -> Sunday exception (25, 26 closed)
])
def test_next_change(at, change):
    hours = HOURS
    if at.startswith("2026-12-24"):
        # 2026-12-26 is a Saturday (open 10-14): make it a holiday too for this case
        hours = OpeningHours.from_section(section(holidays=["2026-12-25", "2026-12-26"]))
    assert hours.next_change(datetime.fromisoformat(at)) == datetime.fromisoformat(change)


def test_spans_ending_at_midnight_are_continuous():
    hours = OpeningHours.from_section(section(fri="20:00-24:00", sat="00:00-02:00"))
    assert hours.is_open(datetime(2026, 12, 4, 23, 59))
    assert hours.is_open(datetime(2026, 12, 5, 0, 30))
    assert hours.next_change(datetime(2026, 12, 4, 21, 0)) == datetime(2026, 12, 5, 2, 0)


def test_always_closed_has_no_next_change():
    closed = OpeningHours.from_section(section(mon="", tue="", wed="", thu="", fri="", sat="", exceptions={}))
    assert not closed.is_open(datetime(2026, 11, 30, 10))
    assert closed.next_change(datetime(2026, 11, 30, 10)) is None


@pytest.mark.parametrize("text, needle", [
    ("9-17", "expected HH:MM-HH:MM"), ("18:00-09:00", "ends before it starts"),
    ("09:00-12:00,11:00-13:00", "overlapping"), ("25:00-26:00", "not a time of day"),
    ("09:00-24:30", "not a time of day"),
])
def test_bad_spans_are_named(text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_intervals(text, "kiosk.toml: [hours] mon")


def test_config_reports_every_bad_hours_key(tmp_path):
    p = tmp_path / "kiosk.toml"
    p.write_text('[hours]\nmon = "9 to 5"\nholidays = ["2026-13-01", "02-30"]\n'
                 'exceptions = { "2026-12-24" = "12:00-09:00" }\n[bookdrop]\njam_s = 0\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    text = str(err.value)
    for needle in ("[hours] mon", "[hours] holidays", "'02-30'", "exceptions.2026-12-24", "[bookdrop] jam_s"):
        assert needle in text
    assert str(p) in text


def test_config_accepts_good_hours(tmp_path):
    p = tmp_path / "kiosk.toml"
    p.write_text('[kiosk]\nmode = "auto"\n[hours]\nsun = "12:00-16:00"\nholidays = ["12-25"]\n'
                 'exceptions = { "2026-12-24" = "" }\n')
    s = config.load(p)
    hours = OpeningHours.from_section(s.hours)
    assert hours.is_open(datetime(2026, 12, 6, 13)) and not hours.is_open(datetime(2026, 12, 24, 10))
    assert hours.intervals_on(date(2026, 12, 24)) == ()


# -- mode ------------------------------------------------------------------------------------------

def test_fixed_modes_ignore_hours():
    assert effective_mode("staffed", HOURS, datetime(2026, 11, 30, 23)).mode == "staffed"
    d = effective_mode("returns", HOURS, datetime(2026, 11, 30, 10))
    assert (d.mode, d.reason, d.until) == ("returns", "config", None)


def test_auto_follows_hours_and_holidays():
    d = effective_mode("auto", HOURS, datetime(2026, 11, 30, 10))
    assert (d.mode, d.reason, d.until) == ("staffed", "hours", datetime(2026, 11, 30, 12))
    d = effective_mode("auto", HOURS, datetime(2026, 11, 30, 19))
    assert (d.mode, d.reason, d.until) == ("returns", "hours", datetime(2026, 12, 1, 9))
    assert effective_mode("auto", HOURS, datetime(2026, 12, 25, 10)).reason == "holiday"


def test_staff_override_until_next_change_then_schedule_again():
    at = datetime(2026, 11, 30, 16, 30)       # open; staff close early
    ov = override_until_next_change("auto", HOURS, at, "returns")
    assert ov.until == datetime(2026, 11, 30, 18)
    assert effective_mode("auto", HOURS, at, ov).mode == "returns"
    assert effective_mode("auto", HOURS, datetime(2026, 11, 30, 17, 59), ov).reason == "staff"
    # at 18:00 the schedule says returns anyway; next morning it is staffed again
    assert effective_mode("auto", HOURS, datetime(2026, 12, 1, 9, 30), ov).mode == "staffed"


def test_override_without_end_lasts_until_lifted():
    ov = StaffOverride("returns")
    assert effective_mode("staffed", HOURS, datetime(2030, 1, 1), ov).mode == "returns"
    assert override_until_next_change("staffed", HOURS, datetime(2026, 11, 30, 10), "returns").until is None
    with pytest.raises(ValueError):
        StaffOverride("closed")
