"""``kiosk tag decode|encode`` and ``kiosk doctor``.

Exit codes (``kiosk.exitcodes``): ``tag decode`` 0, 64 when the argument is not hexadecimal, 2 when
the bytes are not tag data it can read; ``tag encode`` 0 or 64 (an item id the model cannot hold);
``doctor`` 0 when every check passed, 5 when a device failed, else 4 when the journal or the data
directory's storage did (the README's "local storage error"), 3 when only the library system did.
"""

from __future__ import annotations

import argparse
import sys

from kiosk.cli.jsonout import emit
from kiosk.exitcodes import EXIT_HARDWARE, EXIT_OK, EXIT_PROTOCOL, EXIT_STORAGE, EXIT_UNREACHABLE, EXIT_USAGE
from kiosk.tags import MODELS, TagDecodeError, decode_tag, encode_tag

# The doctor's checks that are about the library-system link, not a device.
_LINK_CHECKS = ("library_system", "ils", "sip2")
# The checks about the data directory: a damaged journal or a full card is not a hardware fault.
_STORAGE_CHECKS = ("journal", "storage")


def _decode(args: argparse.Namespace) -> int:
    shown = " ".join(args.hex)
    text = "".join(args.hex).replace(" ", "").replace(":", "")
    # ASCII hex only (bytes.fromhex takes nothing else); the message shows what was typed, not a
    # Python list repr.
    if not text or any(c not in "0123456789abcdefABCDEF" for c in text) or len(text) % 2:
        print(f"kiosk tag decode: {shown[:80]} is not hexadecimal (expected pairs of 0-9/A-F, "
              "for example 11 02 33 39 30 30)", file=sys.stderr)
        return EXIT_USAGE
    data = bytes.fromhex(text)
    dsfid = None
    if args.dsfid:
        d = args.dsfid.strip().lower()
        digits, base = (d[2:], 16) if d.startswith("0x") else (d, 10)
        if not digits or any(c not in "0123456789abcdef"[:base] for c in digits) or int(digits, base) > 255:
            print(f"kiosk tag decode: --dsfid {args.dsfid}: expected a byte such as 0x06 or 62", file=sys.stderr)
            return EXIT_USAGE
        dsfid = int(digits, base)
    try:
        tag = decode_tag(data, dsfid=dsfid)
    except TagDecodeError as exc:
        print(f"kiosk tag decode: not library tag data: {exc}", file=sys.stderr)
        return EXIT_PROTOCOL
    emit(tag.to_json())
    return EXIT_OK


def _encode(args: argparse.Namespace) -> int:
    try:
        data = encode_tag(args.model, args.item, isil=args.isil or "", parts_in_item=args.parts,
                          part_number=args.part)
    except TagDecodeError as exc:
        print(f"kiosk tag encode: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(data.hex().upper())
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.errors import IlsUnavailable
    from kiosk.hardware.doctor import format_table, run_checks

    try:
        settings = settings_from_args(args, ils=not args.no_ils)
    except IlsUnavailable:          # the demo library did not start: the check below says so
        settings = settings_from_args(args)
    results = run_checks(settings, ils=not args.no_ils, storage=True, system=True)
    if args.json:
        emit({"config": settings.source, "ok": all(r.ok for r in results),
              "checks": [dict(r.__dict__) for r in results]})
    else:
        print(format_table(results))
    failed = [r.name for r in results if not r.ok]
    if not failed:
        return EXIT_OK
    if all(name in _LINK_CHECKS for name in failed):
        return EXIT_UNREACHABLE
    if all(name in _LINK_CHECKS + _STORAGE_CHECKS for name in failed):
        return EXIT_STORAGE
    return EXIT_HARDWARE


def register(sub: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_config_args

    tag = sub.add_parser("tag", help="decode or encode library RFID tag data (ISO 28560, 3M)")
    tag_sub = tag.add_subparsers(dest="tag_command", metavar="ACTION", required=True)
    dec = tag_sub.add_parser("decode", help="decode tag memory given as hex; prints JSON")
    dec.add_argument("hex", nargs="+", metavar="HEX", help="tag user memory (spaces allowed)")
    dec.add_argument("--dsfid", help="DSFID the reader reported (0x06 forces ISO 28560-2)")
    dec.set_defaults(func=_decode)
    enc = tag_sub.add_parser("encode", help="print tag memory for an item as hex")
    enc.add_argument("--model", required=True, choices=MODELS)
    enc.add_argument("--item", required=True, help="primary item id (barcode)")
    enc.add_argument("--isil", help="owner library ISIL, e.g. DK-718500")
    enc.add_argument("--parts", type=int, default=1, help="number of parts in the item (set)")
    enc.add_argument("--part", type=int, default=1, help="which part this tag is on")
    enc.set_defaults(func=_encode)
    from kiosk.station.cli import add_program_parser  # `kiosk tag program`: the staff station's

    add_program_parser(tag_sub)

    doc = sub.add_parser("doctor", help="check every configured device and the library system")
    add_config_args(doc)
    doc.add_argument("--json", action="store_true", help="print the results as JSON")
    doc.add_argument("--no-ils", action="store_true", help="skip the library-system check")
    doc.set_defaults(func=_doctor)
