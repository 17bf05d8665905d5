"""The real PC/SC stack for tests: pcscd with the vpcd reader, and virtual cards held on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devkit.mynumber_card import Resident, VirtualMyNumberCard, VpcdCard, load_residents
from devkit.pcscd import Pcscd, start_pcscd
from form_printer.card.pcsc import wait_for_card, wait_for_no_card
from madoguchi.local import free_port

#: vpcd makes two slots (port, port+1); cards go to the first.
READER = "Virtual PCD 00 00"

_YAMADA = load_residents()["yamada"].items
#: What the test card of resident "yamada" holds that must never leave a session: the name (with and without its
#: space), the address (and its street part), the birth date in every format a form or a log could hold.
YAMADA_SECRETS = [
    _YAMADA.name,
    _YAMADA.name.replace("\u3000", ""),
    _YAMADA.address,
    "桜町一丁目2番3号",
    _YAMADA.birth,
    "1985-04-12",
    "昭和60年4月12日",
]


@dataclass
class PcscStack:
    daemon: Pcscd
    residents: dict[str, Resident] = field(default_factory=load_residents)
    held: VpcdCard | None = None

    @property
    def port(self) -> int:
        return self.daemon.port

    def card(self, resident: str | None) -> VirtualMyNumberCard:
        """A fresh card (3 tries) of a test resident; None → some other card (not a My Number card)."""
        return VirtualMyNumberCard(self.residents[resident] if resident else None)

    def hold(self, card: VirtualMyNumberCard, wait: bool = True) -> VpcdCard:
        """Put ``card`` on the reader (taking away whatever was there) and wait until pcscd sees it."""
        self.take_away()
        self.held = VpcdCard(card, port=self.port)
        self.held.insert()
        if wait:
            wait_for_card(READER)
        return self.held

    def take_away(self) -> None:
        """Take the card away and wait until pcscd has noticed (otherwise the next card may never be seen)."""
        if self.held is not None:
            self.held.remove()
            self.held = None
            wait_for_no_card(READER)


def start_pcsc_stack(workdir: Path) -> PcscStack:
    return PcscStack(start_pcscd(workdir, free_port()))
