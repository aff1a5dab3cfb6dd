"""o2o_sdk.http: retries with backoff and Retry-After, idempotency, typed errors, redaction, pagination."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
import respx

from o2o_sdk import O2OError
from o2o_sdk.http import (
    ERROR_BY_STATUS,
    REDACTED,
    PlatformAuthError,
    PlatformBadRequest,
    PlatformClient,
    PlatformConflict,
    PlatformConnectionError,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnprocessable,
    RetryPolicy,
    Secret,
    next_link,
    paginate_cursor,
    paginate_links,
    paginate_pages,
    parse_retry_after,
    redact_headers,
    redact_url,
)

BASE = "https://api.platform.test/v1"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps):
    c = PlatformClient("acme", BASE, secret_headers={"Authorization": "Bearer s3cr3t-token"}, sleep=sleeps,
                       retry=RetryPolicy(jitter=0.0))  # fmt: skip
    yield c
    c.close()


# ------------------------------------------------------------------ policy


def test_backoff_doubles_from_half_a_second_up_to_eight() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert [policy.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_only_shortens_the_wait() -> None:
    policy = RetryPolicy(jitter=0.25)
    assert policy.delay(1, rand=lambda: 0.0) == 1.0
    assert policy.delay(1, rand=lambda: 1.0) == 0.75


def test_retry_after_replaces_the_backoff_unless_too_long() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=3600.0, rand=lambda: 0.0) == 0.5


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 15 Jun 2026 12:00:30 GMT", now=lambda: now) == 30.0
    assert parse_retry_after("Mon, 15 Jun 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("nan") is None


# ------------------------------------------------------------------ retries


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_reads_are_retried_on_retryable_statuses(client: PlatformClient, sleeps: Sleeps, status: int) -> None:
    with respx.mock:
        route = respx.get(f"{BASE}/things").mock(side_effect=[httpx.Response(status), httpx.Response(200, json=[1])])
        assert client.get("/things").json() == [1]
    assert route.call_count == 2 and sleeps == [0.5]


def test_retry_after_header_is_honoured(client: PlatformClient, sleeps: Sleeps) -> None:
    with respx.mock:
        respx.get(f"{BASE}/things").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "4"}), httpx.Response(200)])
        client.get("/things")
    assert sleeps == [4.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(client: PlatformClient, sleeps: Sleeps, status: int) -> None:
    with respx.mock:
        route = respx.get(f"{BASE}/things").mock(return_value=httpx.Response(status))
        with pytest.raises(PlatformError) as caught:
            client.get("/things")
    assert route.call_count == 1 and sleeps == [] and caught.value.status == status


def test_connection_errors_and_timeouts_are_retried_for_reads(client: PlatformClient, sleeps: Sleeps) -> None:
    with respx.mock:
        respx.get(f"{BASE}/things").mock(side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200)])
        assert client.get("/things").status_code == 200
    assert sleeps == [0.5, 1.0]


def test_giving_up_raises_the_last_error(client: PlatformClient, sleeps: Sleeps) -> None:
    with respx.mock:
        route = respx.get(f"{BASE}/things").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(PlatformTimeout) as caught:
            client.get("/things")
    assert route.call_count == 3 and len(sleeps) == 2
    assert isinstance(caught.value, PlatformConnectionError) and caught.value.status is None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_writes_are_never_retried(client: PlatformClient, sleeps: Sleeps, method: str) -> None:
    with respx.mock:
        route = respx.route(method=method, url=f"{BASE}/orders").mock(side_effect=[httpx.Response(503), httpx.Response(201)])
        with pytest.raises(PlatformServerError):
            client.request(method, "/orders", json={})
        conn = respx.route(method=method, url=f"{BASE}/charges").mock(side_effect=httpx.ConnectError("reset"))
        with pytest.raises(PlatformConnectionError) as caught:
            client.request(method, "/charges", json={})
    assert route.call_count == 1 and conn.call_count == 1 and sleeps == []
    assert "may have been applied" in caught.value.message


def test_writes_with_an_idempotency_key_are_retried_with_the_same_key(client: PlatformClient, sleeps: Sleeps) -> None:
    with respx.mock:
        route = respx.post(f"{BASE}/orders").mock(side_effect=[httpx.Response(503), httpx.Response(201)])
        assert client.post("/orders", json={}, idempotency_key="k-1").status_code == 201
    assert route.call_count == 2 and {c.request.headers["Idempotency-Key"] for c in route.calls} == {"k-1"}


def test_a_write_marked_idempotent_is_retried(client: PlatformClient, sleeps: Sleeps) -> None:
    with respx.mock:
        route = respx.post(f"{BASE}/search").mock(side_effect=[httpx.Response(500), httpx.Response(200)])
        client.post("/search", json={}, idempotent=True)
    assert route.call_count == 2


def test_puts_and_deletes_are_idempotent(client: PlatformClient) -> None:
    with respx.mock:
        route = respx.delete(f"{BASE}/things/1").mock(side_effect=[httpx.Response(502), httpx.Response(204)])
        client.request("DELETE", "/things/1")
    assert route.call_count == 2


def test_zero_retries(sleeps: Sleeps) -> None:
    client = PlatformClient("acme", BASE, retry=RetryPolicy(max_retries=0), sleep=sleeps)
    with respx.mock:
        respx.get(f"{BASE}/x").mock(return_value=httpx.Response(503))
        with pytest.raises(PlatformServerError):
            client.get("/x")
    assert sleeps == []


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(("status", "cls"), [(400, PlatformBadRequest), (401, PlatformAuthError), (404, PlatformNotFound),
                                             (409, PlatformConflict), (422, PlatformUnprocessable), (429, PlatformRateLimited),
                                             (500, PlatformServerError), (599, PlatformServerError), (418, PlatformError)])  # fmt: skip
def test_errors_are_typed_by_status_and_carry_the_request_id(status: int, cls: type, sleeps: Sleeps) -> None:
    client = PlatformClient("acme", BASE, retry=RetryPolicy(max_retries=0), sleep=sleeps,
                            error_code=lambda r: r.json().get("code"))  # fmt: skip
    with respx.mock:
        respx.get(f"{BASE}/x").mock(return_value=httpx.Response(status, json={"code": "acme_bad"}, headers={"X-Request-Id": "req-42"}))
        with pytest.raises(PlatformError) as caught:
            client.get("/x")
    error = caught.value
    assert type(error) is cls and isinstance(error, O2OError)
    assert (error.status, error.request_id, error.platform_code, error.platform) == (status, "req-42", "acme_bad", "acme")
    assert error.code.startswith("platform_") and "req-42" in str(error) and error.message.endswith(".")


def test_the_status_table_maps_only_to_platform_errors() -> None:
    assert all(issubclass(cls, PlatformError) for cls in ERROR_BY_STATUS.values())


# ------------------------------------------------------------------ secrets


def test_secrets_are_sent_but_never_shown(client: PlatformClient, caplog: pytest.LogCaptureFixture) -> None:
    with respx.mock, caplog.at_level(logging.DEBUG, "o2o_sdk.http"):
        route = respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
        client.get("/x", params={"access_token": "qs-secret", "page": 2})
    assert route.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert "s3cr3t" not in caplog.text and "qs-secret" not in caplog.text and "page=2" in caplog.text
    assert "s3cr3t" not in repr(client) and REDACTED in repr(client)


def test_redaction_helpers() -> None:
    headers = redact_headers({"Authorization": "Bearer x", "X-Shopify-Access-Token": "y", "X-WC-Webhook-Signature": "z",
                              "Cookie": "c", "Content-Type": "application/json"})  # fmt: skip
    assert headers == {"Authorization": REDACTED, "X-Shopify-Access-Token": REDACTED, "X-WC-Webhook-Signature": REDACTED,
                       "Cookie": REDACTED, "Content-Type": "application/json"}  # fmt: skip
    assert redact_url("https://s.test/wc?consumer_key=ck_1&consumer_secret=cs_2&page=3") == (
        f"https://s.test/wc?consumer_key={REDACTED}&consumer_secret={REDACTED}&page=3")
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and secret.value == "hunter2"
    assert "hunter2" not in repr({"token": secret})


def test_with_options_keeps_the_account(client: PlatformClient, sleeps: Sleeps) -> None:
    strict = client.with_options(retry=RetryPolicy(max_retries=0))
    with respx.mock:
        route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(503))
        with pytest.raises(PlatformServerError):
            strict.get("/x")
    assert route.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token" and route.call_count == 1
    assert client.retry.max_retries == 2


# ------------------------------------------------------------------ pagination


def test_cursor_pagination_walks_until_no_cursor() -> None:
    pages = {None: ([1, 2], "c2"), "c2": ([3], "c3"), "c3": ([4], None)}
    asked: list[str | None] = []

    def fetch(cursor: str | None):
        asked.append(cursor)
        return pages[cursor]

    assert list(paginate_cursor(fetch)) == [1, 2, 3, 4] and asked == [None, "c2", "c3"]
    assert list(paginate_cursor(fetch, start="c2")) == [3, 4]


def test_cursor_pagination_stops_on_a_repeated_cursor() -> None:
    with pytest.raises(PlatformError) as caught:
        list(paginate_cursor(lambda cursor: ([1], "same")))
    assert caught.value.code == "pagination_loop"


def test_page_pagination_stops_at_the_total_or_an_empty_page() -> None:
    data = {1: [1, 2], 2: [3], 3: []}
    assert list(paginate_pages(lambda p: (data[p], 2))) == [1, 2, 3]
    assert list(paginate_pages(lambda p: (data[p], None))) == [1, 2, 3]


def test_link_header_pagination(client: PlatformClient) -> None:
    with respx.mock:
        # respx matches params as a subset: the more specific route first
        respx.get(f"{BASE}/items", params={"page": "2", "per_page": "2"}).mock(return_value=httpx.Response(
            200, json=[3], headers={"Link": f'<{BASE}/items?per_page=2>; rel="prev first"'}))
        respx.get(f"{BASE}/items", params={"per_page": "2"}).mock(return_value=httpx.Response(
            200, json=[1, 2], headers={"Link": f'<{BASE}/items?page=2&per_page=2>; rel="next", <{BASE}/items?page=9>; rel="last"'}))
        assert list(paginate_links(client, "/items", lambda r: r.json(), params={"per_page": 2})) == [1, 2, 3]


def test_next_link_reads_rfc8288() -> None:
    response = httpx.Response(200, headers={"Link": '<https://a.test/p?page=3>; rel="prev", <https://a.test/p?page=5>; rel=next'})
    assert next_link(response) == "https://a.test/p?page=5"
    assert next_link(httpx.Response(200)) is None
