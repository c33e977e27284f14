"""Settings for the test suite: the development settings, with what makes a test fast and self-contained.

pytest loads this module (``DJANGO_SETTINGS_MODULE`` in pyproject.toml). Database, Redis cache and broker
still come from the environment as in development. The tests about the real settings
(tests/distributor/test_settings.py, test_production.py) start ``manage.py`` without this module.
"""

from distributor.settings import *  # noqa: F403

# The production hasher (PBKDF2, a million iterations) spends a third of a second per sign-in and user
# made; the suite makes thousands, and no test is about the hash itself.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run inline in the test's process and raise there, with a broker or without: a task a test enqueued
# is never left in Redis for a later worker to run against the development database. The one test of a
# real worker (tests/distributor/test_celery.py) turns this off for itself.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Mail stays in memory (``mailoutbox``); a test never reaches an SMTP server named in the environment.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
