"""The demo data set, in load order. Each loader is idempotent and returns the logins it created."""

from django.db import transaction

from accounts import demo as accounts_demo
from billing import demo as billing_demo
from billing.dunning import demo as dunning_demo
from billing.invoicing import demo as invoicing_demo
from billing.receivables import demo as receivables_demo
from billing.usage import demo as usage_demo
from catalog import demo as catalog_demo

DEMO_LOADERS = [
    catalog_demo.load,
    accounts_demo.load,
    catalog_demo.load_assignments,
    billing_demo.load,
    usage_demo.load,
    dunning_demo.load,
    invoicing_demo.load,
    # Needs issued invoices: keep it after the period close loader.
    receivables_demo.load,
]


@transaction.atomic
def demo_load() -> list[tuple[str, str]]:
    logins: list[tuple[str, str]] = []
    for loader in DEMO_LOADERS:
        logins.extend(loader())
    return logins
