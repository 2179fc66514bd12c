"""No loss across kill -9: a kiosk process working hundreds of checkouts and returns against the REAL
demo library system (through the real SipIls, the real journal) is killed with SIGKILL at random
instants at least 50 times -- during startup, recovery, replay and work, sometimes while the library
system is away -- restarted each time, and finally synced.  Then every item the kiosk showed as done
must have happened exactly once in the library's own database, and nothing may have been doubled.
(A longer soak: bench/bench_crash_soak.py.)"""

from __future__ import annotations

import os

import pytest

from tests.test_crash_harness import run_crash_batch

pytestmark = [pytest.mark.slow, pytest.mark.sip2_only("the kill -9 batch over SIP2; over FOLIO: tests/test_crash_folio.py (kill -9 across a batch)")]

KILLS = int(os.environ.get("KIOSK_CRASH_KILLS", "50"))


def test_every_acknowledged_transaction_happened_exactly_once_across_kill_9(tmp_path):
    result = run_crash_batch(tmp_path, kills=KILLS, seed=20261129, log=lambda s: None)
    assert result["kills"] >= 50
    assert result["attempted_ops"] >= 200
    assert result["problems"] == []
    assert result["pending"] == 0                       # the final sync left nothing behind
    assert result["acked_checkouts"] > 30 and result["acked_checkins"] > 30
    assert result["acked_journaled"] > 0                # offline periods were exercised too
    # anything not settled by the library went to staff with a reason (never silently dropped)
    assert set(result["staff_reasons"]) <= {"unconfirmed_checkout", "return_unconfirmed", "on_loan_to_other"}
