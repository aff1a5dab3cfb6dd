"""Default follow-up flows (O2O2O): thank-you, next-visit offer, expiry reminder, win-back.

Configured in code through :class:`~o2o_sdk.models.FollowupFlows`
(``Config(followups=FollowupSettings(flows=FollowupFlows(...)))``); block the plugin with
``O2O_DISABLE_PLUGINS=followup_flows`` to use only your own.

=====================  ==========================  ============================  =======================
flow                   trigger                     dedupe key                    exits when
=====================  ==========================  ============================  =======================
``thank_you``          ``checked_in``,             ``thanks:<customer>:<date>``  —
                       ``redeemed``,               (one per customer and day)
                       ``order_in_store``
``next_visit``         ``redeemed``                ``next:<voucher>``            redeemed again since
``expiry_reminder``    ``voucher_expiring`` (scan) ``expiry:<voucher>``          the voucher is used
``winback``            ``no_visit`` (scan)         ``winback:<customer>:<last>`` visited or bought online
=====================  ==========================  ============================  =======================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl
from ..models import EventType, ExitCondition, FollowUpEvent, FollowUpPlan, FollowUpTemplate, JournalEvent

if TYPE_CHECKING:
    from ..sdk import O2O

_VISITS = {EventType.CHECKED_IN.value, EventType.REDEEMED.value, EventType.ORDER_IN_STORE.value}

TEMPLATES = (
    FollowUpTemplate(
        "thank_you",
        subject="Thanks for visiting ${store_name}",
        text="Hi ${name},\n\nthank you for visiting ${store_name} today. How was it? Tell us in one minute:\n"
        "${survey_url}\n\n${recommendations}",
        html="<p>Hi ${name},</p><p>thank you for visiting <b>${store_name}</b> today. How was it?</p>"
        '<p><a href="${survey_url}">Tell us in one minute</a></p><p>${recommendations}</p>',
    ),
    FollowUpTemplate(
        "next_visit",
        subject="A little something for your next visit",
        text="Hi ${name},\n\nsee you again soon: ${offer_title} (${offer_discount}) on your next visit.\n"
        "Show this at the till: ${voucher_url}\nValid until ${voucher_expires}.",
        html="<p>Hi ${name},</p><p>see you again soon: <b>${offer_title}</b> (${offer_discount}) on your next visit.</p>"
        '<p><a href="${voucher_url}">Your voucher</a>, valid until ${voucher_expires}.</p>',
    ),
    FollowUpTemplate(
        "expiry_reminder",
        subject="Your voucher expires on ${voucher_expires}",
        text="Hi ${name},\n\nyour voucher for ${offer_title} (${offer_discount}) expires on ${voucher_expires}.\n"
        "Use it in store: ${voucher_url}",
        html="<p>Hi ${name},</p><p>your voucher for <b>${offer_title}</b> (${offer_discount}) expires on"
        ' ${voucher_expires}.</p><p><a href="${voucher_url}">Show it at the till</a></p>',
    ),
    FollowUpTemplate(
        "winback",
        subject="We miss you",
        text="Hi ${name},\n\nit has been a while. Drop by one of our stores: ${base_url}\n${winback_offer}",
        html='<p>Hi ${name},</p><p>it has been a while. <a href="${base_url}">Drop by one of our stores</a>.</p>'
        "<p>${winback_offer}</p>",
    ),
    FollowUpTemplate(
        "winback_offer",
        subject="We miss you: ${offer_discount} on your next visit",
        text="Hi ${name},\n\nit has been a while. Come back for ${offer_title} (${offer_discount}).\n"
        "Show this at the till: ${voucher_url}\nValid until ${voucher_expires}.",
        html="<p>Hi ${name},</p><p>it has been a while. Come back for <b>${offer_title}</b> (${offer_discount}).</p>"
        '<p><a href="${voucher_url}">Your voucher</a>, valid until ${voucher_expires}.</p>',
    ),
)


@hookimpl(trylast=True)
def o2o_register_templates(sdk: O2O, register: Callable[[FollowUpTemplate], None]) -> None:
    for template in TEMPLATES:
        register(template)


@hookimpl(trylast=True)
def o2o_personalize_followup(sdk: O2O) -> dict[str, str]:
    # Defaults for optional variables of the default templates; plugins override them.
    return {"recommendations": "", "winback_offer": ""}


@hookimpl(trylast=True)
def o2o_plan_followups(sdk: O2O, event: JournalEvent) -> list[FollowUpPlan] | None:
    flows = sdk.config.followups.flows
    customer = event.customer_id
    if not customer:
        return None
    plans: list[FollowUpPlan] = []
    if event.type in _VISITS:
        if flows.thank_you:
            plans.append(FollowUpPlan(
                "thank_you", flows.channel, "thank_you", customer, f"thanks:{customer}:{event.at.date().isoformat()}",
                delay=flows.thank_you_delay,
                data={"store_id": event.store_id or "", "store_name": "our store",
                      "survey_url": flows.survey_url or f"{sdk.config.base_url}/feedback"},
            ))  # fmt: skip
        if event.type == EventType.REDEEMED and flows.next_visit_offer_id and event.voucher_id:
            plans.append(FollowUpPlan(
                "next_visit", flows.channel, "next_visit", customer, f"next:{event.voucher_id}",
                delay=flows.next_visit_delay, offer_id=flows.next_visit_offer_id,
                exit_on=(ExitCondition.REDEEMED_SINCE.value,), data={"store_id": event.store_id or ""},
            ))  # fmt: skip
    elif event.type == FollowUpEvent.VOUCHER_EXPIRING and flows.expiry_notice is not None and event.voucher_id:
        plans.append(FollowUpPlan(
            "expiry_reminder", flows.channel, "expiry_reminder", customer, f"expiry:{event.voucher_id}",
            voucher_id=event.voucher_id, exit_on=(ExitCondition.VOUCHER_REDEEMED.value,),
        ))  # fmt: skip
    elif event.type == FollowUpEvent.NO_VISIT and flows.winback_after is not None:
        plans.append(FollowUpPlan(
            "winback", flows.channel, "winback_offer" if flows.winback_offer_id else "winback", customer, f"winback:{customer}:{event.data.get('last_visit_at', '')}",
            offer_id=flows.winback_offer_id, send_at=sdk.clock.now(),  # the event is dated at the last visit
            exit_on=(ExitCondition.VISITED_SINCE.value, ExitCondition.ORDERED_ONLINE_SINCE.value),
        ))  # fmt: skip
    return plans or None
