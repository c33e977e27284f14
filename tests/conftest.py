"""Test-wide fixtures and the rules for tests that need PostgreSQL, Redis or a browser.

Tests marked ``postgres``, ``redis`` or ``browser`` are skipped with a printed reason when the
service is missing. With ``REQUIRE_SERVICES=1`` (as ``.ci/run`` sets) a missing service fails
those tests instead, so CI can never pass by skipping them.
"""

import itertools
import os
import shutil
import uuid

import pytest
from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from django.test import Client
from django.utils import translation

from distributor.celery import app as celery_app

# The LiteLLM package (a dev dependency the connector and import tests use) fetches its price map from
# GitHub when imported unless told to read its bundled copy: the tests run offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def _missing(marker: str) -> str | None:
    if marker == "postgres" and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if marker == "browser" and not os.path.exists(CHROMIUM):
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def force_login_passes_the_second_factor(monkeypatch):
    """``client.force_login`` stands for a finished sign-in, second factor included.

    Every staff page requires a session that passed TOTP in this login (accounts/two_factor.py). Tests
    about reaching a page sign in with ``force_login``; the tests about *how* one signs in
    (tests/accounts/test_two_factor.py) go through the real forms and never use it.
    """
    force_login = Client.force_login

    def force_login_with_second_factor(client, user, backend=None):
        force_login(client, user, backend)
        request = HttpRequest()
        request.session = client.session
        record_authentication(request, user, "mfa", type="totp")
        request.session.save()

    monkeypatch.setattr(Client, "force_login", force_login_with_second_factor)


@pytest.fixture(autouse=True)
def language_of_its_own():
    """Each test starts in the default language: a page requested in Chinese activates zh-hans for the
    thread, and without this every later test in the process would read Chinese."""
    yield
    translation.deactivate()


_RUN = uuid.uuid4().hex[:8]  # Redis keeps keys between runs too
_TEST_NUMBERS = itertools.count()


@pytest.fixture(autouse=True)
def cache_of_its_own(monkeypatch, request):
    """Each test sees a cache of its own, without flushing the Redis database Celery shares.

    Sign-in rate limits, used TOTP codes and gateway statuses live in the cache; on Redis they outlast a
    test (and a run), so a code or a failed sign-in of one test would count in the next.
    """
    make_key = BaseCache.make_key
    namespace = f"{_RUN}-{next(_TEST_NUMBERS)}"

    def make_key_in_namespace(cache, key, version=None):
        return make_key(cache, f"{namespace}:{key}", version)

    monkeypatch.setattr(BaseCache, "make_key", make_key_in_namespace)


@pytest.fixture
def eager_celery():
    """Tasks run inline in this test's process, whatever the broker: for tests that check what a task did.

    The test settings already run tasks eagerly; a test that depends on it says so by asking for this
    fixture, which holds even where Celery's configuration was changed (the browser tests' live server
    runs in this process and serves the pages that enqueue).
    """
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
