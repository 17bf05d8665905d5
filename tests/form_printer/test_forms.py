"""Application forms: templates load and match the site, fill (wareki, choices, blanks), layout (shrink, wrap,
kinsoku, vertical, overflow) and rendering of every template for every test resident.

Rendered pages land in build/test-artifacts/forms/<form>-<resident>.png (gitignored) so they can be looked at.
"""

from __future__ import annotations

import io
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageOps, PdfParser

from form_printer.card.basic4 import BasicFour
from form_printer.forms.fill import FormInputs, field_values, wareki
from form_printer.forms.layout import LINE_PITCH, block_extent, fit_text, measure_vertical
from form_printer.forms.model import FormTemplate, base_forms, check_site_forms, load_templates
from form_printer.forms.render import forms_pdf, has_glyph, missing_glyphs, preview_image, render_form
from kiosk.config import ConfigError
from kiosk.text_rules import NO_LINE_END, NO_LINE_START
from tests.artifacts_dir import TEST_ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "sites" / "example" / "forms"
ARTIFACTS = TEST_ARTIFACTS / "forms"
RESIDENTS = tomllib.loads((ROOT / "devkit" / "residents.toml").read_text(encoding="utf-8"))["residents"]
TODAY = date(2026, 11, 23)
DPI = 300


def card(resident_id: str, **changes: str) -> BasicFour:
    r = next(r for r in RESIDENTS if r["id"] == resident_id)
    items = {k: r[k] for k in ("name", "address", "birth", "sex")} | changes
    return BasicFour(**items)


def inputs(c: BasicFour | None, pre: dict[str, str] | None = None, procedure: str = "tennyu") -> FormInputs:
    return FormInputs(card=c, pre=pre or {}, kiosk={"procedure": procedure, "site_name": "さくら区役所"}, today=TODAY)


@pytest.fixture(scope="module")
def templates() -> dict[str, FormTemplate]:
    return load_templates(FORMS)


