"""``pref.extends``/``pref.overrides`` packages: their ``__config__`` hooks and static order."""

from __future__ import annotations

import types

from skitai.mounts import MountTable
from skitai.preference import Preference


def _package(name: str, static: str) -> types.ModuleType:
    package = types.ModuleType(name)
    package.calls = 0  # type: ignore[attr-defined]

    def __config__(pref: Preference) -> None:
        package.calls += 1  # type: ignore[attr-defined]
        pref.add_static(static)

    package.__config__ = __config__  # type: ignore[attr-defined]
    return package


def test_package_configs_run_once_and_order_statics() -> None:
    extended, overriding = _package("ext", "/ext/static"), _package("over", "/over/static")
    pref = Preference()
    pref.set_static("/", "/own/static")
    pref.extends(extended)
    pref.overrides(overriding)
    pref.run_package_configs()
    pref.run_package_configs()
    assert extended.calls == overriding.calls == 1  # type: ignore[attr-defined]
    roots = [root for _, root in pref.static_mounts]
    assert roots == ["/over/static", "/own/static", "/ext/static"]


def test_mounting_an_app_runs_the_package_configs() -> None:
    extended = _package("ext", "/nowhere")
    pref = Preference()
    pref.extends(extended)
    MountTable().add("/", lambda environ, start_response: [], "app", pref)
    assert extended.calls == 1  # type: ignore[attr-defined]
