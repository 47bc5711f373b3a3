"""Unit tests for skitai.preference: AttrDict and the runtime app Preference."""

from __future__ import annotations

import types

import pytest

from skitai.preference import AttrDict, Preference


def test_attrdict_reads_and_writes_keys_as_attributes() -> None:
    d = AttrDict(a=1)
    d.b = 2
    assert d.a == 1
    assert d["b"] == 2
    assert d == {"a": 1, "b": 2}
    del d.a
    assert "a" not in d


def test_attrdict_missing_attribute_raises_attribute_error() -> None:
    d = AttrDict()
    with pytest.raises(AttributeError, match="'missing'"):
        _ = d.missing
    with pytest.raises(AttributeError):
        del d.missing
    assert getattr(d, "missing", "default") == "default"
    assert not hasattr(d, "missing")


def test_plain_attributes_are_the_options() -> None:
    pref = Preference()
    pref.debug = True
    pref.use_reloader = True
    pref.max_client_body_size = 2 << 32
    pref.access_control_allow_origin = ["127.0.0.1:5000"]
    pref.access_control_allow_origin.append("127.0.0.1:8080")
    pref.securekey = None
    pref.expose_spec = True
    assert pref.options() == {
        "debug": True,
        "use_reloader": True,
        "max_client_body_size": 2 << 32,
        "access_control_allow_origin": ["127.0.0.1:5000", "127.0.0.1:8080"],
        "securekey": None,
        "expose_spec": True,
    }


def test_unset_attribute_raises_attribute_error() -> None:
    pref = Preference()
    with pytest.raises(AttributeError):
        _ = pref.debug
    assert getattr(pref, "debug", False) is False


def test_private_names_are_refused() -> None:
    pref = Preference()
    with pytest.raises(AttributeError, match="_secret"):
        pref._secret = 1


def test_config_takes_items_and_attributes_and_is_not_an_option() -> None:
    pref = Preference()
    pref.config["prefA"] = 1
    pref.config.prefB = 2
    assert pref.config == {"prefA": 1, "prefB": 2}
    assert pref.config.prefA == 1
    assert pref.options() == {}
    pref.config = {"x": 1}
    assert isinstance(pref.config, AttrDict)
    assert pref.config.x == 1


def test_set_static_and_set_media_set_config_and_static_mounts() -> None:
    pref = Preference()
    pref.set_static("/static", "myapp/static")
    pref.set_media("/media", "/var/www-root/media")
    assert pref.config.STATIC_URL == "/static"
    assert pref.config.STATIC_ROOT == "myapp/static"
    assert pref.config.MEDIA_URL == "/media"
    assert pref.config.MEDIA_ROOT == "/var/www-root/media"
    assert pref.static_mounts == [("/static", "myapp/static"), ("/media", "/var/www-root/media")]


def test_set_static_again_replaces_the_directory() -> None:
    pref = Preference()
    pref.set_static("/", "a")
    pref.set_static("/s", "b")
    assert pref.static_mounts == [("/s", "b")]
    assert pref.config.STATIC_ROOT == "b"


def test_add_static_follows_the_static_url() -> None:
    pref = Preference()
    pref.add_static("/pkg/static")
    assert pref.static_mounts == [("/", "/pkg/static")]
    pref.set_static("/static", "own")
    pref.add_static("/other", "/assets")
    assert pref.static_mounts == [
        ("/static", "own"),
        ("/static", "/pkg/static"),
        ("/assets", "/other"),
    ]


def test_context_manager_returns_itself_and_keeps_exceptions() -> None:
    with Preference() as pref:
        pref.debug = True
    assert isinstance(pref, Preference)
    assert pref.debug is True
    with pytest.raises(KeyError):
        with Preference():
            raise KeyError("x")


def test_extends_and_overrides_are_recorded_in_order() -> None:
    vue = types.ModuleType("atila_vue")
    other = types.ModuleType("other")
    mine = types.ModuleType("mytfserver")
    pref = Preference()
    pref.extends(vue)
    pref.extends(other)
    pref.overrides(mine)
    assert pref.extended == [vue, other]
    assert pref.overridden == [mine]
    assert pref.options() == {}
    assert "debug" not in repr(pref)