def px(mm: float) -> int:
    return round(mm * DPI / 25.4)


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the black dots of a page."""
    return ImageOps.invert(image.convert("L")).getbbox()


# ---------------------------------------------------------------- layout (pure)
def fake_measure(text: str, size: float) -> float:
    """Full-width characters are one em, ASCII half an em: like a real Japanese font, without one."""
    return sum(size if ord(ch) > 0x7F else size / 2 for ch in text)


def test_short_text_stays_at_full_size_on_one_line():
    fit = fit_text("山田　太郎", 100, 20, 10, 6, False, fake_measure)
    assert fit == fit.__class__(["山田　太郎"], 10, False)


def test_text_shrinks_before_it_wraps():
    # 12 characters at size 10 need 120 wide; the box is 100 wide and tall enough for two lines at full size,
    # yet one line at a smaller size wins.
    fit = fit_text("あ" * 12, 100, 40, 10, 6, False, fake_measure)
    assert len(fit.lines) == 1 and not fit.overflow
    assert 6 <= fit.size < 10
    assert fake_measure(fit.lines[0], fit.size) <= 100


def test_text_wraps_only_below_min_size_and_then_at_the_largest_size_that_fits():
    text = "北海道札幌市中央区北一条西二十三丁目一番四十五号さくらグランドレジデンス"  # 36 full-width characters
    fit = fit_text(text, 100, 40, 10, 8, False, fake_measure)  # one line would need size 100/36 < 8
    assert not fit.overflow and len(fit.lines) >= 2
    assert "".join(fit.lines) == text
    assert all(fake_measure(ln, fit.size) <= 100 for ln in fit.lines)
    assert block_extent(len(fit.lines), fit.size) <= 40
    assert fit.size > 8, "wrapped lines are set at the largest size that fits, not at the minimum"


def test_kinsoku_no_line_starts_with_a_closing_mark_or_ends_with_an_opening_one():
    text = "あいうえお。かきくけ「こさし」すせそッたちつてとーなにぬね、のはひふ（へほ）"
    fit = fit_text(text, 50, 200, 10, 10, False, fake_measure)  # 5 characters a line, no shrinking allowed
    assert not fit.overflow and "".join(fit.lines) == text
    for line in fit.lines:
        assert fake_measure(line, 10) <= 50
    for prev, cur in zip(fit.lines, fit.lines[1:], strict=False):
        assert cur[0] not in NO_LINE_START, fit.lines
        assert prev[-1] not in NO_LINE_END, fit.lines
    assert "。" not in [ln[0] for ln in fit.lines]


def test_alphabet_breaks_at_spaces():
    name = "GARCIA LOPEZ MARIA FERNANDA"
    fit = fit_text(name, 60, 100, 10, 10, False, fake_measure)  # 12 ASCII characters a line
    assert not fit.overflow
    assert fit.lines == ["GARCIA LOPEZ", "MARIA", "FERNANDA"]


def test_a_word_longer_than_the_line_is_broken_between_letters_not_clipped():
    fit = fit_text("Wolfeschlegelsteinhausenberger", 40, 100, 10, 10, False, fake_measure)
    assert not fit.overflow
    assert "".join(fit.lines) == "Wolfeschlegelsteinhausenberger"
    assert all(fake_measure(ln, 10) <= 40 for ln in fit.lines)


def test_text_that_cannot_fit_even_at_min_size_is_flagged_not_clipped():
    fit = fit_text("東京都さくら区" * 10, 50, 12, 10, 8, False, fake_measure)
    assert fit.overflow and fit.size == 8


def test_empty_text_is_no_lines_and_no_overflow():
    assert fit_text("  ", 50, 10, 10, 8, False, fake_measure) == fit_text("", 50, 10, 10, 8, False, fake_measure)
    assert fit_text("", 50, 10, 10, 8, False, fake_measure).lines == []


def test_vertical_text_fills_columns_of_character_cells_right_to_left_order():
    def no_measure(text: str, size: float) -> float:
        raise AssertionError("vertical text is measured in character cells")

    # 5 cells a column, room for 2 columns at size 10 (10 + 12.5 = 22.5 wide)
    fit = fit_text("勅使河原髙𠮷左衛", 23, 50, 10, 10, True, no_measure)
    assert fit == fit.__class__(["勅使河原髙", "𠮷左衛"], 10, False)
    fit = fit_text("あいうえお。かき", 23, 50, 10, 10, True, no_measure)  # 。 may not start a column
    assert fit.lines == ["あいうえ", "お。かき"]
    assert measure_vertical("GARCIA LOPEZ", 10) == 115  # 11 letters and a half-cell space


def test_vertical_text_shrinks_then_wraps_into_columns():
    fit = fit_text("GARCIA LOPEZ MARIA FERNANDA", 60, 70, 14, 8, True, fake_measure)
    assert not fit.overflow and 8 < fit.size < 14
    assert fit.lines == ["GARCIA", "LOPEZ", "MARIA", "FERNANDA"]  # smaller, rather than FERNAN / DA
    assert all(measure_vertical(col, fit.size) <= 70 for col in fit.lines)  # columns run down the box's height
    assert block_extent(len(fit.lines), fit.size) <= 60  # and stack across its width


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="あいうアイウ漢字髙𠮷。、「」（）ーッABC xyz", max_size=60),
    box_w=st.floats(5, 200),
    box_h=st.floats(5, 80),
    vertical=st.booleans(),
)
def test_no_line_is_ever_longer_than_the_box_and_nothing_is_lost(text, box_w, box_h, vertical):
    fit = fit_text(text, box_w, box_h, 10, 6, vertical, fake_measure)
    if fit.overflow:
        return
    measure = measure_vertical if vertical else fake_measure
    length, breadth = (box_h, box_w) if vertical else (box_w, box_h)
    assert all(measure(ln, fit.size) <= length + 1e-6 for ln in fit.lines)
    assert block_extent(len(fit.lines), fit.size) <= breadth + 1e-6
    assert 6 <= fit.size <= 10
    squeeze = re.compile(r"[ \u3000]")
    assert squeeze.sub("", "".join(fit.lines)) == squeeze.sub("", text)
    assert LINE_PITCH > 1


# ---------------------------------------------------------------- fill (pure)
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(1985, 4, 12), "昭和60年4月12日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1990, 1, 1), "平成2年1月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 11, 23), "令和8年11月23日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1873, 1, 1), "明治6年1月1日"),
        (date(1872, 12, 31), "1872年12月31日"),  # lunar calendar then: no Gregorian era date exists
    ],
)
def test_wareki(day, expected):
    assert wareki(day) == expected


def test_field_values_from_card_kiosk_and_today(templates):
    values = field_values(templates["jumin_ido"], inputs(card("yamada"), procedure="tenkyo"))
    assert values["name"] == "山田　太郎"
    assert values["address"] == values["old_address"] == "東京都さくら区桜町一丁目2番3号"
    assert values["birth"] == "昭和60年4月12日"
    assert values["sex"] == "男"
    assert values["kind"] == "転居"
    assert values["filed_on"] == "令和8年11月23日"


def test_missing_pre_entered_data_leaves_blanks(templates):
    values = field_values(templates["jumin_ido"], inputs(card("yamada")))
    for key in ("name_kana", "phone", "move_date", "new_address", "household_head", "member2_name", "member2_sex"):
        assert values[key] == "", key


def test_pre_entered_values_and_their_formats(templates):
    pre = {"move_date": "2019-05-01", "member2_sex": "2", "new_address": "  東京都さくら区桜町一丁目 ", "phone": "03-1"}
    values = field_values(templates["jumin_ido"], inputs(card("yamada"), pre))
    assert values["move_date"] == "令和元年5月1日"
    assert values["member2_sex"] == "女"
    assert values["new_address"] == "東京都さくら区桜町一丁目"
    pre["move_date"] = "来月の20日"  # not ISO: printed as the resident typed it, not dropped
    assert field_values(templates["jumin_ido"], inputs(card("yamada"), pre))["move_date"] == "来月の20日"


def test_sex_9_and_unknown_procedure_circle_nothing(templates):
    values = field_values(templates["jumin_ido"], inputs(card("nonbinary"), procedure="juminhyo"))
    assert values["sex"] == "" and values["kind"] == ""
    assert values["name"] == "佐藤　晶"


def test_no_card_or_a_wiped_card_fills_no_card_fields(templates):
    wiped = card("yamada")
    wiped.wipe()
    for c in (None, wiped):
        values = field_values(templates["juminhyo"], inputs(c))
        assert values["name"] == values["address"] == values["birth"] == values["sex"] == ""
        assert values["filed_on"] == "令和8年11月23日"


def test_western_date_format():
    template = FormTemplate.model_validate(
        {
            "id": "t",
            "title": "テスト",
            "fields": [
                {
                    "id": "b",
                    "source": "card.birth",
                    "format": "western_date",
                    "x_mm": 20,
                    "y_mm": 20,
                    "w_mm": 50,
                    "h_mm": 10,
                }
            ],
        }
    )
    assert field_values(template, inputs(card("long_name"))) == {"b": "1952年2月29日"}


# ---------------------------------------------------------------- templates as data
def test_templates_load_and_cover_every_form_the_site_names(site, templates):
    assert set(base_forms(templates)) == {"jumin_ido", "juminhyo", "inkan_toroku", "kokuho_shikaku", "jidou_teate"}
    assert set(templates) - set(base_forms(templates)) == {"juminhyo_foreign", "jumin_ido_foreign"}
    check_site_forms(site, templates)
    assert any(f.vertical for t in templates.values() for f in t.fields), "vertical writing must be exercised"


def test_check_site_forms_names_the_procedure_without_a_template(site, templates):
    partial = {k: v for k, v in templates.items() if k != "kokuho_shikaku"}
    with pytest.raises(ValueError, match=r"kokuho_kanyu.*'kokuho_shikaku' has no template"):
        check_site_forms(site, partial)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'x_mm = 20, y_mm = 20, w_mm = 50, h_mm = 10, colour = "red"',
            r"bad\.toml:\d+: fields\[0\]\.colour: unknown key",
        ),
        ("x_mm = 180, y_mm = 20, w_mm = 50, h_mm = 10", r"bad\.toml.*fields\[0\] \(f\): reaches outside the printable"),
        (
            'x_mm = 20, y_mm = 20, w_mm = 50, h_mm = 10, format = "choice"',
            r"bad\.toml:\d+: fields\[0\]: .*needs options",
        ),
        ("x_mm = 20, y_mm = 20, w_mm = 50, h_mm = 10, size_pt = 6", r"min_size_pt 7\.0 is larger than size_pt 6\.0"),
    ],
)
def test_a_bad_template_is_an_error_naming_file_line_and_field(tmp_path, body, expected):
    (tmp_path / "bad.toml").write_text(
        f'id = "bad"\ntitle = "テスト"\n\n[[fields]]\nid = "f"\nsource = "pre.x"\n{body.replace(", ", chr(10))}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_templates(tmp_path)
    assert re.search(expected, str(err.value)), str(err.value)


def test_a_template_file_must_be_named_after_its_id(tmp_path):
    (tmp_path / "other.toml").write_text((FORMS / "juminhyo.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other\.toml: id 'juminhyo' does not match the file name"):
        load_templates(tmp_path)


def test_pre_entry_names_are_documented(templates):
    doc = (ROOT / "docs" / "forms.md").read_text(encoding="utf-8")
    for template in templates.values():
        for key in template.pre_keys():
            documented = key in doc or re.sub(r"\d", "N", key) in doc
            assert documented, f"pre.{key} ({template.id}) is not in docs/forms.md"


# ---------------------------------------------------------------- rendering
@pytest.fixture(scope="module")
def rendered(templates):
    """Every template for every test resident (rendered once for all the checks below)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = {}
    for r in RESIDENTS:
        for form_id, template in templates.items():
            form = render_form(template, inputs(card(r["id"])))
            form.image.save(ARTIFACTS / f"{form_id}-{r['id']}.png")
            out[form_id, r["id"]] = form
    return out


