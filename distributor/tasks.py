"""Project-wide housekeeping tasks."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="distributor.tasks.ping_task", ignore_result=False)
def ping_task(value: str) -> str:
    """Echo ``value``; used to prove a real worker consumes from the broker."""
    return f"pong:{value}"


@shared_task(name="distributor.tasks.clear_expired_sessions_task")
def clear_expired_sessions_task() -> None:
    call_command("clearsessions")
