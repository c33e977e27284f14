"""The Celery close takes a book like the service (issue #17): one reseller's customers, the operator's own,
or every book; a code that keeps no book is recorded as a refused close, nothing invoiced."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Customer, StaffRole
from billing.invoicing.models import Invoice, PeriodClose
from billing.invoicing.tasks import period_close_task
from billing.terms.models import BillingTerms
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db
OCTOBER = datetime(2026, 10, 3, 2, tzinfo=UTC)


@pytest.fixture
def tree(model, source):
    """S (resale, monthly at the operator) with a monthly customer C; the operator's monthly customer D;
    October usage for C and D."""
    s = SubDistributorFactory(name="Reseller S", code="reseller-s", chain_mode=Customer.ChainMode.RESALE)
    BillingTerms.objects.create(customer=s, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    c = customer_make(key="key-c", parent=s, mode=BillingTerms.Mode.MONTHLY)
    plan_assign(c, owned_plan(s, "S retail", "0.5"))
    d = customer_make(key="key-d", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-c", OCTOBER)
    use(source, "key-d", OCTOBER)
    return s, c, d


def test_the_task_closes_one_resellers_book_only(tree):
    s, c, _d = tree
    done = period_close_task(period="2026-10", book="reseller-s")
    assert done[0]["invoices"] == 1
    assert set(Invoice.objects.values_list("customer_id", flat=True)) == {c.pk}
    record = PeriodClose.objects.get()
    assert (record.book, record.all_books) == (s, False)


def test_the_task_closes_the_operators_own_customers_only(tree):
    s, _c, d = tree
    period_close_task(period="2026-10", book="operator")
    # S is the operator's customer (billed at wholesale for its subtree); C is S's, untouched
    assert set(Invoice.objects.values_list("customer_id", flat=True)) == {s.pk, d.pk}
    record = PeriodClose.objects.get()
    assert (record.book, record.all_books) == (None, False)


def test_without_a_book_the_task_closes_every_book(tree):
    s, c, d = tree
    period_close_task(period="2026-10")
    assert set(Invoice.objects.values_list("customer_id", flat=True)) == {s.pk, c.pk, d.pk}
    assert PeriodClose.objects.get().all_books


def test_a_code_keeping_no_book_is_a_refused_close_with_nothing_invoiced(tree):
    _s, _c, d = tree
    with translation.override("en"):
        done = period_close_task(period="2026-10", book=d.code)
    assert "is not a resale sub-distributor's code" in done[0]["error"]
    record = PeriodClose.objects.get()
    assert record.state == PeriodClose.State.FAILED and d.code in record.error
    assert not Invoice.objects.exists()


def test_finance_closes_one_book_from_the_page(client, eager_celery, tree):
    s, c, _d = tree
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-period-closes")).content.decode()
    assert 'value="reseller-s"' in page and 'value="operator"' in page
    response = client.post(reverse("staff-period-closes"), {"period": "2026-10", "book": "reseller-s"})
    assert response.status_code == 302
    assert set(Invoice.objects.values_list("customer_id", flat=True)) == {c.pk}
    assert PeriodClose.objects.get().book == s
    refused = client.post(reverse("staff-period-closes"), {"period": "2026-10", "book": "nobody"})
    assert refused.status_code == 400 and "book" in refused.context["form"].errors
