"""FOLIO over HTTP: the kiosk's :class:`~kiosk.ils.base.Ils` spoken to FOLIO's module APIs through
its gateway (Okapi), with ``requests``.  Facts and sources: /work/shared/reference/folio.md;
staff-facing notes: docs/folio.md.

Layers (pure core, thin shell, as in :mod:`kiosk.sip2`):

``kiosk.folio.cql``       pure: CQL quoting/escaping of values and the few queries the kiosk sends.
``kiosk.folio.refusals``  pure: 422/500 error bodies -> (reason key, patron text), by ``code`` first.
``kiosk.folio.records``   pure: FOLIO JSON (users, loans, requests, accounts, blocks, check-in and
                          check-out replies) -> the kiosk's records (Patron, Loan, Hold, ItemInfo...).
(The [ils] protocol = "folio" cross-checks of ``kiosk config check`` live in ``kiosk.config.checks``.)
``kiosk.folio.auth``      tokens: /authn/login-with-expiry (fallback /authn/login), refresh before
                          expiry, a refresh token never used twice, a fresh login when refresh fails.
``kiosk.folio.http``      the shell: one ``requests.Session`` per pooled worker (keep-alive),
                          explicit (connect, read) timeouts and a total deadline per call; 401 ->
                          new token and one resend (the auth filter refused it: nothing ran).
``kiosk.folio.ils``       ``FolioIls(settings)`` / ``FolioIls.from_settings(settings)``: thread-safe;
                          the reads (patrons, items, the service point), with mixed in:
``kiosk.folio.circulation`` check-out, check-in, renewal: sent once, a lost reply settled
                          (``kiosk.folio.settle``) before anything is sent again;
``kiosk.folio.pins``      the PIN check and the kiosk's own lock-out (FOLIO has none);
``kiosk.folio.seen``      the staff station's shelf check (the item's ``lastCheckIn``).

Errors (the :mod:`kiosk.ils.base` contract):
* :class:`~kiosk.errors.IlsUnavailable` -- nothing reached mod-circulation (connection refused,
  login refused, a 400/403 from the auth filter naming a missing permission).
* :class:`~kiosk.errors.OutcomeUnknown` -- a circulation call was sent and neither a reply nor the
  loans query settled what happened (positive proof only); the engine sends it to staff.
* :class:`~kiosk.errors.ProtocolError` -- a reply we cannot read.
A 422 (or the renew-without-loan 500) is a refusal: a result with ``ok=False`` and ``reason_key``.

No doubles: check-out, check-in and renewal are never resent blindly.  A lost reply (sent, no
answer; connection reset; 500/502/503/504) is settled with ``GET /circulation/loans`` on the item's
open loan (folio.md §7) before anything is sent again.
"""
