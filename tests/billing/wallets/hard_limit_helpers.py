"""Real usage for the hard-limit tests: a prepaid customer with a gateway key, charged through a batch.

The reserve reads the wallet's usage debits, and billing_verify checks that every one of them is backed
by rated usage, so these tests charge the wallet the way the gateway does rather than by a bare debit.
"""

from decimal import Decimal

from billing.usage.services import usage_batch_ingest
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make

# The test model sells input at 2 CNY per million tokens: an amount of CNY is amount × 500,000 tokens.
TOKENS_PER_CNY = 500_000


def usage_setup():
    """The priced model, the default plan and a gateway source; returns the source."""
    priced_model()
    default_plan()
    return source_make(name="edge")[0]


def prepaid_customer(key: str, **fields):
    """A prepaid CNY customer whose gateway key is ``key``; ``fields`` set on the customer."""
    customer = customer_make(key=key)
    for name, value in fields.items():
        setattr(customer, name, value)
    if fields:
        customer.save(update_fields=list(fields))
    return customer


def usage_charge(source, customer, amount: str, request_id: str):
    """Send one event that costs ``amount`` CNY for ``customer``'s key through a usage batch."""
    key = customer.gateway_keys.get().key
    tokens = int(Decimal(amount) * TOKENS_PER_CNY)
    record = event(request_id, key=key, prompt=tokens, completion=0)
    return usage_batch_ingest(source=source, records=[record], idempotency_key=f"batch:{request_id}")
