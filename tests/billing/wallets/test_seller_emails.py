"""Balance and credit-limit e-mails to a reseller's customer come from the reseller (issue #17): its name
as sender on our address, replies to its billing e-mail, signed with its name; nothing names the operator.
The operator's own customers still hear from the operator."""

from decimal import Decimal

import pytest

from billing.terms.models import BillingTerms, CreditLimitBreach
from billing.terms.notifications import credit_limit_email_send
from billing.wallets.locking import wallet_get_or_create
from tests.billing.documents.sellers import OPERATOR, SELLER_LEGAL, end_customer, operator_settings, reseller
from tests.billing.factories import spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _operator(settings, tmp_path):
    operator_settings(settings)  # DEFAULT_FROM_EMAIL "Operator Billing <noreply@platform.example>"
    settings.MEDIA_ROOT = tmp_path


def whole(message) -> str:
    return " ".join([message.from_email, message.subject, message.body, *message.reply_to, *message.to])


def low_balance_email(customer, mailoutbox, capture):
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet.low_balance_threshold = Decimal("50")
    wallet.save()
    with capture(execute=True):
        topup(customer, "100", "t1")
    with capture(execute=True):
        spend(customer, "60", "d1")  # 40 left: crosses the threshold
    assert len(mailoutbox) == 1
    return mailoutbox[0]


def test_a_resellers_customer_hears_of_its_low_balance_from_the_reseller(
    eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    shop = end_customer(reseller(logo=False), contact_email="ops@shop.example")
    message = low_balance_email(shop, mailoutbox, django_capture_on_commit_callbacks)
    assert message.to == ["ops@shop.example"] and "at or below your alert threshold" in message.body
    assert message.from_email == f'"{SELLER_LEGAL}" <noreply@platform.example>'
    assert message.reply_to == ["billing@acme.example"]
    assert message.body.rstrip().endswith(SELLER_LEGAL)
    text = whole(message)
    assert OPERATOR["OPERATOR_NAME"] not in text and "Operator Billing" not in text


def test_the_operators_customer_hears_from_the_operator(
    eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(contact_email="ops@direct.example")
    message = low_balance_email(customer, mailoutbox, django_capture_on_commit_callbacks)
    assert message.from_email == "Operator Billing <noreply@platform.example>"
    assert message.body.rstrip().endswith(OPERATOR["OPERATOR_NAME"])


def test_a_resellers_customers_credit_limit_notice_comes_from_the_reseller(mailoutbox):
    shop = end_customer(reseller(logo=False))
    BillingTerms.objects.create(
        customer=shop, mode=BillingTerms.Mode.MONTHLY, currency="CNY", billing_emails="ap@shop.example"
    )
    breach = CreditLimitBreach.objects.create(
        customer=shop,
        currency="CNY",
        credit_limit=Decimal("100"),
        policy=BillingTerms.CreditPolicy.BLOCK,
        exposure_at_start=Decimal("120"),
    )
    credit_limit_email_send(breach=breach)
    [message] = [m for m in mailoutbox if m.to == ["ap@shop.example"]]
    assert "at or above your credit limit" in message.body
    assert message.from_email == f'"{SELLER_LEGAL}" <noreply@platform.example>'
    assert message.reply_to == ["billing@acme.example"]
    text = whole(message)
    assert OPERATOR["OPERATOR_NAME"] not in text and "Operator Billing" not in text
