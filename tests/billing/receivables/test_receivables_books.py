"""Credit customers' payments per book (issue #17): a reseller records its own customers' payments, in its
book; a card payment of its customer's invoice is held by the operator's Stripe account and owed to the
reseller (docs/payments.md)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Customer, MemberRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.receivables.cards import invoice_card_payment_settle
from billing.receivables.models import CustomerPayment
from billing.receivables.services import payment_record
from billing.terms.models import BillingTerms
from billing.wallets.books import KIND_RELAY
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

K = AccountKind
D = Decimal


def _reseller(name: str) -> Customer:
    return SubDistributorFactory(name=name, chain_mode=Customer.ChainMode.RESALE)


def _credit_customer(parent=None) -> Customer:
    return BillingTermsFactory(
        customer=CustomerFactory(parent=parent), mode=BillingTerms.Mode.MONTHLY, currency="CNY"
    ).customer


def _pay(customer, actor, key: str):
    return payment_record(
        customer=customer,
        amount=D("80"),
        currency="CNY",
        received_on=date(2026, 3, 2),
        reference=key,
        actor=actor,
        idempotency_key=key,
        allocate=None,
    )


def test_a_reseller_records_its_customers_payment_in_its_book_and_no_one_else_s():
    s, other = _reseller("Reseller S"), _reseller("Reseller T")
    c, outsider, direct = _credit_customer(s), _credit_customer(other), _credit_customer()
    billing = MembershipFactory(customer=s, role=MemberRole.BILLING).user

    payment = _pay(c, billing, "c-pays")

    assert payment.journal_transaction.book == s
    assert account_get(kind=K.CASH_BANK, currency="CNY", book=s).balance == D("80")
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=c).balance == D("-80")
    for customer in (outsider, direct, s):  # another reseller's, the operator's, S itself
        with pytest.raises(PermissionDenied):
            _pay(customer, billing, f"refused-{customer.pk}")
    with pytest.raises(PermissionDenied):  # a viewer only reads
        _pay(c, MembershipFactory(customer=s, role=MemberRole.VIEWER).user, "viewer")
    assert CustomerPayment.objects.count() == 1


def test_a_card_payment_of_s_customer_invoice_is_owed_to_s_by_the_operator():
    s = _reseller("Reseller S")
    c = _credit_customer(s)
    payment = CustomerPayment.objects.create(
        customer=c,
        method=CustomerPayment.Method.CARD,
        status=CustomerPayment.Status.PENDING,
        amount=D("120"),
        currency="CNY",
        reference="INV-card",
        idempotency_key="card-invoice:1",
    )

    for _replay in range(2):
        invoice_card_payment_settle(
            payment=payment, payment_intent_id="pi_c1", amount_minor=12000, currency="CNY"
        )

    posted = JournalTransaction.objects.get(idempotency_key="stripe:pi_c1")
    assert posted.book == s
    assert account_get(kind=K.DUE_TO_SELLER, currency="CNY", book=s).balance == D("120")
    assert account_get(kind=K.RECEIVABLE, currency="CNY", customer=c).balance == D("-120")
    relay = JournalTransaction.objects.get(kind=KIND_RELAY)
    assert relay.book is None
    assert account_get(kind=K.STRIPE_CLEARING, currency="CNY").balance == D("120")
    assert wallet_balance(wallet=Wallet.objects.get(customer=s, currency="CNY")).paid == D("120")
