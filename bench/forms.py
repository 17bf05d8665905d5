"""The form issuer, card tap to print job submitted (``python -m bench.forms``).

One resident's move-in (4 forms: 住民異動届, 印鑑登録申請書, 国保 資格取得届, 児童手当 認定請求書)
through :class:`~form_printer.issuer.FormIssuer`, split the way the resident waits for it:

1. **card**: connect, select the AP, PIN tries, VERIFY, read the 4 items (APDUs counted), let go;
2. **render**: fill and draw every form at 300 dpi (the preview shows these pages);
3. **spool**: encode the one multi-page PDF and submit it (the PDF spool: a file; with CUPS, ``lp``).

The card path is the real one when pcscd and vsmartcard-vpcd are installed and no other pcscd
runs (pyscard → pcscd → vpcd → the virtual card over TCP), and the in-process simulated reader
always (the same APDUs without PC/SC, to show what PC/SC itself costs). A real reader adds its
radio/contact time on top: measure on the site's reader (docs/mynumber-card.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from devkit.mynumber_card import SimulatedReader, VirtualMyNumberCard, load_residents
from form_printer.forms.spool import PdfSpool
from form_printer.issuer import CardReaderPort, FormIssuer
from form_printer.setup import templates_for
from kiosk.config import load_site
from kiosk.config.device import DeviceConfig
from madoguchi.local import ROOT, free_port

SITE = ROOT / "sites" / "example" / "site.toml"
PROCEDURES = ["tennyu", "inkan_toroku", "kokuho_kanyu", "jidou_teate"]
STAGES = ("card", "render", "spool", "total")


def one_visit(issuer: FormIssuer, put_card: Callable[[], None]) -> dict[str, float]:
    put_card()
    t0 = time.perf_counter()
    issuer.open_card()
    issuer.enter_pin("1234")
    t1 = time.perf_counter()
    forms = issuer.prepare(PROCEDURES)
    t2 = time.perf_counter()
    issuer.print_forms()
    t3 = time.perf_counter()
    apdus, pages = issuer.visit.apdus, len(forms)
    issuer.end("bench")
    return {"card": t1 - t0, "render": t2 - t1, "spool": t3 - t2, "total": t3 - t0, "apdus": apdus, "pages": pages}


def _issuer(reader: CardReaderPort, out: Path) -> FormIssuer:
    site = load_site(SITE)
    device = DeviceConfig(device="forms-1f", site=SITE, broker={"password_file": out / "unused"})
    return FormIssuer(site, templates_for(device, site), reader, PdfSpool(out / "paper"))


def run(runs: int, resident: str = "long_address") -> dict[str, list[dict]]:
    card = VirtualMyNumberCard(load_residents()[resident])
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        simulated = SimulatedReader()
        issuer = _issuer(simulated, out)
        results["in-process reader"] = [one_visit(issuer, lambda: simulated.hold(card)) for _ in range(runs)]
        results["pyscard → pcscd → vpcd"] = _pcsc_runs(runs, card, out)
    return {k: v for k, v in results.items() if v}


def _pcsc_runs(runs: int, card: VirtualMyNumberCard, out: Path) -> list[dict]:
    from devkit.mynumber_card import VpcdCard
    from devkit.pcscd import PcscdUnavailable, start_pcscd
    from form_printer.card.pcsc import PcscReader, wait_for_card, wait_for_no_card

    try:
        daemon = start_pcscd(out / "pcscd", free_port())
    except PcscdUnavailable as exc:
        print(f"(PC/SC path skipped: {exc})")
        return []
    holder = VpcdCard(card, port=daemon.port)
    reader = "Virtual PCD 00 00"
    issuer = _issuer(PcscReader(reader), out)

    def put_card() -> None:
        if holder.inserted:
            holder.remove()
            wait_for_no_card(reader)
        holder.insert()
        wait_for_card(reader)

    try:
        return [one_visit(issuer, put_card) for _ in range(runs)]
    finally:
        holder.remove()
        daemon.stop()


def table(results: dict[str, list[dict]]) -> str:
    lines = [
        "| card path | runs | APDUs | pages | card ms | render ms | spool ms | total ms (p50) | total ms (max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, runs in results.items():
        med = {s: statistics.median(r[s] for r in runs) * 1000 for s in STAGES}
        worst = max(r["total"] for r in runs) * 1000
        lines.append(
            f"| {path} | {len(runs)} | {runs[0]['apdus']} | {runs[0]['pages']} | {med['card']:.1f} | "
            f"{med['render']:.0f} | {med['spool']:.0f} | {med['total']:.0f} | {worst:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    args = parser.parse_args(argv)
    results = run(args.runs)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
