"""Money per book (issue #17): a customer's payments land in its seller's book; what a resale
sub-distributor S pays its own seller, or gets back, is mirrored in S's book; a card top-up by S's
customer, taken by the operator's Stripe account as the platform, reaches S's book as money its seller
holds for it and the operator's book as a payout owed to S (docs/payments.md)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.models import Customer, MemberRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.payments.approvals import correction_approve
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from billing.payments.cards import card_topup_refund, card_topup_settle
from billing.payments.reversals import payment_reversal_propose
from billing.wallets.books import KIND_MIRROR, KIND_RELAY
from tests.billing.payments.helpers import balance, card_topup
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

K = AccountKind
D = Decimal
PI = "pi_3QbTpyFxK8mWz4Lp1aB2cD3e"


@pytest.fixture
def s():
    return BillingTermsFactory(
        customer=SubDistributorFactory(name="Reseller S", chain_mode=Customer.ChainMode.RESALE),
        currency="CNY",
    ).customer


@pytest.fixture
def customer(s):
    """S's end customer: sold in S's book (the conftest's card top-up fixtures use it)."""
    return BillingTermsFactory(customer=CustomerFactory(name="Shop C", parent=s), currency="CNY").customer


def bal(kind, *, book=None, customer=None) -> Decimal:
    owner = {"customer": customer} if customer is not None else {"book": book}
    return account_get(kind=kind, currency="CNY", **owner).balance


def books_balance():
    """Every book's entries sum to zero on their own."""
    sums = JournalEntry.objects.values("account__book_id").annotate(total=Sum("amount"))
    assert {row["account__book_id"]: row["total"] for row in sums} == {
        row["account__book_id"]: 0 for row in sums
    }


def test_a_bank_top_up_of_s_customer_lands_in_s_book(s, customer, finance):
    s_manager = MembershipFactory(customer=s, role=MemberRole.BILLING).user

    transfer = bank_transfer_record(
        recorder=s_manager,
        customer=customer,
        currency="CNY",
        amount=D("300"),
        reference="S-BANK-1",
        value_date=date(2026, 3, 1),
    )
    bank_transfer_approve(
        transfer=transfer, approver=MembershipFactory(customer=s, role=MemberRole.OWNER).user
    )

    txn = JournalTransaction.objects.get(idempotency_key=f"bank-transfer:{transfer.pk}")
    assert txn.book == s
    assert bal(K.CASH_BANK, book=s) == D("300")
    assert balance(customer)[0] == D("300")
    # nothing in the operator's book: the money is S's, on S's bank account; and C is not a reseller
    assert not JournalEntry.objects.filter(account__book__isnull=True).exists()
    assert not JournalTransaction.objects.filter(kind=KIND_MIRROR).exists()
    books_balance()


def test_s_bank_payment_to_the_operator_is_mirrored_in_s_book_and_so_is_its_reversal(s, finance, finance2):
    transfer = bank_transfer_record(
        recorder=finance,
        customer=s,
        currency="CNY",
        amount=D("1000"),
        reference="OP-1",
        value_date=date(2026, 3, 1),
    )
    bank_transfer_approve(transfer=transfer, approver=finance2)

    # the operator's book: its cash, S's paid wallet
    assert bal(K.CASH_BANK) == D("1000") and balance(s)[0] == D("1000")
    # S's book: what it prepaid its seller (a debit on due-to-seller) left its bank
    mirror = JournalTransaction.objects.get(kind=KIND_MIRROR)
    assert mirror.book == s and mirror.idempotency_key == f"bank-transfer:{transfer.pk}:mirror"
    assert (bal(K.DUE_TO_SELLER, book=s), bal(K.CASH_BANK, book=s)) == (D("1000"), D("-1000"))

    proposal = payment_reversal_propose(
        proposer=finance,
        bank_transfer=transfer,
        reason="bounced",
        note="returned by the bank",
        returned_on=date(2026, 3, 3),
        idempotency_key="rev-1",
    )
    correction_approve(correction=proposal, approver=finance2)

    assert bal(K.CASH_BANK) == 0 and balance(s)[0] == 0
    assert (bal(K.DUE_TO_SELLER, book=s), bal(K.CASH_BANK, book=s)) == (0, 0)
    assert JournalTransaction.objects.filter(kind=KIND_MIRROR, book=s).count() == 2
    books_balance()


def test_a_card_top_up_by_s_customer_reaches_s_book_and_the_operator_owes_s_the_payout(
    s, customer, owner, stripe_http
):
    topup = card_topup(owner, customer, "500")
    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")
    # replayed by the second Stripe event: nothing twice
    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")

    # S's book: C's paid wallet against what S's seller now holds for S
    assert balance(customer)[0] == D("500")
    assert bal(K.DUE_TO_SELLER, book=s) == D("500")
    assert not account_get(kind=K.STRIPE_CLEARING, currency="CNY").entries.filter(account__book=s).exists()
    # the operator's book: its Stripe clearing, and the payout owed to S as S's paid credit
    assert bal(K.STRIPE_CLEARING) == D("500")
    assert balance(s)[0] == D("500")
    relay = JournalTransaction.objects.get(kind=KIND_RELAY)
    assert relay.book is None and relay.idempotency_key == f"stripe:{PI}:relay:{s.pk}"
    books_balance()

    # Stripe refunds the whole charge (514.50: the credit and the fee C paid on top, which Stripe keeps):
    # taken back in both books. S bears its customer's card fee, as the operator does its own: an
    # expense in S's book, owed to its seller, whose Stripe balance paid it out.
    card_topup_refund(topup=topup, refunded_minor=51450, currency="CNY", charge_id="ch_1")

    assert balance(customer)[0] == 0
    assert (bal(K.PAYMENT_FEES, book=s), bal(K.DUE_TO_SELLER, book=s)) == (D("14.50"), D("-14.50"))
    assert (bal(K.STRIPE_CLEARING), balance(s)[0]) == (D("-14.50"), D("-14.50"))
    assert bal(K.PAYMENT_FEES) == 0  # the operator's own fees: none
    assert JournalTransaction.objects.filter(kind=KIND_RELAY).count() == 2
    books_balance()


def test_s_payment_of_its_invoice_to_the_operator_is_mirrored(s, finance):
    from billing.receivables.services import payment_record

    payment = payment_record(
        customer=s,
        amount=D("250"),
        currency="CNY",
        received_on=date(2026, 3, 2),
        reference="S-PAYS",
        actor=finance,
        idempotency_key="s-pays",
        allocate=None,
    )
    payment_record(
        customer=s,
        amount=D("250"),
        currency="CNY",
        received_on=date(2026, 3, 2),
        reference="S-PAYS",
        actor=finance,
        idempotency_key="s-pays",
        allocate=None,
    )

    assert bal(K.CASH_BANK) == D("250") and bal(K.RECEIVABLE, customer=s) == D("-250")
    mirror = JournalTransaction.objects.get(kind=KIND_MIRROR)
    assert mirror.book == s and mirror.idempotency_key == f"receivables.payment:{payment.pk}:mirror"
    assert (bal(K.DUE_TO_SELLER, book=s), bal(K.CASH_BANK, book=s)) == (D("250"), D("-250"))
    books_balance()


@pytest.fixture
def deep_customer(s):
    """A customer of S2, a reseller under S: three books up to the operator's."""
    s2 = BillingTermsFactory(
        customer=SubDistributorFactory(name="Reseller S2", parent=s, chain_mode=Customer.ChainMode.RESALE),
        currency="CNY",
    ).customer
    return BillingTermsFactory(customer=CustomerFactory(name="Shop E", parent=s2), currency="CNY").customer


def test_a_card_top_up_deeper_in_the_tree_is_relayed_hop_by_hop(s, deep_customer, stripe_http):
    s2 = deep_customer.parent
    owner = MembershipFactory(customer=deep_customer, role=MemberRole.OWNER).user
    topup = card_topup(owner, deep_customer, "500")

    card_topup_settle(topup=topup, payment_intent_id=PI, amount_minor=51450, currency="CNY")

    # S2's book: E's wallet against what S2's seller (S) holds for it
    assert balance(deep_customer)[0] == D("500") and bal(K.DUE_TO_SELLER, book=s2) == D("500")
    # S's book: S2's paid credit against what the operator holds for S
    assert balance(s2)[0] == D("500") and bal(K.DUE_TO_SELLER, book=s) == D("500")
    # the operator's book: its Stripe clearing, S's paid credit
    assert balance(s)[0] == D("500") and bal(K.STRIPE_CLEARING) == D("500")
    relays = JournalTransaction.objects.filter(kind=KIND_RELAY).order_by("pk")
    assert [(r.book_id, r.idempotency_key) for r in relays] == [
        (s.pk, f"stripe:{PI}:relay:{s2.pk}"),
        (None, f"stripe:{PI}:relay:{s.pk}"),
    ]
    books_balance()
