"""The foundations in kiosk.appliance (trusted time, the durable store, log privacy) are imported by
the protocol clients and stores below the appliance layer, so they must not pull in any other layer."""

from __future__ import annotations

import subprocess
import sys


def test_appliance_foundations_import_no_other_layer():
    code = ("import sys, kiosk.appliance.clock, kiosk.appliance.durable, kiosk.appliance.privacy\n"
            "print(sorted(m for m in sys.modules if m == 'kiosk' or m.startswith('kiosk.')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = set(eval(r.stdout))  # noqa: S307 - our own printed list
    assert loaded <= {"kiosk", "kiosk.errors", "kiosk.appliance", "kiosk.appliance.clock",
                      "kiosk.appliance.durable", "kiosk.appliance.privacy"}, loaded
