"""The plugin contract: every hook o2o-sdk calls, in one module.

Implement a hook by decorating a function named exactly like the spec with
:data:`o2o_sdk.hookimpl`, in a module or class that you register with
``O2O.plugins.register(...)`` or publish through the ``o2o_sdk`` entry point group::

    # pyproject.toml of your distribution
    [project.entry-points.o2o_sdk]
    my_plugin = "my_package.o2o_plugin"

Hook arguments are passed by keyword; a hook implementation may accept any subset of them.
Never give an argument a default value: pluggy silently skips such arguments.

Hooks marked *first result* stop at the first implementation that returns something other
than ``None``. The built-in implementations are registered with ``trylast=True``, so a
third-party plugin always wins. The reference page ``docs/hooks.md`` is generated from the
docstrings below (``python -m o2o_sdk.plugins --markdown``) and a test keeps them in sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import cattrs

    from .adapters import Adapter
    from .config import Config
    from .followups import Channel
    from .locator import StoreMatch, StoreQuery
    from .models import (
        CheckIn,
        CheckinRequest,
        CheckinVerdict,
        Contact,
        FollowUp,
        FollowUpPlan,
        FollowUpTemplate,
        GeoResult,
        JournalEvent,
        Offer,
        Pickup,
        Redemption,
        Reservation,
        Store,
        Voucher,
    )
    from .rules import RedemptionContext, Refuse, RuleOutcome
    from .sdk import O2O
    from .storage import Storage
    from .tokens import TokenSigner

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "o2o_sdk"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a function as the implementation of an o2o-sdk hook.
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------
# Providers: the SDK asks once, when an O2O instance is created
# ---------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def o2o_provide_storage(url: str, converter: cattrs.Converter) -> Storage | None:
    """Open the storage backend for a database URL.

    :param url: the configured ``database_url`` (``O2O_DATABASE_URL``).
    :param converter: the SDK instance's cattrs converter, for (de)serializing models.
    :return: a :class:`~o2o_sdk.storage.Storage` if this plugin handles the URL's scheme,
        else ``None``.

    *First result.* The built-in implementation handles ``sqlite:///`` and
    ``postgresql://`` (``postgres://``).

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def o2o_provide_signer(config: Config, storage: Storage) -> TokenSigner | None:
    """Provide the signer that mints and verifies tokens (vouchers, passes, codes).

    :param config: the SDK configuration (``secret_keys`` holds the configured keys).
    :param storage: the opened storage, e.g. to keep generated or derived keys.
    :return: a :class:`~o2o_sdk.tokens.TokenSigner`, or ``None`` to let another plugin decide.

    *First result.* The built-in signer is itsdangerous with key ids and rotation
    (:class:`~o2o_sdk.tokens.KeyringSigner`). Plug in per-store derived keys or asymmetric
    signatures (Ed25519) so that a device that can verify cannot mint.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Offers: rules and notifications
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_check_redemption(context: RedemptionContext) -> RuleOutcome | None:
    """Accept, refuse or adjust a voucher at the till.

    Called for ``validate``, ``reserve`` and ``redeem``, before anything is written, after
    the built-in checks (signature, validity window in the store's time zone, store,
    customer, minimum basket) have passed.

    :param context: the offer, voucher, store, customer, basket and computed discount.
    :return: ``None`` to accept, :class:`~o2o_sdk.rules.Refuse` to refuse (reported as
        ``refused_by_rule`` with the plugin's message), or :class:`~o2o_sdk.rules.Adjust`
        to change the discount. Every implementation is called; any refusal refuses, and of
        several adjustments the smallest discount applies.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_after_issue(sdk: O2O, offer: Offer, vouchers: list[Voucher]) -> None:
    """Vouchers were issued and stored (one call per batch).

    :param sdk: the SDK instance.
    :param offer: the offer the vouchers are for.
    :param vouchers: the new vouchers, with their tokens.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_after_reserve(sdk: O2O, offer: Offer, reservation: Reservation) -> None:
    """A voucher was held for a checkout.

    :param sdk: the SDK instance.
    :param offer: the voucher's offer.
    :param reservation: the new hold.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_after_redeem(sdk: O2O, offer: Offer, redemption: Redemption) -> None:
    """A voucher was redeemed and the redemption committed (not called on idempotent replays).

    :param sdk: the SDK instance.
    :param offer: the redeemed voucher's offer.
    :param redemption: the committed redemption.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_after_void(sdk: O2O, offer: Offer, redemption: Redemption) -> None:
    """A redemption was voided; its caps and budget were given back.

    :param sdk: the SDK instance.
    :param offer: the offer.
    :param redemption: the redemption, with ``voided_at`` and ``void_reason`` set.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Store locator: stores and inventory from adapters, filters, ranking
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_register_stores(sdk: O2O, register: Callable[[Store], None]) -> None:
    """Supply the shop's stores from a platform (called by ``sdk.stores.sync()``).

    :param sdk: the SDK instance.
    :param register: call ``register(store)`` once per :class:`~o2o_sdk.Store`. The host
        validates each store (a bad one is reported in the sync report, not fatal) and keeps
        the first store registered for an id.
    :return: nothing; stores are collected through ``register``.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_check_inventory(sdk: O2O, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]] | None:
    """Report stock for a batch of stores and SKUs (the locator's in-stock filter).

    Called once per batch of candidate stores, never once per store.

    :param sdk: the SDK instance.
    :param stores: the candidate stores (use ``store.external_ids`` to find them on your platform).
    :param skus: the SKUs the customer asked for.
    :return: ``{store_id: {sku: quantity}}`` for the stores this plugin knows, or ``None``.
        Every implementation is called; for a store and SKU the first answer wins (third-party
        plugins before defaults). A store or SKU nobody reports counts as out of stock.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_exclude_stores(sdk: O2O, query: StoreQuery, stores: list[Store]) -> Iterable[str] | None:
    """Drop candidate stores from a search (a plugin filter), one batch at a time.

    Called after the built-in filters (services, opening hours) and before the inventory check.

    :param sdk: the SDK instance.
    :param query: the search (point, k, radius, opening time, services, SKUs).
    :param stores: candidate stores, nearest first (on the sphere).
    :return: ids of stores that must not be shown, or ``None`` to keep them all. Every
        implementation is called; a store dropped by any of them is dropped.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def o2o_rerank_stores(sdk: O2O, query: StoreQuery, matches: list[StoreMatch]) -> list[StoreMatch] | None:
    """Reorder the top candidates of a search (e.g. by travel time instead of distance).

    :param sdk: the SDK instance.
    :param query: the search.
    :param matches: the best candidates in exact geodesic order, up to twice ``query.k``,
        each with its distance; attach data for the caller in ``match.extra``.
    :return: the matches in the new order (a subset may be returned to drop some; only the
        given matches, each at most once), or ``None`` to keep the geodesic order. The result
        is cut to ``query.k``.

    *First result.*

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Adapters: commerce platforms (stores and inventory come through the store locator hooks)
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_register_adapters(sdk: O2O, register: Callable[[Adapter], None]) -> None:
    """Supply platform adapters (Shopify, WooCommerce, Square, a POS) for this SDK instance.

    Called when the SDK is created and again after plugins were registered. An adapter is
    one object satisfying :class:`~o2o_sdk.adapters.Adapter`: a ``name`` (its key in
    ``Store.external_ids``), ``capabilities``, and the methods ``mirror_offer``,
    ``discount_usage``, ``lookup_customer`` and ``parse_webhook``. The SDK also registers the
    object as a plugin, so it supplies stores and stock through its own
    ``o2o_register_stores`` and ``o2o_check_inventory`` methods. Reach it as
    ``sdk.adapters.get(name)``.

    :param sdk: the SDK instance (read the adapter's settings from
        ``sdk.config.plugin_settings(name)``).
    :param register: call ``register(adapter)`` once per adapter. An object lacking the
        protocol's members is refused with :class:`~o2o_sdk.errors.PluginError`. Of several
        adapters with one name the first the hook returns wins: pluggy calls plugins registered
        later first, so an adapter given to ``O2O(plugins=...)`` beats an entry point's.
    :return: nothing; adapters are collected through ``register``.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Check-in: verification methods, vetoes, notifications
# ---------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def o2o_verify_checkin(sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
    """Verify a customer's presence at a store by one check-in method.

    Each method (rotating code, geofence, staff, poster — and NFC, beacons or a vendor's
    signed location claim from plugins) is one implementation that answers only for its own
    ``request.method``. A session token in the request has already been verified into
    ``request.customer_id``.

    :param sdk: the SDK instance (stores, signer, clock, configuration).
    :param request: the attempt: method, expected store, customer, code, position, token, data.
    :return: :class:`~o2o_sdk.models.CheckinVerdict` — ``CheckinVerdict.accept(store_id,
        customer_id, trust, nonce=…, evidence=…)`` or ``CheckinVerdict.refuse(reason, message)``
        — or ``None`` when the method is not this plugin's. Raise
        :class:`~o2o_sdk.errors.InvalidInput` for a malformed request (caller mistake).

    *First result.* The built-in methods are ``code``, ``geofence``, ``staff`` and ``poster``.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_check_checkin(sdk: O2O, request: CheckinRequest, checkin: CheckIn) -> Refuse | None:
    """Veto a verified check-in before it is recorded (e.g. blocked customers, closed stores).

    Called after a verification plugin accepted the attempt, before anything is written,
    for every attempt (also when the customer already checked in this window).

    :param sdk: the SDK instance.
    :param request: the attempt as the verification plugin saw it.
    :param checkin: the check-in that would be recorded (id, customer, store, method, trust,
        time, window, evidence); not stored yet.
    :return: ``None`` to allow, or :class:`~o2o_sdk.rules.Refuse` to refuse (reported as
        ``refused_by_rule`` with the plugin's message and name). Every implementation is
        called; any refusal refuses.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_after_checkin(sdk: O2O, checkin: CheckIn) -> None:
    """A new check-in was committed: the first of this customer at this store in this window.

    Not called when an attempt returns the window's existing check-in, so a reward issued
    here (e.g. :class:`~o2o_sdk.checkin.IssueOnCheckin`) is given at most once per window.

    :param sdk: the SDK instance.
    :param checkin: the recorded check-in.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Journal
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_journal_event(sdk: O2O, event: JournalEvent) -> None:
    """See every journal event after it is committed (an event sink).

    :param sdk: the SDK instance.
    :param event: the appended event, with its ``seq``.

    Called synchronously after the commit; a failing sink is logged and does not undo the
    event. Use it to stream events to analytics or a message bus.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Web: routes of the mountable app, address lookup for the store locator
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_register_routes(sdk: O2O, register: Callable[..., None]) -> None:
    """Add HTTP routes to the web app (``o2o_sdk.web.create_app``), e.g. a platform's webhook receiver.

    Called once per app, when it is created.

    :param sdk: the SDK instance the app serves.
    :param register: call ``register(path, endpoint, methods=["POST"], name=None)``: ``path``
        is a Starlette path relative to the app's mount (``/webhooks/shopify/{topic}``),
        ``endpoint`` a Starlette endpoint (``async def endpoint(request) -> Response``).
        Paths the app already serves, or under its own prefixes (``/api/pos/``, ``/staff``,
        ``/static/``), are refused with :class:`~o2o_sdk.errors.PluginError`.
    :return: nothing; routes are collected through ``register``.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def o2o_geocode(sdk: O2O, query: str) -> list[GeoResult] | None:
    """Turn an address, postcode or city a customer typed into places (the locator's fallback
    when the browser does not share its position).

    :param sdk: the SDK instance.
    :param query: what the customer typed, stripped, at most 200 characters.
    :return: places, best first (may be empty: nothing found), or ``None`` to let another
        plugin answer.

    *First result.* The built-in implementation looks the query up in the shop's own stores'
    addresses (postcodes, cities, streets) and ``postcode`` / ``city`` attributes, without
    any external service; plug in a geocoding service for arbitrary addresses.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Follow-ups: planning, channels, templates, personalization, exit conditions
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_plan_followups(sdk: O2O, event: JournalEvent) -> list[FollowUpPlan] | None:
    """Plan follow-ups for a journal event (online after offline: thanks, offers, reminders).

    Called once per event by the planner, which consumes the journal from a stored cursor
    (``sdk.followups.plan()``, also run by every worker), so an event committed by any
    process is planned once. Also called with the scan's synthetic events
    ``voucher_expiring`` (``voucher_id``, ``offer_id``, ``data["expires_at"]``) and
    ``no_visit`` (dated at the last visit; ``data["last_visit_at"]``, ``data["days"]``),
    which are not stored.
    Keep it free of side effects: it may run more than once for one event when planners
    race (only one result is kept).

    :param sdk: the SDK instance (read ``sdk.config.followups.flows`` for the default flows).
    :param event: the journal event, with its ``seq`` (``None`` for synthetic events).
    :return: :class:`~o2o_sdk.models.FollowUpPlan` objects (channel, template, customer,
        dedupe key, delay or send time, exit conditions, template data), or ``None``. Every
        implementation is called and all plans are kept; a plan whose ``dedupe_key`` is
        already in the outbox is ignored. A failing implementation is logged and skipped.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_register_channels(sdk: O2O, register: Callable[[Channel], None]) -> None:
    """Supply delivery channels (email, SMS, webhook, console …) for follow-ups.

    Called once per SDK instance, on first use of ``sdk.followups.channels``.

    :param sdk: the SDK instance (read your settings with ``sdk.config.plugin_settings(name)``).
    :param register: call ``register(channel)`` once per :class:`~o2o_sdk.followups.Channel`:
        ``name``, ``requires_consent``, ``is_email``, ``address(contact)``,
        ``send(message, idempotency_key) -> DeliveryResult`` raising
        :class:`~o2o_sdk.followups.TransientDeliveryError` or
        :class:`~o2o_sdk.followups.PermanentDeliveryError`, and ``close()``. An object
        lacking these is refused with :class:`~o2o_sdk.errors.PluginError`; of two channels
        with one name the first registered wins (third-party plugins before defaults).
    :return: nothing; channels are collected through ``register``.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_register_templates(sdk: O2O, register: Callable[[FollowUpTemplate], None]) -> None:
    """Supply follow-up message templates (``string.Template`` subject, text and HTML).

    Called once per SDK instance, on first use of ``sdk.followups.templates()``.

    :param sdk: the SDK instance.
    :param register: call ``register(template)`` once per
        :class:`~o2o_sdk.models.FollowUpTemplate`; the first template registered under a name
        wins (third-party plugins before defaults; ``sdk.followups.add_template`` overrides both).
    :return: nothing; templates are collected through ``register``.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_personalize_followup(sdk: O2O, followup: FollowUp, contact: Contact) -> dict[str, Any] | None:
    """Add template variables to a follow-up just before it is rendered (e.g. product
    recommendations from what the customer bought in store, supplied by an adapter).

    Called at send time, once per attempt, after the send-time policy allowed the send.

    :param sdk: the SDK instance.
    :param followup: the follow-up being sent (flow, template, customer, ``data``, voucher).
    :param contact: the recipient (name, addresses, time zone).
    :return: ``{name: value}`` (values are turned into text; names ending in ``_html`` are
        inserted into HTML unescaped), or ``None``. Every implementation is called; for a name
        the first answer wins (third-party plugins before defaults). The plan's own ``data``
        and the core's variables (``unsubscribe_url``, ``voucher_url`` …) take precedence.

    .. versionadded:: 0.1
    """


@hookspec
def o2o_check_followup(sdk: O2O, followup: FollowUp, contact: Contact) -> str | None:
    """An exit condition of your own, checked immediately before each send.

    Called after consent, suppression and the built-in exit conditions
    (:class:`~o2o_sdk.models.ExitCondition`) passed.

    :param sdk: the SDK instance.
    :param followup: the follow-up about to be sent (``exit_on`` may name your condition;
        ``trigger_at`` is the time of the event that planned it).
    :param contact: the recipient.
    :return: a short reason to skip the follow-up (it ends ``skipped`` with that reason,
        journaled as ``followup_skipped``), or ``None`` to let it go. Every implementation is
        called; any reason skips.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Pickups
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_pickup_alert(sdk: O2O, pickup: Pickup, what: str) -> None:
    """Alert the store's staff about a pickup (a store-facing channel: a display, a webhook to
    the store's system, a message to a shared phone).

    :param sdk: the SDK instance.
    :param pickup: the pickup as it is now (``store_id``, ``items``, ``arrival_note``,
        ``curbside`` …).
    :param what: ``placed`` (a new pickup to prepare), ``arrived`` (the customer is here;
        curbside: ``arrival_note`` says where), ``ready`` (it became ready while the
        customer was already waiting) or ``cancelled`` (the order was cancelled on its
        platform: stop preparing it, put the items back; ``reason`` is
        ``cancelled_on_<platform>``). Cancellations made through the SDK itself are not
        alerted.

    Called after the step committed; every implementation is called and a failing one is
    logged, never undoing the step. The web surface's store display page reads the same
    state without this hook.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


@hookspec
def o2o_register_commands(
    register: Callable[[str, str, Callable[[argparse.ArgumentParser], None], Callable[[O2O, argparse.Namespace], Any]], None],
) -> None:
    """Add top-level commands to the ``o2o`` CLI (e.g. ``o2o shopify …``).

    :param register: call ``register(name, help, configure, run)``: ``configure`` receives
        the command's :class:`argparse.ArgumentParser`, ``run(sdk, args)`` runs it and returns
        an exit code (or ``None`` for 0). Names already taken are refused.

    .. versionadded:: 0.1
    """
