"""One appliance's own settings (``device.toml``): who it is, where the broker is, its hardware.

The site file says what the office is; this file says what this box is. Technicians
write it (``madoguchi provision`` and the demo generate it). Every relative path in it is relative
to the file's own folder, wherever the process starts: the paths (site, password, CA, pre-entry key,
payments journal) and the local path in a hardware URI (``pdf:forms``, ``cctalk:dev/changer``,
``cat:...``, ``serial:...``). Unknown keys are errors, like everywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from kiosk.bus.contract import Role
from kiosk.config.loading import load_toml_model
from kiosk.config.site import Id, Strict
from kiosk.languages import Language
from kiosk.pin import check_hash


class BrokerLink(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    password_file: Path
    cafile: Path | None = None


class ScreenSettings(Strict):
    fullscreen: bool = True
    width: int = Field(default=1280, ge=320)
    height: int = Field(default=800, ge=240)
    #: A resident who walks away: back to the home screen, selection cleared.
    idle_seconds: int = Field(default=90, ge=10, le=3600)
    language: Language = "ja"
    #: The panel's visible diagonal in inches (e.g. 15.6): touch targets and text are sized in millimetres
    #: from it (≥ 15 mm per target). Unset: a 15.6-inch panel at ``width`` × ``height`` is assumed
    #: (a call board: a 55-inch one).
    diagonal_in: float | None = Field(default=None, gt=3, le=120)
    #: Call board: high contrast and larger text from the start (a board has no button to switch it).
    accessible: bool = False


class DeviceConfig(Strict):
    device: Id
    #: What this box is (``madoguchi kiosk`` starts that app); must match the site's ``[[devices]]``.
    role: Role | None = None
    site: Path
    broker: BrokerLink
    screen: ScreenSettings = ScreenSettings()
    #: Ticket/receipt printer URI: usb://VID:PID, serial:///dev/ttyUSB0, tcp://host:9100, file:///dev/usb/lp0.
    printer: str | None = None
    #: The resident's status page; ``{token}`` is replaced by the ticket's token (the QR code).
    status_url: str = "http://127.0.0.1:8080/t/{token}"
    #: Staff PIN as ``pbkdf2_sha256$iterations$salt$hash`` (``madoguchi hash-pin``): the ticket kiosk's concierge
    #: mode and the register's staff screen (semi-self fees, recovery report); none = no staff mode.
    concierge_pin: Annotated[str, AfterValidator(check_hash)] | None = None
    #: Call panel: the counter it starts on (otherwise it asks).
    counter: Id | None = None
    #: Call board: the floors whose calls it shows (empty = all).
    floors: tuple[int, ...] = ()
    #: Play the chime on every call (boards).
    chime: bool = True
    #: Call board: the phrase cache folder (``madoguchi voice build``; docs/voice.md); none = chime only.
    voice: Path | None = None
    #: Call board: the ALSA PCM the calls are played on (``aplay -D``), e.g. ``default``, ``hdmi:0``.
    audio: str = "default"
    #: Call board: the floor it hangs on (calls to another floor show a stairs/lift up or down sign).
    floor: int | None = None
    #: Call board: which way a counter (or every counter of a group) is, seen from the board on its floor.
    directions: dict[Id, Literal["left", "right", "ahead", "back"]] = {}
    #: Call board: seconds the newest call flashes.
    flash_seconds: float = Field(default=6.0, ge=0, le=60)
    #: Form issuer: the A4 printer, ``cups:QUEUE``, ``cups://host:631/QUEUE``, or ``pdf:/folder`` (demo, tests).
    form_printer: str | None = None
    #: Form issuer: the PC/SC reader whose name contains this ("" = the first one);
    #: ``simulated`` = an in-process virtual card (demo without pcscd).
    card_reader: str = ""
    #: Form issuer: the site's pre-entry key file (hex, mode 0600), shared with the city's web form.
    preentry_key: Path | None = None
    #: Register: the cash changer, ``cctalk:/dev/ttyUSB0`` (a ccTalk bus; see docs/cash-changer.md).
    cash_changer: str | None = None
    #: Register: the cashless payment terminal, ``cat:/dev/ttyACM0`` (see docs/cashless-terminal.md).
    cashless_terminal: str | None = None
    #: Register: a serial slip scanner, ``serial:/dev/ttyACM1``; none = a USB keyboard-wedge scanner.
    scanner: str | None = None
    #: Register: the payments journal (SQLite). Keep it on the writable data partition.
    payments_journal: Path | None = None

    @field_validator("status_url")
    @classmethod
    def _has_token(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("status_url must contain {token}")
        return value


#: Hardware URIs whose scheme is followed by a local path (the form printer's PDF folder, serial devices):
#: a relative path there is relative to the device file, like every other path in it.
PATH_URIS = {"form_printer": "pdf", "cash_changer": "cctalk", "cashless_terminal": "cat", "scanner": "serial"}


def _relative_uri(value: str | None, scheme: str, base: Path) -> str | None:
    prefix = f"{scheme}:"
    if value is None or not value.startswith(prefix):
        return value
    rest = value[len(prefix) :]
    if not rest or rest.startswith("/"):
        return value
    return f"{prefix}{base / rest}"


def load_device(path: str | Path) -> DeviceConfig:
    path = Path(path)
    config = load_toml_model(DeviceConfig, path)
    base = path.resolve().parent

    def rel(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else base / p)

    broker = config.broker.model_copy(
        update={"password_file": rel(config.broker.password_file), "cafile": rel(config.broker.cafile)}
    )
    return config.model_copy(
        update={
            "site": rel(config.site),
            "broker": broker,
            "preentry_key": rel(config.preentry_key),
            "payments_journal": rel(config.payments_journal),
            "voice": rel(config.voice),
            **{key: _relative_uri(getattr(config, key), scheme, base) for key, scheme in PATH_URIS.items()},
        }
    )
