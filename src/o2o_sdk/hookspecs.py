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

    from .config import Config
    from .locator import StoreMatch, StoreQuery
    from .models import (
        CheckIn,
        CheckinRequest,
        CheckinVerdict,
        JournalEvent,
        Offer,
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
