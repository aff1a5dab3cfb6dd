"""One test per hook of :mod:`o2o_sdk.hookspecs`, named ``test_hook_<hook name>``.

Plugins are registered on one SDK instance with ``sdk.plugins.registered(...)``; providers
that must exist when the instance is built are passed as ``O2O(..., plugins=[...])``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import cattrs
import pytest
from conftest import DEMO_STORES, TEST_KEYS
from fakedist import install_distribution, unique_module

from o2o_sdk import (
    O2O,
    Basket,
    Config,
    ConfigurationError,
    Discount,
    FrozenClock,
    JournalEvent,
    KeyringSigner,
    Money,
    Offer,
    Reason,
    Redemption,
    RedemptionContext,
    RedemptionRefused,
    Reservation,
    SigningKey,
    TokenError,
    Voucher,
    hookimpl,
)
from o2o_sdk.storage.sqlite import SQLiteStorage

LONDON, TOKYO = "lon-soho", "tyo-shibuya"


# --------------------------------------------------------------------------- providers


class ShopDBStorage(SQLiteStorage):
    """A storage for the made-up ``shopdb://`` scheme, kept in a SQLite file."""


class ShopDBProvider:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls: list[tuple[str, cattrs.Converter]] = []

    @hookimpl
    def o2o_provide_storage(self, url: str, converter: cattrs.Converter) -> ShopDBStorage | None:
        self.calls.append((url, converter))
        if not url.startswith("shopdb://"):
            return None
        return ShopDBStorage(f"sqlite:///{self.folder / (url.removeprefix('shopdb://') + '.db')}", converter)


def test_hook_o2o_provide_storage(tmp_path: Path, clock: FrozenClock) -> None:
    provider = ShopDBProvider(tmp_path)
    config = Config(database_url="shopdb://main", secret_keys=TEST_KEYS)
    with O2O(config, clock=clock, plugins=[provider]) as sdk:
        assert isinstance(sdk.storage, ShopDBStorage)
        assert provider.calls == [("shopdb://main", sdk.converter)]
        assert sdk.storage.schema_version() >= 1, "the SDK migrates a SQLite-backed storage"
        sdk.stores.add(DEMO_STORES)
        voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
        assert sdk.offers.redeem(voucher.token, LONDON).voucher_id == voucher.id
    assert (tmp_path / "main.db").exists()

    # the built-in provider still answers for the URLs the plugin declines
    with O2O(Config(database_url=f"sqlite:///{tmp_path / 'other.db'}", secret_keys=TEST_KEYS), plugins=[ShopDBProvider(tmp_path)]) as sdk:
        assert type(sdk.storage) is SQLiteStorage
    # and nobody handles the scheme without the plugin
    with pytest.raises(ConfigurationError, match="shopdb"):
        O2O(config, clock=clock)


class CountingSigner:
    """A custom signer with its own key id ``z``, counting its calls."""

    def __init__(self) -> None:
        self.inner = KeyringSigner([SigningKey("z", b"plugin-held-secret-0123456789")])
        self.signed = 0
        self.verified = 0

    def sign(self, payload: bytes, purpose: str) -> str:
        self.signed += 1
        return self.inner.sign(payload, purpose)

    def verify(self, token: str, purpose: str) -> bytes:
        self.verified += 1
        return self.inner.verify(token, purpose)


class SignerProvider:
    def __init__(self) -> None:
        self.signer = CountingSigner()
        self.seen: list[tuple[Config, object]] = []

    @hookimpl
    def o2o_provide_signer(self, config: Config, storage: object) -> CountingSigner:
        self.seen.append((config, storage))
        return self.signer


def test_hook_o2o_provide_signer(make_sdk: Callable[..., O2O]) -> None:
    provider = SignerProvider()
    sdk = make_sdk(plugins=[provider])
    sdk.stores.add(DEMO_STORES)
    assert sdk.signer is provider.signer, "a plugin's signer wins over the built-in one"
    assert provider.seen == [(sdk.config, sdk.storage)]

    voucher = sdk.offers.issue(sdk.offers.create("10% off", Discount.percent_off(10)))
    assert voucher.token.startswith("z")
    assert provider.signer.signed == 1
    assert sdk.offers.validate(voucher.token, LONDON).ok
    assert provider.signer.verified == 1

    # an instance with the built-in signer does not know the plugin's key
    default = make_sdk()
    assert isinstance(default.signer, KeyringSigner)
    with pytest.raises(TokenError) as err:
        default.offers.verify(voucher.token)
    assert err.value.reason is Reason.UNKNOWN_KEY


