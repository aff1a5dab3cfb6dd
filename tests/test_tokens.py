"""Compact signed voucher tokens: short enough for a small QR, impossible to alter unnoticed.

A voucher token is ``<kid><16 base64url chars: payload>.<20 base64url chars: tag>`` (38
characters). The properties below check that *every* alteration is refused with the reason
the token format implies, and that nothing but :class:`o2o_sdk.TokenError` ever escapes.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEMO_STORES
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from o2o_sdk import (
    O2O,
    Config,
    Discount,
    FrozenClock,
    KeyringSigner,
    Reason,
    SigningKey,
    TokenError,
    TokenSigner,
)
from o2o_sdk.tokens import encode_voucher_payload

PURPOSE = "voucher"
KEY_B = SigningKey("b", b"test-secret-newest-0123456789")
KEY_A = SigningKey("a", b"test-secret-older-0123456789")
KEYS = (KEY_B, KEY_A)
CONFIGURED_KIDS = {k.kid for k in KEYS}
B64URL = string.ascii_letters + string.digits + "-_"
TOKEN_ALPHABET = B64URL + "."
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

SIGNER = KeyringSigner(KEYS)


def expected_reason(original: str, candidate: str) -> Reason | None:
    """What the token format says about ``candidate``, a variant of the valid ``original``.

    Not shaped like a token → ``malformed_token``; a key id that is not configured →
    ``unknown_key``; otherwise any change breaks the signature → ``bad_signature``.
    """
    if candidate == original:
        return None
    kid, dot, tag = candidate[:1], candidate.rfind("."), candidate.rpartition(".")[2]
    body = candidate[1:dot] if dot > 0 else ""
    shaped = (
        len(kid) == 1
        and kid in string.ascii_letters + string.digits
        and candidate.count(".") == 1
        and len(body) > 0
        and len(body) % 4 == 0
        and all(c in B64URL for c in body)
        and len(tag) == 20
        and all(c in B64URL for c in tag)
    )
    if not shaped:
        return Reason.MALFORMED_TOKEN
    if kid not in CONFIGURED_KIDS:
        return Reason.UNKNOWN_KEY
    return Reason.BAD_SIGNATURE


def assert_refused(signer: TokenSigner, token: str, reason: Reason) -> None:
    with pytest.raises(TokenError) as err:
        signer.verify(token, PURPOSE)
    assert type(err.value) is TokenError
    assert err.value.reason is reason
    assert err.value.code == reason.value
    assert err.value.message


voucher_ids = st.binary(min_size=8, max_size=8).map(bytes.hex)
expiries = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2105, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def tokens(draw: st.DrawFn) -> str:
    return SIGNER.sign(encode_voucher_payload(draw(voucher_ids), draw(expiries)), PURPOSE)


# --------------------------------------------------------------------------- shape


@given(tokens())
def test_a_voucher_token_is_38_url_safe_characters_that_verify(token: str) -> None:
    assert len(token) == 38
    assert set(token) <= set(TOKEN_ALPHABET)
    assert token[0] == "b", "the first configured key signs"
    assert len(SIGNER.verify(token, PURPOSE)) == 12


def test_a_link_with_a_30_character_origin_fits_a_version_5_qr_at_level_m(
    make_sdk: Callable[..., O2O],
) -> None:
    origin = "vouchers.example-shop-name.com"
    assert len(origin) == 30
    sdk = make_sdk(base_url=f"https://{origin}")
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer)
    url = sdk.offers.url(voucher)
    assert url == f"https://{origin}/o/{voucher.token}"
    assert len(url) == len("https://") + 30 + len("/o/") + 38
    qr = sdk.offers.qr(voucher)
    assert qr.version <= 5
    assert qr.error in ("M", "Q", "H")
    assert not qr.is_micro


# --------------------------------------------------------------------------- alterations


@given(
    token=tokens(),
    data=st.data(),
    any_char=st.booleans(),
)
def test_a_token_with_any_single_character_changed_is_refused(token: str, data: st.DataObject, any_char: bool) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(st.characters() if any_char else st.sampled_from(TOKEN_ALPHABET), label="replacement")
    assume(replacement != token[position])
    tampered = token[:position] + replacement + token[position + 1 :]
    reason = expected_reason(token, tampered)
    assert reason is not None
    assert_refused(SIGNER, tampered, reason)


def test_changing_the_key_id_to_another_configured_key_breaks_the_signature() -> None:
    token = SIGNER.sign(encode_voucher_payload("00" * 8, NOW), PURPOSE)
    assert_refused(SIGNER, "a" + token[1:], Reason.BAD_SIGNATURE)
    assert_refused(SIGNER, "c" + token[1:], Reason.UNKNOWN_KEY)
    assert_refused(SIGNER, "-" + token[1:], Reason.MALFORMED_TOKEN)


@given(token=tokens(), data=st.data())
def test_a_truncated_token_is_malformed(token: str, data: st.DataObject) -> None:
    length = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    assert_refused(SIGNER, token[:length], Reason.MALFORMED_TOKEN)


@given(token=tokens(), suffix=st.text(min_size=1, max_size=12))
def test_an_extended_token_is_malformed(token: str, suffix: str) -> None:
    assert_refused(SIGNER, token + suffix, Reason.MALFORMED_TOKEN)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "=", "==", "\x00"])
def test_trailing_whitespace_or_padding_is_not_ignored(suffix: str) -> None:
    token = SIGNER.sign(encode_voucher_payload("00" * 8, NOW), PURPOSE)
    assert_refused(SIGNER, token + suffix, Reason.MALFORMED_TOKEN)


@given(
    token=tokens(),
    head=st.integers(min_value=0, max_value=37),
    tail=st.integers(min_value=0, max_value=37),
    prefix=st.text(alphabet=TOKEN_ALPHABET, max_size=8),
    suffix=st.text(alphabet=TOKEN_ALPHABET, max_size=8),
)
def test_any_cut_and_padded_variant_is_refused_with_the_reason_its_shape_implies(
    token: str, head: int, tail: int, prefix: str, suffix: str
) -> None:
    candidate = prefix + token[head : len(token) - tail] + suffix
    reason = expected_reason(token, candidate)
    assume(reason is not None)
    assert reason is not None
    assert_refused(SIGNER, candidate, reason)


@given(st.one_of(st.text(max_size=60), st.text(alphabet=TOKEN_ALPHABET, min_size=30, max_size=46)))
def test_arbitrary_text_is_refused_with_a_token_error_and_nothing_else(text: str) -> None:
    with pytest.raises(TokenError) as err:
        SIGNER.verify(text, PURPOSE)
    assert type(err.value) is TokenError
    assert err.value.reason in (Reason.MALFORMED_TOKEN, Reason.UNKNOWN_KEY, Reason.BAD_SIGNATURE)


@pytest.mark.parametrize("value", [None, 42, b"bAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAA"])
def test_a_token_that_is_not_text_is_malformed(value: object) -> None:
    assert_refused(SIGNER, value, Reason.MALFORMED_TOKEN)  # type: ignore[arg-type]


@given(
    voucher_id=voucher_ids,
    expires=expiries,
    kid=st.sampled_from(sorted(set(string.ascii_letters + string.digits) - CONFIGURED_KIDS)),
    secret=st.binary(min_size=16, max_size=40),
)
def test_a_token_signed_with_an_unknown_key_is_refused_as_unknown_key(
    voucher_id: str, expires: datetime, kid: str, secret: bytes
) -> None:
    forger = KeyringSigner([SigningKey(kid, secret)])
    forged = forger.sign(encode_voucher_payload(voucher_id, expires), PURPOSE)
    assert_refused(SIGNER, forged, Reason.UNKNOWN_KEY)


@given(
    voucher_id=voucher_ids,
    expires=expiries,
    kid=st.sampled_from(sorted(CONFIGURED_KIDS)),
    secret=st.binary(min_size=16, max_size=40),
)
def test_a_token_re_signed_with_a_guessed_secret_under_a_known_key_id_is_a_bad_signature(
    voucher_id: str, expires: datetime, kid: str, secret: bytes
) -> None:
    assume(all(secret != k.secret for k in KEYS))
    forged = KeyringSigner([SigningKey(kid, secret)]).sign(encode_voucher_payload(voucher_id, expires), PURPOSE)
    assert_refused(SIGNER, forged, Reason.BAD_SIGNATURE)


def test_a_token_for_one_purpose_does_not_verify_for_another() -> None:
    token = SIGNER.sign(encode_voucher_payload("00" * 8, NOW), "pickup")
    assert_refused(SIGNER, token, Reason.BAD_SIGNATURE)


# --------------------------------------------------------------------------- expiry


@pytest.fixture(scope="module")
def token_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[O2O, FrozenClock]]:
    """An SDK whose clock the expiry properties move (tokens need no database rows)."""
    clock = FrozenClock(NOW)
    path: Path = tmp_path_factory.mktemp("tokens") / "o2o.db"
    with O2O(Config(database_url=f"sqlite:///{path}", secret_keys=KEYS), clock=clock) as sdk:
        yield sdk, clock


@settings(max_examples=60)
@given(voucher_id=voucher_ids, expires=expiries, late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_an_expired_token_is_refused_as_expired(
    token_sdk: tuple[O2O, FrozenClock], voucher_id: str, expires: datetime, late: timedelta
) -> None:
    sdk, clock = token_sdk
    token = sdk.signer.sign(encode_voucher_payload(voucher_id, expires), PURPOSE)
    clock.set(expires - timedelta(seconds=1))
    assert sdk.offers.verify(token).expires_at == expires
    clock.set(expires + late)
    with pytest.raises(TokenError) as err:
        sdk.offers.verify(token)
    assert type(err.value) is TokenError
    assert err.value.reason is Reason.EXPIRED


# --------------------------------------------------------------------------- key rotation


def test_the_newest_key_signs_and_older_configured_keys_still_verify(make_sdk: Callable[..., O2O]) -> None:
    before_rotation = make_sdk(secret_keys=(KEY_A,))
    offer = before_rotation.offers.create("5% off", Discount.percent_off(5))
    old = before_rotation.offers.issue(offer)
    assert old.token[0] == "a"

    after_rotation = make_sdk(secret_keys=(KEY_B, KEY_A))
    new = after_rotation.offers.issue(offer)
    assert new.token[0] == "b"
    assert after_rotation.offers.verify(old.token).voucher_id == old.id
    assert after_rotation.offers.verify(new.token).voucher_id == new.id


def test_a_token_of_a_retired_key_is_refused_as_unknown_key(make_sdk: Callable[..., O2O]) -> None:
    old_sdk = make_sdk(secret_keys=(KEY_A,))
    old_sdk.stores.add(DEMO_STORES)
    old = old_sdk.offers.issue(old_sdk.offers.create("5% off", Discount.percent_off(5)))

    retired = make_sdk(secret_keys=(KEY_B,))
    with pytest.raises(TokenError) as err:
        retired.offers.verify(old.token)
    assert err.value.reason is Reason.UNKNOWN_KEY
    validation = retired.offers.validate(old.token, "lon-soho")
    assert not validation.ok
    assert [r.code for r in validation.refusals] == [Reason.UNKNOWN_KEY]


# --------------------------------------------------------------------------- through the SDK


def test_validate_reports_the_token_refusal_code(sdk: O2O, clock: FrozenClock) -> None:
    offer = sdk.offers.create("10% off", Discount.percent_off(10))
    voucher = sdk.offers.issue(offer, ttl=timedelta(days=1))
    token = voucher.token
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    stranger = KeyringSigner([SigningKey("z", b"some-other-shops-secret!")])
    unknown_voucher = sdk.signer.sign(encode_voucher_payload("ff" * 8, voucher.expires_at), PURPOSE)
    cases = {
        flipped: Reason.BAD_SIGNATURE,
        token[:-3]: Reason.MALFORMED_TOKEN,
        token + "x": Reason.MALFORMED_TOKEN,
        "not a voucher": Reason.MALFORMED_TOKEN,
        stranger.sign(encode_voucher_payload(voucher.id, voucher.expires_at), PURPOSE): Reason.UNKNOWN_KEY,
        unknown_voucher: Reason.UNKNOWN_VOUCHER,
    }
    for candidate, reason in cases.items():
        result = sdk.offers.validate(candidate, "lon-soho")
        assert not result.ok, candidate
        assert [r.code for r in result.refusals] == [reason], candidate
        assert result.discount is None

    assert sdk.offers.validate(token, "lon-soho").ok
    clock.advance(days=1)
    expired = sdk.offers.validate(token, "lon-soho")
    assert [r.code for r in expired.refusals] == [Reason.EXPIRED]


@given(token=tokens(), data=st.data())
def test_verification_accepts_exactly_what_itsdangerous_unsign_accepts(token: str, data: st.DataObject) -> None:
    """The signer recomputes the tag itself (faster); itsdangerous's Signer stays the reference."""
    from itsdangerous import BadSignature

    from o2o_sdk.tokens import make_itsdangerous_signer

    position = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(st.sampled_from(B64URL))
    candidate = token[:position] + char + token[position + 1 :]
    key = {k.kid: k for k in KEYS}.get(candidate[0])
    assume(key is not None)
    assert key is not None
    try:
        make_itsdangerous_signer(key.secret, PURPOSE).unsign(candidate)
        reference_ok = True
    except BadSignature:
        reference_ok = False
    try:
        SIGNER.verify(candidate, PURPOSE)
        ours_ok = True
    except TokenError:
        ours_ok = False
    assert ours_ok == reference_ok
