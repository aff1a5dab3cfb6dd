"""Rate limiting for the voucher checks (OWASP OAT-002, coupon guessing).

:class:`TokenBucketLimiter` keeps its buckets in the memory of one app instance. With several
processes (``uvicorn --workers 4``, several hosts) each has its own buckets, so the effective
limit is multiplied by the number of processes: plug in a shared limiter (e.g. on Redis)
implementing :class:`RateLimiter` through ``create_app(..., limiter=...)``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import attrs

__all__ = ["RateLimit", "RateLimiter", "TokenBucketLimiter"]


@attrs.frozen
class RateLimit:
    """``burst`` requests at once, refilled at ``per_second``."""

    burst: float
    per_second: float

    def __attrs_post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError("A rate limit needs burst >= 1 and a positive rate.")


class RateLimiter(Protocol):
    """Decides whether one more request in a bucket is allowed."""

    def take(self, bucket: str, limit: RateLimit, cost: float = 1.0) -> float:
        """Consume ``cost`` from ``bucket``: ``0.0`` if allowed, else seconds to wait."""
        ...

    def peek(self, bucket: str, limit: RateLimit) -> float:
        """``0.0`` if the bucket has at least one request left, else seconds to wait; consumes nothing."""
        ...


class TokenBucketLimiter:
    """In-memory token buckets, thread-safe, at most ``max_buckets`` (least recently used dropped)."""

    def __init__(self, *, max_buckets: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_buckets
        self._clock = clock
        self._lock = threading.Lock()

    def _level(self, bucket: str, limit: RateLimit, now: float) -> float:
        tokens, at = self._buckets.get(bucket, (limit.burst, now))
        return min(limit.burst, tokens + (now - at) * limit.per_second)

    def take(self, bucket: str, limit: RateLimit, cost: float = 1.0) -> float:
        now = self._clock()
        with self._lock:
            tokens = self._level(bucket, limit, now)
            if tokens < cost:
                wait = (cost - tokens) / limit.per_second
                self._buckets[bucket] = (tokens, now)
                self._buckets.move_to_end(bucket)
                return wait
            self._buckets[bucket] = (tokens - cost, now)
            self._buckets.move_to_end(bucket)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return 0.0

    def peek(self, bucket: str, limit: RateLimit) -> float:
        now = self._clock()
        with self._lock:
            if bucket not in self._buckets:
                return 0.0
            tokens = self._level(bucket, limit, now)
        return 0.0 if tokens >= 1 else (1 - tokens) / limit.per_second
