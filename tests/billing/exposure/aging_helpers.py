"""Shared set-ups of the aging report's tests: customers on net-30 credit terms and invoices through the
services, dated so that each one's age at a chosen day is known."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from billing.exposure import aging_report
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory, SubDistributorFactory

D = Decimal
NET_DAYS = 30


def today() -> dt.date:
    return timezone.localdate()


def credit_customer(code: str, *, currency: str = "CNY", parent=None, **fields) -> Customer:
    customer = CustomerFactory(code=code, name=fields.pop("name", code.title()), parent=parent, **fields)
    credit_terms(customer, currency=currency, payment_term="net", payment_days=NET_DAYS)
    return customer


def sub_distributor(code: str, *, mode: str, parent=None) -> Customer:
    customer = SubDistributorFactory(code=code, name=code.title(), parent=parent, chain_mode=mode)
    credit_terms(customer, payment_term="net", payment_days=NET_DAYS)
    return customer


def invoice_aged(customer, amount: str, *, age: int, on: dt.date, currency: str = "CNY"):
    """An issued invoice of ``amount`` that is ``age`` days past due at ``on`` (net 30 terms)."""
    invoice = issued_invoice(customer, amount, currency, issue_date=on - dt.timedelta(days=age + NET_DAYS))
    assert invoice.due_date == on - dt.timedelta(days=age), invoice.due_date
    return invoice


@pytest.fixture(autouse=True)
def fresh_aging_memo():
    """Each test starts without the reports an earlier one left in this process: on SQLite a rolled-back
    test's ids come again, so the receivables version alone would not tell the two books apart."""
    aging_report._MEMO.clear()
    yield
    aging_report._MEMO.clear()
