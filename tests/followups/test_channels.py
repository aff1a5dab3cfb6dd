"""The channel distributions against real servers: SMTP (aiosmtpd), webhook (a loopback HTTP
server), SMS (respx), and the console / file channel."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from o2o_console import ConsoleChannel
from o2o_sms import SmsChannel
from o2o_smtp import SmtpChannel
from o2o_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel, verify_signature

from o2o_sdk import (
    O2O,
    FollowUpPlan,
    FollowUpStatus,
    FollowUpTemplate,
    OutboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)

from .conftest import Sink

TEMPLATE = FollowUpTemplate("hello", "Hello $name", "Hi $name,\nsee you soon.", "<p>Hi <b>$name</b>, see you soon.</p>")


def _shop(make_shop: Callable[..., O2O], channel: Any, **settings: Any) -> O2O:
    sdk = make_shop(**settings)
    sdk.followups.channels.add(channel)
    sdk.followups.add_template(TEMPLATE)
    sdk.followups.contacts.upsert("c1", email="ada@example.com", phone="+44 7700 900123", name="Ada",
                                  consents=["email", "sms"])  # fmt: skip
    return sdk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ SMTP


class Mailbox:
    """aiosmtpd handler: keeps messages; ``rcpt_reply`` / ``data_reply`` script refusals."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.rcpt_reply: list[str] = []
        self.data_reply: list[str] = []
        self.logins: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_smtp_sends_text_and_html_with_one_click_unsubscribe(make_shop: Callable[..., O2O], smtp_server: tuple[Mailbox, int]) -> None:
    box, port = smtp_server
    shop = _shop(make_shop, SmtpChannel("shop@shop.example", host="127.0.0.1", port=port))
    f = shop.followups.add(FollowUpPlan("test", "email", "hello", "c1", "k1"))
    assert shop.followups.run_once().sent == 1
    [mail] = box.messages
    assert mail["To"] == "ada@example.com" and mail["From"] == "shop@shop.example" and mail["Subject"] == "Hello Ada"
    assert mail["Message-ID"] == f"<{f.idempotency_key}@shop.example>"  # type: ignore[union-attr]
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://shop.example/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hi Ada" in text and unsubscribe in text
    assert "<b>Ada</b>" in html and unsubscribe in html
    shop.followups.unsubscribe(unsubscribe)  # the link in the mail works
    assert shop.followups.contacts.is_suppressed("email", "ada@example.com")


def test_smtp_refusals_retry_when_temporary_and_die_when_permanent(make_shop: Callable[..., O2O], smtp_server: tuple[Mailbox, int], clock: Any) -> None:
    box, port = smtp_server
    shop = _shop(make_shop, SmtpChannel("shop@shop.example", host="127.0.0.1", port=port), max_attempts=3)
    box.rcpt_reply = ["451 4.3.0 Try again later"]
    box.data_reply = ["554 5.6.0 Message rejected"]
    f = shop.followups.add(FollowUpPlan("test", "email", "hello", "c1", "k1"))
    assert shop.followups.run_once().retried == 1
    retry = shop.followups.get(f.id)  # type: ignore[union-attr]
    assert retry.last_error is not None and retry.last_error.startswith("smtp_deferred") and "451" in retry.last_error
    clock.set(retry.due_at)
    assert shop.followups.run_once().dead == 1
    dead = shop.followups.get(f.id)  # type: ignore[union-attr]
    assert dead.status is FollowUpStatus.DEAD and dead.last_error.startswith("smtp_554")  # type: ignore[union-attr]
    box.rcpt_reply = ["550 5.1.1 No such user"]
    shop.followups.add(FollowUpPlan("test", "email", "hello", "c1", "k2"))
    assert shop.followups.run_once().dead == 1
    assert shop.followups.find("k2").last_error.startswith("smtp_recipient_refused")  # type: ignore[union-attr]
    assert box.messages == []


def test_smtp_subject_is_one_line_whatever_the_filled_in_values() -> None:
    channel = SmtpChannel("shop@shop.example", host="127.0.0.1", port=25)
    message = OutboundMessage("fu_1", "email", "ada@example.com", "Thanks for visiting Soho\r\nBcc: x@evil.example", "Hi")
    email = channel.build(message, "key-1")
    assert email["Subject"] == "Thanks for visiting Soho Bcc: x@evil.example" and email["Bcc"] is None


