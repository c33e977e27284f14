"""Find anything from the staff shell: each kind is found, each role sees only what its pages show, and
no query (short, odd, very long) answers with a 500."""

from datetime import date
from decimal import Decimal

import pytest
import stripe
from django.urls import reverse

from accounts.models import StaffRole
from billing.payments.bank_transfers import bank_transfer_record
from billing.payments.cards import card_topup_start
from billing.receivables.services import payment_record
from billing.usage.services import usage_batch_ingest
from distributor.search import MAX_LENGTH, PER_KIND, search
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.stripe_fakes import SECRET_KEY, RecordedStripeHTTP
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme Agents", code="acme-agents")


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


def _hits(results, kind):
    return [h for g in results.groups if g.kind == kind for h in g.hits]


def test_customers_by_name_code_and_gateway_key():
    customer_make(key="sk-live-7f3a9c")
    named = CustomerFactory(name="Blue Harbour Labs", code="bhl")
    user = staff(StaffRole.SUPPORT)

    assert [h.title for h in _hits(search(user, "harbour"), "customer")] == ["Blue Harbour Labs"]
    assert [h.url for h in _hits(search(user, "BHL"), "customer")] == [
        reverse("staff-customer-detail", args=[named.pk])
    ]
    by_key = _hits(search(user, "7f3a9c"), "customer")
    assert len(by_key) == 1 and by_key[0].url.startswith("/dashboard/customers/")


def test_an_invoice_number_opens_the_invoice(client, acme):
    invoice = issued_invoice(acme, "1200.00")
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-search"), {"q": invoice.number})

    assert response.status_code == 302
    assert response["Location"] == reverse("staff-invoice-detail", args=[invoice.pk])
    # part of a number lists it instead
    page = client.get(reverse("staff-search"), {"q": invoice.number[:-2]})
    assert page.status_code == 200
    assert invoice.number in page.content.decode()
    assert 'data-testid="search-hit-invoice"' in page.content.decode()


def test_payments_by_bank_reference(acme, finance):
    issued_invoice(acme, "300.00")
    payment = payment_record(
        customer=acme,
        amount=Decimal("300.00"),
        currency="CNY",
        received_on=date(2026, 11, 3),
        reference="ICBC-20261103-778",
        actor=finance,
        idempotency_key="pay-778",
    )
    hits = _hits(search(staff(StaffRole.SUPPORT), "20261103-778"), "payment")
    assert [h.url for h in hits] == [reverse("staff-payment-detail", args=[payment.pk])]
    assert "Acme Agents" in hits[0].detail and "300.00 CNY" in hits[0].detail


@pytest.fixture
def top_ups(settings, finance):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_ENABLED = True
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = False
    previous = stripe.default_http_client
    stripe.default_http_client = RecordedStripeHTTP()
    customer = BillingTermsFactory(customer=CustomerFactory(name="Prepaid Pte"), currency="CNY").customer
    owner = MembershipFactory(user=UserFactory(), customer=customer).user
    card = card_topup_start(
        user=owner,
        customer=customer,
        amount=Decimal("500"),
        currency="CNY",
        success_url="http://x/",
        cancel_url="http://x/",
    )
    transfer = bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=Decimal("800.00"),
        reference="CMB-55102",
        value_date=date(2026, 11, 20),
    )
    yield card, transfer
    stripe.default_http_client = previous


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (StaffRole.FINANCE, True),
        (StaffRole.ADMIN, True),
        (StaffRole.AUDITOR, True),
        (StaffRole.SALES, False),
        (StaffRole.SUPPORT, False),
    ],
)
def test_top_ups_are_found_by_the_roles_whose_pages_show_them(top_ups, role, sees):
    card, transfer = top_ups
    user = staff(role)

    transfers = _hits(search(user, "CMB-55102"), "bank_transfer")
    by_session = _hits(search(user, card.stripe_session_id), "card_topup")
    by_reference = _hits(search(user, str(card.public_id)), "card_topup")

    if sees:
        assert [h.url for h in transfers] == [reverse("staff-bank-transfer-detail", args=[transfer.pk])]
        assert [h.title for h in by_session] == [str(card.public_id)] == [h.title for h in by_reference]
        assert by_session[0].url.startswith(reverse("staff-card-topup-list") + "?q=")
    else:
        assert transfers == by_session == by_reference == []


