# Stripe as the payments tests have it: settings with test keys, and recorded HTTP answers.
from tests.billing.payments.conftest import payment_settings, stripe_http  # noqa: F401