def test_smtp_server_down_is_transient() -> None:
    channel = SmtpChannel("shop@shop.example", host="127.0.0.1", port=_free_port(), timeout=2)
    from o2o_sdk import OutboundMessage

    with pytest.raises(TransientDeliveryError) as err:
        channel.send(OutboundMessage("fu_1", "email", "a@example.com", "s", "t"), "key")
    assert err.value.code == "smtp_unreachable"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    return cert, key


def test_smtp_starttls_and_login(make_shop: Callable[..., O2O], certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    box = Mailbox()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"shop", b"s3cret")
        if ok:
            box.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)  # fmt: skip
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        client_tls.check_hostname = False
        good = SmtpChannel("shop@shop.example", host="127.0.0.1", port=port, starttls=True, username="shop",
                           password="s3cret", ssl_context=client_tls)  # fmt: skip
        shop = _shop(make_shop, good)
        shop.followups.add(FollowUpPlan("test", "email", "hello", "c1", "k1"))
        assert shop.followups.run_once().sent == 1
        assert box.logins == ["shop"] and len(box.messages) == 1  # logged in, over TLS (auth_require_tls)
        good.close()
    finally:
        controller.stop()


# ------------------------------------------------------------------ webhook


def test_webhook_posts_signed_json_with_the_idempotency_key(make_shop: Callable[..., O2O], sink: Sink) -> None:
    shop = _shop(make_shop, WebhookChannel(sink.url, "hook-secret"))
    f = shop.followups.add(FollowUpPlan("test", "webhook", "hello", "c1", "k1"))
    assert shop.followups.run_once().sent == 1
    [req] = sink.requests
    headers = req["headers"]
    assert headers["Idempotency-Key"] == f.idempotency_key  # type: ignore[union-attr]
    assert verify_signature(b"hook-secret", headers[TIMESTAMP_HEADER], req["body"], headers[SIGNATURE_HEADER])
    assert not verify_signature(b"other", headers[TIMESTAMP_HEADER], req["body"], headers[SIGNATURE_HEADER])
    assert not verify_signature(b"hook-secret", headers[TIMESTAMP_HEADER], req["body"] + b" ", headers[SIGNATURE_HEADER])
    ts = int(headers[TIMESTAMP_HEADER])
    assert not verify_signature(b"hook-secret", str(ts), req["body"], headers[SIGNATURE_HEADER], now=ts + 301)
    assert not verify_signature(b"hook-secret", str(ts), req["body"], headers[SIGNATURE_HEADER], now=ts - 301)  # from the future
    body = json.loads(req["body"])
    assert body["customer_id"] == "c1" and body["subject"] == "Hello Ada" and body["idempotency_key"] == f.idempotency_key  # type: ignore[union-attr]


def test_webhook_retries_5xx_and_429_and_gives_up_on_4xx(make_shop: Callable[..., O2O], sink: Sink, clock: Any) -> None:
    shop = _shop(make_shop, WebhookChannel(sink.url, "s"), max_attempts=5)
    sink.statuses = [503, 429, 200]
    f = shop.followups.add(FollowUpPlan("test", "webhook", "hello", "c1", "k1"))
    assert shop.followups.run_once().retried == 1
    assert shop.followups.get(f.id).last_error.startswith("http_503")  # type: ignore[union-attr]
    clock.set(shop.followups.get(f.id).due_at)  # type: ignore[union-attr]
    start = clock.now()
    assert shop.followups.run_once().retried == 1
    assert shop.followups.get(f.id).due_at - start >= timedelta(seconds=120)  # Retry-After honoured  # type: ignore[union-attr]
    clock.set(shop.followups.get(f.id).due_at)  # type: ignore[union-attr]
    assert shop.followups.run_once().sent == 1
    keys = [r["headers"]["Idempotency-Key"] for r in sink.requests]
    assert keys == [f.idempotency_key] * 3  # type: ignore[union-attr]  # the same key on every attempt
    sink.statuses = [410]
    shop.followups.add(FollowUpPlan("test", "webhook", "hello", "c1", "k2"))
    assert shop.followups.run_once().dead == 1