def test_every_form_renders_for_every_resident_without_overflow(rendered, templates):
    assert len(rendered) == len(templates) * len(RESIDENTS)
    for (form_id, resident), form in rendered.items():
        assert form.overflows == [], (form_id, resident)
        assert form.problems == [], (form_id, resident)
        assert form.image.mode == "1"
        assert form.image.size == (2480, 3508)
        assert form.fits["name"].lines, (form_id, resident)  # the name was printed


def test_nothing_is_drawn_in_the_page_margins(rendered, templates):
    for (form_id, resident), form in rendered.items():
        margin = px(templates[form_id].page.margin_mm)
        left, top, right, bottom = ink_box(form.image)
        assert left >= margin and top >= margin, (form_id, resident)
        assert right <= form.image.width - margin and bottom <= form.image.height - margin, (form_id, resident)


def field_rect_px(template: FormTemplate, field_id: str) -> tuple[int, int, int, int]:
    f = template.field_by_id[field_id]
    return px(f.x_mm), px(f.y_mm), px(f.right_mm), px(f.bottom_mm)


def only_inside(diff: Image.Image, rects: list[tuple[int, int, int, int]]) -> Image.Image:
    """``diff`` with the given rectangles blanked: what changed outside them."""
    outside = diff.copy()
    for rect in rects:
        outside.paste(0, rect)
    return outside


