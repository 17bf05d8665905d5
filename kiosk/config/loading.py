"""Load a TOML file into a strict pydantic model, with errors a technician can act on."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kiosk.config.toml_errors import find_line, format_loc

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is unreadable or invalid. ``str()`` is one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def load_toml_model(model: type[M], path: str | Path) -> M:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM from a Windows editor is harmless
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, [f"{path}:{bad_line}: not UTF-8 (Shift_JIS or UTF-16?): save the file as UTF-8 ({exc.reason})"]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"{path}: not valid TOML: {exc}"]) from exc
    except RecursionError:
        raise ConfigError(path, [f"{path}: not valid TOML: arrays or tables nested too deeply"]) from None
    try:
        # Strict JSON-mode validation: TOML already has real numbers and booleans, so ``floor = "1"`` or
        # ``port = "1883"`` is a mistake to report, not text to convert; arrays, paths and dates (which
        # TOML or JSON spell as strings) still validate as in lax mode.
        return model.model_validate_json(json.dumps(data, default=_json_value), strict=True)
    except RecursionError:
        raise ConfigError(path, [f"{path}: nested too deeply to check"]) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = find_line(text, loc)
            where = f"{path}:{line}" if line else str(path)
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key (not allowed here)"
            if not loc:
                # model-level checks carry their own location in the message
                ref = message.removeprefix("Value error, ").split(":", 1)[0]
                ref_loc = _parse_loc(ref)
                line = find_line(text, ref_loc) if ref_loc else None
                where = f"{path}:{line}" if line else str(path)
                problems.append(f"{where}: {message.removeprefix('Value error, ')}")
            else:
                problems.append(f"{where}: {format_loc(loc)}: {message}")
        raise ConfigError(path, problems) from exc


def _json_value(value: object) -> str:
    """TOML's dates and times, the only TOML values JSON has no type for, as ISO text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"not a TOML value: {type(value).__name__}")


def _parse_loc(ref: str) -> tuple:
    """``life_events[2].procedures[1]`` → ``('life_events', 2, 'procedures', 1)``."""
    out: list = []
    for part in ref.split(" ")[0].split("."):
        name, _, rest = part.partition("[")
        if not name or not name.replace("_", "").isalnum():
            return ()
        out.append(name)
        while rest:
            num, _, rest = rest.partition("]")
            if not num.isdigit():
                return ()
            out.append(int(num))
            rest = rest.removeprefix("[")
    return tuple(out)


def toml_value(value: object) -> str:
    """One value as TOML, for the files the project writes (device files, bundles): Python's tomllib only reads."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (a board's directions)
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string
