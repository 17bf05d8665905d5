"""The demo's card window: "hold" a test resident's card on the reader, or take it away.

It is a card, not a reader: it connects with the vpcd protocol to pcscd's vpcd driver (the real
PC/SC path) or to the form issuer's in-process simulated reader. ``python -m
devkit.card_window --port 35963``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from devkit.mynumber_card import VPCD_PORT, VirtualMyNumberCard, VpcdCard, load_residents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT)
    args = parser.parse_args(argv)

    from kiosk.ui.boot import boot

    boot("card", 420, 640, fullscreen=False)  # six cards and the take-away button, none under another
    from kivy.app import App
    from kivy.lang import Builder
    from kivy.properties import StringProperty

    import kiosk.ui.widgets  # noqa: F401 - shared widget rules
    from kiosk.ui.widgets import BigButton

    Builder.load_file(str(Path(__file__).with_suffix(".kv")))
    residents = load_residents()

    class CardHolderApp(App):
        status = StringProperty("no card on the reader")

        def build(self):
            self.title = "Card simulator (demo)"
            self.held: VpcdCard | None = None
            self.cards = {rid: VirtualMyNumberCard(r) for rid, r in residents.items()}  # PIN counters persist
            self.cards["other"] = VirtualMyNumberCard(None)
            root = Builder.load_string("CardHolderRoot:")
            for rid in self.cards:
                label = f"{residents[rid].label}  (PIN {residents[rid].pin})" if rid in residents else "other card"
                button = BigButton(key=f"hold-{rid}", kind="secondary", font_base=18, text=label)
                button.bind(on_release=lambda _b, r=rid: self.hold(r))
                root.ids.cards.add_widget(button)
            return root

        def hold(self, rid: str) -> None:
            self.take_away()
            holder = VpcdCard(self.cards[rid], args.host, args.port)
            try:
                holder.insert()
            except OSError as e:
                self.status = f"no reader at {args.host}:{args.port}: {e}"
                return
            self.held = holder
            self.status = f"on the reader: {residents[rid].label if rid in residents else 'other card'}"

        def take_away(self) -> None:
            if self.held is not None:
                self.held.remove()
                self.held = None
            self.status = "no card on the reader"

        def on_stop(self) -> None:
            self.take_away()

    from kiosk.ui.run import run_until_stopped

    run_until_stopped(CardHolderApp())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
