import pytest
from rest_framework.test import APIClient

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.wallets.credits import wallet_credit
from tests.billing.usage.factories import customer_make, default_plan, priced_model, source_make


@pytest.fixture
def source():
    return source_make()[0]


@pytest.fixture
def model():
    m = priced_model()
    default_plan()
    return m


@pytest.fixture
def prepaid(model):
    return customer_make(key="key-a")


def top_up(customer, amount, currency="CNY", key=None):
    return wallet_credit(
        customer=customer,
        currency=currency,
        amount=amount,
        bucket="paid",
        idempotency_key=key or f"test-topup:{customer.pk}:{amount}",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency=currency),
        kind="wallet.topup.bank",
        memo="test top-up",
    )


@pytest.fixture
def litellm_gateway() -> APIClient:
    """A client authenticated as a LiteLLM gateway source."""
    _, token = source_make(name="litellm-proxy", kind="litellm")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
