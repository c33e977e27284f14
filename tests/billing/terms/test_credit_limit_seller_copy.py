"""The staff copy of a credit-limit breach goes to whoever set the limit and carries the risk: for a
resale sub-distributor's customer its owner and billing members (in the reseller's language), never the
operator's finance; for the operator's own customers (the reseller itself among them) operator finance and
admins. The customer's own e-mail comes from its seller, never naming the operator (issue #17)."""

from decimal import Decimal

import pytest

from accounts.models import MemberRole, StaffRole
from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.notifications import credit_limit_email_send
from tests.billing.documents.sellers import OPERATOR, SELLER_LEGAL, end_customer, operator_settings, reseller
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _operator(settings, tmp_path):
    operator_settings(settings)
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def operator_finance():
    UserFactory(email="fin@op.example", staff_role=StaffRole.FINANCE)
    UserFactory(email="admin@op.example", staff_role=StaffRole.ADMIN)


def breach_of(customer, contact="ap@shop.example") -> CreditLimitBreach:
    BillingTerms.objects.create(
        customer=customer, mode=BillingTerms.Mode.MONTHLY, currency="CNY", billing_emails=contact
    )
    return CreditLimitBreach.objects.create(
        customer=customer,
        currency="CNY",
        credit_limit=Decimal("100"),
        policy=BillingTerms.CreditPolicy.WARN,
        exposure_at_start=Decimal("120"),
    )


def member(customer, email, role):
    return MembershipFactory(user=UserFactory(email=email), customer=customer, role=role).user


def test_a_resellers_customers_breach_reaches_the_resellers_managers_not_operator_finance(
    mailoutbox, operator_finance
):
    seller = reseller(logo=False, language="zh-hans")
    member(seller, "owner@acme.example", MemberRole.OWNER)
    member(seller, "money@acme.example", MemberRole.BILLING)
    member(seller, "viewer@acme.example", MemberRole.VIEWER)
    gone = member(seller, "gone@acme.example", MemberRole.BILLING)
    gone.is_active = False
    gone.save()
    shop = end_customer(seller, name="Shop C", language="en")

    assert credit_limit_email_send(breach=breach_of(shop)) == 2

    recipients = sorted(address for message in mailoutbox for address in message.to)
    assert recipients == ["ap@shop.example", "money@acme.example", "owner@acme.example"]
    [copy] = [m for m in mailoutbox if "owner@acme.example" in m.to]
    assert "Shop C" in copy.body and "信用额度" in copy.subject  # in the reseller's language
    [notice] = [m for m in mailoutbox if m.to == ["ap@shop.example"]]
    assert notice.from_email == f'"{SELLER_LEGAL}" <noreply@platform.example>'
    assert notice.reply_to == ["billing@acme.example"]
    assert OPERATOR["OPERATOR_NAME"] not in notice.subject + notice.body + notice.from_email


def test_the_operators_customers_breach_still_reaches_operator_finance(mailoutbox, operator_finance):
    seller = reseller(logo=False)
    member(seller, "owner@acme.example", MemberRole.OWNER)
    direct = CustomerFactory(name="Direct Co")

    credit_limit_email_send(breach=breach_of(direct, "ap@direct.example"))

    [copy] = [m for m in mailoutbox if m.to != ["ap@direct.example"]]
    assert copy.to == ["admin@op.example", "fin@op.example"]
    assert "Direct Co" in copy.body


def test_the_resellers_own_breach_goes_to_operator_finance(mailoutbox, operator_finance):
    seller = reseller(logo=False)
    member(seller, "owner@acme.example", MemberRole.OWNER)

    credit_limit_email_send(breach=breach_of(seller, "ap@acme.example"))

    assert sorted(address for m in mailoutbox for address in m.to) == [
        "admin@op.example",
        "ap@acme.example",
        "fin@op.example",
    ]
