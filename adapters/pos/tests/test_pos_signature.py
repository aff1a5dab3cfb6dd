"""The O2O-Signature scheme: HMAC-SHA256 over "<t>.<raw body>", several secrets and values for
rotation, a replay window either side of the clock, and the worked example in the docs."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from o2o_pos import SIGNATURE_HEADER, PosSettings, sign, signature, verify_signature

from o2o_sdk import ConfigurationError, WebhookRejected
from o2o_sdk.http import Secret

BODY = b'{"type":"sale.completed"}'
SECRET, OTHER = "pos-test-secret-0123456789abcdef", "another-secret-0123456789abcdef"
T = 1_781_525_100
DOCS = [Path(__file__).parents[1] / "README.md", Path(__file__).parents[3] / "docs" / "adapters" / "pos.md"]


def verify(header: str | None, secrets=(SECRET,), now: float = T, window: int = 300, body: bytes = BODY) -> int:
    return verify_signature(body, header, [Secret(s) for s in secrets], now=now, replay_window=window)


def rejection(header: str | None, **kwargs) -> str:
    with pytest.raises(WebhookRejected) as caught:
        verify(header, **kwargs)
    assert caught.value.code == "bad_signature"
    return caught.value.message


def test_v1_is_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(BODY, SECRET, T) == expected
    assert sign(BODY, SECRET, T) == f"t={T},v1={expected}"
    assert verify(sign(BODY, SECRET, T)) == T


def test_the_signature_covers_body_timestamp_and_secret() -> None:
    header = sign(BODY, SECRET, T)
    assert "does not match" in rejection(header, body=BODY + b" ")
    assert "does not match" in rejection(header.replace(f"t={T}", f"t={T + 1}"))
    assert "does not match" in rejection(sign(BODY, OTHER, T))
    hex_value = header.split("v1=")[1]
    assert verify(header.replace(hex_value, hex_value.upper())) == T  # hex case does not matter


@pytest.mark.parametrize("header", [
    None, "", "sha256=abc", f"t={T}", "v1=" + "0" * 64, f"t={T},t={T},v1={'0' * 64}", f"t=-{T},v1={'0' * 64}",
    f"t=\uff11\uff12,v1={'0' * 64}", f"t={T},v1=zz", f"t={T},v1=é{'0' * 63}", "t,v1",
])  # fmt: skip
def test_malformed_headers_are_bad_signatures(header: str | None) -> None:
    assert rejection(header)


def test_rotation_any_configured_secret_against_any_v1() -> None:
    both = sign(BODY, [SECRET, OTHER], T)
    assert both.count("v1=") == 2
    assert verify(both, secrets=(OTHER,)) == T  # the receiver already dropped the first secret
    assert verify(sign(BODY, OTHER, T), secrets=(SECRET, OTHER)) == T  # the POS still signs with the old one
    assert verify(f"t={T},v2=future-scheme,v1={signature(BODY, SECRET, T)}") == T  # unknown schemes are ignored


def test_replay_window_either_side_of_the_clock() -> None:
    header = sign(BODY, SECRET, T)
    assert verify(header, now=T + 300) == T and verify(header, now=T - 300) == T
    assert "301 s old, outside the 300 s replay window" in rejection(header, now=T + 301)
    assert "301 s in the future" in rejection(header, now=T - 301)
    assert verify(header, now=T + 3600, window=3600) == T
    assert "outside the 60 s" in rejection(header, now=T + 61, window=60)


def test_sign_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        sign(BODY, [], T)
    with pytest.raises(ValueError):
        sign(BODY, "", T)


def test_settings_from_the_environment() -> None:
    settings = PosSettings.from_mapping({"webhook_secrets": f"{SECRET}, {OTHER}", "replay_window": "120"})
    assert settings is not None
    assert [s.value for s in settings.webhook_secrets] == [SECRET, OTHER] and settings.replay_window == 120
    assert SECRET not in repr(settings)
    assert PosSettings.from_mapping({}) is None and PosSettings.from_mapping({"webhook_secrets": " "}) is None
    for bad, needle in (({"webhook_secrets": SECRET, "replay_window": "5m"}, "whole number"),
                        ({"webhook_secrets": "short"}, "at least 16"),
                        ({"webhook_secrets": SECRET, "replay_window": "0"}, "positive")):  # fmt: skip
        with pytest.raises(ConfigurationError, match=needle):
            PosSettings.from_mapping(bad)
    with pytest.raises(ConfigurationError):
        PosSettings(webhook_secrets=[])


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_worked_example_in_the_docs_is_right(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    secret = re.search(r"Secret `([^`]+)`", text).group(1)
    timestamp = int(re.search(r"timestamp `(\d+)`", text).group(1))
    body = re.search(r"```\n(\{\"type\":\"sale.completed\".*\})\n```", text).group(1).encode()
    header = re.search(rf"{SIGNATURE_HEADER}: (t=\d+,v1=[0-9a-f]{{64}})", text).group(1)
    assert sign(body, secret, timestamp) == header
    assert f"printf '%s.%s' {timestamp} \"$BODY\" | openssl dgst -sha256 -hmac {secret}" in text
