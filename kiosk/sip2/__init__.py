"""SIP2 (3M Standard Interchange Protocol 2.00) for the kiosk: codec, connections, the Ils adapter.

Public API (protocol facts: the 3M SIP2 2.00 specification; docs/sip2.md):

``kiosk.sip2.codec`` -- pure, table-driven, both directions (the demo library system uses it too);
    the public face of values.py, record.py, fieldcodec.py and messages/ (docs/sip2.md "Code")
    encode(record, *, seq: int | None = None, error_detection: bool = True, charset="utf-8") -> bytes
        Adds ``AY<seq>AZ<checksum>`` (``AZ`` only for 96/97 or seq=None) and the CR terminator.
    decode(frame: bytes, *, charset="utf-8", verify=True, require_checksum=False) -> Message
        Verifies the checksum over the wire bytes first; accepts CR, CR LF or no terminator.
    decode_frame(...) -> Decoded(record, seq, checksum)   (same, plus the trailer: servers echo seq)
    MESSAGES: dict[str, type[Message]]  -- the one table, code -> frozen dataclass record type;
        REQUESTS / RESPONSES split it by direction; RESPONSE_TO maps a request code to its reply code.
    Records (all frozen, keyword-only, every field has a default; ``extra`` keeps unknown fields):
        93 LoginRequest         94 LoginResponse          99 ScStatusRequest    98 AcsStatusResponse
        23 PatronStatusRequest  24 PatronStatusResponse   63 PatronInformationRequest
        64 PatronInformationResponse                      11 CheckoutRequest    12 CheckoutResponse
        09 CheckinRequest       10 CheckinResponse        29 RenewRequest       30 RenewResponse
        65 RenewAllRequest      66 RenewAllResponse       17 ItemInformationRequest
        18 ItemInformationResponse                        35 EndPatronSessionRequest
        36 EndPatronSessionResponse                       37 FeePaidRequest     38 FeePaidResponse
        15 HoldRequest          16 HoldResponse           97 RequestAcsResend   96 RequestScResend
        01 BlockPatronRequest (answered by 24)            25 PatronEnableRequest 26 PatronEnableResponse
        19 ItemStatusUpdateRequest                        20 ItemStatusUpdateResponse
      Field conventions: fixed Y/N fields are ``bool | None`` (None = 'U'), fixed 1/0 ``ok`` is bool,
      18-char dates are ``datetime | None`` (None = 18 blanks), 4-digit counts ``int | None``;
      identified fields are ``str`` (required, always written), ``str | None`` (optional, left
      out when None), ``bool | None`` (BL, CQ, BO, BI, CI) or ``tuple[str, ...]`` (repeatable:
      screen_messages AF, print_lines AG, hold_items AS, charged_items AU, renewed_items BM...).
      A plain str passed for a repeatable field is wrapped: ``screen_messages="Patron blocked"``.
      ``record.screen_message`` joins the AF messages; ``record.to_dict()`` is JSON-friendly.
      Due dates (AH) stay free text; convert with ``parse_due_date``.
    Helpers: checksum(b: bytes) -> str, sip_datetime(dt) -> str (18 chars),
        parse_sip_datetime(s) -> datetime | None, parse_due_date(text) -> datetime | None,
        escape_value / unescape_value (``|`` <-> ``&#124;``).
    Errors: FrameError, ChecksumError -- both kiosk.errors.ProtocolError.

``kiosk.sip2.client`` -- sockets (TCP or TLS), one request at a time per connection
    Sip2Client(host, port, *, user, password, institution, location="", charset="utf-8",
               timeout_s=10.0, retries=2, error_detection=True, tls=False, tls_ca_file="",
               tls_cert_file="", tls_key_file="", tls_verify_hostname=True, trace=False,
               status_on_connect=True)
        .connect() (login 93 + status 99); .request(record, *, safe: bool | None) -> reply record;
        .sc_status(); .close(); .trace (frames, when trace=True); .acs_status (last 98)
        safe=None: by code (SAFE_CODES: 93 99 23 63 17 09 35 97 are resent when the connection broke
        before the reply; never after a timeout (ReplyTimeout): a silent server costs one timeout).
        Before each request unread input is dropped; a reply naming another item (AB) or patron (AA)
        than the request is a GarbledReply (treated as lost).  A login/status answered with something
        that is not SIP2, or a malformed 98, raises NotSip2 (IlsUnavailable and ProtocolError).
    A request sent without a valid reply raises kiosk.errors.OutcomeUnknown (GarbledReply, also a
    ProtocolError, when only a damaged/unexpected reply came); nothing sent raises IlsUnavailable.
``kiosk.sip2.pool`` -- Sip2Pool(factory, size=4, keepalive_s=0): logged-in connections;
        ``with pool.connection() as c`` or ``pool.request(record)``; a daemon thread sends 99 on
        connections idle keepalive_s.  (The sockets themselves: ``kiosk.sip2.transport``.)

``kiosk.sip2.ils`` -- SipIls(...) implementing kiosk.ils.base.Ils over the pool (thread-safe);
    ``SipIls.from_settings(settings)`` is what the app and the CLIs call.  Checkouts and renewals
    are never blindly resent: an unknown outcome is resolved once by kiosk.ils.base.resolve_checkout
    (only proof settles it); what cannot be proved raises kiosk.ils.base.Unresolved.

``kiosk.sip2.cli`` -- ``kiosk sip2 ... status|login|patron|checkout|checkin|renew|renew-all|item|end``.

``kiosk.sip2.personalities`` -- how Koha, Evergreen, Sierra, Symphony, FOLIO edge-sip2 shape replies (cited).
``kiosk.sip2.testing`` -- FakeAcs: a fault-injecting loopback SIP2 server for tests (not the demo),
    with server personalities (PERSONALITIES: koha, evergreen, sierra, symphony, folio; sources cited).

User documentation: docs/sip2.md.
"""

from kiosk.sip2 import codec  # noqa: F401  (imports the message table first: messages needs it)
