"""Staff settings editing: validated, atomic, round-trips through the loader; and statistics."""

from __future__ import annotations

import os
import stat
import threading
from datetime import date, datetime

import pytest

from kiosk import config
from kiosk.appliance.monitoring import metrics
from kiosk.cli import main
from kiosk.errors import ConfigError
from kiosk.staff import settings_edit, stats
from kiosk.staff.auth import LockoutStore, StaffAuthenticator, verify_secret
from kiosk.staff.stats import Stats


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nmode = "staffed"\n\n[ils]\nport = 6001\nhost = "sip.example.org"\n')
    os.chmod(path, 0o600)
    return path


def test_round_trip(cfg):
    new = settings_edit.apply_changes(cfg, {"kiosk.session_timeout_s": "90", "ils.port": 7000,
                                            "kiosk.language": "de", "alerts.email_to": ["a@example.org"],
                                            "alerts.smtp_host": "smtp.example.org"})
    assert (new.kiosk.session_timeout_s, new.ils.port, new.kiosk.language) == (90, 7000, "de")
    loaded = config.load(cfg)
    assert config.to_toml_dict(loaded) == config.to_toml_dict(new)
    assert loaded.ils.host == "sip.example.org" and loaded.alerts.email_to == ["a@example.org"]
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600  # the file keeps its private mode
    assert not list(cfg.parent.glob(".*.tmp"))


@pytest.mark.parametrize("changes, needle", [
    ({"ils.port": "six"}, "[ils] port: expected a whole number, got 'six'"),
    ({"kiosk.mode": "party"}, "[kiosk] mode: expected one of staffed, returns, auto"),
    ({"kiosk.timeout_warning_s": 100}, "timeout_warning_s: expected less than session_timeout_s"),
    ({"ils.prot": 1}, "[ils] unknown key 'prot'; did you mean 'port'?"),
    ({"nodot": 1}, "expected section.key"),
    ({"staff.pin_hash": "4711"}, "[staff] pin_hash"),
    ({"monitoring.listen": "localhost"}, "[monitoring] listen: expected HOST:PORT"),
])
def test_invalid_change_is_refused_and_file_untouched(cfg, changes, needle):
    before = cfg.read_bytes()
    with pytest.raises(ConfigError) as err:
        settings_edit.apply_changes(cfg, changes)
    assert needle in str(err.value)
    assert cfg.read_bytes() == before


def test_set_pin_and_card_then_login(cfg, tmp_path):
    settings_edit.set_staff_pin(cfg, "135790")
    s = settings_edit.add_staff_card(cfg, "04a1b2c3")
    s = settings_edit.add_staff_card(cfg, "99887766")
    assert "135790" not in cfg.read_text() and "04A1B2C3" not in cfg.read_text()
    assert len(s.staff.card_hashes) == 2 and verify_secret("135790", s.staff.pin_hash)
    auth = StaffAuthenticator(config.load(cfg).staff, LockoutStore(tmp_path / "l.db"))
    assert auth.authenticate(pin="135790").ok and auth.authenticate(card="04A1B2C3").ok
    with pytest.raises(ConfigError, match="4 to 12 digits"):
        settings_edit.set_staff_pin(cfg, "12")


def test_describe_masks_secrets(cfg):
    settings_edit.apply_changes(cfg, {"ils.password": "s3cret", "kiosk.session_timeout_s": 90})
    info = {(i.section, i.key): i for i in settings_edit.describe(config.load(cfg))}
    assert info[("ils", "password")].value == "••••••" and info[("ils", "password")].secret
    assert info[("kiosk", "session_timeout_s")].value == 90 and info[("kiosk", "session_timeout_s")].type == "int"
    assert info[("kiosk", "mode")].choices == ("staffed", "returns", "auto")
    assert all("s3cret" not in repr(i) for i in info.values())


