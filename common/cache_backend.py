"""The default cache: Django's Redis cache, except that sign-in's own keys fail open when Redis is down.

allauth keeps its sign-in rate limits (``ACCOUNT_RATE_LIMITS``: failed sign-ins per address and per e-mail,
the two-factor step's failures, password resets) and the TOTP codes already used in the default cache.
With Redis down each of those calls raised and sign-in answered 500: nobody, staff included, could sign in
to deal with the outage. For allauth's keys only, a cache that cannot be reached is an empty one: a read
misses, ``add`` counts as stored (allauth's lock is taken, a TOTP code is new), a write or delete is
dropped; each failure is logged as a warning (``common.cache_fallback.cache_failed``, which also leaves the
cache alone for a few seconds so a Redis that drops packets costs one timeout, not one per call).

The trade, chosen: while Redis is down sign-in is not rate limited and a TOTP code could be used twice within
its period; passwords and codes are still checked. Every other key raises as Django's cache does, so its
caller decides: the gateway status reads the database, the redemption throttle refuses (fails closed).
"""

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache

from common.cache_fallback import CACHE_UNAVAILABLE, cache_failed, cache_paused

# allauth.core.internal.ratelimit (histories and their ":lock" keys) and allauth.mfa.totp.internal.auth.
FAIL_OPEN_PREFIXES = ("allauth:rl:", "allauth.mfa.totp.used?")


def fails_open(key: Any) -> bool:
    return isinstance(key, str) and key.startswith(FAIL_OPEN_PREFIXES)


class SignInFailOpenRedisCache(RedisCache):
    def _call(self, method: Callable, key: Any, args: tuple, kwargs: dict, fallback: Any) -> Any:
        if not fails_open(key):
            return method(key, *args, **kwargs)
        if cache_paused():
            return fallback
        try:
            return method(key, *args, **kwargs)
        except CACHE_UNAVAILABLE as exc:
            cache_failed(f"{key} taken as empty, sign-in not rate limited", exc)
            return fallback

    def get(self, key, *args, **kwargs):
        default = args[0] if args else kwargs.get("default")
        return self._call(super().get, key, args, kwargs, fallback=default)

    def add(self, key, *args, **kwargs):
        return self._call(super().add, key, args, kwargs, fallback=True)

    def set(self, key, *args, **kwargs):
        return self._call(super().set, key, args, kwargs, fallback=None)

    def delete(self, key, *args, **kwargs):
        return self._call(super().delete, key, args, kwargs, fallback=False)
