from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Helpers every app shares: list pages, CSV, API input, encryption, outgoing webhooks."""

    name = "common"
    verbose_name = "Common"
