"""The plugin host: entry points, broken plugins, allow/block lists, one manager per instance.

Each test installs a real (throw-away) distribution ``fake-plugin 1.0`` on ``sys.path`` with
entry points in the ``o2o_sdk`` group, so plugins load exactly as installed ones do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from conftest import DEMO_STORES
from fakedist import install_distribution, unique_module

from o2o_sdk import O2O, Discount, KeyringSigner, PluginError, Reason, Refuse, hookimpl
from o2o_sdk.plugins import PluginHost

RECORDER = """
from o2o_sdk import hookimpl

issued = []


@hookimpl
def o2o_after_issue(vouchers):
    issued.extend(v.id for v in vouchers)
"""

BROKEN = """
raise ImportError("this plugin needs the acme-pos package")
"""

TYPO = """
from o2o_sdk import hookimpl


@hookimpl
def o2o_after_redem(redemption):
    pass
"""

SIGNER = """
from o2o_sdk import KeyringSigner, SigningKey, hookimpl


class PluginSigner(KeyringSigner):
    pass


@hookimpl
def o2o_provide_signer(config, storage):
    return PluginSigner([SigningKey("p", b"a-plugin-held-secret-0123")])
"""


@attrs.frozen
class FakeDist:
    alpha: str
    beta: str
    broken: str
    typo: str
    signer: str


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDist:
    """``fake-plugin 1.0`` with entry points alpha, beta (good), broken, typo (bad) and signer."""
    for name in ("O2O_PLUGINS", "O2O_DISABLE_PLUGINS", "O2O_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    mods = FakeDist(*(unique_module(f"o2o_fake_{n}") for n in ("alpha", "beta", "broken", "typo", "signer")))
    install_distribution(
        tmp_path / "site", monkeypatch, name="fake-plugin", version="1.0",
        modules={mods.alpha: RECORDER, mods.beta: RECORDER, mods.broken: BROKEN, mods.typo: TYPO, mods.signer: SIGNER},
        entry_points={"alpha": mods.alpha, "beta": mods.beta, "broken": mods.broken, "typo": mods.typo,
                      "signer": mods.signer},
    )  # fmt: skip
    return mods


def names(sdk: O2O) -> set[str]:
    return {p.name for p in sdk.plugins.list_plugins()}


FAKE_PLUGINS = {"alpha", "beta", "broken", "typo", "signer"}


def third_party(sdk: O2O) -> set[str]:
    """The fake distribution's plugins that loaded (in-repo adapters and channels may be installed too)."""
    return {p.name for p in sdk.plugins.list_plugins() if not p.default and p.name in FAKE_PLUGINS}


def defaults(sdk: O2O) -> set[str]:
    return {p.name for p in sdk.plugins.list_plugins() if p.default}


def test_installed_plugins_load_from_entry_points(fake_dist: FakeDist, make_sdk: Callable[..., O2O]) -> None:
    sdk = make_sdk()
    assert {"default_storage", "default_signer", "alpha", "beta", "signer"} <= names(sdk)
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    assert sys.modules[fake_dist.alpha].issued == [voucher.id]
    info = {p.name: p for p in sdk.plugins.list_plugins()}
    assert (info["alpha"].distribution, info["alpha"].version, info["alpha"].hooks, info["alpha"].default) == (
        "fake-plugin", "1.0", ("o2o_after_issue",), False,
    )  # fmt: skip
    assert info["default_storage"].distribution == "o2o-sdk" and info["default_storage"].default


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(fake_dist: FakeDist, make_sdk: Callable[..., O2O]) -> None:
    sdk = make_sdk()
    failures = {f.name: f for f in sdk.plugins.failures}
    assert set(failures) == {"broken", "typo"}
    assert failures["broken"].distribution == "fake-plugin"
    assert "ImportError" in failures["broken"].error and "acme-pos" in failures["broken"].error
    assert "o2o_after_redem" in failures["typo"].error, "an implementation matching no hook is caught at load"
    assert not {"broken", "typo"} & names(sdk)
    sdk.stores.add(DEMO_STORES)
    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    assert sdk.offers.redeem(voucher.token, "lon-soho").voucher_id == voucher.id, "the SDK works without them"