@pytest.fixture
def usage():
    priced_model()
    default_plan()
    source, _token = source_make("new-api")
    customer = customer_make(key="key-a")
    customer.name = "Requesting Co"
    customer.save(update_fields=["name"])
    result = usage_batch_ingest(
        source=source,
        records=[event("req-8842-abc"), event("req-8842-abd")],
        idempotency_key="b-1",
    )
    assert result.accepted == 2
    return customer


def test_a_request_id_is_found_through_its_key_and_opens_the_request_log(client, usage):
    client.force_login(staff(StaffRole.SUPPORT))

    response = client.get(reverse("staff-search"), {"q": "req-8842-abc"})

    assert response.status_code == 302
    assert response["Location"] == reverse("staff-request-log") + "?request_id=req-8842-abc"
    # a request id is matched whole: part of one finds nothing
    assert _hits(search(staff(StaffRole.SUPPORT), "req-8842"), "request") == []
    # "all results" lists it with its customer instead of jumping
    page = client.get(reverse("staff-search"), {"q": "req-8842-abc", "all": "1"}).content.decode()
    assert "Requesting Co" in page and "new-api" in page


def test_each_kind_is_capped(acme):
    for i in range(PER_KIND + 3):
        CustomerFactory(name=f"Capped Customer {i:02d}")
    results = search(staff(StaffRole.SALES), "capped customer")
    group = results.groups[0]
    assert group.kind == "customer" and len(group.hits) == PER_KIND and group.more


def test_the_typeahead_lists_a_few_of_each_kind_and_links_to_all(client, acme):
    issued_invoice(acme, "10.00")
    client.force_login(staff(StaffRole.AUDITOR))
    page = client.get(reverse("staff-search-suggest"), {"q": "acme"}).content.decode()
    assert 'data-testid="suggestion-customer"' in page and "Acme Agents" in page
    assert 'data-testid="suggestion-all"' in page and "all=1" in page
    assert "<html" not in page
    none = client.get(reverse("staff-search-suggest"), {"q": "zzzz-nothing"}).content.decode()
    assert 'data-testid="suggestion-none"' in none


def test_the_shell_has_the_search_box(client):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="search-input"' in page
    assert f'hx-get="{reverse("staff-search-suggest")}"' in page


def test_customer_users_and_strangers_are_refused(client, acme):
    client.force_login(MembershipFactory(user=UserFactory(), customer=acme).user)
    assert client.get(reverse("staff-search"), {"q": "acme"}).status_code == 403
    assert client.get(reverse("staff-search-suggest"), {"q": "acme"}).status_code == 403
    client.logout()
    response = client.get(reverse("staff-search"), {"q": "acme"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_empty_and_too_short_queries_say_so(client):
    client.force_login(staff(StaffRole.SALES))
    empty = client.get(reverse("staff-search")).content.decode()
    assert 'data-testid="search-empty"' in empty
    short = client.get(reverse("staff-search"), {"q": " a "}).content.decode()
    assert 'data-testid="search-problem"' in short and "at least 2 characters" in short
    client.cookies["django_language"] = "zh-hans"
    short_zh = client.get(reverse("staff-search"), {"q": "a"}).content.decode()
    assert "请至少输入 2 个字符" in short_zh


@pytest.mark.parametrize(
    "query",
    ["%", "%%", "_", "'", '"; DROP TABLE x; --', "\\", "acme\x00x", "\u202e", "😀😀", "a" * 5000, "()*[]{}"],
)
def test_odd_queries_never_fail(client, acme, query):
    client.force_login(staff(StaffRole.ADMIN))
    for name in ("staff-search", "staff-search-suggest"):
        response = client.get(reverse(name), {"q": query, "all": "1"})
        assert response.status_code == 200, (name, query)
    results = search(staff(StaffRole.ADMIN), query)
    assert len(results.query) <= MAX_LENGTH
    # "%" and "_" are literal characters, not wildcards: they match no customer named "Acme Agents"
    if query in ("%", "%%", "_"):
        assert not _hits(results, "customer")


def test_the_results_page_speaks_chinese(client, acme):
    issued_invoice(acme, "10.00")
    client.force_login(staff(StaffRole.FINANCE))
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("staff-search"), {"q": "acme"}).content.decode()
    assert "Acme Agents" in page
    assert "搜索" in page and "客户" in page
    nothing = client.get(reverse("staff-search"), {"q": "zz-nothing"}).content.decode()
    assert "没有与“zz-nothing”匹配的结果。" in nothing
