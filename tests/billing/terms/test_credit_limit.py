"""The credit-limit policy: exposure (receivable + unbilled − paid deposits) against the limit."""

from decimal import Decimal

import pytest

from billing.gateway.status import customer_status_compute
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.credit import credit_limit_check_postings, credit_limit_watch
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.selectors import customer_exposure
from billing.terms.services import billing_terms_update
from billing.usage.services import usage_batch_ingest
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, event
from tests.factories import BillingTermsFactory

pytestmark = pytest.mark.django_db

SELL = Decimal("0.006")  # one tests.billing.usage event at the default plan


def credit_customer(policy, *, key="key-c", limit="0.01"):
    return customer_make(
        key=key,
        mode=BillingTerms.Mode.MONTHLY,
        credit_limit=Decimal(limit),
        credit_policy=policy,
        billing_emails="ap@credit.example",
    )


def ingest(source, request_id, key="key-c", capture=None):
    with capture(execute=True):
        usage_batch_ingest(source=source, records=[event(request_id, key=key)])


def pay(customer, amount, key):
    """Money received on account (not yet allocated): Dr cash / Cr receivable, then the credit-limit
    check a payment service asks for (the amounts are finer than a recorded payment may be)."""
    txn = transaction_post(
        idempotency_key=key,
        kind="payment.bank",
        lines=[
            debit(account_get(kind=AccountKind.CASH_BANK, currency="CNY"), Decimal(amount), "CNY"),
            credit(
                account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer),
                Decimal(amount),
                "CNY",
            ),
        ],
    )
    credit_limit_watch(transactions=[txn])


def status(client, key="key-c"):
    return client.get("/api/v1/gateway/status", {"key": key}).json()


def test_block_policy_suspends_when_usage_crosses_the_limit_and_payment_restores(
    source, model, gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    fin = staff("finance")
    customer = credit_customer(BillingTerms.CreditPolicy.BLOCK)

    ingest(source, "r1", capture=django_capture_on_commit_callbacks)  # 0.006 < 0.01
    assert status(client)["status"] == "active" and not received

    ingest(source, "r2", capture=django_capture_on_commit_callbacks)  # 0.012 ≥ 0.01

    answer = status(client)
    assert answer["status"] == "suspended"
    assert [r["code"] for r in answer["reasons"]] == ["credit_limit"]
    assert (
        Decimal(answer["exposure"]) == 2 * SELL
        and Decimal(answer["credit_headroom"]) == Decimal("0.01") - 2 * SELL
    )
    hook = received[-1]
    assert (hook["json"]["type"], hook["json"]["reason"]) == ("customer.suspended", "credit_limit")
    assert hook["json"]["keys"] == ["key-c"] and Decimal(hook["json"]["exposure"]) == 2 * SELL
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )
    assert sorted(m.to[0] for m in mailoutbox) == sorted(["ap@credit.example", fin.email])
    breach = CreditLimitBreach.objects.get()
    assert breach.ended_at is None and breach.exposure_at_start == 2 * SELL

    # more usage while suspended: no second notice
    ingest(source, "r3", capture=django_capture_on_commit_callbacks)
    assert len(received) == 1 and len(mailoutbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        pay(customer, "0.01", "pay-1")  # exposure 0.018 − 0.01 = 0.008 < 0.01

    assert status(client)["status"] == "active"
    hook = received[-1]
    assert (hook["json"]["type"], hook["json"]["reason"]) == ("customer.restored", "credit_limit_cleared")
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )
    breach.refresh_from_db()
    assert breach.ended_at is not None and breach.exposure_at_end == 3 * SELL - Decimal("0.01")


