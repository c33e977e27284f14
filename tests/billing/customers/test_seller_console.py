"""The seller console's work: onboarding a customer into the seller's book with credit terms, editing its
terms, limits and floors, and the list of customers with their balances read from the seller's book."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Customer
from billing.customers.seller_services import seller_retail_floor_set
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount
from billing.terms.models import BillingTerms
from billing.terms.services import customer_onboard
from billing.wallets.credits import wallet_credit
from billing.wallets.models import Wallet
from tests.billing.customers.conftest import onboard

pytestmark = pytest.mark.django_db


def deposit(customer, amount, key):
    """A bank top-up of ``customer``'s wallet, from cash in its seller's book."""
    return wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal(amount),
        bucket="paid",
        idempotency_key=key,
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=customer.seller),
        kind="wallet.topup.bank",
        memo="bank transfer",
    )


def onboarding(**extra) -> dict:
    return {
        "name": "Credit Co",
        "code": "credit-co",
        "kind": Customer.Kind.END_CUSTOMER,
        "language": "zh-hans",
        "contact_email": "ap@credit.example.com",
        "mode": "monthly",
        "currency": "CNY",
        "credit_limit": "800.00",
        "credit_policy": "block",
        "payment_term": "net",
        "payment_days": "15",
        "chain_mode": "resale",
        **extra,
    }


def test_onboarding_puts_the_customer_under_the_seller_in_its_book_with_its_limit(as_owner, seller):
    response = as_owner.post(reverse("portal-seller-customer-new"), onboarding())

    customer = Customer.objects.get(code="credit-co")
    assert response["Location"] == reverse("portal-seller-customer", args=[customer.pk])
    assert (customer.parent, customer.seller, customer.price_owner) == (seller, seller, seller)
    terms = customer.billing_terms
    assert (terms.mode, terms.credit_limit, terms.payment_days, terms.credit_policy) == (
        "monthly",
        Decimal("800.00"),
        15,
        "block",
    )
    assert customer.language == "zh-hans"
    deposit_account = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer)
    assert deposit_account.book_id == seller.pk
    assert terms.changes.first().actor.membership.customer == seller


def test_a_limit_on_a_prepaid_customer_is_refused_and_nothing_is_created(as_owner):
    response = as_owner.post(reverse("portal-seller-customer-new"), onboarding(mode="prepaid"))

    assert response.status_code == 200
    assert "credit_limit" in response.context["form"].errors
    assert not Customer.objects.filter(code="credit-co").exists()


def test_a_sub_distributor_it_onboards_resells_below_it(as_owner, seller):
    as_owner.post(
        reverse("portal-seller-customer-new"),
        onboarding(code="sub-2", kind=Customer.Kind.SUB_DISTRIBUTOR, mode="prepaid", credit_limit=""),
    )
    sub = Customer.objects.get(code="sub-2")
    assert (sub.seller, sub.chain_mode, sub.is_reseller) == (seller, "resale", True)


def test_a_sub_distributor_it_onboards_as_its_agent_prices_customers_the_seller_bills(as_owner, seller):
    as_owner.post(
        reverse("portal-seller-customer-new"),
        onboarding(code="agent-2", kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode="agency"),
    )
    agent = Customer.objects.get(code="agent-2")
    below = customer_onboard(
        name="Via agent",
        code="via-agent",
        kind=Customer.Kind.END_CUSTOMER,
        parent=agent,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )
    assert agent.chain_mode == "agency"
    assert (below.seller, below.price_owner) == (seller, agent)
    # The seller acts on it: it is sold in the seller's book.
    assert as_owner.get(reverse("portal-seller-terms", args=[below.pk])).status_code == 200


def test_the_seller_edits_its_customers_terms_and_limit(as_owner, credit):
    page = as_owner.get(reverse("portal-seller-terms", args=[credit.pk]))
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(credit_limit="1200.00", credit_policy="warn", language="en", dunning_policy="")

    response = as_owner.post(reverse("portal-seller-terms", args=[credit.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    terms = BillingTerms.objects.get(customer=credit)
    assert (terms.credit_limit, terms.credit_policy) == (Decimal("1200.00"), "warn")
    assert terms.changes.first().changes["credit_limit"] == ["500.00", "1200.00"]


def test_the_seller_sets_a_prepaid_customers_wallet_floor(as_owner, prepaid):
    response = as_owner.post(
        reverse("portal-seller-wallet-floor", args=[prepaid.pk]), {"floor": "-50.00", "limit_mode": "hard"}
    )
    assert response.status_code == 302
    wallet = Wallet.objects.get(customer=prepaid, currency="CNY")
    assert (wallet.floor, wallet.limit_mode) == (Decimal("-50.00"), "hard")


def test_a_positive_floor_is_refused(as_owner, prepaid):
    response = as_owner.post(
        reverse("portal-seller-wallet-floor", args=[prepaid.pk]),
        {"floor": "5", "limit_mode": "soft"},
        follow=True,
    )
    assert "Floor not saved" in response.content.decode()
    assert not Wallet.objects.filter(customer=prepaid, floor=5).exists()


def test_the_seller_sets_its_sub_distributors_retail_floor_but_not_an_end_customers(
    as_owner, seller, seller_owner, prepaid
):
    s2 = onboard(seller, seller_owner, "s2", kind=Customer.Kind.SUB_DISTRIBUTOR)
    as_owner.post(reverse("portal-seller-retail-floor", args=[s2.pk]), {"retail_floor": "0.08"})
    s2.refresh_from_db()
    assert s2.retail_floor == Decimal("0.08")
    # 10 (1000%) is refused as the operator's form refuses it: the column holds one digit before the point
    with pytest.raises(ValidationError, match="between 0 and 10"):
        seller_retail_floor_set(seller=seller, customer=s2, retail_floor=Decimal("10"))
    s2.refresh_from_db()
    assert s2.retail_floor == Decimal("0.08")

    response = as_owner.post(
        reverse("portal-seller-retail-floor", args=[prepaid.pk]), {"retail_floor": "0.1"}
    )
    assert response.status_code == 302
    prepaid.refresh_from_db()
    assert prepaid.retail_floor is None


def test_the_list_shows_balances_from_the_sellers_book(as_owner, seller, prepaid, credit):
    deposit(prepaid, "300.00", "dep-1")

    response = as_owner.get(reverse("portal-seller-home"))

    rows = {c.code: c.balances for c in response.context["customers"]}
    assert rows["prepaid-c"].wallet == Decimal("300.00")
    assert rows["credit-c"].wallet == Decimal("0")
    assert response.context["totals"]["CNY"]["wallet"] == Decimal("300.00")
    # The seller's own position at the operator is not its customers' business.
    assert seller.pk not in {c.pk for c in response.context["customers"]}
    assert LedgerAccount.objects.get(customer=prepaid, kind=AccountKind.WALLET_PAID).book_id == seller.pk
    detail = as_owner.get(reverse("portal-seller-customer", args=[prepaid.pk]))
    assert detail.context["balances"].wallet == Decimal("300.00")
    assert 'data-testid="balance-wallet">300.00' in detail.content.decode()


def test_the_list_filters_and_sorts(as_owner, prepaid, credit):
    response = as_owner.get(reverse("portal-seller-home"), {"mode": "monthly"})
    assert [c.code for c in response.context["customers"]] == ["credit-c"]
    response = as_owner.get(reverse("portal-seller-home"), {"o": "-name"})
    assert [c.code for c in response.context["customers"]] == ["prepaid-c", "credit-c"]


def test_the_console_speaks_chinese(as_owner, prepaid):
    as_owner.cookies["django_language"] = "zh-hans"
    page = as_owner.get(reverse("portal-seller-customer", args=[prepaid.pk])).content.decode()
    assert "我的业务" in page and "钱包下限" in page and "暂停原因" in page
