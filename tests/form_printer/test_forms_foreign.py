"""Forms for foreign residents: the variant templates (国籍・地域, 在留資格, 在留カード番号 instead of
本籍・筆頭者), chosen at fill time (never from the card), the Western date beside the era, the 在留カード番号 check, and
the bilingual label line (the resident's language under each Japanese label)
in every language, on A4 with nothing clipped.

Rendered pages land in build/test-artifacts/forms/foreign-<form>-<lang>.png (and .pdf) so they can be looked at.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageOps

from form_printer.card.basic4 import BasicFour
from form_printer.forms.fill import (
    FormInputs,
    field_values,
    invalid_fields,
    is_residence_card_number,
    normalize_residence_card_number,
    wareki_western,
)
from form_printer.forms.model import (
    SECOND_LANGUAGES,
    FormTemplate,
    base_forms,
    check_site_forms,
    load_templates,
    second_language,
    select_template,
)
from form_printer.forms.render import RenderedForm, forms_pdf, missing_glyphs, render_form
from kiosk.config import ConfigError
from tests.artifacts_dir import TEST_ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "sites" / "example" / "forms"
ARTIFACTS = TEST_ARTIFACTS / "forms"
TODAY = date(2026, 12, 4)
DPI = 300
ALL_LANGS = ("ja", "ja-easy", *SECOND_LANGUAGES)
GARCIA = ("GARCIA LOPEZ MARIA FERNANDA", "東京都さくら区緑が丘二丁目8番1号　グリーンハイツ305", "19900707", "2")
PRE = {
    "name_kana": "ガルシア ロペス マリア フェルナンダ",
    "phone": "090-1234-5678",
    "nationality": "ブラジル",
    "residence_status": "技術・人文知識・国際業務",
    "residence_card_number": "ab12345678cd",
    "period_of_stay_end": "2028-03-31",
    "resident_category": "mid_long",
    "certificate_type": "copy",
    "scope": "self",
    "copies": "1",
    "purpose": "就職のため",
    "submit_to": "勤務先",
    "include_relationship": "no",
    "include_nationality": "yes",
    "include_residence_status": "yes",
    "include_my_number": "no",
    "include_resident_code": "no",
    "move_date": "2026-12-01",
    "new_address": "東京都さくら区桜町一丁目2番3号　サクラマンション1201",
    "relationship": "世帯主",
    "household_head": "GARCIA LOPEZ MARIA FERNANDA",
    "member2_name": "SILVA PEDRO HENRIQUE",
    "member2_birth": "2015-10-10",
    "member2_sex": "1",
    "member2_relationship": "子",
    "member2_nationality": "ブラジル",
}
PROCEDURE = {"juminhyo": "juminhyo", "jumin_ido": "tennyu"}


def garcia() -> BasicFour:
    return BasicFour(*GARCIA)


def inputs(lang: str = "en", pre: dict[str, str] | None = None, form: str = "juminhyo", **kw) -> FormInputs:
    kiosk = {"procedure": PROCEDURE[form], "site_name": "さくら区役所"}
    return FormInputs(
        garcia(), dict(PRE if pre is None else pre), kiosk, TODAY, resident_kind="foreign", lang=lang, **kw
    )


@pytest.fixture(scope="module")
def templates() -> dict[str, FormTemplate]:
    return load_templates(FORMS)


@pytest.fixture(scope="module")
def pages(templates) -> dict[tuple[str, str], RenderedForm]:
    """Both variants, filled for a foreign resident, in every language (rendered once for the checks below)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = {}
    for form in ("juminhyo", "jumin_ido"):
        template = select_template(templates, form, "foreign")
        for lang in ALL_LANGS:
            page = render_form(template, inputs(lang, form=form))
            page.image.save(ARTIFACTS / f"foreign-{form}-{lang}.png")
            out[form, lang] = page
    for lang in ("en", "vi"):  # the print job as the printer gets it
        (ARTIFACTS / f"foreign-juminhyo-{lang}.pdf").write_bytes(forms_pdf([out["juminhyo", lang]]))
    return out


def px(mm: float) -> int:
    return round(mm * DPI / 25.4)


def rect_px(r, pad: int = 0) -> tuple[int, int, int, int]:
    """A template rectangle in dots; ``pad`` dots more on each side (rounding of strokes drawn on its edge)."""
    return px(r.x_mm) - pad, px(r.y_mm) - pad, px(r.right_mm) + pad, px(r.bottom_mm) + pad


def ink(image: Image.Image) -> Image.Image:
    return ImageOps.invert(image.convert("L"))


