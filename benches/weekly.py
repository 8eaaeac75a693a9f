#!/usr/bin/env python3
"""Split the last month of the hospital extracts into a month-to-date file and a later,
complete one, to benchmark a weekly refresh.

Hospitals send month-to-date extracts every week, each one replacing the month. This script
moves the complete last-month files of a landing zone aside (to WEEKLY_DIR, same keys) and
leaves in their place the same files cut at day CUT_DAY: the base load then holds the month
to date, and landing the complete files is one more week of data that completes the month.

    benches/weekly.py LANDING_DIR WEEKLY_DIR YYYYMM [--cut-day 24]
"""
import argparse
import csv
import shutil
import sys
from pathlib import Path

# Landing key pattern -> (delimiter, date column, day of month from the cell).
LAYOUTS = {
    "hospital_a/ed_visits_{m}.csv": (b",", b"ARRIVAL_DATE", lambda c: int(c[8:10])),
    "hopital_b/episodes_{m}.csv": (b";", b"DATE_DEBUT", lambda c: int(c[0:2])),
}


def cut(full: bytes, delimiter: bytes, column: bytes, day_of, cut_day: int) -> tuple[bytes, int, int]:
    """The month-to-date part of an extract: header, rows up to `cut_day`, and rows whose
    date cannot be read (corrupted rows stay, as they would in a real month-to-date file)."""
    lines = full.split(b"\n")

    def cells(line: bytes) -> list[str]:
        # latin-1 maps every byte: enough to read ASCII dates and header names in any layout.
        text = line.rstrip(b"\r").decode("latin-1")
        return next(csv.reader([text], delimiter=delimiter.decode()), [])

    header = [c.lstrip("\ufeff\u00ef\u00bb\u00bf") for c in cells(lines[0])]
    try:
        at = header.index(column.decode())
    except ValueError:
        sys.exit(f"no {column.decode()} column in the header")
    kept, dropped = [lines[0]], 0
    for line in lines[1:]:
        if not line.strip():
            continue
        try:
            late = day_of(cells(line)[at].strip()) > cut_day
        except (IndexError, ValueError):
            late = False
        if late:
            dropped += 1
        else:
            kept.append(line)
    return b"\n".join(kept) + b"\n", len(kept) - 1, dropped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("landing", type=Path)
    ap.add_argument("weekly", type=Path)
    ap.add_argument("month", help="YYYYMM, the last month of the landing zone")
    ap.add_argument("--cut-day", type=int, default=24)
    args = ap.parse_args()
    for pattern, (delimiter, column, day_of) in LAYOUTS.items():
        key = pattern.format(m=args.month)
        src = args.landing / key
        if not src.is_file():
            sys.exit(f"{src}: not found (is {args.month} the last month of the landing zone?)")
        full = src.read_bytes()
        dest = args.weekly / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        part, kept, dropped = cut(full, delimiter, column, day_of, args.cut_day)
        src.write_bytes(part)
        print(f"{key}: month to date {kept} rows, the week after adds {dropped}")


if __name__ == "__main__":
    main()
