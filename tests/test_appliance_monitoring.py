"""Fleet monitoring: the /metrics endpoint scraped over HTTP, /health, the registry, and secrets checks."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request

import pytest

from kiosk import config
from kiosk.appliance.endpoint import MonitoringServer
from kiosk.appliance.monitoring import STARTED, Metrics, health, parse_listen, start_monitoring
from kiosk.cli import main
from kiosk.config import check_secrets
from kiosk.errors import ConfigError


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def parse_exposition(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value}; checks every sample has HELP/TYPE before it."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            assert key.split("{")[0] in typed, f"sample before its TYPE: {line}"
            samples[key] = float(value)
    return samples


def test_metrics_endpoint_is_scraped():
    reg = Metrics()
    reg.inc("transactions_total", kind="checkout")
    reg.inc("transactions_total", kind="checkout")
    reg.inc("transactions_total", kind="checkin")
    reg.inc("refusals_total", kind="checkout", reason="on_hold_for_other")
    reg.set("journal_queue_length", 3)
    reg.set("library_system_up", 0)
    reg.set("printer_paper_out", 1)
    reg.set("last_sync_timestamp_seconds", 1_800_000_000.5)
    with MonitoringServer("127.0.0.1", 0, reg) as srv:
        status, ctype, body = get(f"http://127.0.0.1:{srv.port}/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    s = parse_exposition(body)
    assert s['kiosk_transactions_total{kind="checkout"}'] == 2
    assert s['kiosk_transactions_total{kind="checkin"}'] == 1
    assert s['kiosk_refusals_total{kind="checkout",reason="on_hold_for_other"}'] == 1
    assert s["kiosk_journal_queue_length"] == 3 and s["kiosk_library_system_up"] == 0
    assert s["kiosk_printer_paper_out"] == 1 and s["kiosk_last_sync_timestamp_seconds"] == 1_800_000_000.5
    assert "# TYPE kiosk_transactions_total counter" in body and "# TYPE kiosk_journal_queue_length gauge" in body
    assert any(k.startswith("kiosk_build_info{version=") for k in s)


def test_health_endpoint_codes():
    reg = Metrics()
    with MonitoringServer("127.0.0.1", 0, reg) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        status, ctype, body = get(url + "/health")
        assert status == 200 and ctype.startswith("application/json")
        assert json.loads(body)["status"] == "ok"  # nothing known yet is not a failure
        reg.set("library_system_up", 0)
        status, _, body = get(url + "/health")
        report = json.loads(body)
        assert status == 503 and report["status"] == "degraded"
        assert report["checks"]["library_system"] == {"ok": False, "state": "down"}
        assert get(url + "/nope")[0] == 404


def test_health_rules():
    reg = Metrics()
    now = 1_800_000_000.0
    reg.set("library_system_up", 1)
    reg.set("printer_paper_out", 0)
    reg.set("printer_paper_low", 1)
    reg.set("journal_queue_length", 2)
    reg.set("last_sync_timestamp_seconds", now - 60)
    reg.set("ui_heartbeat_timestamp_seconds", now - 5)
    h = health(reg, now)
    assert h["status"] == "ok" and h["checks"]["printer"]["state"] == "paper_low"
    reg.set("last_sync_timestamp_seconds", now - 3600)  # items waiting and no sync for an hour
    assert health(reg, now)["checks"]["journal_queue"]["ok"] is False
    reg.set("ui_heartbeat_timestamp_seconds", now - 600)  # the UI loop stopped turning
    assert health(reg, now)["status"] == "failing"
    fresh = Metrics()  # items journaled, no sync since the kiosk started
    fresh.set("journal_queue_length", 1)
    assert health(fresh, STARTED + 60)["status"] == "ok"
    assert health(fresh, STARTED + 3600)["checks"]["journal_queue"]["ok"] is False


def test_registry_is_thread_safe_and_escapes():
    reg = Metrics()

    def work():
        for _ in range(2000):
            reg.inc("transactions_total", kind="renewal")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reg.get("transactions_total", kind="renewal") == 16000
    reg.inc("refusals_total", kind='x"y\\z\n', reason="not_ours")
    assert 'kiosk_refusals_total{kind="other",reason="not_ours"} 1.0' in reg.exposition()
    with pytest.raises(ValueError):
        reg.inc("transactions_total", -1)
    reg.set("made_up_gauge", 2)  # undeclared: exposed, not fatal
    assert "kiosk_made_up_gauge 2.0" in reg.exposition()


def test_listen_setting(tmp_path):
    assert parse_listen("127.0.0.1:9101") == ("127.0.0.1", 9101)
    assert parse_listen("[::1]:9101") == ("::1", 9101)
    assert parse_listen(":9101") == ("0.0.0.0", 9101)
    cfg = tmp_path / "k.toml"
    cfg.write_text('[monitoring]\nlisten = "127.0.0.1"\n')
    with pytest.raises(ConfigError, match=r"\[monitoring\] listen: expected HOST:PORT"):
        config.load(cfg)
    assert start_monitoring(config.load(None)) is None  # off by default
    cfg.write_text('[monitoring]\nlisten = "127.0.0.1:0"\n')
    srv = start_monitoring(config.load(cfg))
    try:
        assert get(f"http://127.0.0.1:{srv.port}/metrics")[0] == 200
    finally:
        srv.stop()


# -- secrets ----------------------------------------------------------------------------------------

def test_config_with_a_password_must_be_private(tmp_path, capsys):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[ils]\nuser = "kiosk"\npassword = "s3cret"\n')
    os.chmod(cfg, 0o644)
    settings = config.load(cfg)
    with pytest.raises(ConfigError, match=rf"holds \[ils\] password.*mode 0644.*chmod 600 {cfg}"):
        check_secrets(settings)
    assert len(check_secrets(settings, allow_insecure=True)) == 1  # the demo only warns
    assert main(["staff", "check-secrets", "--config", str(cfg)]) == 1
    assert "chmod 600" in capsys.readouterr().err
    os.chmod(cfg, 0o600)
    assert check_secrets(settings) == []


def test_password_files_must_be_private(tmp_path):
    pw = tmp_path / "smtp-password"
    pw.write_text("x\n")
    os.chmod(pw, 0o640)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[alerts]\nsmtp_password_file = "{pw}"\n[ils]\npassword_file = "{pw}"\n')
    os.chmod(cfg, 0o644)  # no secret inline: the file itself may be readable
    with pytest.raises(ConfigError) as err:
        check_secrets(config.load(cfg))
    assert "[alerts] smtp_password_file" in str(err.value) and "[ils] password_file" in str(err.value)
    os.chmod(pw, 0o600)
    assert check_secrets(config.load(cfg)) == []


def test_staff_hashes_count_as_secrets(tmp_path):
    from kiosk.staff.auth import hash_secret

    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[staff]\npin_hash = "{hash_secret("4711", n=2**8)}"\n')
    os.chmod(cfg, 0o604)
    with pytest.raises(ConfigError, match=r"\[staff\] pin_hash"):
        check_secrets(config.load(cfg))


# -- the one call the app makes ----------------------------------------------------------------------

def test_gauge_sampler_reads_sources_and_survives_a_broken_one(caplog):
    from kiosk.appliance.monitoring import GaugeSampler

    reg = Metrics()
    state = {"queue": 2}

    def broken():
        raise OSError("printer unplugged")

    sampler = GaugeSampler({"journal_queue_length": lambda: state["queue"], "printer_paper_out": broken,
                            "library_system_up": lambda: True}, reg)
    sampler.sample()
    state["queue"] = 0
    sampler.sample()
    assert reg.get("journal_queue_length") == 0 and reg.get("library_system_up") == 1
    assert reg.get("printer_paper_out") is None
    assert sum("printer unplugged" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_start_appliance_services(tmp_path):
    from kiosk.appliance.monitoring import start_appliance_services
    from kiosk.staff import stats

    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[monitoring]\nlisten = "127.0.0.1:0"\n'
                   '[ils]\npassword = "demo"\n')
    cfg.chmod(0o644)
    settings = config.load(cfg)
    with pytest.raises(ConfigError, match="chmod 600"):
        start_appliance_services(settings)
    reg = Metrics()
    services = start_appliance_services(settings, demo=True, registry=reg,
                                        gauges={"journal_queue_length": lambda: 5})
    try:
        assert len(services.warnings) == 1 and services.alerts is None  # no [alerts] configured
        stats.record_event("checkout", True)
        s = parse_exposition(get(f"http://127.0.0.1:{services.server.port}/metrics")[2])
        assert s["kiosk_journal_queue_length"] == 5
        assert (tmp_path / "data" / "stats.sqlite3").exists()
    finally:
        services.stop()
