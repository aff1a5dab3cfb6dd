"""Default pickup flows: the pickup pass, the deadline reminder, thanks, win-back; arrival by check-in.

Configured by :class:`~o2o_sdk.models.PickupSettings` (``Config(pickups=...)``); block the
plugin with ``O2O_DISABLE_PLUGINS=pickup_flows`` to send your own.

=====================  ===========================  =======================  ==============================
flow                   trigger                      dedupe key               sent when
=====================  ===========================  =======================  ==============================
``pickup_ready``       ``pickup_ready``             ``pickup-ready:<id>``    at once (transactional), unless
                                                                             the pickup ended meanwhile
``pickup_reminder``    ``pickup_ready``             ``pickup-remind:<id>``   ``reminder_before`` the deadline,
                                                                             only if still not collected
``pickup_thanks``      ``pickup_handed_over``       ``pickup-thanks:<id>``   after the thank-you delay
``pickup_winback``     ``pickup_released``          ``pickup-winback:<id>``  at once, unless the customer
                                                                             visited since
=====================  ===========================  =======================  ==============================

A customer's first check-in of the window at a store where a pickup waits for them marks it
``arrived`` (method ``checkin:<method>``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import NotFound, PickupRefused
from ..hookspecs import hookimpl
from ..models import (
    CheckIn,
    Contact,
    EventType,
    ExitCondition,
    FollowUp,
    FollowUpPlan,
    FollowUpTemplate,
    JournalEvent,
    PickupState,
)

if TYPE_CHECKING:
    from ..sdk import O2O

#: The exit condition of the reminder: skip it unless the pickup still waits.
STILL_WAITING = "pickup_still_waiting"
#: The exit condition of the pass: skip it once the pickup ended (e.g. the order was cancelled
#: on its platform before the pass went out); an early arrival still gets it.
STILL_OPEN = "pickup_still_open"

TEMPLATES = (
    FollowUpTemplate(
        "pickup_ready",
        subject="Your order is ready for pickup at ${store_name}",
        text="Hi ${name},\n\nyour order is ready at ${store_name}, ${store_address}.\n"
        "Open today: ${hours_today}. Please collect it by ${deadline}.\n\n"
        "Show this pass at the counter, and tap \"I'm here\" when you arrive:\n${pass_url}",
        html="<p>Hi ${name},</p><p>your order is ready at <b>${store_name}</b>, ${store_address}.</p>"
        "<p>Open today: ${hours_today}. Please collect it by <b>${deadline}</b>.</p>"
        '<p><img src="${pass_url}/qr.png" width="222" height="222" alt="Your pickup QR code"></p>'
        '<p><a href="${pass_url}">Your pickup pass</a>: show it at the counter, and tap "I\'m here" when you arrive.</p>',
    ),
    FollowUpTemplate(
        "pickup_reminder",
        subject="Reminder: your order waits at ${store_name} until ${deadline}",
        text="Hi ${name},\n\nyour order is still waiting at ${store_name}, ${store_address}.\n"
        "Please collect it by ${deadline}; after that it goes back on the shelf.\nYour pass: ${pass_url}",
        html="<p>Hi ${name},</p><p>your order is still waiting at <b>${store_name}</b>, ${store_address}.</p>"
        '<p>Please collect it by <b>${deadline}</b>. <a href="${pass_url}">Your pickup pass</a></p>',
    ),
    FollowUpTemplate(
        "pickup_thanks",
        subject="Thanks for collecting at ${store_name}",
        text="Hi ${name},\n\nthanks for coming to ${store_name}. How did the pickup go? Tell us in one minute:\n${survey_url}",
        html="<p>Hi ${name},</p><p>thanks for coming to <b>${store_name}</b>. How did the pickup go?</p>"
        '<p><a href="${survey_url}">Tell us in one minute</a></p>',
    ),
    FollowUpTemplate(
        "pickup_winback",
        subject="We missed you at ${store_name}",
        text="Hi ${name},\n\nyour order at ${store_name} was not collected in time, so we released it.\n"
        "Find it again, or another store near you: ${base_url}\n${winback_offer}",
        html="<p>Hi ${name},</p><p>your order at <b>${store_name}</b> was not collected in time, so we released it.</p>"
        '<p><a href="${base_url}">Find it again</a>, or another store near you.</p><p>${winback_offer}</p>',
    ),
    FollowUpTemplate(
        "pickup_winback_offer",
        subject="We missed you at ${store_name}: ${offer_discount} next time",
        text="Hi ${name},\n\nyour order at ${store_name} was not collected in time, so we released it.\n"
        "Come back for ${offer_title} (${offer_discount}): ${voucher_url}\nValid until ${voucher_expires}.",
        html="<p>Hi ${name},</p><p>your order at <b>${store_name}</b> was not collected in time, so we released it.</p>"
        '<p>Come back for <b>${offer_title}</b> (${offer_discount}): <a href="${voucher_url}">your voucher</a>,'
        " valid until ${voucher_expires}.</p>",
    ),
)


@hookimpl(trylast=True)
def o2o_register_templates(sdk: O2O, register: Callable[[FollowUpTemplate], None]) -> None:
    for template in TEMPLATES:
        register(template)


def _pass_data(sdk: O2O, pickup_id: str) -> dict[str, str] | None:
    # Only a pickup that is gone plans nothing: a failing database is raised, and planning
    # runs again (the transactional "ready" message must not be lost to a blip).
    try:
        pickup = sdk.pickups.get(pickup_id)
    except NotFound:
        return None
    described = sdk.pickups.describe(pickup)
    return {**described, "pickup_id": pickup.id, "pass_url": sdk.pickups.pass_url(pickup), "store_id": pickup.store_id}


@hookimpl(trylast=True)
def o2o_plan_followups(sdk: O2O, event: JournalEvent) -> list[FollowUpPlan] | None:
    if not event.type.startswith("pickup_") or not event.customer_id:
        return None
    pickup_id = str(event.data.get("pickup_id") or "")
    settings = sdk.config.pickups
    customer = event.customer_id
    plans: list[FollowUpPlan] = []
    if event.type == EventType.PICKUP_READY:
        data = _pass_data(sdk, pickup_id)
        if data is None:
            return None
        plans.append(FollowUpPlan("pickup_ready", settings.channel, "pickup_ready", customer, f"pickup-ready:{pickup_id}",
                                  send_at=event.at, transactional=True, exit_on=(STILL_OPEN,), data=data))  # fmt: skip
        deadline = event.data.get("deadline")
        if settings.reminder_before is not None and deadline:
            remind_at = datetime.fromisoformat(str(deadline)) - settings.reminder_before
            if remind_at > event.at:
                plans.append(FollowUpPlan(
                    "pickup_reminder", settings.channel, "pickup_reminder", customer, f"pickup-remind:{pickup_id}",
                    send_at=remind_at, transactional=True, exit_on=(STILL_WAITING,), data=data,
                ))  # fmt: skip
    elif event.type == EventType.PICKUP_HANDED_OVER:
        flows = sdk.config.followups.flows
        plans.append(FollowUpPlan(
            "pickup_thanks", settings.channel, "pickup_thanks", customer, f"pickup-thanks:{pickup_id}",
            delay=flows.thank_you_delay,
            data={"store_id": event.store_id or "", "store_name": _store_name(sdk, event.store_id),
                  "survey_url": flows.survey_url or f"{sdk.config.base_url}/feedback", "pickup_id": pickup_id},
        ))  # fmt: skip
    elif event.type == EventType.PICKUP_RELEASED:
        plans.append(FollowUpPlan(
            "pickup_winback", settings.channel, "pickup_winback_offer" if settings.winback_offer_id else "pickup_winback",
            customer, f"pickup-winback:{pickup_id}", send_at=event.at, offer_id=settings.winback_offer_id,
            exit_on=(ExitCondition.VISITED_SINCE.value,),
            data={"store_id": event.store_id or "", "store_name": _store_name(sdk, event.store_id), "pickup_id": pickup_id},
        ))  # fmt: skip
    return plans or None


def _store_name(sdk: O2O, store_id: str | None) -> str:
    if not store_id:
        return "our store"
    try:
        return sdk.stores.get(store_id).name
    except NotFound:
        return "our store"


@hookimpl(trylast=True)
def o2o_check_followup(sdk: O2O, followup: FollowUp, contact: Contact) -> str | None:
    waiting, still_open = STILL_WAITING in followup.exit_on, STILL_OPEN in followup.exit_on
    if not (waiting or still_open):
        return None
    try:
        pickup = sdk.pickups.get(str(followup.data.get("pickup_id", "")))
    except NotFound:  # a failing database is raised: the send is retried, not given up
        return "pickup_gone"
    if (waiting and pickup.state is not PickupState.READY) or (still_open and pickup.state.final):
        return f"pickup_{pickup.state.value}"
    return None


@hookimpl(trylast=True)
def o2o_after_checkin(sdk: O2O, checkin: CheckIn) -> None:
    for pickup in sdk.pickups.waiting(checkin.customer_id, checkin.store_id):
        if pickup.state is PickupState.ARRIVED:
            continue
        try:
            sdk.pickups.arrived(pickup.id, method=f"checkin:{checkin.method}")
        except PickupRefused:  # a concurrent step got there first
            continue
