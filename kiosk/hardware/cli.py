"""``kiosk tag decode|encode`` and ``kiosk doctor``."""

from __future__ import annotations

import argparse
import json
import sys

from kiosk.tags import MODELS, TagDecodeError, decode_tag, encode_tag


def _decode(args: argparse.Namespace) -> int:
    text = "".join(args.hex).replace(" ", "").replace(":", "")
    try:
        data = bytes.fromhex(text)
    except ValueError:
        print(f"error: {args.hex!r} is not hexadecimal", file=sys.stderr)
        return 2
    dsfid = int(args.dsfid, 0) if args.dsfid else None
    try:
        tag = decode_tag(data, dsfid=dsfid)
    except TagDecodeError as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stdout)
        return 2
    print(json.dumps(tag.to_json(), indent=2, ensure_ascii=False))
    return 0


def _encode(args: argparse.Namespace) -> int:
    try:
        data = encode_tag(args.model, args.item, isil=args.isil or "", parts_in_item=args.parts,
                          part_number=args.part)
    except TagDecodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(data.hex().upper())
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.hardware.doctor import format_table, run_checks

    settings = settings_from_args(args)
    results = run_checks(settings, ils=not args.no_ils, system=True)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


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

    doc = sub.add_parser("doctor", help="check every configured device and the library system")
    add_config_args(doc)
    doc.add_argument("--json", action="store_true", help="print the results as JSON")
    doc.add_argument("--no-ils", action="store_true", help="skip the library-system check")
    doc.set_defaults(func=_doctor)
