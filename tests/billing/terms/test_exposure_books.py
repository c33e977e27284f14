"""Exposure and enforcement through the chain (issue #17): a resale sub-distributor S's exposure at its
seller is its own accounts in the seller's book, which hold its whole subtree's usage at wholesale; its
customer C's exposure is in S's book against the limit S gave. Suspending S suspends its subtree at the
gateway; suspending C leaves S alone."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.models import Customer
from billing.gateway.status import customer_status_compute
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.terms.services import billing_terms_update
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from billing.wallets.credits import wallet_credit
from tests.billing.usage.factories import (
    customer_make,
    default_plan,
    owned_plan,
    plan_assign,
    priced_model,
    source_make,
)
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


@pytest.fixture
def source():
    priced_model()
    default_plan()
    return source_make()[0]


def _ingest(source, *pairs):
    records = [
        {
            "request_id": request_id,
            "occurred_at": AT.isoformat(),
            "key": key,
            "model": "deepseek-chat",
            "prompt_tokens": 1_000_000,
            "completion_tokens": 1_000_000,
        }
        for request_id, key in pairs
    ]
    assert usage_batch_ingest(source=source, records=records).accepted == len(records)


def _s(limit: str) -> Customer:
    s = SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(
        customer=s,
        mode=BillingTerms.Mode.MONTHLY,
        currency="CNY",
        credit_limit=Decimal(limit),
        credit_policy=BillingTerms.CreditPolicy.BLOCK,
    )
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    return s


def _reasons(customer) -> set[str]:
    return {r["code"] for r in customer_status_compute(customer=customer)["reasons"]}


def test_s_exposure_holds_its_customers_usage_at_wholesale_and_its_suspension_reaches_them(
    source, django_capture_on_commit_callbacks
):
    s = _s("1000")
    c = customer_make(key="key-c", parent=s)
    plan_assign(c, owned_plan(s, "S retail", "0.5"))
    wallet_credit(
        customer=c,
        currency="CNY",
        amount=Decimal("100"),
        bucket="paid",
        idempotency_key="c-bank",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=s),
        kind="wallet.topup.bank",
        memo="bank",
    )

    _ingest(source, ("r1", "key-c"), ("r2", "key-c"))

    wholesale = UsageEvent.objects.filter(customer=s, hop=1).aggregate(t=Sum("sell_amount"))["t"]
    retail = UsageEvent.objects.filter(customer=c, hop=0).aggregate(t=Sum("sell_amount"))["t"]
    assert 0 < wholesale < retail
    # S's exposure at the operator: its subtree's usage at wholesale (unbilled in the operator's book)
    assert customer_exposure(customer=s, currency="CNY") == wholesale
    unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=s)
    assert unbilled.book is None and unbilled.balance == wholesale
    assert _reasons(s) == set() and _reasons(c) == set()

    # the operator lowers S's limit below that exposure: S is suspended, and its customer with it
    with django_capture_on_commit_callbacks(execute=True):
        billing_terms_update(customer=s, values={"credit_limit": wholesale.quantize(Decimal("0.01"))})
    assert CreditLimitBreach.objects.get(ended_at__isnull=True).customer == s
    assert _reasons(s) == {"credit_limit"}
    assert _reasons(c) == {"parent_suspended"}


def test_s_suspending_its_customer_for_its_limit_does_not_touch_s(source):
    s = _s("1000")
    c = customer_make(
        key="key-c",
        parent=s,
        mode=BillingTerms.Mode.MONTHLY,
        credit_limit=Decimal("1"),
        credit_policy=BillingTerms.CreditPolicy.BLOCK,
    )
    plan_assign(c, owned_plan(s, "S retail", "0.5"))

    _ingest(source, ("r1", "key-c"))

    retail = UsageEvent.objects.get(customer=c, hop=0).sell_amount
    # C's exposure is in S's book: its unbilled there, against the limit S gave
    unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=c)
    assert unbilled.book == s and customer_exposure(customer=c, currency="CNY") == retail
    assert _reasons(c) == {"credit_limit"}
    assert _reasons(s) == set()
