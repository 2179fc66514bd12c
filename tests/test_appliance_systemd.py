"""The systemd units pass `systemd-analyze verify` without a warning, stay hardened, and the installer's
plan sets the modes the kiosk insists on."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer", ".socket", ".path"))


def analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze not found: scripts/sysdeps.sh installs the systemd package")
    return exe


def unit_copy(unit: Path, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (the venv is /opt/kiosk on a Pi)."""
    text = re.sub(r"^(Exec\w+=)(\S+)", r"\1/bin/true", unit.read_text(), flags=re.M)
    out = tmp_path / unit.name
    out.write_text(text)
    return out


def test_there_is_a_kiosk_unit():
    assert SYSTEMD / "kiosk.service" in UNITS


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_verify_without_warnings(unit, tmp_path):
    copy = unit_copy(unit, tmp_path)
    proc = subprocess.run([analyze(), "verify", "--man=no", str(copy)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    ours = [line for line in (proc.stdout + proc.stderr).splitlines()
            if copy.name in line or str(tmp_path) in line]
    assert proc.returncode == 0 and not ours, "\n".join(ours) or proc.stderr


def test_verify_would_catch_a_typo(tmp_path):
    """The check above can fail: an unknown key is reported."""
    (tmp_path / "src").mkdir()
    bad = tmp_path / "src" / "kiosk.service"
    bad.write_text((SYSTEMD / "kiosk.service").read_text().replace("WatchdogSec=", "WatchdogSecs="))
    copy = unit_copy(bad, tmp_path)
    proc = subprocess.run([analyze(), "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'WatchdogSecs'" in proc.stderr


def test_kiosk_unit_shape():
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(re.sub(r"^(\w+)=", r"\1 = ", (SYSTEMD / "kiosk.service").read_text(), flags=re.M))
    s = cp["Service"]
    assert s["Type"] == "notify" and s["Restart"] == "always" and int(s["WatchdogSec"]) > 0
    assert set(s["SupplementaryGroups"].split()) >= {"gpio", "spi", "dialout", "video", "render", "input"}
    assert s["ProtectSystem"] == "strict" and s["NoNewPrivileges"] == "yes"
    assert "PrivateDevices" not in s  # would hide the GPIO, SPI, serial, DRM and input devices
    text = (SYSTEMD / "kiosk.service").read_text()
    for dev in ("char-gpiochip", "char-spi", "char-ttyACM", "char-input", "char-drm"):
        assert f"DeviceAllow={dev} rw" in text


def test_kiosk_unit_exposure_stays_low(tmp_path):
    copy = unit_copy(SYSTEMD / "kiosk.service", tmp_path)
    proc = subprocess.run([analyze(), "security", "--offline=yes", "--no-pager", str(copy)],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", proc.stdout)
    assert m, proc.stdout[-500:] + proc.stderr
    assert float(m.group(1)) <= 3.0, f"hardening regressed: exposure {m.group(1)}"


def install_plan(*args: str, systemd_running: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, KIOSK_SYSTEMD_RUNNING="1" if systemd_running else "0")
    return subprocess.run(["sh", str(SYSTEMD / "install.sh"), "--dry-run", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_installer_plan(tmp_path):
    proc = install_plan("--no-apt")
    assert proc.returncode == 0, proc.stderr
    plan = proc.stdout
    for step in ("usermod --append --groups gpio,spi,dialout,video,render,input kiosk",
                 "-m venv /opt/kiosk/venv", "install -d -m 0700 -o kiosk -g kiosk /etc/kiosk /var/lib/kiosk",
                 "find /etc/kiosk -type f -exec chmod 0600 {} +",
                 "install -m 0644 " + str(SYSTEMD / "kiosk.service") + " /etc/systemd/system/kiosk.service",
                 "systemctl enable kiosk.service",
                 # the kv files' parse kept where the kiosk user cannot write it (kiosk/ui/kvcache.py)
                 "/opt/kiosk/venv/bin/python -m kiosk.ui.kvcache"):
        assert step in plan, f"missing from the install plan: {step}"
    assert "apt-get" not in plan
    assert subprocess.run(["sh", "-n", str(SYSTEMD / "install.sh")]).returncode == 0
    bad = subprocess.run(["sh", str(SYSTEMD / "install.sh"), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option" in bad.stderr


def test_installer_puts_kiosk_on_the_path_and_its_help_is_only_the_help():
    """docs/deployment.md types `kiosk staff hash-pin` and `sudo -u kiosk kiosk staff unlock` on the
    Pi: without a link the venv's command is not found.  --help printed shell code after the text."""
    assert "+ ln -sf /opt/kiosk/venv/bin/kiosk /usr/local/bin/kiosk" in install_plan("--no-apt").stdout
    help_text = subprocess.run(["sh", str(SYSTEMD / "install.sh"), "--help"], capture_output=True,
                               text=True, timeout=30)
    lines = help_text.stdout.splitlines()
    assert help_text.returncode == 0 and len(lines) > 10
    assert all(line.startswith("#") for line in lines), [x for x in lines if not x.startswith("#")]


def test_installer_without_a_running_systemd_enables_offline_and_starts_nothing():
    """Image building and chroots have no systemd: daemon-reload used to fail the whole install."""
    plan = install_plan("--no-apt", "--start", systemd_running=False)
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert "daemon-reload" not in out and "systemctl restart" not in out
    assert "+ systemctl --no-reload enable kiosk.service" in out
    assert "systemd is not running here" in out and "--start ignored" in out
    live = install_plan("--no-apt", "--start").stdout
    assert "+ systemctl daemon-reload" in live and "+ systemctl restart kiosk.service" in live


def test_installer_builds_drivers_and_installs_offline_from_a_wheelhouse(tmp_path):
    plan = install_plan("--wheelhouse", str(tmp_path)).stdout
    apt = next(line for line in plan.splitlines() if "apt-get install" in line)
    for pkg in ("gcc", "libc6-dev", "python3-dev"):   # evdev and spidev have no aarch64 wheels
        assert f" {pkg} " in apt + " ", apt
    pip = [line for line in plan.splitlines() if " -m pip install" in line]
    assert pip and all(f"--no-index --find-links {tmp_path}" in line for line in pip), pip
    assert not any("--upgrade pip" in line for line in pip)   # no index: no pip upgrade either
    missing = install_plan("--wheelhouse")
    assert missing.returncode == 2 and "needs a directory" in missing.stderr


def test_installer_read_only_root_needs_a_data_partition(tmp_path, monkeypatch):
    fstab = tmp_path / "fstab"
    fstab.write_text("/dev/mmcblk0p2 / ext4 defaults 0 1\n")
    monkeypatch.setenv("KIOSK_FSTAB", str(fstab))
    plan = install_plan("--no-apt", "--read-only-root")
    # No /var/lib/kiosk partition: the installer refuses before changing anything, and says what to do.
    assert plan.returncode == 1 and "LABEL=kiosk-data /var/lib/kiosk ext4" in plan.stdout
    assert "+ " not in plan.stdout
    fstab.write_text("/dev/mmcblk0p2 / ext4 defaults 0 1\nLABEL=kiosk-data /var/lib/kiosk ext4 defaults 0 2\n")
    plan = install_plan("--read-only-root")
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert "+ raspi-config nonint do_overlayfs 0" in out or (
        "apt-get install -y -qq --no-install-recommends overlayroot" in out
        and 'overlayroot="tmpfs:recurse=0"' in out)