def test_strict_mode_turns_a_broken_plugin_into_an_error(
    fake_dist: FakeDist, make_sdk: Callable[..., O2O], monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    with pytest.raises(PluginError, match="broken"):
        make_sdk(strict_plugins=True)

    monkeypatch.setenv("O2O_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("O2O_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="acme-pos"):
        O2O()
    monkeypatch.setenv("O2O_DISABLE_PLUGINS", "broken,typo")
    with O2O() as sdk:
        assert "alpha" in names(sdk)


def test_the_allow_list_loads_only_the_named_third_party_plugins(
    fake_dist: FakeDist, make_sdk: Callable[..., O2O], monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    sdk = make_sdk(plugins_allow=frozenset({"alpha"}))
    assert third_party(sdk) == {"alpha"}
    assert {"default_storage", "default_signer"} <= defaults(sdk), "defaults always load"
    assert sdk.plugins.failures == [], "plugins left out are not even imported"

    monkeypatch.setenv("O2O_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("O2O_PLUGINS", "beta, signer")
    with O2O() as from_env:
        assert third_party(from_env) == {"beta", "signer"}


def test_the_block_list_skips_named_plugins(
    fake_dist: FakeDist, make_sdk: Callable[..., O2O], monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    sdk = make_sdk(plugins_block=frozenset({"beta", "broken"}))
    assert "beta" not in names(sdk) and "alpha" in names(sdk)
    assert [f.name for f in sdk.plugins.failures] == ["typo"]

    monkeypatch.setenv("O2O_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("O2O_DISABLE_PLUGINS", "alpha,broken,typo,signer")
    with O2O() as from_env:
        assert third_party(from_env) == {"beta"}
        assert from_env.plugins.failures == []


def test_third_party_entry_points_can_be_switched_off(fake_dist: FakeDist, make_sdk: Callable[..., O2O]) -> None:
    sdk = make_sdk(load_entrypoints=False)
    assert [p.name for p in sdk.plugins.list_plugins() if not p.default] == []  # none at all, in-repo ones included
    assert {"default_storage", "default_signer"} <= defaults(sdk)


def test_a_third_party_first_result_implementation_wins_over_the_default(
    fake_dist: FakeDist, make_sdk: Callable[..., O2O]
) -> None:
    sdk = make_sdk()
    assert type(sdk.signer).__name__ == "PluginSigner"
    assert sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10))).token.startswith("p")
    # the defaults step back whatever the registration order
    defaults = [i for i in sdk.plugins.pm.hook.o2o_provide_signer.get_hookimpls() if i.plugin_name == "default_signer"]
    assert [i.trylast for i in defaults] == [True]
    without = make_sdk(plugins_block=frozenset({"signer"}))
    assert type(without.signer) is KeyringSigner


class RefuseEverything:
    @hookimpl
    def o2o_check_redemption(self) -> Refuse:
        return Refuse("closed for stocktaking")


def test_two_instances_have_independent_plugin_managers(make_sdk: Callable[..., O2O]) -> None:
    one, other = make_sdk(), make_sdk()
    one.stores.add(DEMO_STORES)
    voucher = one.offers.issue(one.offers.create("10% off", Discount.percent_off(10)))
    assert one.plugins.pm is not other.plugins.pm
    one.plugins.register(RefuseEverything(), name="stocktaking")
    assert [r.code for r in one.offers.validate(voucher.token, "lon-soho").refusals] == [Reason.REFUSED_BY_RULE]
    assert other.offers.validate(voucher.token, "lon-soho").ok
    assert "stocktaking" not in names(other)
    one.plugins.unregister(name="stocktaking")
    assert one.offers.validate(voucher.token, "lon-soho").ok


class Misspelled:
    @hookimpl
    def o2o_after_redem(self) -> None:  # no such hook
        pass


class WrongArgument:
    @hookimpl
    def o2o_after_redeem(self, receipt: object) -> None:  # no such argument
        pass


@pytest.mark.parametrize("plugin", [Misspelled(), WrongArgument()], ids=["unknown-hook", "unknown-argument"])
def test_registering_a_plugin_that_breaks_the_contract_is_a_plugin_error(
    make_sdk: Callable[..., O2O], plugin: object
) -> None:
    sdk = make_sdk()
    before = names(sdk)
    with pytest.raises(PluginError):
        sdk.plugins.register(plugin, name="bad")
    assert names(sdk) == before


def test_o2o_plugins_json_lists_name_version_distribution_and_hooks(
    fake_dist: FakeDist, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    from o2o_sdk.cli import main

    monkeypatch.setenv("O2O_DATABASE_URL", sqlite_url)
    assert main(["plugins", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["alpha"] == {
        "name": "alpha", "distribution": "fake-plugin", "version": "1.0", "hooks": ["o2o_after_issue"], "default": False,
    }  # fmt: skip
    assert plugins["signer"]["hooks"] == ["o2o_provide_signer"]
    assert plugins["default_storage"]["distribution"] == "o2o-sdk"
    assert plugins["default_storage"]["hooks"] == ["o2o_provide_storage"]
    assert plugins["default_storage"]["default"] is True
    failed = {f["name"]: f for f in listing["failed"]}
    assert set(failed) == {"broken", "typo"}
    assert failed["broken"]["distribution"] == "fake-plugin" and "acme-pos" in failed["broken"]["error"]

    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "alpha" in text and "fake-plugin 1.0" in text and "FAILED" in text


def test_a_plugin_command_cannot_take_a_built_in_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    from o2o_sdk.cli import main

    module = unique_module("o2o_squatter")
    source = """
        from o2o_sdk import hookimpl

        @hookimpl
        def o2o_register_commands(register):
            register("offers", "my offers", lambda parser: None, lambda sdk, args: 0)
    """
    install_distribution(tmp_path / "site", monkeypatch, name="squatter", modules={module: source},
                         entry_points={"squatter": module})  # fmt: skip
    monkeypatch.setenv("O2O_DATABASE_URL", sqlite_url)
    assert main(["offers", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("o2o: error:") and "'offers'" in err and err.count("\n") == 1


def test_plugins_are_loaded_once_per_instance(make_sdk: Callable[..., O2O]) -> None:
    host = make_sdk().plugins
    before = names_of(host)
    host.load_entrypoints()
    assert names_of(host) == before


def names_of(host: PluginHost) -> list[str]:
    return sorted(p.name for p in host.list_plugins())
