"""Redis unreachable, for one test: the cache and the Celery broker pointed at a port where nothing listens.

The real Redis keeps running (other test runs use it); only this process's settings point elsewhere, and
are put back afterwards. Import the fixtures into a test module (``# noqa: F401``).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.cache_fallback import cache_pause_end
from distributor.free_port import free_port

ROOT = Path(__file__).resolve().parents[2]


def dead_redis_url() -> str:
    port = free_port("127.0.0.1", 26379)
    assert port is not None
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def cache_down(settings):
    """The default cache, the backend production uses (``distributor/settings_redis.py``), at a dead port
    (Django's cache handler is reset on the change)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache_backend.SignInFailOpenRedisCache",
            "LOCATION": dead_redis_url(),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    cache_pause_end()
    yield
    cache_pause_end()  # the pause a failure started must not hold the real cache back in later tests


def _pools_forget(app) -> None:
    # The app keeps the connection and producer pools of the broker it first published to: forget them
    # (kombu keeps each broker's pool for next time), so the next publish goes to ``broker_url`` as it is now.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    """Celery publishes for real (not eagerly) to a broker at a dead port; eager and URL come back after."""
    from distributor.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = dead_redis_url()
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = False
    _pools_forget(app)
    yield app
    app.conf.broker_url, app.conf.task_always_eager = saved
    _pools_forget(app)


def broker_back(app) -> None:
    """The broker answers again: for the test, tasks run inline (eager) as the test settings have them.

    A real worker would run them against the development database, not this test's.
    """
    app.conf.task_always_eager = True


def broker_real(app, settings) -> None:
    """The broker answers again, for real: publish to the Redis the test settings name, not inline."""
    app.conf.broker_url = settings.CELERY_BROKER_URL
    _pools_forget(app)


def worker_start(database: dict, **env: str) -> subprocess.Popen:
    """``celery worker`` on every project queue, on this test's database (``transaction=True`` tests only:
    it sees committed rows); ``env`` adds settings read from the environment. Terminate it when done."""
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    command = [sys.executable, "-m", "celery", "-A", "distributor", "worker", "--pool=solo"]
    command += ["-Q", "ingest,billing,pdf,notify", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "DATABASE_URL": url, **env})