def test_concurrent_edits_lose_nothing(cfg):
    """Two staff screens (or a screen and the CLI) saving at once: every change lands, no torn file."""
    changes = {"kiosk.width": 1024, "kiosk.height": 600, "ils.retries": 3, "ils.keepalive_s": 60,
               "alerts.max_per_hour": 5, "staff.lockout_s": 120, "kiosk.session_timeout_s": 75,
               "ils.timeout_s": 4.5}
    threads = [threading.Thread(target=settings_edit.apply_changes, args=(cfg, {k: v}))
               for k, v in changes.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = config.to_toml_dict(config.load(cfg))
    assert {k: data[k.split(".")[0]][k.split(".")[1]] for k in changes} == changes
    assert data["ils"]["host"] == "sip.example.org"


def test_cli_set(cfg, capsys):
    assert main(["staff", "set", "--config", str(cfg), "kiosk.session_timeout_s=120"]) == 0
    assert config.load(cfg).kiosk.session_timeout_s == 120
    assert main(["staff", "set", "--config", str(cfg), "ils.port=x"]) == 1
    assert "port: expected a whole number" in capsys.readouterr().err
    assert main(["staff", "set", "--config", str(cfg), "staff.pin_hash=1234"]) == 1


# -- statistics ------------------------------------------------------------------------------------

def test_stats_per_day_and_hour(tmp_path):
    st = Stats(tmp_path / "stats.sqlite3")
    d1, d2 = date(2026, 3, 2), date(2026, 3, 3)
    for h, kind, ok in [(10, "checkout", True), (10, "checkout", True), (10, "return", True),
                        (11, "renew", True), (11, "checkout", False), (15, "checkin", True)]:
        st.record_event(kind, ok, datetime(2026, 3, 2, h, 5), reason_key=None if ok else "on_hold_for_other")
    st.record_event("checkin", True, datetime(2026, 3, 3, 22, 0), offline=True)
    days = st.per_day(d1, date(2026, 3, 4))
    assert [d.day for d in days] == [d1, d2, date(2026, 3, 4)]
    c = days[0].counts
    assert (c.checkouts, c.returns, c.renewals, c.refusals, c.total) == (2, 2, 1, 1, 5)
    assert (days[1].counts.returns, days[1].counts.offline) == (1, 1) and days[2].counts.total == 0
    hours = st.per_hour(d1)
    assert len(hours) == 24 and hours[10].counts.checkouts == 2 and hours[11].counts.refusals == 1
    assert st.per_hour(d1, d2)[22].counts.returns == 1
    assert st.totals(d1, d2).returns == 3
    assert st.refusal_reasons(d1, d2) == {"on_hold_for_other": 1}
    with pytest.raises(ValueError, match="unknown event kind"):
        st.record_event("purchase", True)


def test_stats_survive_reopen_and_feed_metrics(tmp_path):
    before_ok = metrics.get("transactions_total", 0, kind="checkout")
    before_no = metrics.get("refusals_total", 0, kind="checkin", reason="not_ours")
    stats.install(Stats(tmp_path / "s.db"))
    try:
        stats.record_event("checkout", True)
        stats.record_event("return", False, reason_key="not_ours")
    finally:
        stats.install(None)
    today = date.today()
    assert Stats(tmp_path / "s.db").totals(today, today).checkouts == 1
    assert metrics.get("transactions_total", kind="checkout") == before_ok + 1
    assert metrics.get("refusals_total", kind="checkin", reason="not_ours") == before_no + 1


def test_cli_stats(tmp_path, capsys):
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path}"\n')
    Stats(tmp_path / "stats.sqlite3").record_event("checkout", True)
    assert main(["staff", "stats", "--config", str(cfg), "--days", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{date.today()}          1" in out
    assert main(["staff", "stats", "--config", str(cfg), "--hours"]) == 0
    assert f"{datetime.now().hour:02d}:00         1" in capsys.readouterr().out


def test_a_pin_set_from_staff_mode_leaves_a_file_the_kiosk_still_starts_with(cfg):
    """A config readable by others is fine until it holds a secret; the staff PIN's hash makes it
    one, and the loader refuses to start on a secret readable by others.  Setting the PIN makes
    the file private instead of leaving a kiosk that no longer starts."""
    os.chmod(cfg, 0o644)
    config.check_secrets(config.load(cfg))                   # nothing secret in it yet: fine
    settings_edit.apply_changes(cfg, {"kiosk.session_timeout_s": 90})
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o644         # a plain change keeps the mode
    settings_edit.set_staff_pin(cfg, "135790")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    config.check_secrets(config.load(cfg))                    # starts: no ConfigError
