import pytest
from django.utils import translation

# Stripe as the payments tests have it: settings with test keys, and recorded HTTP answers.
from tests.billing.payments.conftest import payment_settings, stripe_http  # noqa: F401


@pytest.fixture(autouse=True)
def english_messages():
    """Services' messages in English: a page asked for in Chinese leaves its language active."""
    with translation.override("en"):
        yield
