"""The Celery application; queues and routes live in settings (``CELERY_*``)."""

import os
import pkgutil

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distributor.settings")

app = Celery("distributor")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _task_packages() -> list[str]:
    """Every installed app and each of its sub-packages: billing keeps tasks per capability
    (``billing.usage.tasks``), which plain autodiscovery (``<app>.tasks`` only) would miss, and a
    worker would then refuse those tasks as unregistered."""
    from django.apps import apps

    packages = []
    for config in apps.get_app_configs():
        packages.append(config.name)
        packages.extend(f"{config.name}.{m.name}" for m in pkgutil.iter_modules([config.path]) if m.ispkg)
    return packages


app.autodiscover_tasks(_task_packages)