# --------------------------------------------------------------------------- rules and notifications


class RecordingRule:
    def __init__(self) -> None:
        self.contexts: list[RedemptionContext] = []

    @hookimpl
    def o2o_check_redemption(self, context: RedemptionContext) -> None:
        self.contexts.append(context)


def test_hook_o2o_check_redemption(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("2 EUR off", Discount.amount_off(Money(200, "EUR")), stores=[LONDON])
    voucher = sdk.offers.issue(offer, "alice")
    cart = Basket(Money(1500, "EUR"))
    rule = RecordingRule()
    with sdk.plugins.registered(rule):
        assert sdk.offers.validate(voucher.token, LONDON, basket=cart).ok
        hold = sdk.offers.reserve(voucher.token, LONDON, basket=cart)
        sdk.offers.redeem(voucher.token, LONDON, basket=cart, reservation_id=hold.id)
        # not asked when a built-in check already refuses
        assert not sdk.offers.validate(voucher.token, TOKYO, basket=cart).ok
    assert [c.operation for c in rule.contexts] == ["validate", "reserve", "redeem"]
    for context in rule.contexts:
        assert context.offer == offer
        assert context.voucher.id == voucher.id
        assert context.store.id == LONDON
        assert context.customer_id == "alice"
        assert context.basket == cart
        assert context.discount.amount == Money(200, "EUR")
        assert context.now == clock.now()


class AfterIssue:
    def __init__(self) -> None:
        self.calls: list[tuple[O2O, Offer, list[Voucher]]] = []

    @hookimpl
    def o2o_after_issue(self, sdk: O2O, offer: Offer, vouchers: list[Voucher]) -> None:
        self.calls.append((sdk, offer, list(vouchers)))


def test_hook_o2o_after_issue(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    plugin = AfterIssue()
    with sdk.plugins.registered(plugin):
        vouchers = sdk.offers.issue_many(offer, 5, batch_size=2)
    assert [len(batch) for _, _, batch in plugin.calls] == [2, 2, 1], "one call per stored batch"
    assert all(s is sdk and o == offer for s, o, _ in plugin.calls)
    assert [v for _, _, batch in plugin.calls for v in batch] == vouchers
    assert all(sdk.storage.get_voucher(v.id) == v for v in vouchers), "called after the vouchers are stored"


class AfterReserve:
    def __init__(self) -> None:
        self.calls: list[tuple[Offer, Reservation]] = []

    @hookimpl
    def o2o_after_reserve(self, offer: Offer, reservation: Reservation) -> None:  # a subset of the arguments
        self.calls.append((offer, reservation))


def test_hook_o2o_after_reserve(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    plugin = AfterReserve()
    with sdk.plugins.registered(plugin):
        hold = sdk.offers.reserve(voucher.token, LONDON, ttl=timedelta(minutes=5))
        with pytest.raises(RedemptionRefused):
            sdk.offers.reserve(voucher.token, LONDON)  # already held: no second notification
    assert plugin.calls == [(offer, hold)]
    assert sdk.storage.get_reservation(hold.id) == hold


class AfterRedeem:
    def __init__(self) -> None:
        self.calls: list[tuple[O2O, Offer, Redemption]] = []

    @hookimpl
    def o2o_after_redeem(self, sdk: O2O, offer: Offer, redemption: Redemption) -> None:
        assert sdk.storage.get_redemption(redemption.id) == redemption, "called after the commit"
        self.calls.append((sdk, offer, redemption))


def test_hook_o2o_after_redeem(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    plugin = AfterRedeem()
    with sdk.plugins.registered(plugin):
        redemption = sdk.offers.redeem(voucher.token, LONDON, idempotency_key="tx-1")
        assert sdk.offers.redeem(voucher.token, LONDON, idempotency_key="tx-1") == redemption  # a replay
        with pytest.raises(RedemptionRefused):
            sdk.offers.redeem(voucher.token, LONDON)  # a refusal
    assert plugin.calls == [(sdk, offer, redemption)]


class AfterVoid:
    def __init__(self) -> None:
        self.calls: list[tuple[Offer, Redemption]] = []

    @hookimpl
    def o2o_after_void(self, offer: Offer, redemption: Redemption) -> None:
        self.calls.append((offer, redemption))


def test_hook_o2o_after_void(sdk: O2O) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    redemption = sdk.offers.redeem(voucher.token, LONDON)
    plugin = AfterVoid()
    with sdk.plugins.registered(plugin):
        voided = sdk.offers.void(redemption.id, "refund")
        sdk.offers.void(redemption.id, "refund again")  # already void: no second notification
    assert plugin.calls == [(offer, voided)]
    assert voided.voided_at is not None and voided.void_reason == "refund"


class JournalSink:
    def __init__(self) -> None:
        self.events: list[JournalEvent] = []

    @hookimpl
    def o2o_journal_event(self, sdk: O2O, event: JournalEvent) -> None:
        self.events.append(event)


class BrokenSink:
    @hookimpl
    def o2o_journal_event(self, event: JournalEvent) -> None:
        raise RuntimeError("the message bus is down")


def test_hook_o2o_journal_event(sdk: O2O, caplog: pytest.LogCaptureFixture) -> None:
    sink = JournalSink()
    with sdk.plugins.registered(sink), sdk.plugins.registered(BrokenSink()):
        offer = sdk.offers.create("10% off", Discount.percent_off(10))
        first, second = sdk.offers.issue_many(offer, 2)
        sdk.offers.validate(first.token, LONDON)
        hold = sdk.offers.reserve(first.token, LONDON)
        sdk.offers.release(hold.id)
        redemption = sdk.offers.redeem(first.token, LONDON)
        sdk.offers.void(redemption.id, "refund")
        with pytest.raises(RedemptionRefused):
            sdk.offers.redeem(second.token, TOKYO, reservation_id="res_unknown")
        sdk.journal.append("custom.noted", data={"by": "a plugin"})
    stored = sdk.journal.read()
    assert sink.events == stored, "the sink sees every committed event, with its seq, in order"
    assert [e.type for e in stored] == [
        "issued", "issued", "validated", "reserved", "released", "redeemed", "voided", "refused", "custom.noted",
    ]  # fmt: skip
    assert all(e.seq is not None for e in sink.events)
    failures = [r for r in caplog.records if r.name == "o2o_sdk.plugins" and "o2o_journal_event" in r.getMessage()]
    assert len(failures) == len(stored), "a failing sink is logged once per event and undoes nothing"


# --------------------------------------------------------------------------- command line


COMMAND_PLUGIN = """
from o2o_sdk import hookimpl


def configure(parser):
    parser.add_argument("--name", required=True)


def run(sdk, args):
    print(f"hello {args.name}, {len(sdk.stores.list())} stores on {sdk.storage.dialect_name}")
    return 3


@hookimpl
def o2o_register_commands(register):
    register("hello", "greet someone", configure, run)
"""


def test_hook_o2o_register_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from o2o_sdk.cli import main

    module = unique_module("o2o_hello")
    install_distribution(tmp_path / "site", monkeypatch, name="o2o-hello", modules={module: COMMAND_PLUGIN},
                         entry_points={"hello": module})  # fmt: skip
    monkeypatch.setenv("O2O_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("O2O_PLUGINS", raising=False)
    monkeypatch.delenv("O2O_DISABLE_PLUGINS", raising=False)

    assert main(["hello", "--name", "Ada"]) == 3
    assert capsys.readouterr().out == "hello Ada, 0 stores on sqlite\n"

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert "hello" in help_text and "greet someone" in help_text

    # the command's own parser is the one the plugin configured
    with pytest.raises(SystemExit) as exit_:
        main(["hello"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("o2o: error:")

