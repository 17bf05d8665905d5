"""Every language whole: a site lists its languages, and every name in it must exist in each of them.

Before, a name missing in Vietnamese silently fell back to English on the kiosk (a Vietnamese resident read
English questions); now ``check-site`` refuses the file and names every gap.
"""

from __future__ import annotations

import re

import pytest

from kiosk.config import ConfigError, load_site
from kiosk.languages import LANGUAGES
from madoguchi.cli import main
from tests.conftest import EXAMPLE_SITE


def site_copy(tmp_path, *replacements: tuple[str, str]):
    """The example site with exact text replaced (each must occur exactly once), and its form templates."""
    import shutil

    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    shutil.copytree(EXAMPLE_SITE.parent / "forms", tmp_path / "forms")
    return path


def test_the_example_is_whole_in_all_seven_languages(site):
    assert site.site.languages == LANGUAGES
    assert main(["check-site", str(EXAMPLE_SITE)]) == 0
    tennyu = site.procedure_by_id["tennyu"]
    for lang in LANGUAGES:
        assert all(item.has(lang) for item in tennyu.bring)
        assert all(q.text.has(lang) for q in site.questions)
        assert all(c.names.has(lang) for c in site.counters)
    # the real words, not an English fallback
    assert site.question_by_id["children"].text.get("vi").startswith("Bạn có con")
    assert site.counter_by_id["c21"].names.get("pt") == "Guichê 21"
    assert site.procedure_by_id["inkan_toroku"].names.get("ja-easy") == "はんこの とうろく"


def test_check_site_fails_on_one_missing_vietnamese_bring_item(tmp_path, capsys):
    vi = 'vi = "Giấy tờ tùy thân có ảnh", '
    path = site_copy(tmp_path, (vi, ""))
    assert main(["check-site", str(path)]) == 2
    err = capsys.readouterr().err
    assert "procedures[inkan_toroku].bring[1]: no vi translation" in err
    assert "1 name(s) without a translation" in err


def test_every_gap_is_listed_at_once(tmp_path):
    path = site_copy(
        tmp_path,
        (', zh = "3号窗口"', ""),
        (', ko = "중학생 이하 자녀(15세가 되는 해의 학년 말까지)가 있습니까?"', ""),
        (', ja-easy = "まどぐち B4"', ""),
        (', pt = "Contribuição do Seguro Nacional de Saúde"', ""),
        (', ja-easy = "1かいの あんない"', ""),
    )
    with pytest.raises(ConfigError) as err:
        load_site(path)
    message = str(err.value)
    for gap in (
        "counters[c03].names: no zh translation",
        "questions[children].text: no ko translation",
        "counters[b4].names: no ja-easy translation",
        "register.payees[kokuho].names: no pt translation",
        "devices[kiosk-concierge].reception: no ja-easy translation",
    ):
        assert gap in message
    assert "5 name(s) without a translation" in message


def test_a_site_that_lists_fewer_languages_needs_only_those(tmp_path):
    """A Japanese and English only site is valid without the other languages; its bar offers two."""
    path = site_copy(tmp_path, ('timezone = "Asia/Tokyo"', 'timezone = "Asia/Tokyo"\nlanguages = ["ja", "en"]'))
    text = path.read_text(encoding="utf-8")
    # drop every translation but ja and en
    text = re.sub(r', (zh|ko|vi|pt|ja-easy) = "[^"]*"', "", text)
    path.write_text(text, encoding="utf-8")
    site = load_site(path)
    assert site.site.languages == ("ja", "en")
    assert site.procedure_by_id["tennyu"].names.get("vi") == "Moving-in notification"  # unlisted: English
    assert main(["check-site", str(path)]) == 0
    # listing Vietnamese again makes every name without it an error
    path.write_text(text.replace('languages = ["ja", "en"]', 'languages = ["ja", "en", "vi"]'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"procedures\[juminhyo\]\.names: no vi translation"):
        load_site(path)


@pytest.mark.parametrize(
    ("languages", "needle"),
    [('["ja", "ja"]', "listed twice"), ('["en"]', 'must include "ja"'), ('["ja", "fr"]', "languages"), ("[]", "")],
)
def test_the_language_list_is_checked(tmp_path, languages, needle):
    path = site_copy(tmp_path, ('timezone = "Asia/Tokyo"', f'timezone = "Asia/Tokyo"\nlanguages = {languages}'))
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert needle in str(err.value)
