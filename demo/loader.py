"""The demo data set, in load order. Each loader is idempotent and returns the logins it created."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from demo import accounts as accounts_demo
from demo import catalog as catalog_demo
from demo import dunning as dunning_demo
from demo import exposure as exposure_demo
from demo import invoicing as invoicing_demo
from demo import receivables as receivables_demo
from demo import upstream as upstream_demo
from demo import usage as usage_demo
from demo import wallets as wallets_demo

DEMO_LOADERS = [
    catalog_demo.load,
    accounts_demo.load,
    catalog_demo.load_assignments,
    wallets_demo.load,
    usage_demo.load,
    upstream_demo.load,
    dunning_demo.load,
    invoicing_demo.load,
    # Needs issued invoices: keep it after the period close loader.
    receivables_demo.load,
    # Snapshots read the whole ledger: keep it last.
    exposure_demo.load,
]


def demo_refusal(command: str) -> str | None:
    """Why ``command`` may not touch the demo users here, or None when it may.

    The demo users' password and TOTP secrets are published (README, `make run`): in production they
    would be an admin and a finance login anyone can use.
    """
    if settings.PRODUCTION:
        return _(
            "%(command)s is for development only and refuses to run with DISTRIBUTOR_ENV=production: "
            "the demo users' password and two-factor secrets are public."
        ) % {"command": command}
    return None


@transaction.atomic
def demo_load() -> list[tuple[str, str]]:
    if refusal := demo_refusal("load_demo"):
        raise ImproperlyConfigured(refusal)
    logins: list[tuple[str, str]] = []
    for loader in DEMO_LOADERS:
        logins.extend(loader())
    return logins