def test_webhook_unreachable_is_transient() -> None:
    from o2o_sdk import OutboundMessage

    channel = WebhookChannel(f"http://127.0.0.1:{_free_port()}/hook", "s", timeout=2)
    with pytest.raises(TransientDeliveryError) as err:
        channel.send(OutboundMessage("fu_1", "webhook", "c1", "s", "t"), "key")
    assert err.value.code == "webhook_unreachable"
    channel.close()


# ------------------------------------------------------------------ SMS (respx)

API = "https://api.sms.test/2010-04-01/Accounts/AC123/Messages.json"


@respx.mock
def test_sms_posts_a_twilio_style_form_with_the_idempotency_token(make_shop: Callable[..., O2O]) -> None:
    route = respx.post(API).mock(return_value=httpx.Response(201, json={"sid": "SM1", "status": "queued"}))
    shop = _shop(make_shop, SmsChannel("AC123", "tok", "+15005550006", api_base="https://api.sms.test"))
    f = shop.followups.add(FollowUpPlan("test", "sms", "hello", "c1", "k1"))
    assert shop.followups.run_once().sent == 1
    request = route.calls.last.request
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {"To": "+447700900123", "From": "+15005550006", "Body": "Hi Ada,\nsee you soon."}
    assert request.headers["I-Twilio-Idempotency-Token"] == f.idempotency_key  # type: ignore[union-attr]
    assert request.headers["Authorization"] == httpx.BasicAuth("AC123", "tok")._auth_header
    assert shop.followups.get(f.id).provider_id == "SM1"  # type: ignore[union-attr]


@respx.mock
def test_sms_errors_are_classified() -> None:
    from o2o_sdk import OutboundMessage

    channel = SmsChannel("AC123", "tok", "+15005550006", api_base="https://api.sms.test")
    message = OutboundMessage("fu_1", "sms", "+447700900123", "s", "t")
    respx.post(API).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "30"}, json={"code": 20429, "message": "Too many requests"}),
        httpx.Response(400, json={"code": 21610, "message": "Attempt to send to unsubscribed recipient"}),
        httpx.ConnectTimeout("slow"),
    ])  # fmt: skip
    with pytest.raises(TransientDeliveryError) as transient:
        channel.send(message, "k")
    assert transient.value.retry_after == 30.0
    with pytest.raises(PermanentDeliveryError) as permanent:
        channel.send(message, "k")
    assert permanent.value.code == "sms_21610"
    with pytest.raises(TransientDeliveryError):
        channel.send(message, "k")


def test_sms_needs_consent_and_a_phone(make_shop: Callable[..., O2O]) -> None:
    shop = _shop(make_shop, SmsChannel("AC123", "tok", "+15005550006", api_base="https://api.sms.test"))
    shop.followups.contacts.withdraw("c1", "sms")
    shop.followups.contacts.upsert("c2", email="b@example.com", consents=["sms"])
    shop.followups.add(FollowUpPlan("test", "sms", "hello", "c1", "k1"))
    shop.followups.add(FollowUpPlan("test", "sms", "hello", "c2", "k2"))
    assert shop.followups.run_once().skipped == 2  # no request was made: respx is not even active
    reasons = sorted((f.last_error or "").split(":")[0] for f in shop.followups.list())
    assert reasons == ["no_address", "no_consent"]


# ------------------------------------------------------------------ console / file


def test_console_channel_writes_json_lines(make_shop: Callable[..., O2O], tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    shop = _shop(make_shop, ConsoleChannel(path=path))
    shop.followups.add(FollowUpPlan("test", "console", "hello", "c1", "k1"))
    assert shop.followups.run_once().sent == 1
    [line] = path.read_text().splitlines()
    record = json.loads(line)
    assert record["to"] == "ada@example.com" and record["subject"] == "Hello Ada" and record["idempotency_key"].startswith("o2o-fu-")


def test_channels_come_from_installed_distributions(make_sdk: Callable[..., O2O]) -> None:
    sdk = make_sdk(plugin_config={"webhook": {"url": "http://127.0.0.1:9/x"}, "smtp": {"from": "a@b.example"}})
    channels = sdk.followups.channels.all()
    assert {"console", "email", "sms", "webhook"} <= set(channels)
    assert channels["email"].is_email and channels["sms"].requires_consent and not channels["webhook"].requires_consent
