from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data set and the commands that load it (`make run`); nothing else imports it."""

    name = "demo"
    verbose_name = "Demo"
