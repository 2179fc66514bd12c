"""``kiosk doctor``'s appliance checks: the SD card (read-only root, free space, file-system
errors) and the display (KMS/DRM connector, GPU device, GL libraries).

Each check returns a :class:`kiosk.hardware.doctor.Check` row and never raises.  Paths under
``/proc`` and ``/sys`` are parameters so tests feed them a fake tree.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.ui.i18n import N_

MIN_FREE_BYTES = 200 * 1024 * 1024   # the journal, statistics and logs of a few busy weeks
MIN_FREE_FRACTION = 0.05
RAM_FILESYSTEMS = ("tmpfs", "ramfs", "overlay", "overlayfs")

HINTS = {
    "storage": N_("the journal needs a writable, persistent file system with free space: see "
                  "docs/deployment.md, SD-card safety (a data partition for /var/lib/kiosk)"),
    "display": N_("check the display cable and that the kiosk user is in groups video and render; "
                  "see docs/deployment.md, The kiosk display"),
}


@dataclass(frozen=True)
class Mount:
    source: str
    point: str
    fstype: str
    options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


def read_mounts(proc_mounts: str = "/proc/mounts") -> list[Mount]:
    mounts = []
    try:
        lines = Path(proc_mounts).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) >= 4:
            point = parts[1].replace("\\040", " ")
            mounts.append(Mount(parts[0], point, parts[2], tuple(parts[3].split(","))))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """The mount a path lives on: the longest mount point that is a prefix of it (last one wins)."""
    best: Mount | None = None
    text = str(path)
    for m in mounts:
        prefix = m.point.rstrip("/") + "/"
        if (text == m.point or text.startswith(prefix) or m.point == "/") and \
                (best is None or len(m.point) >= len(best.point)):
            best = m
    return best


def ext4_errors(source: str, sys_fs: str = "/sys/fs/ext4") -> int | None:
    """ext4's error counter for a block device (None: not ext4 or unknown)."""
    name = os.path.basename(os.path.realpath(source)) if source.startswith("/dev/") else ""
    try:
        return int((Path(sys_fs) / name / "errors_count").read_text().strip()) if name else None
    except (OSError, ValueError):
        return None


def _writable(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def check_storage(settings: Any, *, proc_mounts: str = "/proc/mounts", sys_fs: str = "/sys/fs/ext4") -> Any:
    """The data directory: writable, persistent (not in RAM), free space, no ext4 errors; and the
    root file system's state (read-only overlay is what SD-card safety wants)."""
    from kiosk.hardware.doctor import Check

    data = settings.data_dir
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    mounts = read_mounts(proc_mounts)
    root = mount_of(Path("/"), mounts)
    here = mount_of(probe.resolve(), mounts)
    notes = []
    if root is not None:
        root_state = "read-only" if root.read_only or root.fstype in ("overlay", "overlayfs") else "read-write"
        notes.append(f"root {root_state} ({root.fstype})")
    problems = []
    if here is not None:
        if here.read_only:
            problems.append(f"{probe} is on a read-only file system ({here.point})")
        elif here.fstype in RAM_FILESYSTEMS:
            msg = f"{probe} is on {here.fstype} ({here.point}): the journal would not survive a power cut"
            if settings.hardware.simulate:
                notes.append(msg)
            else:
                problems.append(msg)
        errors = ext4_errors(here.source, sys_fs) if here.fstype == "ext4" else None
        if errors:
            problems.append(f"{here.source} has recorded {errors} file-system errors (run fsck)")
    if not problems and probe == data and not _writable(data):
        problems.append(f"{data} is not writable")
    try:
        usage = shutil.disk_usage(probe)
        free_mb = usage.free // (1024 * 1024)
        notes.append(f"{free_mb} MB free of {usage.total // (1024 * 1024)} MB")
        if usage.free < MIN_FREE_BYTES or usage.free < usage.total * MIN_FREE_FRACTION:
            problems.append(f"only {free_mb} MB free")
    except OSError as exc:
        problems.append(f"cannot read free space: {exc}")
    detail = f"{data}: " + "; ".join(problems + notes)
    return Check("storage", not problems, detail, HINTS["storage"] if problems else "")


def check_display(settings: Any, *, sys_drm: str = "/sys/class/drm", dev_dri: str = "/dev/dri") -> Any:
    """A connected KMS connector, an accessible GPU device and the GL (EGL/GLES) libraries.

    Simulated hardware runs in a window on the computer's desktop: nothing to check there.
    """
    from kiosk.hardware.doctor import Check

    rotation = settings.display.rotation
    if settings.hardware.simulate:
        return Check("display", True, N_("simulated hardware: the kiosk opens a window on this computer"))
    problems, notes = [], [f"rotation {rotation}"]
    connected = []
    for status in sorted(Path(sys_drm).glob("card*-*/status")):
        try:
            if status.read_text().strip() == "connected":
                modes = (status.parent / "modes").read_text().split()
                connected.append(status.parent.name.split("-", 1)[1] + (f" {modes[0]}" if modes else ""))
        except OSError:
            continue
    if connected:
        notes.insert(0, "connected: " + ", ".join(connected))
    else:
        problems.append("no connected display (KMS connector status)")
    cards = sorted(Path(dev_dri).glob("card*"))
    if not cards:
        problems.append(f"no GPU device in {dev_dri} (dtoverlay=vc4-kms-v3d in config.txt?)")
    elif not any(os.access(c, os.R_OK | os.W_OK) for c in cards):
        problems.append(f"{cards[0]} is not accessible (groups video, render)")
    missing = [lib for lib in ("EGL", "GLESv2") if ctypes.util.find_library(lib) is None]
    if missing:
        problems.append("GL libraries missing: " + ", ".join(f"lib{m}" for m in missing) + " (apt install libegl1 "
                        "libgles2)")
    return Check("display", not problems, "; ".join(problems + notes), HINTS["display"] if problems else "")


def appliance_checks(settings: Any) -> list[Any]:
    return [check_storage(settings), check_display(settings)]
