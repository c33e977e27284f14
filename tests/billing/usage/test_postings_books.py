"""Usage postings per book (issue #17): an agency sub-distributor's commission on a batch is one posting
per agent and currency in the book that sold — Dr commission expense / Cr commission payable (the agent) —
posted once however often the batch is posted."""

from decimal import Decimal

import pytest

from accounts.models import Customer
from billing.ledger.models import AccountKind, JournalTransaction
from billing.usage.models import UsageBatch
from billing.usage.postings import sums_post
from billing.usage.timeline import Timeline
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db


def test_commissions_post_once_per_batch_and_agent_in_the_selling_book():
    reseller = SubDistributorFactory(name="Reseller R", chain_mode=Customer.ChainMode.RESALE)
    under_operator = SubDistributorFactory(name="Agent A", chain_mode=Customer.ChainMode.AGENCY)
    under_reseller = SubDistributorFactory(
        name="Agent B", parent=reseller, chain_mode=Customer.ChainMode.AGENCY
    )
    batch = UsageBatch.objects.create(idempotency_key="b-1", request_hash="x")
    commission = {
        (under_operator.pk, "CNY"): Decimal("1.2345"),
        (under_reseller.pk, "CNY"): Decimal("0.50"),
        (under_reseller.pk, "USD"): Decimal("0"),  # nothing earned: no posting
    }

    def post():
        return sums_post(
            batch=batch,
            sell={},
            cost={},
            timeline=Timeline({}, {}),
            customers={},
            vendors={},
            commission=commission,
        )

    first = post()
    again = post()

    assert [t.pk for t in first] == [t.pk for t in again]
    posted = JournalTransaction.objects.filter(kind="usage.commission").order_by("idempotency_key")
    assert [(t.idempotency_key, t.book_id) for t in posted] == [
        (f"usage:b{batch.pk}:commission:a{under_operator.pk}:CNY", None),
        (f"usage:b{batch.pk}:commission:a{under_reseller.pk}:CNY", reseller.pk),
    ]
    for txn, (agent, amount) in zip(
        posted, [(under_operator, Decimal("1.2345")), (under_reseller, Decimal("0.5"))], strict=True
    ):
        entries = {
            (e.account.kind, e.account.customer_id): e.amount for e in txn.entries.select_related("account")
        }
        assert entries == {
            (AccountKind.COMMISSION_EXPENSE, None): amount,
            (AccountKind.COMMISSION_PAYABLE, agent.pk): -amount,
        }