def test_warn_policy_stays_active_and_notifies_once_per_crossing(
    source, model, gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = credit_customer(BillingTerms.CreditPolicy.WARN)

    for request_id in ("r1", "r2", "r3"):
        ingest(source, request_id, capture=django_capture_on_commit_callbacks)

    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.credit_limit_crossed"]
    assert received[0]["json"]["policy"] == "warn" and received[0]["json"]["credit_limit"] == "0.01"
    assert webhook_signature_verify(
        body=received[0]["body"], header=received[0]["headers"][SIGNATURE_HEADER], secret="gw-secret"
    )
    assert len(mailoutbox) == 1 and "credit limit" in mailoutbox[0].body

    # cleared (no restored event under warn), then crossed again: a second notice
    with django_capture_on_commit_callbacks(execute=True):
        pay(customer, "0.018", "pay-1")
    assert CreditLimitBreach.objects.get().ended_at is not None
    ingest(source, "r4", capture=django_capture_on_commit_callbacks)
    ingest(source, "r5", capture=django_capture_on_commit_callbacks)
    assert [h["json"]["type"] for h in received] == ["customer.credit_limit_crossed"] * 2
    assert len(mailoutbox) == 2


def test_paid_deposits_lower_exposure_and_granted_credit_does_not(source, model):
    customer = credit_customer(BillingTerms.CreditPolicy.BLOCK, limit="100")
    usage_batch_ingest(source=source, records=[event("r1", key="key-c")])
    top_up(customer, Decimal("0.002"))

    assert customer_exposure(customer=customer, currency="CNY") == SELL - Decimal("0.002")
    assert customer_exposure(customer=customer, currency="USD") == 0


def test_a_lower_limit_or_stricter_policy_takes_effect_at_once(
    source, model, gateway, eager_celery, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = credit_customer(BillingTerms.CreditPolicy.WARN, limit="1")
    ingest(source, "r1", capture=django_capture_on_commit_callbacks)
    ingest(source, "r2", capture=django_capture_on_commit_callbacks)
    assert not received

    with django_capture_on_commit_callbacks(execute=True):
        billing_terms_update(customer=customer, values={"credit_limit": Decimal("0.01")})
    assert [h["json"]["type"] for h in received] == ["customer.credit_limit_crossed"]
    assert status(client)["status"] == "active"

    with django_capture_on_commit_callbacks(execute=True):
        billing_terms_update(customer=customer, values={"credit_policy": BillingTerms.CreditPolicy.BLOCK})
    assert received[-1]["json"]["type"] == "customer.suspended"
    assert status(client)["status"] == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        billing_terms_update(customer=customer, values={"credit_limit": Decimal("0")})
    assert received[-1]["json"]["type"] == "customer.restored"
    assert status(client)["status"] == "active"


def test_the_postings_check_costs_a_constant_few_queries(source, model, django_assert_max_num_queries):
    customers = [credit_customer(BillingTerms.CreditPolicy.BLOCK, key=f"k{i}", limit="100") for i in range(5)]
    prepaid = customer_make(key="k-pre")
    top_up(prepaid, Decimal("10"))
    usage_batch_ingest(
        source=source, records=[event(f"r{i}", key=f"k{i}") for i in range(5)] + [event("p", key="k-pre")]
    )
    from billing.ledger.models import JournalTransaction

    ids = set(JournalTransaction.objects.values_list("pk", flat=True))

    # one query finds the credit customers, then terms, exposures and open breaches: four in all
    with django_assert_max_num_queries(4):
        assert credit_limit_check_postings(transaction_ids=ids) == []
    assert len(customers) == 5


def test_prepaid_postings_need_one_query_and_no_check(source, model, django_assert_num_queries):
    prepaid = customer_make(key="k-pre")
    top_up(prepaid, Decimal("10"))
    usage_batch_ingest(source=source, records=[event("p", key="k-pre")])
    from billing.ledger.models import JournalTransaction

    ids = set(JournalTransaction.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        assert credit_limit_check_postings(transaction_ids=ids) == []


def test_a_recorded_payment_and_a_bank_top_up_clear_the_breach_they_end(
    source, model, gateway, eager_celery, django_capture_on_commit_callbacks, settings
):
    from datetime import date

    from billing.payments.bank_transfers import bank_transfer_record
    from billing.receivables.services import payment_record

    client, received = gateway
    customer = credit_customer(BillingTerms.CreditPolicy.BLOCK)
    ingest(source, "r1", capture=django_capture_on_commit_callbacks)
    ingest(source, "r2", capture=django_capture_on_commit_callbacks)  # 0.012 ≥ 0.01
    assert status(client)["status"] == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            customer=customer,
            amount=Decimal("0.01"),
            currency="CNY",
            received_on=date(2026, 1, 5),
            reference="ICBC-1",
            actor=None,
            idempotency_key="pay-1",
            allocate=None,
        )
    assert status(client)["status"] == "active"
    assert received[-1]["json"]["reason"] == "credit_limit_cleared"

    ingest(source, "r3", capture=django_capture_on_commit_callbacks)
    ingest(source, "r4", capture=django_capture_on_commit_callbacks)  # 0.024 − 0.01 ≥ 0.01
    assert status(client)["status"] == "suspended"
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False  # credited as recorded
    with django_capture_on_commit_callbacks(execute=True):
        bank_transfer_record(
            recorder=staff("finance"),
            customer=customer,
            currency="CNY",
            amount=Decimal("0.01"),
            reference="ICBC-2",
            value_date=date(2026, 1, 6),
        )  # a paid deposit: exposure 0.024 − 0.02 < 0.01
    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.suspended", "customer.restored"] * 2


def test_issuing_an_invoice_crosses_and_a_credit_note_clears(
    source, model, gateway, eager_celery, django_capture_on_commit_callbacks
):
    from billing.receivables.credit_notes import credit_note_issue
    from tests.billing.invoicing.factories import issued_invoice

    client, received = gateway
    customer = credit_customer(BillingTerms.CreditPolicy.BLOCK, limit="50")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer, "80.00")  # a service charge: exposure 80 ≥ 50
    assert status(client)["status"] == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        credit_note_issue(
            invoice=invoice, reason="Goodwill", amount=Decimal("40.00"), actor=None, idempotency_key="cn"
        )

    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.suspended", "customer.restored"]


def test_a_wallet_adjustment_of_the_paid_deposit_clears_the_breach(
    source, model, gateway, eager_celery, django_capture_on_commit_callbacks
):
    from billing.wallets.adjustments import wallet_adjust

    client, received = gateway
    customer = credit_customer(BillingTerms.CreditPolicy.BLOCK)
    ingest(source, "r1", capture=django_capture_on_commit_callbacks)
    ingest(source, "r2", capture=django_capture_on_commit_callbacks)
    assert status(client)["status"] == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        wallet_adjust(
            customer=customer,
            currency="CNY",
            amount=Decimal("0.01"),
            bucket="paid",
            reason="deposit received in cash",
            actor=staff("finance"),
            idempotency_key="adj-1",
        )

    assert status(client)["status"] == "active"
    assert received[-1]["json"]["reason"] == "credit_limit_cleared"


def test_the_status_answer_writes_the_limit_and_the_headroom_alike():
    # Machine fields keep the stored decimal as it is, in every currency: a gateway comparing them as
    # strings must not see "100000" next to "100000.00".
    terms = BillingTermsFactory(mode="monthly", currency="JPY", credit_limit=Decimal("100000"))
    answer = customer_status_compute(customer=terms.customer)
    assert answer["credit_limit"] == answer["credit_headroom"] == "100000.00"
