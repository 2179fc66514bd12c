"""`kiosk doctor`'s appliance rows: SD-card state (read-only root, free space, file-system errors)
and the display (KMS connector, GPU device, GL), on fake /proc and /sys trees."""

from __future__ import annotations

from kiosk import config
from kiosk.appliance.system import check_display, check_storage, mount_of, read_mounts


def settings_for(data, *, simulate=False, rotation=0):
    return config.load(None, [f"storage.data_dir={data}", f"hardware.simulate={str(simulate).lower()}",
                              f"display.rotation={rotation}"])


def mounts_file(tmp_path, *lines):
    f = tmp_path / "mounts"
    f.write_text("\n".join(lines) + "\n")
    return str(f)


def test_storage_reports_a_read_only_overlay_root_and_a_healthy_data_partition(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    mounts = mounts_file(tmp_path, "overlayroot / overlay ro,relatime 0 0",
                         f"/dev/mmcblk0p3 {tmp_path} ext4 rw,noatime 0 0")
    row = check_storage(settings_for(data), proc_mounts=mounts, sys_fs=str(tmp_path / "none"))
    assert row.ok, row.detail
    assert "root read-only (overlay)" in row.detail and "MB free" in row.detail


def test_storage_fails_on_a_read_only_or_damaged_data_file_system(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    ro = mounts_file(tmp_path, "/dev/mmcblk0p2 / ext4 rw 0 0", f"/dev/mmcblk0p3 {tmp_path} ext4 ro 0 0")
    row = check_storage(settings_for(data), proc_mounts=ro)
    assert not row.ok and "read-only file system" in row.detail and row.hint
    sys_fs = tmp_path / "sysfs"
    (sys_fs / "mmcblk0p3").mkdir(parents=True)
    (sys_fs / "mmcblk0p3" / "errors_count").write_text("3\n")
    rw = mounts_file(tmp_path, "/dev/mmcblk0p2 / ext4 rw 0 0", f"/dev/mmcblk0p3 {tmp_path} ext4 rw 0 0")
    row = check_storage(settings_for(data), proc_mounts=rw, sys_fs=str(sys_fs))
    assert not row.ok and "3 file-system errors" in row.detail
    (sys_fs / "mmcblk0p3" / "errors_count").write_text("0\n")
    assert check_storage(settings_for(data), proc_mounts=rw, sys_fs=str(sys_fs)).ok


def test_storage_refuses_a_journal_in_ram_on_a_real_kiosk(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    tmpfs = mounts_file(tmp_path, "/dev/mmcblk0p2 / ext4 rw 0 0", f"tmpfs {tmp_path} tmpfs rw 0 0")
    row = check_storage(settings_for(data), proc_mounts=tmpfs)
    assert not row.ok and "power cut" in row.detail
    assert check_storage(settings_for(data, simulate=True), proc_mounts=tmpfs).ok   # a laptop demo


def test_mount_lookup_takes_the_longest_prefix():
    mounts = read_mounts("/proc/mounts")
    assert mount_of(__import__("pathlib").Path("/"), mounts).point == "/"


def test_display_check_finds_the_connected_panel_and_gl(tmp_path):
    drm = tmp_path / "drm"
    (drm / "card1-DSI-1").mkdir(parents=True)
    (drm / "card1-DSI-1" / "status").write_text("connected\n")
    (drm / "card1-DSI-1" / "modes").write_text("800x480\n")
    (drm / "card1-HDMI-A-1").mkdir()
    (drm / "card1-HDMI-A-1" / "status").write_text("disconnected\n")
    dri = tmp_path / "dri"
    dri.mkdir()
    (dri / "card1").write_text("")
    row = check_display(settings_for(tmp_path, rotation=90), sys_drm=str(drm), dev_dri=str(dri))
    assert row.ok, row.detail
    assert "DSI-1 800x480" in row.detail and "rotation 90" in row.detail
    (drm / "card1-DSI-1" / "status").write_text("disconnected\n")
    row = check_display(settings_for(tmp_path), sys_drm=str(drm), dev_dri=str(dri))
    assert not row.ok and "no connected display" in row.detail and row.hint
    assert check_display(settings_for(tmp_path, simulate=True), sys_drm=str(drm), dev_dri=str(dri)).ok


def test_display_rotation_is_validated(tmp_path):
    import pytest

    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[display\] rotation: expected 0, 90, 180 or 270"):
        settings_for(tmp_path, rotation=45)


def test_rotation_reaches_kivy_before_the_window_opens(tmp_path):
    """[display] rotation becomes Kivy's [graphics] rotation, which also maps touches
    (MotionEvent.scale_for_screen): a portrait-mounted touchscreen taps where it shows."""
    import subprocess
    import sys

    code = ("from pathlib import Path\nfrom kiosk.ui import kivyenv\n"
            f"kivyenv.prepare(Path({str(tmp_path)!r}), headless=True, touchscreen=True, rotation=270)\n"
            "from kivy.config import Config\nprint(Config.get('graphics', 'rotation'))\n"
            "from kivy.input.motionevent import MotionEvent\n"
            "class E(MotionEvent):\n    pass\n"
            "e = E('t', 1, [0.25, 0.0])\ne.sx, e.sy = 0.25, 0.0\n"
            "e.scale_for_screen(480, 800, rotation=270)\nprint(round(e.x), round(e.y))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rotation, touch = proc.stdout.split("\n")[:2]
    assert rotation == "270"
    assert touch != "120 0"   # the panel's (0.25, 0) lands rotated, not where it would unrotated