def ink_rows(image: Image.Image, box: tuple[int, int, int, int]) -> list[bool]:
    """Which dot rows inside ``box`` have ink (its ruling left out; the label tint's single dots are filtered out,
    strokes of text are wider than a dot)."""
    x0, y0, x1, y1 = box
    inside = ink(image).crop((x0 + 8, y0 + 8, x1 - 8, y1 - 8)).filter(ImageFilter.MedianFilter(3))
    return [inside.crop((0, y, inside.width, y + 1)).getbbox() is not None for y in range(inside.height)]


def ink_bands(rows: list[bool]) -> int:
    """How many separate bands of inked rows."""
    return sum(1 for i, r in enumerate(rows) if r and (i == 0 or not rows[i - 1]))


# ---------------------------------------------------------------- choosing the variant
def test_the_variant_is_chosen_at_fill_time_and_procedures_name_the_base(site, templates):
    assert select_template(templates, "juminhyo", "foreign").id == "juminhyo_foreign"
    assert select_template(templates, "jumin_ido", "foreign").id == "jumin_ido_foreign"
    assert select_template(templates, "juminhyo", "japanese").id == "juminhyo"
    assert select_template(templates, "juminhyo").id == "juminhyo"
    assert select_template(templates, "kokuho_shikaku", "foreign").id == "kokuho_shikaku"  # no variant: the base
    with pytest.raises(ValueError, match="unknown resident kind"):
        select_template(templates, "juminhyo", "alien")
    with pytest.raises(KeyError):
        select_template(templates, "no_such_form", "foreign")
    assert "juminhyo_foreign" not in base_forms(templates)
    check_site_forms(site, templates)
    assert not any(t.variant_of for p in site.procedures for f in p.forms for t in [templates[f]])


def test_the_card_never_chooses_the_variant(templates):
    """Same card, same data: only the fill-time parameter changes the form (the card holds no nationality)."""
    base = FormInputs(garcia(), dict(PRE), {"procedure": "juminhyo"}, TODAY)  # the old 4-argument call still works
    assert (base.resident_kind, base.lang) == ("japanese", "ja")
    assert select_template(templates, "juminhyo", base.resident_kind).id == "juminhyo"
    assert "garcia" not in repr(inputs()).lower() and "AB12345678CD".lower() not in repr(inputs()).lower()


def test_the_foreign_certificate_request_offers_nationality_and_status_not_domicile(templates):
    base, variant = templates["juminhyo"], templates["juminhyo_foreign"]

    def labels(t: FormTemplate) -> str:
        return " ".join(b.label.text for b in t.boxes if b.label)

    assert "本籍・筆頭者" in labels(base) and "本籍" not in labels(variant)
    for text in ("国籍・地域", "在留資格", "在留カード番号"):
        assert text in labels(variant), text
    assert {"include_nationality", "include_residence_status", "residence_card_number"} <= variant.pre_keys()
    assert "include_domicile" not in variant.pre_keys()
    assert variant.field_by_id["residence_card_number"].cells == 12
    ido = templates["jumin_ido_foreign"].pre_keys()
    assert {
        "nationality",
        "residence_status",
        "period_of_stay_end",
        "residence_card_number",
        "resident_category",
    } <= ido


def test_documented_pre_entry_names(templates):
    doc = (ROOT / "docs" / "forms.md").read_text(encoding="utf-8")
    for t in (templates["juminhyo_foreign"], templates["jumin_ido_foreign"]):
        for key in t.pre_keys():
            assert key in doc or key.replace("2", "N").replace("3", "N") in doc, key


# ---------------------------------------------------------------- dates and the residence card number (pure)
def test_western_date_beside_the_era(templates):
    assert wareki_western(TODAY) == "令和8年12月4日 (2026-12-04)"
    assert wareki_western(date(1989, 1, 8)) == "平成元年1月8日 (1989-01-08)"
    values = field_values(templates["juminhyo_foreign"], inputs())
    assert values["filed_on"] == "令和8年12月4日 (2026-12-04)"
    assert values["birth"] == "平成2年7月7日 (1990-07-07)"
    values = field_values(templates["jumin_ido_foreign"], inputs(form="jumin_ido"))
    assert values["period_of_stay_end"] == "令和10年3月31日 (2028-03-31)"
    assert values["move_date"] == "令和8年12月1日 (2026-12-01)"
    assert values["member2_birth"] == "平成27年10月10日 (2015-10-10)"
    assert values["kind"] == "転入" and values["resident_category"] == "中長期在留者"
    assert field_values(templates["juminhyo"], inputs())["birth"] == "平成2年7月7日"  # the base form: era only


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("AB12345678CD", "AB12345678CD"),
        ("ab12345678cd", "AB12345678CD"),
        ("ＡＢ１２３４５６７８ＣＤ", "AB12345678CD"),  # full width, as a Japanese IME types it
        ("AB 1234 5678 CD", "AB12345678CD"),
        ("AB-12345678-CD", "AB12345678CD"),
    ],
)
def test_residence_card_numbers_that_pass(typed, number, templates):
    assert is_residence_card_number(typed)
    assert normalize_residence_card_number(typed) == number
    pre = {"residence_card_number": typed}
    assert field_values(templates["juminhyo_foreign"], inputs(pre=pre))["residence_card_number"] == number
    assert invalid_fields(templates["juminhyo_foreign"], inputs(pre=pre)) == []


