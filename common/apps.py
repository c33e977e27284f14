from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Helpers every app shares: list pages, CSV, API input, encryption, outgoing webhooks, the outbox."""

    name = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from celery.signals import worker_ready

        worker_ready.connect(outbox_drain_on_worker_ready, dispatch_uid="common_outbox_drain_on_worker_ready")


def outbox_drain_on_worker_ready(sender=None, **kwargs) -> None:
    """A worker that starts after an outage sends what was kept at once, not at the next beat minute."""
    from common.outbox import outbox_drain

    outbox_drain()