def test_the_long_address_wraps_inside_its_box(templates, rendered):
    template = templates["jumin_ido"]
    form = rendered["jumin_ido", "long_address"]
    assert len(form.fits["address"].lines) >= 2 and len(form.fits["old_address"].lines) >= 2
    blank = render_form(template, inputs(card("long_address", address="")))
    diff = ImageChops.difference(form.image.convert("L"), blank.image.convert("L"))
    boxes = [field_rect_px(template, "address"), field_rect_px(template, "old_address")]
    assert all(diff.crop(rect).getbbox() for rect in boxes), "the address was printed in both boxes"
    assert only_inside(diff, boxes).getbbox() is None, "ink of the address outside its boxes"


def test_vertical_seal_name_stays_in_its_column_box(templates, rendered):
    template = templates["inkan_toroku"]
    assert template.field_by_id["seal_owner"].vertical
    blank = render_form(template, inputs(None))
    for resident in ("long_name", "foreign"):
        form = rendered["inkan_toroku", resident]
        diff = ImageChops.difference(form.image.convert("L"), blank.image.convert("L"))
        rect = field_rect_px(template, "seal_owner")
        assert diff.crop(rect).getbbox()
        card_fields = [field_rect_px(template, f.id) for f in template.fields if f.source.startswith("card.")]
        assert only_inside(diff, card_fields).getbbox() is None
    assert len(rendered["inkan_toroku", "foreign"].fits["seal_owner"].lines) == 3  # GARCIA / LOPEZ MARIA / ...


