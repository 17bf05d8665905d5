"""``madoguchi voice build --site SITE --out DIR``: record every phrase piece the site's board speaks.

Runs where the engines are (the server, at provisioning: ``pip install '.[voice]'`` and ``espeak-ng``); the board's
bundle gets the folder and its device file names it (``voice = "voice"``). Idempotent: run it again after editing
the site and only new or changed texts are synthesised. A language whose engine is missing is skipped with a
message (the board then says that language live with espeak-ng if it has it, or leaves it out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from madoguchi.cli.common import DEFAULT_SITE, run_command

NAME = "voice"
HELP = "build the call board's phrase cache (spoken calls): voice build --site SITE --out DIR"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="synthesise every piece the site's calls need, as WAV files + manifest")
    build.add_argument("--site", type=Path, default=DEFAULT_SITE, help="site file (default: the example office)")
    build.add_argument("--out", type=Path, required=True, help="the cache folder (the board's device file `voice`)")
    build.add_argument(
        "--languages",
        default="ja",
        help="spoken languages to record, comma-separated (default: ja, the slow neural voice; boards say the "
        "others live with espeak-ng in milliseconds. Caching them too costs ~100 MB per language for 1-999)",
    )
    build.add_argument("-v", "--verbose", action="store_true")


def run(args: argparse.Namespace) -> int:
    from kiosk.config import load_site
    from ticket_machine.board_app.announcement import SPOKEN_LANGUAGES, site_pieces
    from ticket_machine.board_app.phrase_cache import available_engines, build_cache

    site = load_site(args.site)
    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    unknown = [lang for lang in languages if lang not in SPOKEN_LANGUAGES]
    if unknown:
        print(f"unknown spoken language(s) {unknown}; known: {', '.join(SPOKEN_LANGUAGES)}", file=sys.stderr)
        return 2
    engines, missing = available_engines(languages)
    for lang, why in missing.items():
        print(f"voice: skipping {lang}: {why}", file=sys.stderr)
    if not engines:
        print("voice: no engine available, nothing built", file=sys.stderr)
        return 1

    def progress(lang: str, done: int, total: int) -> None:
        if done % 50 == 0:
            print(f"  {lang}: {done}/{total}", flush=True)

    reports = build_cache(args.out, site_pieces(site, languages), engines, progress)
    print(f"{'lang':<5} {'pieces':>7} {'new':>6} {'seconds':>8} {'MB':>7}  engine")
    for r in reports:
        print(f"{r.lang:<5} {r.pieces:>7} {r.synthesised:>6} {r.seconds:>8.1f} {r.bytes / 1e6:>7.1f}  {r.engine}")
    print(f"{args.out}: ok")
    return 0


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv)
