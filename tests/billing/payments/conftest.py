from decimal import Decimal

import pytest
import stripe
from allauth.mfa.totp.internal.auth import TOTP

from accounts.models import MemberRole, StaffRole
from tests.billing.payments.helpers import card_topup
from tests.billing.payments.stripe_fakes import SECRET_KEY, WEBHOOK_SECRET, RecordedStripeHTTP
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, UserFactory

TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture(autouse=True)
def payment_settings(settings, tmp_path):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_51QbTpyFxK8mWz4LpPublishable"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_ENABLED = True
    settings.TOPUP_CARD_FEE_MODE = "customer"
    settings.TOPUP_CARD_FEE_PERCENT = Decimal("2.9")
    settings.TOPUP_CARD_FEE_FIXED = {"CNY": "0", "USD": "0.30"}
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def stripe_http():
    """Replace Stripe's HTTP client with recorded responses for the duration of a test."""
    previous = stripe.default_http_client
    fake = RecordedStripeHTTP()
    stripe.default_http_client = fake
    yield fake
    stripe.default_http_client = previous


@pytest.fixture
def customer():
    return BillingTermsFactory(customer=CustomerFactory(name="Acme Agents"), currency="CNY").customer


@pytest.fixture
def owner(customer):
    return MembershipFactory(
        user=UserFactory(email="owner@acme.example.com"), customer=customer, role=MemberRole.OWNER
    ).user


@pytest.fixture
def other_customer_owner():
    other = BillingTermsFactory(customer=CustomerFactory(name="Other Co"), currency="CNY").customer
    return MembershipFactory(user=UserFactory(email="owner@other.example.com"), customer=other).user


def _staff(email: str, role: str):
    user = UserFactory(email=email, staff_role=role)
    if role in (StaffRole.FINANCE, StaffRole.ADMIN):
        TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def finance():
    return _staff("fei@op.example.com", StaffRole.FINANCE)


@pytest.fixture
def finance2():
    return _staff("fang@op.example.com", StaffRole.FINANCE)


@pytest.fixture
def auditor():
    return _staff("audrey@op.example.com", StaffRole.AUDITOR)


@pytest.fixture
def sales():
    return _staff("sam@op.example.com", StaffRole.SALES)


@pytest.fixture
def topup(owner, customer, stripe_http):
    return card_topup(owner, customer)
