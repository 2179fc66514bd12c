"""Masking of card numbers and SIP2 frames in logs."""

import logging

from kiosk.appliance.privacy import NoPatronDataFilter, mask, scrub_sip_frame


def test_mask_keeps_only_the_tail():
    assert mask("23529000445172") == "**********5172"
    assert mask("1234") == "**34"
    assert mask("") == "<none>"


def test_scrub_sip_frame_masks_patron_fields():
    frame = "64              00120250101    120000000000000000000000AODEMO|AA23529000445172|AEJane Reader|BLY|"
    out = scrub_sip_frame(frame)
    assert "Jane" not in out and "23529000445172" not in out
    assert "AODEMO|" in out and "BLY|" in out


def test_filter_rewrites_records():
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("63001|AA23529000445172|ADsecret|",), None)
    NoPatronDataFilter().filter(rec)
    assert "23529000445172" not in rec.getMessage() and "secret" not in rec.getMessage()
