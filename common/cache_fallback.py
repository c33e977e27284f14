"""A cache (Redis) that cannot be reached is a slower answer, never a failed request.

``cache_read`` answers None (a miss) and ``cache_write`` False instead of raising: the caller computes
from the database. ``cache_forget`` drops entries after a write has committed: when that fails the write
stands, the failure is logged, and each entry's own lifetime (its TTL) bounds how long it can be stale.

After a failure the cache is left alone for ``PAUSE_SECONDS`` in this process: a Redis host that drops
packets costs each call the whole connect timeout (settings ``REDIS_CONNECT_TIMEOUT``), and a gateway asking
the status on every request would wait that long twice per request.
"""

import logging
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What Django's Redis cache raises when Redis is down, refuses, times out or errs.
CACHE_UNAVAILABLE = (RedisError,)
PAUSE_SECONDS = 5.0

_paused_until = 0.0


def cache_paused() -> bool:
    """Whether a recent failure means the cache is not tried now."""
    return time.monotonic() < _paused_until


def cache_pause_end() -> None:
    """Try the cache again at the next call (tests, after pointing the cache elsewhere)."""
    global _paused_until
    _paused_until = 0.0


def cache_failed(what: str, exc: Exception) -> None:
    """Log that the cache could not be reached for ``what`` and leave it alone for ``PAUSE_SECONDS``."""
    global _paused_until
    _paused_until = time.monotonic() + PAUSE_SECONDS
    logger.warning("The cache is unreachable (%s): %s; not tried for %ss", exc, what, PAUSE_SECONDS)


def cache_read(key: str) -> Any:
    """Return the cached value of ``key``, or None when it is not cached or the cache cannot be reached."""
    if cache_paused():
        return None
    try:
        return cache.get(key)
    except CACHE_UNAVAILABLE as exc:
        cache_failed(f"{key} read from the database", exc)
        return None


def cache_write(key: str, value: Any, timeout: int) -> bool:
    """Store ``value`` for ``timeout`` seconds; return False (logged) when the cache cannot be reached."""
    if cache_paused():
        return False
    try:
        cache.set(key, value, timeout)
    except CACHE_UNAVAILABLE as exc:
        cache_failed(f"{key} not stored", exc)
        return False
    return True


def cache_forget(keys: list[str], *, what: str) -> bool:
    """Delete ``keys``; return False (logged, not raised) when the cache cannot be reached (or is paused)."""
    if cache_paused():
        logger.warning("The cache is paused after a failure: %s not forgotten, stale until they expire", what)
        return False
    try:
        cache.delete_many(keys)
    except CACHE_UNAVAILABLE as exc:
        cache_failed(f"{what} not forgotten, stale until they expire", exc)
        return False
    return True
