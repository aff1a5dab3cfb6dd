"""The default flows (O2O2O) end to end, and the follow-up hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from o2o_sdk import (
    O2O,
    ChannelBase,
    Discount,
    FollowupFlows,
    FollowUpPlan,
    FollowUpTemplate,
    FrozenClock,
    PluginError,
    TransientDeliveryError,
    hookimpl,
)

from .conftest import RecordingChannel


def _customer(sdk: O2O, customer: str = "c1") -> None:
    sdk.followups.contacts.upsert(customer, email=f"{customer}@example.com", name="Ada", timezone="Europe/London",
                                  consents=["email"])  # fmt: skip


def test_thank_you_after_a_visit_with_a_survey_link(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    _customer(shop)
    shop.checkins.by_staff("lon-soho", customer_id="c1")
    assert shop.followups.run_once().planned == 1
    assert channel.sent == []  # due two hours after the visit
    clock.advance(hours=2)
    assert shop.followups.run_once().sent == 1
    [(message, _)] = channel.sent
    assert message.subject == "Thanks for visiting London Soho"
    assert "https://shop.example/feedback" in message.text


def test_next_visit_offer_issues_one_voucher_and_closes_the_loop(make_shop: Callable[..., O2O], clock: FrozenClock,
                                                                channel: RecordingChannel) -> None:  # fmt: skip
    probe = make_shop()
    offer = probe.offers.create("Next coffee", Discount.percent_off(20))
    shop = make_shop(flows=FollowupFlows(channel="email", thank_you=False, next_visit_offer_id=offer.id))
    _customer(shop)
    first = shop.offers.issue(offer, "c1")
    shop.offers.redeem(first.token, "lon-soho")
    assert shop.followups.plan() == 1
    clock.advance(days=3)
    channel.fail = [TransientDeliveryError("try later")]
    assert shop.followups.run_once().retried == 1
    f = shop.followups.find(f"next:{first.id}")
    assert f is not None and f.voucher_id is not None  # issued once, remembered for the retry
    clock.set(f.due_at)
    assert shop.followups.run_once().sent == 1
    [(message, _)] = channel.sent
    vouchers = [v for v in shop.storage.list_vouchers(offer.id) if v.id != first.id]
    assert [v.id for v in vouchers] == [f.voucher_id]
    assert shop.offers.url(vouchers[0]) in message.text and "20% off" in message.text
    # The loop closes: the new voucher is redeemable in store.
    assert shop.offers.redeem(vouchers[0].token, "lon-soho").voucher_id == f.voucher_id


def test_expiry_reminder_from_the_scan_exits_when_the_voucher_is_used(shop: O2O, clock: FrozenClock,
                                                                     channel: RecordingChannel) -> None:  # fmt: skip
    _customer(shop)
    offer = shop.offers.create("Cake", Discount.percent_off(10))
    soon = shop.offers.issue(offer, "c1", ttl=timedelta(days=2))
    later = shop.offers.issue(offer, "c1", ttl=timedelta(days=20))
    used = shop.offers.issue(offer, "c1", ttl=timedelta(days=2, hours=1))
    assert shop.followups.scan() == 2  # within the 3-day notice: soon and used
    assert shop.followups.scan() == 0  # the watermark moved; dedupe keys would stop it anyway
    shop.offers.redeem(used.token, "lon-soho")
    counts = shop.followups.run_once()
    assert (counts.sent, counts.skipped) == (1, 1)
    [(message, _)] = channel.sent
    assert shop.offers.url(soon) in message.text and message.subject == "Your voucher expires on 17 Jun 2026"
    clock.advance(days=18)
    assert shop.followups.scan() == 1  # now the later one
    assert shop.followups.find(f"expiry:{later.id}") is not None


def test_winback_after_no_visit_for_n_days(make_shop: Callable[..., O2O], clock: FrozenClock, channel: RecordingChannel) -> None:
    shop = make_shop(flows=FollowupFlows(channel="email", thank_you=False, winback_after=timedelta(days=30)))
    _customer(shop)
    _customer(shop, "c2")
    shop.checkins.by_staff("lon-soho", customer_id="c1")
    shop.checkins.by_staff("lon-soho", customer_id="c2")
    shop.followups.run_once()
    assert shop.followups.contacts.get("c1").last_visit_at == clock.now()
    clock.advance(days=29)
    assert shop.followups.scan() == 0
    shop.journal.append("order_online", customer_id="c2")  # c2 bought online: no win-back needed
    clock.advance(days=2)
    assert shop.followups.scan() == 2
    counts = shop.followups.run_once()
    assert (counts.sent, counts.skipped) == (1, 1)
    assert channel.sent[0][0].subject == "We miss you" and channel.sent[0][0].customer_id == "c1"
    assert shop.followups.scan() == 0


def test_hook_o2o_plan_followups(shop: O2O, caplog: pytest.LogCaptureFixture) -> None:
    class Birthday:
        @hookimpl
        def o2o_plan_followups(self, event):  # type: ignore[no-untyped-def]
            if event.type == "birthday":
                return [FollowUpPlan("birthday", "email", "thank_you", event.customer_id, f"bday:{event.customer_id}")]
            return None

    class Broken:
        @hookimpl
        def o2o_plan_followups(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    shop.journal.append("birthday", customer_id="c9")
    with shop.plugins.registered(Birthday()), shop.plugins.registered(Broken(), name="broken"), caplog.at_level(logging.ERROR):
        assert shop.followups.plan() == 1
    assert shop.followups.find("bday:c9") is not None
    assert "plugin broken failed in o2o_plan_followups" in caplog.text


def test_hook_o2o_register_channels(make_sdk: Callable[..., O2O]) -> None:
    class Pigeon(ChannelBase):
        name = "pigeon"

    class Plugin:
        @hookimpl
        def o2o_register_channels(self, register):  # type: ignore[no-untyped-def]
            register(Pigeon())

    class Bad:
        @hookimpl
        def o2o_register_channels(self, register):  # type: ignore[no-untyped-def]
            register(object())

    sdk = make_sdk(plugins=[Plugin()])
    assert isinstance(sdk.followups.channels.get("pigeon"), Pigeon)
    broken = make_sdk(plugins=[Bad()])
    with pytest.raises(PluginError):
        broken.followups.channels.all()


def test_hook_o2o_register_templates(shop: O2O) -> None:
    mine = FollowUpTemplate("thank_you", "Cheers", "Cheers $name")

    class Plugin:
        @hookimpl
        def o2o_register_templates(self, register):  # type: ignore[no-untyped-def]
            register(mine)
            register(FollowUpTemplate("extra", "x", "y"))

    with shop.plugins.registered(Plugin()):
        shop.followups._templates = None
        templates = shop.followups.templates()
    assert templates["thank_you"] is mine  # a third-party template beats the default one
    assert {"next_visit", "expiry_reminder", "winback", "extra"} <= set(templates)
    shop.followups.add_template(FollowUpTemplate("thank_you", "Code", "Code"))
    assert shop.followups.templates()["thank_you"].subject == "Code"


def test_hook_o2o_personalize_followup(shop: O2O, clock: FrozenClock, channel: RecordingChannel) -> None:
    class Recommender:
        @hookimpl
        def o2o_personalize_followup(self, followup, contact):  # type: ignore[no-untyped-def]
            return {"recommendations": f"Because you bought beans, {contact.name}: try our grinder."}

    _customer(shop)
    shop.checkins.by_staff("lon-soho", customer_id="c1")
    clock.advance(hours=2)
    with shop.plugins.registered(Recommender()):
        assert shop.followups.run_once().sent == 1
    [(message, _)] = channel.sent
    assert "Because you bought beans, Ada: try our grinder." in message.text
    assert message.variables["recommendations"].startswith("Because")
