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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import cattrs

    from .config import Config
    from .models import JournalEvent, Offer, Redemption, Reservation, Voucher
    from .rules import RedemptionContext, RuleOutcome
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