@pytest.mark.parametrize(
    "typed",
    ["AB1234567CD", "AB123456789CD", "A123456789CD", "AB12345678C1", "1234567890AB", "AB12345678CDE", "ＡＢ１２３"],
)
def test_residence_card_numbers_that_fail_print_blank_and_are_listed(typed, templates):
    assert not is_residence_card_number(typed)
    template = templates["juminhyo_foreign"]
    pre = {"residence_card_number": typed}
    assert field_values(template, inputs(pre=pre))["residence_card_number"] == ""
    assert invalid_fields(template, inputs(pre=pre)) == ["residence_card_number"]


def test_an_invalid_number_leaves_its_cells_blank(templates):
    template = templates["juminhyo_foreign"]
    bad = render_form(template, inputs("en", {"residence_card_number": "AB1234567CD"}))
    empty = render_form(template, inputs("en", {}))
    good = render_form(template, inputs("en", {"residence_card_number": "AB12345678CD"}))
    assert bad.invalid == ["residence_card_number"] and bad.overflows == []
    assert empty.invalid == [] and good.invalid == []
    assert ImageChops.difference(bad.image.convert("L"), empty.image.convert("L")).getbbox() is None
    diff = ImageChops.difference(good.image.convert("L"), empty.image.convert("L"))
    cells = rect_px(template.field_by_id["residence_card_number"])
    assert diff.getbbox() is not None and ImageChops.difference(diff, diff).getbbox() is None
    x0, y0, x1, y1 = diff.getbbox()
    assert cells[0] <= x0 and cells[1] <= y0 and x1 <= cells[2] and y1 <= cells[3], "the number stays in its cells"
    # one character in each of the 12 cells
    width = (cells[2] - cells[0]) / 12
    for i in range(12):
        cell = (round(cells[0] + i * width) + 3, cells[1], round(cells[0] + (i + 1) * width) - 3, cells[3])
        assert diff.crop(cell).getbbox() is not None, i


# ---------------------------------------------------------------- the bilingual label line
def test_second_language_follows_the_template_and_the_resident(templates):
    variant, base = templates["juminhyo_foreign"], templates["juminhyo"]
    assert variant.bilingual and not base.bilingual
    assert [second_language(variant, lang) for lang in ALL_LANGS] == [None, None, *SECOND_LANGUAGES]
    assert second_language(variant, "pt-BR") == "pt" and second_language(variant, "zh_CN") == "zh"
    assert second_language(variant, "fr") is None
    assert second_language(base, "en") is None


def test_every_translation_is_in_the_font(templates):
    """Noto Sans CJK JP draws every script the forms print: Latin with Vietnamese and Portuguese accents, Hangul,
    simplified Chinese."""
    seen = 0
    for t in templates.values():
        styles = [b.label for b in t.boxes if b.label] + list(t.texts) + [o for f in t.fields for o in f.options]
        for style in styles:
            for lang in SECOND_LANGUAGES:
                text = style.tr.get(lang) if style.tr else None
                if text:
                    seen += 1
                    assert missing_glyphs(text) == [], (t.id, lang, text)
    assert seen > 200


def test_every_language_fits_on_a4_with_nothing_clipped(pages, templates):
    for (form, lang), page in pages.items():
        assert page.problems == [], (form, lang)  # every label and its second line fits its place
        assert page.overflows == [] and page.invalid == [], (form, lang)
        assert page.image.size == (2480, 3508) and page.image.mode == "1"
        assert page.second_language == (None if lang in ("ja", "ja-easy") else lang)
        margin = px(10)
        left, top, right, bottom = ink(page.image).getbbox()
        assert left >= margin and top >= margin, (form, lang)
        assert right <= 2480 - margin and bottom <= 3508 - margin, (form, lang)


def test_japanese_and_easy_japanese_print_no_second_line(pages):
    for form in ("juminhyo", "jumin_ido"):
        a, b = pages[form, "ja"].image.convert("L"), pages[form, "ja-easy"].image.convert("L")
        assert ImageChops.difference(a, b).getbbox() is None
        assert ImageChops.difference(a, pages[form, "en"].image.convert("L")).getbbox() is not None


