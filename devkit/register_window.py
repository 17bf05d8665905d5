"""The demo's register hardware window: tap a slip to scan it, insert notes and coins, pay on the terminal.

``python -m devkit.register_window --links DIR --slips DIR --site SITE``: starts the ccTalk changer,
the CAT terminal and the scanner simulators on ptys with stable symlinks in ``--links``
(``cash-changer``, ``terminal``, ``scanner``) for the register's device file, writes the sample
slips as pictures into ``--slips``, and shows one button per slip, note, coin and payment brand.
"""

from __future__ import annotations

import argparse
import threading
from datetime import datetime
from pathlib import Path

from devkit.cash_changer import CcTalkSimulator
from devkit.payment_terminal import CatSimulator
from devkit.scanner import PtyScanner
from devkit.slip_samples import render_slip_card, sample_slips
from kiosk.config.site import load_site
from register.slips.model import SlipError
from register.slips.scan import read_slip

CASH = (10000, 5000, 1000, 500, 100, 50, 10)
TAPS = (("emoney", "交通系IC"), ("credit", "VISA"), ("qr", "PayPay"))
LINKS = ("cash-changer", "terminal", "scanner")


def write_slip_pictures(site, folder: Path, slips) -> None:
    """The sample slips as pictures, for a newcomer to look at (and to scan with a real scanner)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {p.id: p.names.ja for p in site.register.payees}
    for sample in slips:
        try:
            card = render_slip_card(sample.data, names.get(sample.payee_id or "", "（他の自治体）"))
        except SlipError:
            continue  # a deliberately broken code cannot be drawn as a slip
        card.save(folder / f"{sample.id}.png")
        (folder / f"{sample.id}.txt").write_text(sample.data + "\n", encoding="ascii")


def _amount(data: str) -> str:
    try:
        return f"¥{read_slip(data).amount:,}"
    except SlipError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--links", type=Path, required=True)
    parser.add_argument("--slips", type=Path, required=True)
    parser.add_argument("--site", type=Path, required=True)
    args = parser.parse_args(argv)
    site = load_site(args.site)
    if site.register is None:
        parser.error(f"{args.site}: the site file has no [register] section")
    today = datetime.now(site.zone).date()
    slips = sample_slips(site.register, today)
    write_slip_pictures(site, args.slips, slips)
    args.links.mkdir(parents=True, exist_ok=True)
    changer = CcTalkSimulator(symlink=str(args.links / "cash-changer")).start()
    terminal = CatSimulator(symlink=str(args.links / "terminal"))
    scanner = PtyScanner(str(args.links / "scanner"))
    try:
        return run_window(site, slips, changer, terminal, scanner)
    finally:
        scanner.close()
        terminal.close()
        changer.stop()


def run_window(site, slips, changer: CcTalkSimulator, terminal: CatSimulator, scanner: PtyScanner) -> int:
    from kiosk.ui.boot import boot

    boot("register-devices", 460, 800, fullscreen=False)
    from kivy.app import App
    from kivy.lang import Builder
    from kivy.properties import StringProperty

    import kiosk.ui.widgets  # noqa: F401 - shared widget rules
    from kiosk.ui.widgets import BigButton

    Builder.load_file(str(Path(__file__).with_suffix(".kv")))
    names = {p.id: p.names.ja for p in site.register.payees}

    class RegisterDevicesApp(App):
        status = StringProperty("tap a slip to scan it")

        def build(self):
            self.title = "Register hardware (demo)"
            root = Builder.load_string("RegisterDevicesRoot:")
            for sample in slips:
                what = names.get(sample.payee_id or "", "other city")
                label = f"{what}  {_amount(sample.data)}" + (f"  ({sample.expect})" if sample.expect else "")
                button = BigButton(key=f"scan-{sample.id}", kind="secondary", font_base=15, text=label)
                button.bind(on_release=lambda _b, s=sample, w=label: self.scan(s.data, w))
                root.ids.slips.add_widget(button)
            for value in CASH:
                button = BigButton(key=f"cash-{value}", kind="secondary", font_base=15, text=f"¥{value:,}")
                button.bind(on_release=lambda _b, v=value: self.insert(v))
                root.ids.cash.add_widget(button)
            for media, brand in TAPS:
                button = BigButton(key=f"tap-{brand}", kind="secondary", font_base=15, text=brand)
                button.bind(on_release=lambda _b, m=media, b=brand: self.tap(m, b))
                root.ids.taps.add_widget(button)
            return root

        def scan(self, data: str, what: str) -> None:
            scanner.scan(data)
            self.status = f"scanned: {what}"

        def insert(self, value: int) -> None:
            if not changer.accepting():
                self.status = f"¥{value:,} given back: the register is not taking cash now"
                return
            # a note waits for the escrow like a resident at the slot: not on the UI thread
            threading.Thread(target=changer.insert, args=(value,), daemon=True).start()
            self.status = f"inserted ¥{value:,}"

        def tap(self, media: str, brand: str) -> None:
            try:
                terminal.present(media, brand)
            except RuntimeError as exc:  # no sale waiting: say so instead of failing
                self.status = f"the terminal is not waiting for a card ({exc})"
                return
            self.status = f"paid with {brand}"

        def decline(self) -> None:
            terminal.decline_next("残高不足 (demo)")
            self.status = "the next card will be declined"

    from kiosk.ui.run import run_until_stopped

    run_until_stopped(RegisterDevicesApp())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
