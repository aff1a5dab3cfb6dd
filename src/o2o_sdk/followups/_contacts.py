"""``sdk.followups.contacts``: how to reach customers, their consent per channel, the suppression list.

The core has no customer table; this is the minimum follow-ups need. A contact is keyed by the
shop's own customer id (the one vouchers, check-ins and the journal carry). Consent is per
channel, with when and where it was given or withdrawn. The suppression list is per channel
and address: a suppressed address never receives anything on that channel again, whatever
the consent says and even for transactional messages.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs

from .._checks import check_limit
from ..errors import InvalidInput, NotFound
from ..models import Consent, Contact

if TYPE_CHECKING:
    from ..sdk import O2O
    from ._outbox import Outbox

__all__ = ["Contacts", "normalize_address"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


def normalize_address(address: str) -> str:
    """The form addresses are compared and suppressed in (trimmed, lower case)."""
    return address.strip().lower()


class Contacts:
    """Customers' addresses, time zones and consent."""

    def __init__(self, sdk: O2O, outbox: Outbox) -> None:
        self._sdk = sdk
        self._outbox = outbox

    def upsert(self, customer_id: str, *, email: str | None = None, phone: str | None = None,
               timezone: str | None = None, name: str | None = None, consents: Iterable[str] = (),
               source: str = "api") -> Contact:  # fmt: skip
        """Create or update a contact; fields left ``None`` keep their value ("" clears an address).

        ``timezone`` is an IANA name (quiet hours are the recipient's); ``phone`` is E.164
        (``+447700900123``). ``consents`` are channels the customer agrees to now (recorded
        with ``source``); withdraw with :meth:`withdraw`.
        """
        if not customer_id or not customer_id.strip():
            raise InvalidInput("A contact needs the shop's customer id.")
        if email:
            email = email.strip()
            if not _EMAIL.fullmatch(email):
                raise InvalidInput(f"{email!r} is not an email address.")
        if phone:
            phone = re.sub(r"[\s()-]", "", phone)
            if not _PHONE.fullmatch(phone):
                raise InvalidInput(f"{phone!r} is not a phone number in international format like +447700900123.")
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except Exception:
                raise InvalidInput(f"{timezone!r} is not an IANA time zone such as Europe/London.") from None
        now = self._sdk.clock.now()
        with self._outbox.transaction() as tx:
            current = self._outbox.lock_contact(tx, customer_id) or Contact(
                customer_id, timezone=self._sdk.config.followups.default_timezone
            )
            granted = {ch: Consent(True, now, source) for ch in consents}
            contact = attrs.evolve(
                current,
                email=(email or None) if email is not None else current.email,
                phone=(phone or None) if phone is not None else current.phone,
                timezone=timezone if timezone is not None else current.timezone,
                name=name if name is not None else current.name,
                consents={**current.consents, **granted},
            )
            self._outbox.save_contact(tx, contact, now)
        return contact

    def find(self, customer_id: str) -> Contact | None:
        """The contact, or ``None``."""
        return self._outbox.get_contact(customer_id)

    def get(self, customer_id: str) -> Contact:
        """The contact; :class:`~o2o_sdk.errors.NotFound` otherwise."""
        contact = self.find(customer_id)
        if contact is None:
            raise NotFound(f"No contact for customer {customer_id!r}.")
        return contact

    def list(self, limit: int = 1000) -> builtins.list[Contact]:
        """Contacts by customer id."""
        return self._outbox.list_contacts(check_limit(limit))

    def grant(self, customer_id: str, channel: str, *, source: str = "api") -> Contact:
        """Record the customer's consent to ``channel`` (``email``, ``sms`` …)."""
        return self._set_consent(customer_id, channel, True, source)

    def withdraw(self, customer_id: str, channel: str, *, source: str = "api") -> Contact:
        """Record that the customer withdrew consent to ``channel``; their pending marketing
        follow-ups there are skipped at send time."""
        return self._set_consent(customer_id, channel, False, source)

    def _set_consent(self, customer_id: str, channel: str, granted: bool, source: str) -> Contact:
        if not channel:
            raise InvalidInput("Name the channel (email, sms …).")
        now = self._sdk.clock.now()
        with self._outbox.transaction() as tx:
            current = self._outbox.lock_contact(tx, customer_id)
            if current is None:
                raise NotFound(f"No contact for customer {customer_id!r}.")
            contact = attrs.evolve(current, consents={**current.consents, channel: Consent(granted, now, source)})
            self._outbox.save_contact(tx, contact, now)
        return contact

    def suppress(self, channel: str, address: str, *, reason: str = "manual") -> bool:
        """Never send anything to ``address`` on ``channel`` again; ``False`` if it already was."""
        if not address.strip():
            raise InvalidInput("Give the address to suppress.")
        with self._outbox.transaction() as tx:
            return self._outbox.suppress(tx, channel, normalize_address(address), self._sdk.clock.now(), reason)

    def is_suppressed(self, channel: str, address: str) -> bool:
        """Whether ``address`` is on the suppression list of ``channel``."""
        pair = (channel, normalize_address(address))
        return pair in self._outbox.suppressed([pair])