def test_the_translation_is_a_second_line_under_the_japanese_label(pages, templates):
    template = templates["juminhyo_foreign"]
    name_label = next(b for b in template.boxes if b.label and b.label.text == "氏名")
    ja = ink_rows(pages["juminhyo", "ja"].image, rect_px(name_label))
    assert ink_bands(ja) == 1
    ja_top, ja_bottom = ja.index(True), len(ja) - ja[::-1].index(True)
    for lang in SECOND_LANGUAGES:
        rows = ink_rows(pages["juminhyo", lang].image, rect_px(name_label))
        top, bottom = rows.index(True), len(rows) - rows[::-1].index(True)
        assert ink_bands(rows) >= 2, lang
        assert top < ja_top and bottom > ja_bottom + 15, lang  # the Japanese moves up, the translation goes under
        assert ja_bottom - ja_top < 0.6 * (bottom - top), lang


def test_translations_only_touch_labels_never_the_residents_data(pages, templates):
    """What changes between ja and en is inside label cells, fixed texts and option marks: the printed values
    are the same dots, and no second line runs into a value's box."""
    for form in ("juminhyo", "jumin_ido"):
        template = select_template(templates, form, "foreign")
        diff = ImageChops.difference(pages[form, "ja"].image.convert("L"), pages[form, "en"].image.convert("L"))
        outside = diff.copy()
        for b in template.boxes:
            if b.label:
                outside.paste(0, rect_px(b, 2))
        for t in template.texts:
            outside.paste(0, rect_px(t, 2))
        for f in template.fields:
            for o in f.options:
                outside.paste(0, rect_px(o, 2))
        assert outside.getbbox() is None, form


def test_a_form_that_is_not_bilingual_ignores_the_language(templates):
    base = templates["juminhyo"]
    ja = render_form(base, FormInputs(garcia(), {}, {"procedure": "juminhyo"}, TODAY))
    en = render_form(
        base, FormInputs(garcia(), {}, {"procedure": "juminhyo"}, TODAY, resident_kind="foreign", lang="en")
    )
    assert en.second_language is None
    assert ImageChops.difference(ja.image.convert("L"), en.image.convert("L")).getbbox() is None


# ---------------------------------------------------------------- templates as data
def _write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")


FIELD = '\n[[fields]]\nid = "f"\nsource = "pre.x"\nx_mm = 20\ny_mm = 20\nw_mm = 50\nh_mm = 10\n'


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a": 'id = "a"\ntitle = "A"\nvariant_of = "b"\n' + FIELD}, r"variant_of and resident_kind go together"),
        (
            {"a": 'id = "a"\ntitle = "A"\nvariant_of = "nope"\nresident_kind = "foreign"\n' + FIELD},
            r"a\.toml: variant_of 'nope' is not a base form",
        ),
        (
            {
                "a": 'id = "a"\ntitle = "A"\n' + FIELD,
                "a_f1": 'id = "a_f1"\ntitle = "A"\nvariant_of = "a"\nresident_kind = "foreign"\n' + FIELD,
                "a_f2": 'id = "a_f2"\ntitle = "A"\nvariant_of = "a"\nresident_kind = "foreign"\n' + FIELD,
            },
            r"'a_f1' is already the foreign variant",
        ),
        (
            {"a": 'id = "a"\ntitle = "A"\nresident_kind = "martian"\nvariant_of = "b"\n' + FIELD},
            r"a\.toml:\d+: resident_kind",
        ),
        (
            {
                "a": 'id = "a"\ntitle = "A"\nboxes = [{ x_mm = 20, y_mm = 40, w_mm = 9, h_mm = 30, label = { '
                'text = "欄", vertical = true, tr = { en = "Box" } } }]\n' + FIELD
            },
            r"vertical label cannot carry translations",
        ),
        (
            {
                "a": 'id = "a"\ntitle = "A"\nboxes = [{ x_mm = 20, y_mm = 40, w_mm = 20, h_mm = 9, label = { '
                'text = "欄", tr = { fr = "Case" } } }]\n' + FIELD
            },
            r"tr\.fr: unknown key",
        ),
    ],
)
def test_bad_variant_or_translation_keys_are_errors(tmp_path, files, expected):
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=expected):
        load_templates(tmp_path)


def test_a_procedure_naming_a_variant_is_refused(site, templates):
    broken = site.model_copy(
        update={
            "procedures": tuple(
                p.model_copy(update={"forms": ("juminhyo_foreign",)}) if p.id == "juminhyo" else p
                for p in site.procedures
            )
        }
    )
    with pytest.raises(ValueError, match=r"'juminhyo_foreign' is a variant; name its base form 'juminhyo'"):
        check_site_forms(broken, templates)


def test_render_time_of_a_bilingual_page(templates):
    """The desk prints a visit's forms in one job within a second: a bilingual page is not much slower."""
    import time

    template = templates["juminhyo_foreign"]
    render_form(template, inputs("vi"))  # fonts loaded
    start = time.perf_counter()
    render_form(template, inputs("vi"))
    assert time.perf_counter() - start < 0.6
