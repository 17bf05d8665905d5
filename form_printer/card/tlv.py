"""BER-TLV as the card's EFs use it: 1- or 2-byte tags, definite lengths (short, 81 xx, 82 xx xx). Pure.

A real length decoder matters: an address of 60+ kanji is more than 127 bytes of UTF-8, and a
one-byte-length parser breaks on it.
"""

from __future__ import annotations

from collections.abc import Iterator


class TlvError(ValueError):
    pass


def read_tag(data: bytes, pos: int) -> tuple[int, int]:
    """The tag at ``pos`` and the position after it."""
    if pos >= len(data):
        raise TlvError("truncated tag")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag: continuation bytes have bit 8 set
        while True:
            if pos >= len(data):
                raise TlvError("truncated tag")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    return tag, pos


def read_length(data: bytes, pos: int) -> tuple[int, int]:
    """The definite length at ``pos`` and the position after it."""
    if pos >= len(data):
        raise TlvError("truncated length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 3:
        raise TlvError(f"unsupported length form {first:#04x}")
    if pos + count > len(data):
        raise TlvError("truncated length")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def header_size(data: bytes) -> int | None:
    """Total size (header + value) of the TLV at the start of ``data``, or None if more bytes are needed."""
    try:
        _, pos = read_tag(data, 0)
        length, pos = read_length(data, pos)
    except TlvError:
        return None
    return pos + length


def iterate(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, value) for each TLV in ``data``; padding bytes 00/FF between objects are not allowed."""
    pos = 0
    while pos < len(data):
        tag, pos = read_tag(data, pos)
        length, pos = read_length(data, pos)
        if pos + length > len(data):
            raise TlvError(f"tag {tag:X}: value of {length} bytes runs past the end")
        yield tag, data[pos : pos + length]
        pos += length


def encode(tag: int, value: bytes) -> bytes:
    """One TLV (the virtual card builds its EFs with it)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    elif n <= 0xFFFF:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    else:
        raise TlvError("value too long")
    return tag_bytes + length + value
