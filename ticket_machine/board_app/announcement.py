"""What the board says for a call, as pieces: pure, so it is tested without a speaker or a voice engine.

A call is spoken Japanese first, then in the ticket's own language when that is not Japanese (``ja-easy`` counts as
Japanese, English is said anyway), then English. Each language's sentence is cut into **pieces** that are synthesised
once, ahead of time (``madoguchi voice build``, ``phrase_cache.py``), and joined at call time: a neural voice takes
about 0.3–0.6 s per piece on a small board, too slow for the moment a number is called.

The cut follows how Japanese call systems record their prompts: a fixed lead (受付番号、), the number with
its counter word (45番のかた、), then the place (2階、21番窓口へお越しください。). Numbers are composed from a
hundreds piece (さんびゃく, ろっぴゃく, はっぴゃく: the readings that change are synthesised whole,
never spliced) and a 1–99 piece, unless the site's whole number range needs no more pieces than that
(``whole_numbers``). Other languages are synthesised by a fast formant engine, one piece per number (cached, or
said live on the board).

The spoken templates live here rather than in the gettext catalogs: they are not screen text but grammar (where the
number goes, floor ordinals: Japan's 1階 is the Brazilian *térreo*, the Korean particle 로/으로 after the counter's
name), and every language's sentence must stay cut at the same joints as its pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kiosk.config.site import Counter, Site

#: The engine languages a board speaks. ``ja-easy`` tickets are spoken as ``ja``.
SPOKEN_LANGUAGES = ("ja", "en", "zh", "ko", "vi", "pt")

#: Hundreds in Japanese, in kana: the sound changes (さんびゃく, ろっぴゃく, はっぴゃく) are in the piece itself.
JA_HUNDREDS = {
    1: "ひゃく",
    2: "にひゃく",
    3: "さんびゃく",
    4: "よんひゃく",
    5: "ごひゃく",
    6: "ろっぴゃく",
    7: "ななひゃく",
    8: "はっぴゃく",
    9: "きゅうひゃく",
}


@dataclass(frozen=True, order=True)
class Piece:
    """One cached recording: ``text`` in ``lang``'s voice, exactly as synthesised (the manifest's key)."""

    lang: str
    text: str


@dataclass(frozen=True)
class Utterance:
    """The call in one language: its pieces, played back to back."""

    lang: str
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        """The sentence as heard (pieces joined; a space between pieces outside CJK)."""
        sep = "" if self.lang in ("ja", "zh") else " "
        return sep.join(p.text for p in self.pieces).strip()


def _en_ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_PT_ORDINALS = ("primeiro", "segundo", "terceiro", "quarto", "quinto", "sexto", "sétimo", "oitavo", "nono", "décimo")


def _pt_floor(floor: int) -> str:
    """Japanese floors count the ground floor as 1階; in Brazil that is the térreo and 2階 is the 1º andar."""
    if floor <= 1:
        return "no térreo"
    above = floor - 1
    return f"no {_PT_ORDINALS[above - 1]} andar" if above <= len(_PT_ORDINALS) else f"no andar {above}"


def _ko_direction(name: str) -> str:
    """``로`` after a vowel or ㄹ, ``으로`` after any other final consonant (받침)."""
    last = name.rstrip()[-1:] if name.strip() else ""
    if "가" <= last <= "힣":
        final = (ord(last) - 0xAC00) % 28
        return f"{name}으로" if final not in (0, 8) else f"{name}로"
    if last.isdigit():  # read as Sino-Korean numbers: 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔 end in a consonant
        return f"{name}으로" if last in "0136" else f"{name}로"
    return f"{name}(으)로"


@dataclass(frozen=True)
class Spoken:
    """One language's call, cut into the joints its pieces are recorded at."""

    #: Said before the call on a recall.
    recall: str
    #: The fixed lead before the number ("" for none).
    lead: str
    #: The number with its counter word: ``{n}`` is the number (or its last two digits when composed).
    number: str
    #: The place: ``{name}`` is the counter's or booth's name from the site file, ``{floor}`` the floor words.
    place: str
    floor: Callable[[int], str]


