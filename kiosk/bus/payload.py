"""Reading a bus payload: strict UTF-8 JSON, bounded in size, nesting and numbers. Pure, no I/O.

The contract says "JSON payloads, UTF-8". ``json.loads(bytes)`` is more forgiving than that and less
safe: it guesses UTF-16 and UTF-32, takes a BOM, ``NaN`` and ``Infinity``, recurses until Python's limit
(``RecursionError`` on ``[[[[…`` of 2 KB), raises ``ValueError`` on an integer of more than 4,300 digits,
and hands back lone surrogates (``"\\ud800"``) that cannot be encoded again when the reply is built.
Every one of those stopped the queue service's worker once. Here each is a :class:`PayloadError`.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: A command is a few hundred bytes; the largest (an issue with every procedure) a few KB.
MAX_BYTES = 64 * 1024
#: The contract's deepest payload is 3 levels (envelope → args → list); room to spare, far below recursion.
MAX_DEPTH = 16
#: Longer integers are no count, number or amount the contract has (and int() of 4,301+ digits raises).
MAX_INT_DIGITS = 18


class PayloadError(ValueError):
    """The payload is not strict, bounded UTF-8 JSON; ``code`` is the contract's error code."""

    def __init__(self, message: str, code: str = "bad_json") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_payload(payload: bytes, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``payload``, or :class:`PayloadError` saying what is wrong with it."""
    if len(payload) > max_bytes:
        raise PayloadError(f"the payload is {len(payload)} bytes; at most {max_bytes}", code="too_large")
    try:
        text = payload.decode("utf-8")  # strict: UTF-16/32 and invalid bytes are refused here
    except UnicodeDecodeError as exc:
        raise PayloadError(f"the payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise PayloadError("the payload starts with a byte order mark; send UTF-8 without one")
    depth = _nesting(text)
    if depth > max_depth:
        raise PayloadError(f"the JSON is nested {depth} levels deep; at most {max_depth}")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"the payload is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    _no_lone_surrogates(value)
    return value


def _nesting(text: str) -> int:
    """The deepest ``[``/``{`` nesting outside strings (counted before parsing, so parsing cannot recurse)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not JSON")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise PayloadError(f"an integer of {len(digits.lstrip('-'))} digits; at most {MAX_INT_DIGITS}")
    return int(digits)


def _finite_float(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise PayloadError(f"{digits} is out of range for a number")
    return value


def _no_lone_surrogates(value: Any) -> None:
    """A ``\\ud800`` escape decodes to a string that cannot be encoded back to UTF-8 (the reply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _encodable(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _encodable(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("a string holds a lone surrogate (\\ud800-\\udfff): not UTF-8") from None
