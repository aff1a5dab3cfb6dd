"""Check-in: verified presence of an online customer at a physical store.

A check-in attempt goes through four steps::

    request ──► session token verified into a customer id
            ──► o2o_verify_checkin   one plugin per method: code, geofence, staff, poster, …
            ──► o2o_check_checkin    every plugin may veto (refused_by_rule)
            ──► one transaction:     INSERT … ON CONFLICT DO NOTHING on (customer, store, window),
                                     single-use evidence (code steps) claimed under a unique key,
                                     journal ``checked_in``
            ──► o2o_after_checkin    only for a new check-in (rewards: IssueOnCheckin)

The database's unique constraints, not the caller, make check-ins one per customer, store
and window and make a code step single-use per customer; concurrent attempts create one row
and all get it back. Refusals raise :class:`CheckinRefused` and are journaled as
``checkin_refused`` with their reason.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from .._checks import check_limit, cutoff, later
from ..errors import InvalidInput, NotFound, O2OError, PluginError, TokenError
from ..hookspecs import hookimpl
from ..ids import new_id
from ..models import (
    CheckIn,
    CheckinMethod,
    CheckinReason,
    CheckinRequest,
    CheckinResult,
    EventType,
    JournalEvent,
    Store,
    TrustLevel,
)
from . import _codes

if TYPE_CHECKING:
    import segno

    from ..sdk import O2O

__all__ = ["CheckinRefused", "Checkins", "IssueOnCheckin", "RotatingCode"]

#: Default lifetime of a member token (the QR on a loyalty card or in a wallet).
MEMBER_TTL = timedelta(days=365)


class CheckinRefused(O2OError):
    """A check-in attempt was refused. ``reason`` is the stable code (see
    :class:`~o2o_sdk.models.CheckinReason`; plugins may add their own), ``source`` names the
    plugin that vetoed it for ``refused_by_rule``."""

    code = "checkin_refused"

    def __init__(self, reason: str, message: str, source: str | None = None) -> None:
        super().__init__(message, code=str(reason))
        self.reason = str(reason)
        self.source = source


@attrs.frozen
class RotatingCode:
    """The code a store displays now: accepted during its step and ``grace`` steps around it."""

    store_id: str
    step: int
    code: str
    url: str
    valid_from: datetime
    valid_until: datetime


class _CodeReused(Exception):
    """Raised inside the transaction to roll it back when single-use evidence was used."""


class Checkins:
    """``sdk.checkins``: identify customers, show store codes, record and query check-ins."""

    def __init__(self, sdk: O2O) -> None:
        self._sdk = sdk
        self._refs: dict[bytes, str] = {}

    # ------------------------------------------------------------------ customer identity
    def session_token(self, customer_id: str, *, ttl: timedelta | None = None) -> str:
        """A signed token naming the customer signed in online; the phone sends it along
        with the code it scanned. Valid for ``ttl`` (default ``config.checkin_session_ttl``)."""
        return self._customer_token(customer_id, ttl or self._sdk.config.checkin_session_ttl, _codes.SESSION_PURPOSE)

    def member_token(self, customer_id: str, *, ttl: timedelta = MEMBER_TTL) -> str:
        """A signed, long-lived token for the customer's member QR, scanned by staff at the till."""
        return self._customer_token(customer_id, ttl, _codes.MEMBER_PURPOSE)

    def member_url(self, token: str) -> str:
        """``<base_url>/m/<token>``: what a member QR encodes."""
        return f"{self._sdk.config.base_url}/{_codes.MEMBER_PATH}/{token}"

    def _customer_token(self, customer_id: str, ttl: timedelta, purpose: str) -> str:
        if ttl <= timedelta(0):
            raise InvalidInput("A token needs a positive lifetime.")
        beyond = "A token cannot be valid beyond the year 2105."
        expires = later(self._sdk.clock.now(), ttl, beyond)
        if expires.year >= 2106:
            raise InvalidInput(beyond)
        return self._sdk.signer.sign(_codes.encode_customer(customer_id, expires), purpose)

    def customer_from_session(self, token: str) -> str:
        """The customer a session token names; :class:`CheckinRefused` (``invalid_session``,
        ``session_expired``) if it cannot be trusted."""
        return self._customer_from(token, _codes.SESSION_PURPOSE, "session")

    def customer_from_member(self, token: str) -> str:
        """The customer a member token (or its link) names; :class:`CheckinRefused` otherwise."""
        return self._customer_from(_codes.split_link(token)[1], _codes.MEMBER_PURPOSE, "member card")

    def _customer_from(self, token: str, purpose: str, what: str) -> str:
        try:
            customer_id, expires = _codes.decode_customer(self._sdk.signer.verify(token, purpose))
        except TokenError:
            raise CheckinRefused(
                CheckinReason.INVALID_SESSION, f"This {what} token is not valid; sign in again."
            ) from None
        if expires <= self._sdk.clock.now():
            raise CheckinRefused(CheckinReason.SESSION_EXPIRED, f"This {what} token has expired; sign in again.")
        return customer_id

    # ------------------------------------------------------------------ store codes
    def current_code(self, store_id: str, *, at: datetime | None = None) -> RotatingCode:
        """The rotating code ``store_id`` displays at ``at`` (default now)."""
        store = self._store(store_id)
        at = at or self._sdk.clock.now()
        step = self._sdk.config.checkin_code_step
        number = _codes.step_at(at, step)
        code = self._sdk.signer.sign(_codes.encode_store_stamp(store.id, number), _codes.CODE_PURPOSE)
        start = _codes.step_start(number, step)
        return RotatingCode(store.id, number, code, self.code_url(code), start, start + step)

    def code_url(self, code: str) -> str:
        """``<base_url>/c/<code>``: what the rotating QR encodes."""
        return f"{self._sdk.config.base_url}/{_codes.CODE_PATH}/{code}"

    def poster_code(self, store_id: str) -> str:
        """A static code for a printed poster. Check-ins through it have trust ``low``."""
        store = self._store(store_id)
        printed = int(self._sdk.clock.now().timestamp())
        return self._sdk.signer.sign(_codes.encode_store_stamp(store.id, printed), _codes.POSTER_PURPOSE)

    def poster_url(self, store_id: str) -> str:
        """``<base_url>/p/<code>`` with a new poster code for ``store_id``."""
        return f"{self._sdk.config.base_url}/{_codes.POSTER_PATH}/{self.poster_code(store_id)}"

    def qr(self, url: str) -> segno.QRCode:
        """A link as a QR code (segno), level M at least: ``.svg()``, ``.png()``, ``.terminal()``."""
        import segno

        return segno.make(url, error="m", boost_error=True, micro=False)

    def poster_svg(self, store_id: str) -> str:
        """A printable A4 poster (SVG): the store's name, hours and a static check-in QR."""
        from ._poster import poster_svg

        store = self._store(store_id)
        return poster_svg(store, self.qr(self.poster_url(store.id)))

    def poster_pdf(self, store_id: str) -> bytes:
        """The same poster as a one-page PDF."""
        from ._poster import poster_pdf

        store = self._store(store_id)
        return poster_pdf(store, self.qr(self.poster_url(store.id)))

    def save_poster(self, store_id: str, path: str | Path) -> Path:
        """Write the poster to ``path``; the format follows the extension (``.svg`` or ``.pdf``)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            path.write_text(self.poster_svg(store_id), encoding="utf-8")
        elif suffix == ".pdf":
            path.write_bytes(self.poster_pdf(store_id))
        else:
            raise InvalidInput(f"Cannot write a poster as {path.name}; name it .svg or .pdf.")
        return path

    # ------------------------------------------------------------------ checking in
    def with_code(self, code: str, *, session: str | None = None, customer_id: str | None = None,
                  store_id: str | None = None) -> CheckinResult:  # fmt: skip
        """Check in with the store's rotating code (or its link), trust ``verified``.

        The customer comes from ``session`` (a token from :meth:`session_token`) or, when the
        shop's own backend has authenticated them, ``customer_id``. With ``store_id`` a code
        of another store is refused (``wrong_store``).
        """
        return self.check_in(CheckinRequest(CheckinMethod.CODE, store_id, customer_id, session, code))

    def with_poster(self, code: str, *, session: str | None = None, customer_id: str | None = None,
                    store_id: str | None = None) -> CheckinResult:  # fmt: skip
        """Check in with a printed poster's static code (or its link), trust ``low``."""
        return self.check_in(CheckinRequest(CheckinMethod.POSTER, store_id, customer_id, session, code))

    def with_location(self, store_id: str, latitude: float, longitude: float, accuracy_m: float, *,
                      session: str | None = None, customer_id: str | None = None) -> CheckinResult:  # fmt: skip
        """Check in with a device position; accepted only if the whole accuracy circle lies in
        the store's check-in circle (``store.checkin_radius_m``), trust ``verified``."""
        return self.check_in(CheckinRequest(
            CheckinMethod.GEOFENCE, store_id, customer_id, session,
            latitude=latitude, longitude=longitude, accuracy_m=accuracy_m,
        ))  # fmt: skip

    def by_staff(self, store_id: str, *, token: str | None = None, customer_id: str | None = None,
                 staff_id: str | None = None) -> CheckinResult:  # fmt: skip
        """Staff at the till check the customer in by scanning their voucher or member QR
        (``token``: the token or its link) or by their ``customer_id``; trust ``high``."""
        return self.check_in(CheckinRequest(CheckinMethod.STAFF, store_id, customer_id, token=token, staff_id=staff_id))

    def scan(self, link: str, *, session: str | None = None, customer_id: str | None = None,
             store_id: str | None = None) -> CheckinResult:  # fmt: skip
        """Check in with whatever check-in link the phone opened: ``…/c/<code>`` (rotating)
        or ``…/p/<code>`` (poster)."""
        segment, _ = _codes.split_link(link)
        method = CheckinMethod.POSTER if segment == _codes.POSTER_PATH else CheckinMethod.CODE
        return self.check_in(CheckinRequest(method, store_id, customer_id, session, link))

    def check_in(self, request: CheckinRequest) -> CheckinResult:
        """Verify and record a check-in by any method (built-in or a plugin's).

        Returns the customer's check-in at the store for the current window: a new one
        (``created``), or the existing one — raised to a stronger trust level if this attempt
        is stronger (``upgraded``). Raises :class:`CheckinRefused` (journaled as
        ``checkin_refused``) and :class:`~o2o_sdk.errors.InvalidInput` for caller mistakes.
        """
        try:
            request = self._identify(request)
        except CheckinRefused as exc:
            self._journal_refusal(request, exc)
            raise
        verdict = self._sdk.plugins.verify_checkin(self._sdk, request)
        if verdict is None:
            raise InvalidInput(
                f"No plugin verifies check-ins by {request.method!r}.", code="unsupported_checkin_method"
            )
        if not verdict.ok:
            self._refuse(request, verdict.reason or CheckinReason.REFUSED_BY_RULE, verdict.message or "Check-in refused.",
                         store_id=verdict.store_id, customer_id=verdict.customer_id)  # fmt: skip
        if verdict.store_id is None:
            raise PluginError(f"The {request.method!r} check-in plugin accepted without naming the store.")
        customer_id = verdict.customer_id or request.customer_id
        if customer_id is None:
            self._refuse(request, CheckinReason.CUSTOMER_REQUIRED, "Sign in first, so that we know who is checking in.",
                         store_id=verdict.store_id)  # fmt: skip
        store = self._store(verdict.store_id)
        now = self._sdk.clock.now()
        proposed = CheckIn(
            id=new_id("chk"), customer_id=customer_id, store_id=store.id, method=str(request.method),
            trust=TrustLevel(verdict.trust), at=now, window_start=self.window_start(store, now),
            evidence=dict(verdict.evidence),
        )  # fmt: skip
        vetoes = self._sdk.plugins.check_checkin(self._sdk, request, proposed)
        if vetoes:
            plugin, veto = vetoes[0]
            self._refuse(request, CheckinReason.REFUSED_BY_RULE, veto.message, store_id=store.id,
                         customer_id=customer_id, source=plugin)  # fmt: skip
        return self._record(request, proposed, verdict.nonce)

    def _record(self, request: CheckinRequest, proposed: CheckIn, nonce: str | None) -> CheckinResult:
        now = proposed.at
        committed: builtins.list[JournalEvent] = []
        upgraded = False
        try:
            with self._sdk.storage.atomic() as tx:
                stored = tx.insert_checkin_once(proposed)
                if nonce is not None and not tx.claim_checkin_nonce(
                    stored.store_id, stored.customer_id, nonce, stored.id, now
                ):
                    raise _CodeReused
                created = stored.id == proposed.id
                data: dict[str, Any] = {
                    "checkin_id": stored.id,
                    "method": proposed.method,
                    "trust": proposed.trust.value,
                }
                if created:
                    committed = tx.append_events([self._event(EventType.CHECKED_IN, proposed, data)])
                elif proposed.trust.rank > stored.trust.rank:
                    data["previous_trust"] = stored.trust.value
                    tx.upgrade_checkin(stored.id, proposed.method, proposed.trust, proposed.evidence, now)
                    stored = attrs.evolve(stored, method=proposed.method, trust=proposed.trust,
                                          evidence=proposed.evidence, upgraded_at=now)  # fmt: skip
                    upgraded = True
                    committed = tx.append_events([self._event(EventType.CHECKIN_UPGRADED, proposed, data)])
        except _CodeReused:
            self._refuse(request, CheckinReason.CODE_REUSED, "You have already used this code; scan the code the store shows now.",
                         store_id=proposed.store_id, customer_id=proposed.customer_id)  # fmt: skip
        self._sdk._emit(committed)
        if created:
            self._sdk.plugins.after_checkin(self._sdk, stored)
        return CheckinResult(stored, created, upgraded)

    @staticmethod
    def _event(type: EventType, c: CheckIn, data: dict[str, Any]) -> JournalEvent:
        return JournalEvent(type, c.at, None, None, c.store_id, c.customer_id, data)

    def _identify(self, request: CheckinRequest) -> CheckinRequest:
        if request.customer_id is not None:
            _codes.check_customer_id(request.customer_id)
        if request.session is None:
            return request
        customer_id = self.customer_from_session(request.session)
        if request.customer_id is not None and request.customer_id != customer_id:
            raise InvalidInput("The session token names another customer than customer_id.")
        return attrs.evolve(request, customer_id=customer_id)

    def _refuse(self, request: CheckinRequest, reason: str, message: str, *, store_id: str | None = None,
                customer_id: str | None = None, source: str | None = None) -> NoReturn:  # fmt: skip
        exc = CheckinRefused(reason, message, source)
        self._journal_refusal(request, exc, store_id=store_id, customer_id=customer_id)
        raise exc

    def _journal_refusal(self, request: CheckinRequest, exc: CheckinRefused, *, store_id: str | None = None,
                         customer_id: str | None = None) -> None:  # fmt: skip
        data: dict[str, Any] = {"reason": exc.reason, "method": str(request.method)}
        if exc.source:
            data["source"] = exc.source
        self._sdk.journal.append(EventType.CHECKIN_REFUSED, store_id=store_id or request.store_id,
                                 customer_id=customer_id or request.customer_id, data=data)  # fmt: skip

    # ------------------------------------------------------------------ reading
    def get(self, checkin_id: str) -> CheckIn:
        """The check-in with this id; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        found = self._sdk.storage.get_checkin(checkin_id)
        if found is None:
            raise NotFound(f"Unknown check-in {checkin_id!r}.")
        return found

    def list(
        self, *, customer_id: str | None = None, store_id: str | None = None, limit: int = 1000
    ) -> builtins.list[CheckIn]:
        """Check-ins, oldest first, optionally of one customer and/or at one store."""
        return self._sdk.storage.list_checkins(customer_id, store_id, check_limit(limit))

    def window_start(self, store: Store | str, at: datetime | None = None) -> datetime:
        """Start (UTC) of the check-in window containing ``at`` (default now) at ``store``."""
        store = self._store(store) if isinstance(store, str) else store
        return _codes.window_start(at or self._sdk.clock.now(), store.timezone, self._sdk.config.checkin_window)

    def current(self, customer_id: str, store_id: str, *, at: datetime | None = None) -> CheckIn | None:
        """The customer's check-in at the store in the window containing ``at`` (default now)."""
        return self._sdk.storage.find_checkin(customer_id, store_id, self.window_start(store_id, at))

    def unlocked(self, customer_id: str | None, store_id: str, *, trust: TrustLevel | str | None = None) -> bool:
        """Whether the customer has a check-in at the store in the current window with at least
        ``trust`` (default ``config.checkin_unlock_trust``): what "check in to unlock" offers need."""
        if customer_id is None:
            return False
        found = self.current(customer_id, store_id)
        return found is not None and found.trust.at_least(trust or self._sdk.config.checkin_unlock_trust)

    def forget_used_codes(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete the record of used code steps older than ``older_than`` (they can no longer
        verify anyway: their step has expired). Returns how many were deleted."""
        grace = self._sdk.config.checkin_code_step * (self._sdk.config.checkin_code_grace_steps + 1)
        if older_than < grace:
            raise InvalidInput(f"Keep used codes at least {grace.total_seconds():g} s, while they could still verify.")
        return self._sdk.storage.forget_used_checkin_codes(cutoff(self._sdk.clock.now(), older_than))

    # ------------------------------------------------------------------ helpers
    def _store(self, store_id: str) -> Store:
        store = self._sdk.storage.get_store(store_id)
        if store is None:
            raise NotFound(f"Unknown store {store_id!r}.")
        return store

    def _store_by_ref(self, ref: bytes) -> Store | None:
        """The store an 8-byte code reference points to (cached; reloaded on a miss)."""
        store_id = self._refs.get(ref)
        if store_id is None:
            self._refs = {_codes.store_ref(s.id): s.id for s in self._sdk.storage.list_stores()}
            store_id = self._refs.get(ref)
        return None if store_id is None else self._sdk.storage.get_store(store_id)


class IssueOnCheckin:
    """A plugin that issues a voucher for ``offer_id`` to a customer on a new check-in.

    At most one voucher per customer, store and check-in window (``o2o_after_checkin`` runs
    only for new check-ins); only check-ins with at least ``min_trust``, and only at
    ``stores`` if given::

        sdk = O2O(plugins=[IssueOnCheckin("off_welcome", min_trust="verified")])
    """

    def __init__(self, offer_id: str, *, min_trust: TrustLevel | str = TrustLevel.VERIFIED,
                 stores: builtins.list[str] | tuple[str, ...] | None = None, ttl: timedelta | None = None) -> None:  # fmt: skip
        self.offer_id = offer_id
        self.min_trust = TrustLevel(min_trust)
        self.stores = None if stores is None else frozenset(stores)
        self.ttl = ttl

    @hookimpl
    def o2o_after_checkin(self, sdk: O2O, checkin: CheckIn) -> None:
        if not checkin.trust.at_least(self.min_trust):
            return
        if self.stores is not None and checkin.store_id not in self.stores:
            return
        sdk.offers.issue(self.offer_id, checkin.customer_id, ttl=self.ttl)
