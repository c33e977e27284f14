"""The Celery application; queues and routes live in settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distributor.settings")

app = Celery("distributor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
