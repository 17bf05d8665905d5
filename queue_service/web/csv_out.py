"""CSV downloads the staff and city pages share: what Excel in Japan opens, and never a formula it runs."""

from __future__ import annotations

import csv
import io
import re


def to_csv(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line ends: what Excel in Japan opens without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs: one starting with ``= + - @`` or a tab/CR (a group
    name like ``=HYPERLINK(...)`` from a site file) gets a leading apostrophe (OWASP CSV injection).
    Plain numbers, negative ones included, stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
