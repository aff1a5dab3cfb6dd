"""Email channel for o2o-sdk follow-ups over SMTP (standard library :mod:`smtplib`).

Each message is a ``multipart/alternative`` email (text + HTML when the template has HTML)
with the follow-up's one-click unsubscribe headers (RFC 8058)::

    List-Unsubscribe: <https://shop.example/u/…>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

and a ``Message-ID`` derived from the idempotency key, so a message re-sent after a crash
carries the same id and mail systems treat it as the same message.

SMTP 4xx replies, disconnects and timeouts are retried; 5xx replies (a refused recipient, a
rejected message) are permanent. An authentication failure is retried (it is a setting to
fix, not a property of the message).

Settings (``O2O_SMTP_<KEY>``): ``host`` (default ``localhost``), ``port`` (25; 465 with
``ssl``), ``username``, ``password``, ``starttls`` (``1``), ``ssl`` (``1``: implicit TLS),
``from`` (sender address, required), ``timeout`` (seconds, 30), ``name`` (default ``email``).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate

from o2o_sdk import (
    ChannelBase,
    Contact,
    DeliveryResult,
    OutboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["SmtpChannel"]


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class SmtpChannel(ChannelBase):
    """Sends follow-ups as email through one SMTP server, reusing the connection."""

    requires_consent = True
    is_email = True

    def __init__(self, sender: str, *, host: str = "localhost", port: int | None = None, username: str | None = None,
                 password: str | None = None, starttls: bool = False, use_ssl: bool = False, timeout: float = 30.0,
                 name: str = "email", ssl_context: ssl.SSLContext | None = None) -> None:  # fmt: skip
        self.name = name
        self.sender = sender
        self.host = host
        self.port = port if port is not None else (465 if use_ssl else 25)
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = timeout
        self._context = ssl_context
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> SmtpChannel:
        """Build from plugin settings (see the module docstring)."""
        return cls(
            settings.get("from", ""), host=settings.get("host") or "localhost",
            port=int(settings["port"]) if settings.get("port") else None, username=settings.get("username") or None,
            password=settings.get("password") or None, starttls=_flag(settings.get("starttls")),
            use_ssl=_flag(settings.get("ssl")), timeout=float(settings.get("timeout") or 30),
            name=settings.get("name") or "email",
        )  # fmt: skip

    def address(self, contact: Contact) -> str | None:
        """The customer's email address."""
        return contact.email

    def build(self, message: OutboundMessage, idempotency_key: str) -> EmailMessage:
        """The email for ``message`` (text, optional HTML alternative, RFC 8058 headers)."""
        email = EmailMessage()
        domain = self.sender.rsplit("@", 1)[-1] or "o2o.invalid"
        email["From"] = self.sender
        email["To"] = message.to
        # A subject is one line: a line break from a filled-in value (a store or customer name)
        # would make the email library refuse the header (or, elsewhere, inject another).
        email["Subject"] = " ".join(message.subject.split())
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = f"<{idempotency_key}@{domain}>"
        for key, value in message.headers.items():
            email[key] = value
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        return email

    def _connect(self) -> smtplib.SMTP:
        context = self._context or ssl.create_default_context()
        conn: smtplib.SMTP
        if self.use_ssl:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=context)
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def send(self, message: OutboundMessage, idempotency_key: str) -> DeliveryResult:
        """Send one email; raise a transient or permanent delivery error on failure."""
        if not self.sender:
            raise TransientDeliveryError("The email channel has no sender: set O2O_SMTP_FROM.", code="smtp_not_configured")
        email = self.build(message, idempotency_key)
        with self._lock:
            for attempt in (1, 2):  # a pooled connection the server closed is retried once, fresh
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    refused = self._conn.send_message(email)
                    break
                except smtplib.SMTPServerDisconnected:
                    self._drop()
                    if attempt == 2:
                        raise TransientDeliveryError(f"The SMTP server {self.host} closed the connection.", code="smtp_disconnected") from None
                except smtplib.SMTPAuthenticationError as exc:
                    self._drop()
                    raise TransientDeliveryError(f"SMTP login to {self.host} failed ({exc.smtp_code}); check the credentials.",
                                                 code="smtp_auth") from None  # fmt: skip
                except smtplib.SMTPRecipientsRefused as exc:
                    self._reset()
                    codes = [code for code, _ in exc.recipients.values()]
                    error = "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in exc.recipients.items())
                    if all(code >= 500 for code in codes):
                        raise PermanentDeliveryError(f"The SMTP server refused the recipient: {error}", code="smtp_recipient_refused") from None
                    raise TransientDeliveryError(f"The SMTP server deferred the recipient: {error}", code="smtp_deferred") from None
                except smtplib.SMTPResponseException as exc:
                    self._reset()
                    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
                    if exc.smtp_code >= 500:
                        raise PermanentDeliveryError(f"The SMTP server rejected the message: {exc.smtp_code} {text}",
                                                     code=f"smtp_{exc.smtp_code}") from None  # fmt: skip
                    raise TransientDeliveryError(f"The SMTP server deferred the message: {exc.smtp_code} {text}",
                                                 code=f"smtp_{exc.smtp_code}") from None  # fmt: skip
                except (OSError, smtplib.SMTPException) as exc:
                    self._drop()
                    raise TransientDeliveryError(f"Cannot send through {self.host}:{self.port}: {exc}", code="smtp_unreachable") from None
        if refused:  # pragma: no cover - one recipient: refusals raise SMTPRecipientsRefused
            raise PermanentDeliveryError(f"The SMTP server refused: {refused}", code="smtp_recipient_refused")
        return DeliveryResult(provider_id=str(email["Message-ID"]), detail=f"{self.host}:{self.port}")

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        """Say QUIT and close the connection."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    self._conn.quit()
                self._drop()
