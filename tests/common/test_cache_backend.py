"""The default cache backend: sign-in's keys fail open when Redis is down, every other key still raises."""

import pytest
from django.core.cache import cache
from redis.exceptions import RedisError

from tests.common.redis_down import cache_down  # noqa: F401

RATE_KEY = "allauth:rl:allauth.account:login_failed:10/60.0/ip:127.0.0.1"
TOTP_KEY = "allauth.mfa.totp.used?user=1&code=123456"


def test_sign_in_keys_read_as_empty_and_writes_are_dropped_when_redis_is_down(cache_down):  # noqa: F811
    assert cache.get(RATE_KEY, []) == []
    assert cache.add(RATE_KEY + ":lock", True, timeout=10) is True
    cache.set(RATE_KEY, [1.0], 60)
    cache.delete(RATE_KEY + ":lock")
    assert cache.add(TOTP_KEY, "y", timeout=30) is True


@pytest.mark.parametrize("call", ["get", "add", "set", "incr", "delete"])
def test_every_other_key_raises_so_its_caller_decides(cache_down, call):  # noqa: F811
    args = {"get": ("k",), "add": ("k", 1), "set": ("k", 1), "incr": ("k",), "delete": ("k",)}[call]
    with pytest.raises(RedisError):
        getattr(cache, call)(*args)


def test_with_redis_up_sign_in_keys_behave_as_stored(settings):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs the Redis cache (REDIS_URL)")
    cache.delete(TOTP_KEY)
    assert cache.add(TOTP_KEY, "y", timeout=30) is True
    assert cache.add(TOTP_KEY, "y", timeout=30) is False  # a code used once is refused the second time
    cache.delete(TOTP_KEY)
