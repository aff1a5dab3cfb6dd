"""The plugin host: one pluggy manager per SDK instance, fed from entry points.

Every plugin — the built-in defaults included — is found in the ``o2o_sdk`` entry point
group. Defaults are the entry points of the ``o2o-sdk`` distribution itself; their hook
implementations are ``trylast`` so third-party plugins win first-result hooks.

A plugin that fails to import is reported (:attr:`PluginHost.failures`, ``o2o plugins``,
a warning log line) and skipped; with ``strict_plugins`` it raises
:class:`~o2o_sdk.errors.PluginError`. ``O2O_PLUGINS`` allow-lists third-party plugins by
name, ``O2O_DISABLE_PLUGINS`` blocks any. ``O2O_TRACE_HOOKS=1`` logs every hook call.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError, StorageError

if TYPE_CHECKING:
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
        JournalEvent,
        Offer,
        Pickup,
        Redemption,
        Reservation,
        Store,
        Voucher,
    )
    from .rules import RedemptionContext, RuleOutcome
    from .sdk import O2O
    from .storage import Storage
    from .tokens import TokenSigner

from .models import GeoResult
from .rules import Adjust, Refuse

__all__ = ["ENTRY_POINT_GROUP", "PluginFailure", "PluginHost", "PluginInfo"]

log = logging.getLogger("o2o_sdk.plugins")

ENTRY_POINT_GROUP = "o2o_sdk"
CORE_DISTRIBUTION = "o2o-sdk"


@attrs.frozen
class PluginInfo:
    """A registered plugin, as ``o2o plugins`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    default: bool


@attrs.frozen
class PluginFailure:
    """A plugin that could not be loaded."""

    name: str
    distribution: str | None
    error: str


class PluginHost:
    """Owns the :class:`pluggy.PluginManager` of one SDK instance, with typed hook calls."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._meta: dict[str, tuple[str | None, str | None, bool]] = {}
        self.failures: list[PluginFailure] = []
        self._loaded = False
        if os.environ.get("O2O_TRACE_HOOKS"):
            self.pm.trace.root.setwriter(lambda msg: log.debug("hook %s", msg.rstrip()))
            self.pm.enable_tracing()

    # --- loading
    def load_entrypoints(self) -> None:
        """Load the ``o2o_sdk`` entry point group once: defaults first, then third parties."""
        if self._loaded:
            return
        self._loaded = True
        eps = sorted(
            metadata.entry_points(group=ENTRY_POINT_GROUP),
            key=lambda ep: (_dist_name(ep) != CORE_DISTRIBUTION, ep.name),
        )
        if not any(_dist_name(ep) == CORE_DISTRIBUTION for ep in eps):
            raise PluginError(
                "The o2o-sdk distribution's default plugins are not installed: install the"
                " package (pip install -e .) rather than putting src/ on sys.path."
            )
        for ep in eps:
            dist = _dist_name(ep)
            default = dist == CORE_DISTRIBUTION
            if ep.name in self.config.plugins_block:
                log.info("plugin %s blocked by O2O_DISABLE_PLUGINS", ep.name)
                continue
            if not default:
                if not self.config.load_entrypoints:
                    continue
                allow = self.config.plugins_allow
                if allow is not None and ep.name not in allow:
                    continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
                # Catch hook implementations that match no spec now, not at call time.
                self.pm.check_pending()
            except Exception as exc:
                if self.pm.has_plugin(ep.name):
                    self.pm.unregister(name=ep.name)
                message = f"{type(exc).__name__}: {exc}"
                if self.config.strict_plugins:
                    raise PluginError(f"Plugin {ep.name!r} ({dist}) failed to load: {message}") from exc
                log.warning("plugin %s (%s) skipped: %s", ep.name, dist, message)
                self.failures.append(PluginFailure(ep.name, dist, message))
                continue
            version = ep.dist.version if ep.dist is not None else None
            self._meta[ep.name] = (dist, version, default)

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object (module, class or instance) for this SDK instance."""
        try:
            registered = self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:
            if name is not None and self.pm.has_plugin(name) and self.pm.get_plugin(name) is plugin:
                self.pm.unregister(name=name)
            raise PluginError(f"Cannot register plugin: {exc}") from exc
        assert registered is not None
        return registered

    def unregister(self, plugin: object | None = None, name: str | None = None) -> None:
        """Remove a plugin registered with :meth:`register`."""
        self.pm.unregister(plugin=plugin, name=name)

    @contextmanager
    def registered(self, plugin: object, name: str | None = None) -> Iterator[str]:
        """Register ``plugin`` for the duration of a ``with`` block (handy in tests)."""
        plugin_name = self.register(plugin, name)
        try:
            yield plugin_name
        finally:
            self.pm.unregister(name=plugin_name)

    def list_plugins(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution, version and hooks."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            dist, version, default = self._meta.get(name, (None, None, False))
            out.append(PluginInfo(name, dist, version, hooks, default))
        return sorted(out, key=lambda p: (p.default, p.name))

    # --- typed facade: one method per hook, so call sites are type-checked
    def provide_storage(self, url: str, converter: cattrs.Converter) -> Storage | None:
        result: Storage | None = self.pm.hook.o2o_provide_storage(url=url, converter=converter)
        return result

    def provide_signer(self, config: Config, storage: Storage) -> TokenSigner | None:
        result: TokenSigner | None = self.pm.hook.o2o_provide_signer(config=config, storage=storage)
        return result

    def check_redemption(self, context: RedemptionContext) -> list[tuple[str, RuleOutcome]]:
        """Every non-``None`` outcome, paired with the name of the plugin that gave it."""
        outcomes: list[tuple[str, RuleOutcome]] = []
        for impl in reversed(self.pm.hook.o2o_check_redemption.get_hookimpls()):
            result = impl.function(**({"context": context} if "context" in impl.argnames else {}))
            if isinstance(result, (Refuse, Adjust)):
                outcomes.append((impl.plugin_name, result))
        return outcomes

    def after_issue(self, sdk: O2O, offer: Offer, vouchers: list[Voucher]) -> None:
        self._notify("o2o_after_issue", sdk=sdk, offer=offer, vouchers=vouchers)

    def after_reserve(self, sdk: O2O, offer: Offer, reservation: Reservation) -> None:
        self._notify("o2o_after_reserve", sdk=sdk, offer=offer, reservation=reservation)

    def after_redeem(self, sdk: O2O, offer: Offer, redemption: Redemption) -> None:
        self._notify("o2o_after_redeem", sdk=sdk, offer=offer, redemption=redemption)

    def after_void(self, sdk: O2O, offer: Offer, redemption: Redemption) -> None:
        self._notify("o2o_after_void", sdk=sdk, offer=offer, redemption=redemption)

    def journal_event(self, sdk: O2O, event: JournalEvent) -> None:
        self._notify("o2o_journal_event", sdk=sdk, event=event)

    # --- follow-ups
    def plan_followups(self, sdk: O2O, event: JournalEvent) -> list[FollowUpPlan]:
        """Every plan of every implementation; a failing or misbehaving one is logged and skipped,
        except for a failing database (:class:`StorageError`), which is raised: planning then
        stops before its cursor moves, and the event is planned again on the next run."""
        from .models import FollowUpPlan

        plans: list[FollowUpPlan] = []
        for impl in reversed(self.pm.hook.o2o_plan_followups.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            try:
                result = impl.function(**{k: v for k, v in {"sdk": sdk, "event": event}.items() if k in impl.argnames})
            except StorageError:
                raise
            except Exception:
                log.exception("plugin %s failed in o2o_plan_followups for event %s", impl.plugin_name, event.seq)
                continue
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                log.error("plugin %s returned a %s from o2o_plan_followups; expected a list", impl.plugin_name, type(result).__name__)
                continue
            for plan in result:
                if isinstance(plan, FollowUpPlan):
                    plans.append(plan)
                else:
                    log.error("plugin %s returned a %s from o2o_plan_followups; expected FollowUpPlan",
                              impl.plugin_name, type(plan).__name__)  # fmt: skip
        return plans

    def register_channels(self, sdk: O2O, register: Callable[[Channel], None]) -> None:
        self.pm.hook.o2o_register_channels(sdk=sdk, register=register)

    def register_templates(self, sdk: O2O, register: Callable[[FollowUpTemplate], None]) -> None:
        self.pm.hook.o2o_register_templates(sdk=sdk, register=register)

    def personalize_followup(self, sdk: O2O, followup: FollowUp, contact: Contact) -> dict[str, Any]:
        """Merged variables: for each name the first plugin's answer wins (third-party before defaults)."""
        merged: dict[str, Any] = {}
        for answer in self.pm.hook.o2o_personalize_followup(sdk=sdk, followup=followup, contact=contact):
            if not isinstance(answer, dict):
                raise PluginError(f"o2o_personalize_followup must return a dict or None, got {type(answer).__name__}.")
            for key, value in answer.items():
                merged.setdefault(str(key), value)
        return merged

    def check_followup(self, sdk: O2O, followup: FollowUp, contact: Contact) -> list[tuple[str, str]]:
        """Every exit reason given, paired with the name of the plugin that gave it."""
        kwargs = {"sdk": sdk, "followup": followup, "contact": contact}
        reasons: list[tuple[str, str]] = []
        for impl in reversed(self.pm.hook.o2o_check_followup.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            result = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            if result is not None:
                reasons.append((impl.plugin_name, str(result)))
        return reasons

    # --- adapters
    def register_adapters(self, sdk: O2O, register: Callable[[Adapter], None]) -> None:
        self.pm.hook.o2o_register_adapters(sdk=sdk, register=register)

    # --- check-in
    def verify_checkin(self, sdk: O2O, request: CheckinRequest) -> CheckinVerdict | None:
        from .models import CheckinVerdict

        result = self.pm.hook.o2o_verify_checkin(sdk=sdk, request=request)
        if result is not None and not isinstance(result, CheckinVerdict):
            raise PluginError(f"o2o_verify_checkin must return a CheckinVerdict or None, got {type(result).__name__}.")
        return result

    def check_checkin(self, sdk: O2O, request: CheckinRequest, checkin: CheckIn) -> list[tuple[str, Refuse]]:
        """Every refusal, paired with the name of the plugin that gave it."""
        kwargs = {"sdk": sdk, "request": request, "checkin": checkin}
        refusals: list[tuple[str, Refuse]] = []
        for impl in reversed(self.pm.hook.o2o_check_checkin.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:  # wrappers wrap pluggy's loop, not this one
                continue
            result = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            if isinstance(result, Refuse):
                refusals.append((impl.plugin_name, result))
            elif result is not None:
                raise PluginError(f"o2o_check_checkin of {impl.plugin_name} must return Refuse or None, got {type(result).__name__}.")
        return refusals

    def after_checkin(self, sdk: O2O, checkin: CheckIn) -> None:
        self._notify("o2o_after_checkin", sdk=sdk, checkin=checkin)

    # --- pickups
    def pickup_alert(self, sdk: O2O, pickup: Pickup, what: str) -> None:
        self._notify("o2o_pickup_alert", sdk=sdk, pickup=pickup, what=what)

    # --- store locator
    def has_impls(self, hook: str) -> bool:
        """Whether any plugin implements ``hook`` (lets callers skip work nobody asked for)."""
        return bool(getattr(self.pm.hook, hook).get_hookimpls())

    def register_stores(self, sdk: O2O, register: Callable[[Store], None]) -> None:
        self.pm.hook.o2o_register_stores(sdk=sdk, register=register)

    def check_inventory(self, sdk: O2O, stores: list[Store], skus: list[str]) -> dict[str, dict[str, int]]:
        """Merged answers: for each store and SKU the first plugin's answer wins."""
        merged: dict[str, dict[str, int]] = {}
        for answer in self.pm.hook.o2o_check_inventory(sdk=sdk, stores=stores, skus=skus):
            if not isinstance(answer, dict):
                raise PluginError(f"o2o_check_inventory must return {{store_id: {{sku: quantity}}}}, got {type(answer).__name__}.")
            for store_id, levels in answer.items():
                into = merged.setdefault(str(store_id), {})
                for sku, qty in levels.items():
                    into.setdefault(str(sku), int(qty))
        # Items the SDK itself set aside for pickups and reservations are not for sale.
        if merged and sdk.pickups.has_holds():
            for store_id, held in sdk.pickups.held(list(merged), skus).items():
                levels = merged.get(store_id, {})
                for sku, qty in held.items():
                    if sku in levels:
                        levels[sku] = max(0, levels[sku] - qty)
        return merged

    def exclude_stores(self, sdk: O2O, query: StoreQuery, stores: list[Store]) -> set[str]:
        """Ids dropped by any plugin."""
        dropped: set[str] = set()
        for answer in self.pm.hook.o2o_exclude_stores(sdk=sdk, query=query, stores=stores):
            dropped.update(answer)
        return dropped

    def rerank_stores(self, sdk: O2O, query: StoreQuery, matches: list[StoreMatch]) -> list[StoreMatch] | None:
        result: list[StoreMatch] | None = self.pm.hook.o2o_rerank_stores(sdk=sdk, query=query, matches=matches)
        return result

    # --- web
    def register_routes(self, sdk: O2O, register: Callable[..., None]) -> None:
        self.pm.hook.o2o_register_routes(sdk=sdk, register=register)

    def geocode(self, sdk: O2O, query: str) -> list[GeoResult] | None:
        result = self.pm.hook.o2o_geocode(sdk=sdk, query=query)
        if result is not None and not (isinstance(result, list) and all(isinstance(r, GeoResult) for r in result)):
            raise PluginError(f"o2o_geocode must return a list of GeoResult or None, got {type(result).__name__}.")
        return result

    def register_commands(self, register: Callable[..., None]) -> None:
        self.pm.hook.o2o_register_commands(register=register)

    def _notify(self, hook: str, **kwargs: Any) -> None:
        # A notification that fails must not undo what was already committed.
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            args = {k: v for k, v in kwargs.items() if k in impl.argnames}
            try:
                impl.function(**args)
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook)


def _dist_name(ep: metadata.EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


def hook_reference_markdown() -> str:
    """The hook reference (``docs/hooks.md``), generated from :mod:`o2o_sdk.hookspecs`."""
    lines = [
        "# Hook reference",
        "",
        "<!-- Generated from src/o2o_sdk/hookspecs.py by `python -m o2o_sdk.plugins --markdown`;",
        "     tests/test_hookspecs.py fails when this file is out of date. -->",
        "",
        inspect.cleandoc(hookspecs.__doc__ or ""),
        "",
    ]
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        opts = getattr(func, hookspecs.PROJECT + "_spec", None)
        if opts is None:  # not marked with @hookspec
            continue
        sig = str(inspect.signature(func)).replace("'", "")
        lines += [f"## `{name}`", "", f"```python\n{name}{sig}\n```", ""]
        if opts.get("firstresult"):
            lines += ["*First result: stops at the first non-`None` answer.*", ""]
        lines += [inspect.cleandoc(func.__doc__ or ""), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    if sys.argv[1:] == ["--markdown"]:
        sys.stdout.write(hook_reference_markdown())
