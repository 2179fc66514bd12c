"""deploy/prometheus: the fleet's scrape config, alert rules (promtool check + unit tests), the
Alertmanager routing example and the Grafana dashboard only use metrics the kiosk exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml  # PyYAML, a dependency of python-escpos

from kiosk.appliance.monitoring import KNOWN_METRICS

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("promtool")
    assert exe, "promtool missing: scripts/sysdeps.sh installs the Debian package prometheus"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, cwd=PROM)


def exported() -> set[str]:
    names = {"up"}
    for name in KNOWN_METRICS:
        names.add("kiosk_" + name)
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers followed by { or [ or standing alone)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", without_strings))
    return {w for w in words if w.startswith(("kiosk_", "process_")) or w == "up"}


def test_rules_pass_promtool_check_and_unit_tests():
    check = promtool("check", "rules", "rules/kiosk.rules.yml")
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    tests = promtool("test", "rules", "tests/kiosk.rules.test.yml")
    assert tests.returncode == 0 and "SUCCESS" in tests.stdout, tests.stdout + tests.stderr
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_rules_cover_the_issue_and_use_only_exported_metrics():
    groups = yaml.safe_load((PROM / "rules" / "kiosk.rules.yml").read_text())["groups"]
    rules = {r["alert"]: r for g in groups for r in g["rules"]}
    for alert in ("KioskDown", "KioskOutOfService", "KioskJournalBacklogOld", "KioskStaffQueueOld",
                  "KioskLibrarySystemUnreachable", "KioskDeviceFault", "KioskPrinterPaperOut",
                  "KioskClockNotSynchronised", "KioskJournalDamaged"):
        assert alert in rules, f"no alert rule {alert}"
    tested = yaml.safe_load((PROM / "tests" / "kiosk.rules.test.yml").read_text())
    fired = {t["alertname"] for case in tested["tests"] for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert fired == set(rules), f"alerts without a firing unit test: {set(rules) - fired}"
    for alert, rule in rules.items():
        unknown = metric_names(rule["expr"]) - exported()
        assert not unknown, f"{alert} reads metrics the kiosk does not export: {unknown}"


def test_file_sd_targets_carry_branch_and_kiosk_labels():
    files = sorted((PROM / "targets").glob("*.yml"))
    assert files
    for f in files:
        for group in yaml.safe_load(f.read_text()):
            assert group["targets"] and {"branch", "kiosk"} <= set(group["labels"]), f


def amtool(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("amtool")
    assert exe, "amtool missing: scripts/sysdeps.sh installs the Debian package prometheus-alertmanager"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, cwd=PROM)


def test_alertmanager_routes_pages_and_branch_tickets():
    check = amtool("check-config", "alertmanager.yml")
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    for labels, receiver in ((["severity=page", "branch=north"], "it-oncall"),
                             (["severity=ticket", "branch=north"], "branch-north"),
                             (["severity=ticket", "branch=central"], "branch-central"),
                             (["severity=ticket", "branch=elsewhere"], "it-helpdesk")):
        routed = amtool("config", "routes", "test", "--config.file=alertmanager.yml", *labels)
        assert routed.stdout.split() == [receiver], (labels, routed.stdout, routed.stderr)
    am = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    receivers = {r["name"] for r in am["receivers"]}
    routes = am["route"]["routes"]
    assert am["route"]["receiver"] in receivers and all(r["receiver"] in receivers for r in routes)
    assert any('severity="page"' in r["matchers"] for r in routes)
    assert "branch" in am["route"]["group_by"]


def test_grafana_dashboard_uses_only_exported_metrics():
    dash = json.loads((PROM / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    used = set().union(*(metric_names(e) for e in exprs))
    assert {"kiosk_transactions_total", "kiosk_journal_queue_length", "kiosk_device_fault",
            "kiosk_library_system_up"} <= used
    assert not {u for u in used if not u.startswith("process_")} - exported()


def test_grafana_queries_are_valid_promql(tmp_path):
    """Each panel query, with Grafana's variables filled in, parses as PromQL (promtool checks it
    as a recording rule)."""
    dash = json.loads((PROM / "grafana-dashboard.json").read_text())
    fill = {"$__rate_interval": "5m", "$__interval": "1m", "$branch": ".*"}
    rules = []
    for i, expr in enumerate(t["expr"] for p in dash["panels"] for t in p["targets"]):
        for var, value in fill.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    f = tmp_path / "dashboard.rules.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = promtool("check", "rules", str(f))
    assert check.returncode == 0, check.stdout + check.stderr

