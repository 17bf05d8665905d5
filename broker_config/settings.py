"""Broker settings: the listeners. Loopback for the demo; a TLS listener for the LAN."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Listener(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    #: TLS: all three files, or none (plain MQTT, allowed on loopback only).
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    @model_validator(mode="after")
    def _tls_off_loopback(self) -> Listener:
        files = (self.cafile, self.certfile, self.keyfile)
        if any(files) and not all(files):
            raise ValueError("a TLS listener needs cafile, certfile and keyfile")
        if not self.tls and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"listener on {self.host}:{self.port} has no TLS; only loopback may be plain")
        return self


class BrokerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listeners: tuple[Listener, ...] = (Listener(),)
    #: Keep retained state and persistent sessions across broker restarts.
    persistence: bool = True
    #: Tests run Mosquitto as root in a private temp dir (its privilege drop could not read it).
    run_as_root: bool = False
