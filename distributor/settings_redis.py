"""Redis, the cache and Celery, read from ``REDIS_URL`` (imported by ``distributor.settings``).

Without ``REDIS_URL`` the cache is in memory and tasks run in the calling process (the embedded mode of
``make run``). With it, what matters when Redis or a worker fails: short timeouts (a dead Redis answers in
a second or two, never a hang), no result store on publish, the broker's visibility timeout and every
task's time limits (``distributor/task_limits.py``), and the queues. Reference:
https://docs.celeryq.dev/en/stable/userguide/configuration.html
"""

from kombu import Queue

from common.env import env_url
from distributor import task_limits

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))

# Redis that is down or unreachable must answer within a second or two (a gateway asks the status on every
# request; a staff page must not hang): short connect and read timeouts for the cache and the broker.
REDIS_CONNECT_TIMEOUT = 2
REDIS_SOCKET_TIMEOUT = 5
# The backend is Django's Redis cache except that sign-in's rate-limit keys fail open when Redis is down, so
# staff can still sign in (common/cache_backend.py); every other key raises, for its caller to decide.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache_backend.SignInFailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without Redis there is no broker: run every task in the calling process so the embedded
# mode still shows the whole product.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Publishing to a broker that is down fails at once (common.task_queue says so to the caller) instead of
# retrying for seconds per task; a connection that hangs gives up after the timeouts above.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    # A task whose worker died is handed to another after this, not kombu's hour: just above the longest
    # hard time limit, so a task still running is never handed out twice (distributor/task_limits.py).
    "visibility_timeout": task_limits.VISIBILITY_TIMEOUT,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# No caller reads a task's result (uploads, closes and sends record their own progress in the database):
# a task that stores none never makes the publisher wait on the result store (Redis too), which, when down,
# held every publish for 20 s of reconnects. ``ping_task``, the worker check, keeps its result.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_max": 0.2}}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each task's soft and hard time limits from its queue, and acks_late turned off for the few tasks a second
# run would harm (e-mails): the table and the reasons are in distributor/task_limits.py.
CELERY_TASK_ANNOTATIONS = ["distributor.task_limits.TaskLimits"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
# Queues are split by kind of work so that PDF rendering never starves usage ingestion.
CELERY_TASK_QUEUES = [Queue(name) for name in ("ingest", "billing", "pdf", "notify")]
CELERY_TASK_DEFAULT_QUEUE = "billing"
CELERY_TASK_ROUTES = {
    "billing.usage.*": {"queue": "ingest"},
    "billing.documents.*": {"queue": "pdf"},
    "*.notify_*": {"queue": "notify"},
    "distributor.tasks.ping_task": {"queue": "notify"},
}
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "distributor.tasks.clear_expired_sessions_task",
        "schedule": 24 * 3600,
    },
}
