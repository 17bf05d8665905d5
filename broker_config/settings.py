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


class CityBridge(BaseModel):
    """The site's bridge out to the city broker (written by :func:`broker_config.bridge.site_bridge`).

    TLS only: the site proves who it is with its own client certificate (CN = site id) and checks the city
    broker's certificate against the city CA, so neither side trusts the network between the offices.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str
    #: the queue service's device id: its presence is bridged (is the office online)
    service: str
    host: str
    port: int = Field(default=8883, ge=1, le=65535)
    cafile: Path
    certfile: Path
    keyfile: Path
    #: seconds before reconnecting: back-off from the first value up to the second (Mosquitto's jitter)
    restart_timeout: tuple[int, int] = (5, 60)
    keepalive: int = Field(default=60, ge=5)


class BrokerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listeners: tuple[Listener, ...] = (Listener(),)
    #: Keep retained state and persistent sessions across broker restarts.
    persistence: bool = True
    #: Tests run Mosquitto as root in a private temp dir (its privilege drop could not read it).
    run_as_root: bool = False
    #: The site's bridge to the city broker, when the site belongs to a city (``madoguchi provision city``).
    bridge: CityBridge | None = None