def test_sex_9_draws_no_circle(templates, rendered):
    template = templates["juminhyo"]
    blank = render_form(template, inputs(None))
    sex = field_rect_px(template, "sex")

    def circle_region(form):
        return ImageChops.difference(form.image.convert("L"), blank.image.convert("L")).crop(sex).getbbox()

    assert circle_region(rendered["juminhyo", "nonbinary"]) is None
    assert circle_region(rendered["juminhyo", "yamada"]) is not None


def test_the_font_draws_rare_kanji_and_a_missing_glyph_blanks_the_field(templates):
    assert has_glyph("𠮷") and has_glyph("髙") and has_glyph("齋") and has_glyph("邉")
    assert not has_glyph("\U00013000")  # an Egyptian hieroglyph: not in Noto Sans CJK
    assert missing_glyphs("山田\U00013000太郎\U000f0000") == ["\U00013000", "\U000f0000"]
    template = templates["inkan_toroku"]
    form = render_form(template, inputs(card("yamada", name="山田\U000f0000太郎")))  # a private-use 外字
    assert form.overflows == ["name", "seal_owner"]
    blank = render_form(template, inputs(card("yamada", name="")))
    assert ImageChops.difference(form.image.convert("L"), blank.image.convert("L")).getbbox() is None


def test_a_value_too_long_for_its_box_is_left_blank_and_listed(templates):
    template = templates["juminhyo"]
    pre = {"purpose": "勤務先の社会保険の手続きに必要なため" * 6, "copies": "2"}
    form = render_form(template, inputs(card("yamada"), pre))
    assert form.overflows == ["purpose"]
    assert "copies" in form.fits
    without = render_form(template, inputs(card("yamada"), {"copies": "2"}))
    assert ImageChops.difference(form.image.convert("L"), without.image.convert("L")).getbbox() is None


def test_forms_pdf_is_one_job_of_a4_pages(rendered):
    forms = [rendered[form_id, "yamada"] for form_id in ("jumin_ido", "kokuho_shikaku", "jidou_teate")]
    pdf = forms_pdf(forms)
    assert pdf.startswith(b"%PDF")
    parsed = PdfParser.PdfParser(buf=pdf)
    assert len(parsed.pages) == 3
    for ref in parsed.pages:
        page = parsed.read_indirect(ref)
        x0, y0, width, height = page[b"MediaBox"]
        assert (x0, y0) == (0, 0)
        assert width == pytest.approx(210 / 25.4 * 72, abs=0.01)  # 595.28 pt
        assert height == pytest.approx(297 / 25.4 * 72, abs=0.01)  # 841.89 pt
    assert len(pdf) < 3 * 250_000, "1-bit pages should compress well (CCITT G4; the label tint costs most)"
    with pytest.raises(ValueError):
        forms_pdf([])


def test_preview_image_scales_the_page(rendered):
    form = rendered["juminhyo", "long_name"]
    preview = preview_image(form, 800)
    assert preview.mode == "L" and preview.size == (800, round(3508 * 800 / 2480))
    image = Image.open(io.BytesIO(_png(preview)))
    assert image.size == preview.size


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_personal_data_never_shows_in_a_repr():
    """No log prints these today; one careless log line or a traceback's locals would."""
    from datetime import UTC, date, datetime

    from form_printer.card.basic4 import BasicFour
    from form_printer.forms.fill import FormInputs
    from form_printer.issuer import Visit
    from form_printer.preentry import PreEntry

    card = BasicFour("山田　太郎", "東京都さくら区梅田一丁目1番1号", "19850412", "1")
    pre = {"bank_account": "1234567", "phone": "090-1234-5678"}
    texts = [
        repr(Visit(items=card, pre=dict(pre), procedures=["tennyu"])),
        repr(FormInputs(card=card, pre=dict(pre), kiosk={"procedure": "tennyu"}, today=date(2026, 12, 4))),
        repr(PreEntry(fields=dict(pre), expires=datetime(2026, 12, 31, tzinfo=UTC))),
    ]
    for text in texts:
        for secret in ("山田", "梅田", "19850412", "1234567", "090-1234-5678"):
            assert secret not in text, text