SPOKEN: dict[str, Spoken] = {
    "ja": Spoken(
        "もう一度お呼びします。", "受付番号、", "{n}番のかた、", "{floor}、{name}へお越しください。", "{}階".format
    ),
    "en": Spoken(
        "Calling again.", "", "Number {n},", "please go to {name} on the {floor}.", lambda f: f"{_en_ordinal(f)} floor"
    ),
    "zh": Spoken("再次呼叫。", "", "请{n}号", "到{floor}{name}办理。", "{}楼".format),
    "ko": Spoken("다시 한 번 안내해 드립니다.", "", "{n}번 고객님,", "{floor} {name} 와 주십시오.", "{}층".format),
    "vi": Spoken("Xin mời lại lần nữa.", "", "Mời khách hàng số {n},", "đến {name}, {floor}.", "tầng {}".format),
    "pt": Spoken("Chamando novamente.", "", "Senha {n},", "por favor, vá até {name}, {floor}.", _pt_floor),
}


def spoken_language(lang: str) -> str:
    """The voice a ticket's language is spoken in (``ja-easy`` is Japanese; unknown ones fall back to English)."""
    if lang in ("ja", "ja-easy"):
        return "ja"
    return lang if lang in SPOKEN else "en"


def call_languages(ticket_lang: str) -> tuple[str, ...]:
    """Japanese first, then the ticket's language when it is neither Japanese nor English, then English."""
    own = spoken_language(ticket_lang)
    return ("ja", own, "en") if own not in ("ja", "en") else ("ja", "en")


def whole_numbers(first: int, last: int) -> bool:
    """Japanese numbers as one piece each when that needs no more pieces than composing them (9 hundreds + 99
    + 9 round hundreds = 117): a whole piece keeps the number's natural pitch accent."""
    return last - first + 1 <= len(JA_HUNDREDS) * 13


def _place_text(lang: str, counter: Counter) -> str:
    spoken = SPOKEN[lang]
    name = counter.names.get(lang)
    if lang == "ko":
        name = _ko_direction(name)
    return spoken.place.format(name=name, floor=spoken.floor(counter.floor))


def number_pieces(lang: str, number: int, whole: bool) -> tuple[Piece, ...]:
    """The number with its counter word; composed hundreds + rest in Japanese unless ``whole``."""
    template = SPOKEN[lang].number
    if lang != "ja" or whole or number < 100 or number >= 1000:
        return (Piece(lang, template.format(n=number)),)
    hundreds, rest = divmod(number, 100)
    if rest == 0:
        return (Piece(lang, template.format(n=number)),)
    return Piece(lang, JA_HUNDREDS[hundreds]), Piece(lang, template.format(n=rest))


def utterance(site: Site, lang: str, number: int, counter: Counter, recall: bool) -> Utterance:
    """One language's call."""
    spoken = SPOKEN[lang]
    whole = whole_numbers(site.queue.number_first, site.queue.number_last)
    pieces: list[Piece] = []
    if recall:
        pieces.append(Piece(lang, spoken.recall))
    if spoken.lead:
        pieces.append(Piece(lang, spoken.lead))
    pieces += number_pieces(lang, number, whole)
    pieces.append(Piece(lang, _place_text(lang, counter)))
    return Utterance(lang, tuple(pieces))


def plan_call(site: Site, number: int, counter_id: str, lang: str, recall: bool = False) -> tuple[Utterance, ...]:
    """Every utterance of a call, in the order they are played; empty for a counter the site does not have."""
    counter = site.counter_by_id.get(counter_id)
    if counter is None:
        return ()
    return tuple(utterance(site, spoken, number, counter, recall) for spoken in call_languages(lang))


def site_pieces(site: Site, languages: Iterable[str] = SPOKEN_LANGUAGES) -> list[Piece]:
    """Every piece any call at ``site`` can need in ``languages``: what the phrase cache must hold."""
    first, last = site.queue.number_first, site.queue.number_last
    whole = whole_numbers(first, last)
    out: set[Piece] = set()
    for lang in languages:
        spoken = SPOKEN[lang]
        out.add(Piece(lang, spoken.recall))
        if spoken.lead:
            out.add(Piece(lang, spoken.lead))
        for number in range(first, last + 1):
            out.update(number_pieces(lang, number, whole))
        for counter in site.counters:
            out.add(Piece(lang, _place_text(lang, counter)))
    return sorted(out)
