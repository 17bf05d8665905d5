"""broker_config.bridge: the generated bridge block, city broker configuration and city ACL say what the contract
says (tests/system/test_city_bridge.py runs them in real brokers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from broker_config.bridge import (
    HUB_IDENTITY,
    bridge_state_topic,
    city_acl_text,
    city_broker_acl,
    city_broker_conf,
    city_conf_text,
    generate_city,
    site_bridge,
    site_bridge_conf,
    site_bridge_text,
)
from broker_config.generate import generate
from broker_config.settings import BrokerSettings, Listener
from kiosk.bus.contract import Topics
from kiosk.config.city import load_city
from tests.conftest import ROOT

CITY_FILE = ROOT / "sites" / "example-city" / "city.toml"
CA, CRT, KEY = Path("/etc/madoguchi/broker/bridge/ca.crt"), Path("/b/bridge.crt"), Path("/b/bridge.key")


@pytest.fixture(scope="module")
def city():
    return load_city(CITY_FILE)


def block(city, site_id: str = "sakura-kita") -> list[str]:
    loaded, sites = city
    return site_bridge_text(site_bridge(sites[site_id], loaded, CA, CRT, KEY)).splitlines()


def acl_blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    user = None
    for line in text.splitlines():
        if line.startswith("user "):
            user = line.split()[1]
            blocks[user] = []
        elif line.startswith("topic"):
            assert user, f"a rule outside any user applies to anonymous clients: {line}"
            blocks[user].append(line)
    return blocks


# ---------------------------------------------------------------- the site side
def test_the_bridge_carries_exactly_the_contracts_topics_out(city):
    topics = [line for line in block(city) if line.startswith("topic ")]
    expected = Topics("sakura-kita").bridged_out("queue-service")
    assert topics == [f"topic {pattern} out 1" for pattern in expected]
    assert not [line for line in block(city) if line.split()[:1] == ["topic"] and line.split()[2] != "out"]


def test_the_bridge_is_tls_to_the_city_broker_with_the_sites_certificate(city):
    lines = block(city)
    assert lines[1] == "connection city-sakura-kita"
    assert "address hub.city.sakura.example.jp:8883" in lines
    for expected in (f"bridge_cafile {CA}", f"bridge_certfile {CRT}", f"bridge_keyfile {KEY}",
                     "bridge_tls_version tlsv1.2", "bridge_insecure false"):  # fmt: skip
        assert expected in lines


def test_the_bridge_keeps_its_session_and_says_when_the_link_is_down(city):
    lines = block(city)
    for expected in ("remote_clientid sakura-kita", "cleansession false", "local_cleansession false",
                     "notifications true", f"notification_topic {bridge_state_topic('sakura-kita')}",
                     "bridge_attempt_unsubscribe false", "restart_timeout 5 60", "start_type automatic"):  # fmt: skip
        assert expected in lines
    assert bridge_state_topic("sakura-kita") == "madoguchi/v1/sakura-kita/bridge/state"


def test_the_sites_generated_config_ends_with_the_bridge(city, tmp_path):
    loaded, sites = city
    site = sites["sakura-ward"]
    settings = BrokerSettings(bridge=site_bridge(site, loaded, CA, CRT, KEY))
    conf = generate(site, tmp_path / "broker", tmp_path / "secrets", settings).conf.read_text()
    head, _, tail = conf.partition("\nconnection city-sakura-ward\n")
    assert tail, "the connection block is there"
    assert "listener " in head and "listener " not in tail, "after the listeners: its lines belong to the bridge"
    plain = generate(site, tmp_path / "broker", tmp_path / "secrets", BrokerSettings()).conf.read_text()
    assert "connection " not in plain
    assert conf.startswith(plain.rstrip("\n")), "without a city the site's config is what it always was"


def test_bridge_settings_read_from_a_broker_settings_file():
    settings = BrokerSettings.model_validate(
        {
            "bridge": {
                "site": "s1",
                "service": "queue-service",
                "host": "city.example",
                "cafile": "/c/ca.crt",
                "certfile": "/c/s1.crt",
                "keyfile": "/c/s1.key",
            }
        }  # fmt: skip
    )
    assert settings.bridge is not None and settings.bridge.port == 8883
    with pytest.raises(ValidationError):
        BrokerSettings.model_validate({"bridge": {"site": "s1", "service": "q", "host": "h", "cafile": "/c"}})


def test_a_site_outside_the_city_or_without_a_service_has_no_bridge(city):
    loaded, sites = city
    only_kita = loaded.model_copy(update={"sites": tuple(s for s in loaded.sites if s.id == "sakura-kita")})
    with pytest.raises(ValueError, match="not one of"):
        site_bridge(sites["sakura-ward"], only_kita, CA, CRT, KEY)
    site = sites["sakura-kita"]
    no_service = site.model_copy(update={"devices": tuple(d for d in site.devices if d.id != "queue-service")})
    with pytest.raises(ValueError, match="no queue service"):
        site_bridge(no_service, loaded, CA, CRT, KEY)
    with pytest.raises(ValueError, match="not the queue service"):
        site_bridge_conf(site, loaded, "kiosk-1f", CA, CRT, KEY)
    assert site_bridge_conf(site, loaded, "queue-service", CA, CRT, KEY) == "\n".join(block(city)) + "\n"


# ---------------------------------------------------------------- the city side
def test_each_office_writes_only_its_own_bridged_topics_and_reads_nothing(city):
    loaded, sites = city
    blocks = acl_blocks(city_acl_text(loaded, sites))
    assert set(blocks) == {s.id for s in loaded.sites} | {HUB_IDENTITY}
    for entry in loaded.sites:
        expected = [*Topics(entry.id).bridged_out("queue-service"), bridge_state_topic(entry.id)]
        assert blocks[entry.id] == [f"topic write {pattern}" for pattern in expected], entry.id


def test_the_hub_reads_every_office_and_writes_nothing(city):
    loaded, sites = city
    hub = acl_blocks(city_acl_text(loaded, sites))[HUB_IDENTITY]
    assert hub == [
        "topic read madoguchi/v1/+/queue/state/group/#",
        "topic read madoguchi/v1/+/city/#",
        "topic read madoguchi/v1/+/device/+/status",
        "topic read madoguchi/v1/+/bridge/state",
    ]
    assert city_broker_acl(loaded) == city_acl_text(loaded, sites), "the site files read from the city"


def test_an_office_cannot_be_named_like_the_hub(city):
    loaded, sites = city
    with pytest.raises(ValueError, match="hub's identity"):
        city_acl_text(loaded, sites, hub="sakura-kita")


def test_the_city_broker_requires_client_certificates(city, tmp_path):
    loaded, sites = city
    tls = Listener(host="0.0.0.0", port=8883, cafile=CA, certfile=CRT, keyfile=KEY)
    files = generate_city(loaded, sites, tmp_path / "city", BrokerSettings(listeners=(tls,)))
    conf = files.conf.read_text().splitlines()
    for expected in ("allow_anonymous false", f"acl_file {files.acl}", "use_username_as_clientid true",
                     "listener 8883 0.0.0.0", "require_certificate true", "use_identity_as_username true",
                     "tls_version tlsv1.2"):  # fmt: skip
        assert expected in conf
    assert not [line for line in conf if line.startswith(("password_file", "connection "))]
    assert files.acl.read_text() == city_acl_text(loaded, sites) and files.data.is_dir()
    with pytest.raises(ValueError, match="TLS with client certificates only"):
        city_conf_text(files, BrokerSettings())  # the default: plain loopback


def test_city_broker_conf_for_provisioning(city):
    loaded, _sites = city
    conf = city_broker_conf(loaded, Path("/srv/city/ca.crt"), Path("/srv/city/server.crt"), Path("/srv/city/key"))
    lines = conf.splitlines()
    assert "listener 8883 0.0.0.0" in lines and "acl_file /srv/city/acl" in lines
    assert "persistence_location /srv/city/data/" in lines and "user root" not in lines
