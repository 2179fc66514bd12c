"""The demo library system: a small SIP2 library that behaves like Koha, backed by SQLite.

Used by ``make demo``, staff training and the test suite (rules and seeded situations in
docs/demo-library.md).

Public API:

``kiosk.demo_ils.server.DemoIlsServer(db_path, host="127.0.0.1", port=0, latency_ms=0, user="kiosk",
password="kiosk", institution="DEMO", tls_cert=None, tls_key=None, *, charset="utf-8",
terminator="CRLF", checked_in_ok=False, reset=False, clock=datetime.now, ...)``
    ``.start()`` (returns once listening), ``.port``, ``.stop()``, context manager; ``.db`` is the
    :class:`LibraryDb`; ``.process(ctx, frame)`` answers one frame without sockets.

``kiosk.demo_ils.db.LibraryDb(path, clock=datetime.now)``
    ``seed(reset=False)``, ``export() -> {"library", "patrons", "items"}`` (= ``--export-json``),
    ``patron(card)``, ``item(barcode)``, ``loan_of_item(barcode)``, ``loans_of(card)``,
    ``holds_on(barcode)``, ``holds_of(card)``, ``fines_of(card)``, ``amount_owed(card)``,
    ``transactions(kind=None, ok=None)``, ``transactions_for_item(barcode, kind=None)``,
    ``checkouts_of(barcode)`` / ``checkins_of(barcode)`` (successful ones), ``loan_history(barcode)``.

``kiosk.demo_ils.library.Library(db)``: the circulation operations (checkout, checkin, renew...).
``kiosk.demo_ils.rules``: the pure rules (loan periods, limits, fines, checkin routing).
``kiosk.demo_ils.handlers``: the request-code -> handler table (Koha-like replies).
"""
