"""The site file: strict validation with errors a technician can act on."""

from __future__ import annotations

import re

import pytest

from kiosk.config import ConfigError, load_site
from madoguchi.cli import main
from tests.conftest import EXAMPLE_SITE


def test_the_example_ward_office_is_complete(site):
    groups = {g.names.ja for g in site.groups}
    for name in (
        "住民異動",
        "戸籍",
        "証明発行",
        "国民健康保険",
        "国民年金",
        "児童手当・こども医療",
        "介護保険",
        "税証明",
    ):
        assert name in groups
    assert any("納付" in g for g in groups)
    assert len(site.procedures) >= 20
    events = {e.names.ja.split("（")[0] for e in site.life_events}
    assert {"転入", "転出", "転居", "出生", "結婚"} <= events and any("おくやみ" in e for e in events)
    assert site.service_device is not None


def test_life_events_imply_procedures_by_answers(site):
    assert site.procedures_for("moving_in", {}) == ["tennyu"]
    with_kids = site.procedures_for("moving_in", {"children": True, "kokuho": True, "over_65": False})
    assert with_kids == ["tennyu", "kokuho_kanyu", "jidou_teate", "kodomo_iryo"]
    assert [q.id for q in site.questions_for("birth")] == ["kokuho"]


def write(tmp_path, text: str):
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(tmp_path, old: str, new: str):
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path, text.replace(old, new, 1))


def line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = broken(tmp_path, 'id = "tenshutsu"', 'id = "tenshutsu"\ncolour = "red"')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    [problem] = err.value.problems
    assert problem == f"{path}:{line_of(path, 'colour')}: procedures[1].colour: unknown key (not allowed here)"


def test_wrong_type_names_the_line(tmp_path):
    path = broken(tmp_path, "minutes = 15\n", 'minutes = "fifteen"\n')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert f":{line_of(path, 'fifteen')}: procedures[0].minutes:" in str(err.value)


def test_unknown_group_reference(tmp_path):
    path = broken(tmp_path, 'group = "kaigo"', 'group = "kaigoo"')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    msg = str(err.value)
    assert "unknown group 'kaigoo'" in msg and f"{path}:" in msg


def test_prerequisite_cycle_is_refused(tmp_path):
    path = broken(tmp_path, 'id = "tennyu"', 'id = "tennyu"\nrequires = ["kokuho_kanyu"]')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert "cycle" in str(err.value) and "tennyu" in str(err.value)


def test_condition_must_name_a_question(tmp_path):
    path = broken(
        tmp_path, '{ id = "kaigo_soushitsu", when = ["over_65"] }', '{ id = "kaigo_soushitsu", when = ["over_60"] }'
    )
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert "'over_60' names no question" in str(err.value)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_site(write(tmp_path, "[site\n"))
    assert "not valid TOML" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_site(tmp_path / "nope.toml")
    assert "cannot read" in str(err.value)


def test_ids_must_be_topic_safe(tmp_path):
    path = broken(tmp_path, 'id = "kiosk-1f"', 'id = "kiosk/#"')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert "devices[1].id" in str(err.value)


def test_check_site_command(tmp_path, capsys):
    assert main(["check-site", str(EXAMPLE_SITE)]) == 0
    assert "ok" in capsys.readouterr().out
    path = broken(tmp_path, 'timezone = "Asia/Tokyo"', 'timezone = "Asia/Edo"')
    assert main(["check-site", str(path)]) == 2
    assert "unknown time zone" in capsys.readouterr().err


def test_check_site_checks_the_form_templates_too(tmp_path, capsys):
    import shutil

    shutil.copytree(EXAMPLE_SITE.parent / "forms", tmp_path / "forms")
    path = broken(tmp_path, 'forms = ["juminhyo"]', 'forms = ["juminhyo_v2"]')
    assert main(["check-site", str(path)]) == 2
    assert "juminhyo_v2" in capsys.readouterr().err
    (tmp_path / "forms" / "juminhyo.toml").write_text('id = "juminhyo"\nunknown_key = 1\n')
    path = broken(tmp_path, 'id = "tennyu"', 'id = "tennyu"')
    assert main(["check-site", str(path)]) == 2
    assert "juminhyo.toml" in capsys.readouterr().err


def test_staff_hashes_with_impossible_iterations_are_refused_by_check_site(tmp_path):
    """99999999999999999999 iterations once passed check-site, then every login was a 500 (OverflowError)."""
    from kiosk.pin import verify_pin

    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    good = re.search(r'password = "(pbkdf2_sha256\$(\d+)\$[^"]+)"', text)
    assert good is not None
    huge = good[1].replace(f"${good[2]}$", "$99999999999999999999$", 1)
    for bad in (huge, good[1].replace(f"${good[2]}$", "$1$", 1), "plain-text-password"):
        path = tmp_path / "site.toml"
        path.write_text(text.replace(good[1], bad, 1), encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_site(path)
        assert "staff[0].password" in str(err.value)
        assert verify_pin("anything", bad) is False  # and a login never raises


@pytest.mark.parametrize(
    ("encode", "says"),
    [
        (lambda t: t.encode("shift_jis", errors="replace"), "not UTF-8"),
        (lambda t: t.encode("utf-16"), "not UTF-8"),
        (lambda t: b"\x00\x01\x02\xff" * 100, "not UTF-8"),
        (lambda t: "a = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
    ids=["shift_jis", "utf-16", "binary", "deep-arrays"],
)
def test_files_that_are_not_utf8_toml_are_errors_not_tracebacks(tmp_path, encode, says):
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    path = tmp_path / "site.toml"
    data = encode(text)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert says in str(err.value) and str(path) in str(err.value)


def test_a_utf8_bom_is_harmless(tmp_path):
    path = tmp_path / "site.toml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE_SITE.read_bytes())
    assert load_site(path).site.id == "sakura-ward"


def test_a_timezone_that_is_a_folder_of_zones_is_a_config_error(tmp_path):
    path = broken(tmp_path, 'timezone = "Asia/Tokyo"', 'timezone = "Asia"')
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert f":{line_of(path, 'timezone')}:" in str(err.value)


def test_a_chain_of_3000_prerequisites_is_checked_without_recursion():
    from kiosk.config.site import _no_cycles

    chain = {f"p{i}": (f"p{i + 1}",) for i in range(3000)} | {"p3000": ()}
    _no_cycles(chain)  # no cycle, no RecursionError
    with pytest.raises(ValueError, match="cycle: p2999 → p3000 → p2999"):
        _no_cycles(chain | {"p3000": ("p2999",)})


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("floor = 1\n", 'floor = "1"\n', "floor"),  # text where a number belongs
        ("minutes = 15\n", "minutes = true\n", "minutes"),  # a boolean is not a number
    ],
    ids=["floor-as-text", "minutes-as-bool"],
)
def test_wrong_types_are_errors_not_silently_converted(tmp_path, old, new, key):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert f":{line_of(path, new.strip())}: " in str(err.value) and f".{key}:" in str(err.value)


def test_a_port_written_as_text_is_an_error(tmp_path):
    from broker_config.settings import BrokerSettings
    from kiosk.config import load_toml_model

    path = tmp_path / "broker.toml"
    path.write_text('[[listeners]]\nport = "1883"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_toml_model(BrokerSettings, path)
    assert f"{path}:2: listeners[0].port: Input should be a valid integer" in str(err.value)
