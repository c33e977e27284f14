from datetime import date

import pytest

from accounts.models import StaffRole
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms
from tests.billing.payments.conftest import payment_settings, stripe_http  # noqa: F401
from tests.factories import CustomerFactory


@pytest.fixture
def acme():
    customer = CustomerFactory(name="Acme Agents")
    credit_terms(customer, currency="CNY")
    return customer


@pytest.fixture
def other():
    customer = CustomerFactory(name="Other Co")
    credit_terms(customer, currency="CNY")
    return customer


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def sales():
    return staff(StaffRole.SALES)


@pytest.fixture
def auditor():
    return staff(StaffRole.AUDITOR)


JAN = date(2026, 1, 5)
FEB = date(2026, 2, 5)
MAR = date(2026, 3, 5)
