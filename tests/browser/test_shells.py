"""Staff and customer users land in the right shell, in English and in Chinese."""

import contextlib
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    enable_totp,
    screenshot,
    sign_in,
    switch_language,
)
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_staff_signs_in_with_two_factor_and_sees_the_dashboard_in_both_languages(page, live_server):
    # given a finance user, who must use two-factor authentication
    user = UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE)
    enable_totp(user)
    CustomerFactory(name="Acme Agents")

    # when
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)

    # then the staff shell, in English
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.locator(".shell-staff")).to_be_visible()
    expect(page.locator("#sidebar")).to_contain_text("Customers")
    expect(page.get_by_test_id("customer-total")).to_have_text("1")
    screenshot(page, "staff-dashboard-en")

    switch_language(page, "zh-hans")
    expect(page.locator("#sidebar")).to_contain_text("客户")
    expect(page.locator("h1")).to_have_text("仪表盘")
    screenshot(page, "staff-dashboard-zh")


def test_customer_user_signs_in_and_sees_the_portal_in_both_languages(page):
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=CustomerFactory(name="Acme Agents"),
    )

    sign_in(page, "owner@acme.example.com")

    expect(page.locator(".shell-portal")).to_be_visible()
    expect(page.locator(".shell-staff")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("Welcome, Acme Agents")
    expect(page.locator(".navbar")).to_contain_text("Customer portal")
    screenshot(page, "portal-home-en")

    switch_language(page, "zh-hans")
    expect(page.locator(".navbar")).to_contain_text("客户门户")
    expect(page.locator("h1")).to_have_text("欢迎，Acme Agents")
    screenshot(page, "portal-home-zh")


# --- every navigation page of every role at 1,024 and 1,440 px (issue #21) --------------------------------

WIDTHS = (1440, 1024)
LONG_NAME = "Acme Intelligent Agents International Holdings (Shanghai) Co., Ltd."
STAFF_ROLES = [StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE, StaffRole.SUPPORT, StaffRole.AUDITOR]
PORTAL_USERS = ["end-customer", "reseller", "agency"]
# The widths the page's root may take: the document must not be wider than the window, and "Sign out" must
# sit inside it.
MEASURE = """() => {
  const root = document.documentElement;
  const out = document.querySelector('[data-testid=sign-out]');
  const box = out ? out.getBoundingClientRect() : null;
  return {scroll: root.scrollWidth, client: root.clientWidth,
          signOut: box && box.width > 0 ? [box.left, box.right] : null};
}"""


def _world() -> dict:
    """A small book with long names and ids in every shell: usage today, an issued invoice, a period close,
    a resale and an agency sub-distributor with customers, and one user per portal kind."""
    from django.utils import timezone

    from accounts.models import Customer, MemberRole
    from accounts.services import customer_user_create
    from billing.customers.seller_services import seller_customer_onboard
    from billing.invoicing.close.services import close_period
    from billing.terms.services import customer_onboard
    from billing.usage.services import usage_batch_ingest
    from tests.billing.invoicing.factories import issued_invoice
    from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make

    priced_model()
    default_plan()
    source, _token = source_make("new-api-production-gateway")
    end_customer = customer_make(key="sk-live-0123456789abcdef0123456789abcdef", mode="monthly")
    end_customer.name = LONG_NAME
    end_customer.save(update_fields=["name"])
    now = timezone.now()
    usage_batch_ingest(
        source=source,
        records=[
            event(
                f"chatcmpl-{i:04d}-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                key="sk-live-0123456789abcdef0123456789abcdef",
                at=now.replace(minute=0, second=0, microsecond=0) - timezone.timedelta(hours=i),
                prompt=1_635_884 + i,
                completion=245_000,
            )
            for i in range(1, 6)
        ],
        idempotency_key="shell-batch",
    )
    issued_invoice(end_customer, "1234567.89")
    finance = UserFactory(
        email="close.runner.with.a.long.address@operator.example.com", staff_role=StaffRole.FINANCE
    )
    previous_month = (timezone.localdate().replace(day=1) - timezone.timedelta(days=1)).strftime("%Y-%m")
    close_period(previous_month, actor=finance)

    users = {
        "end-customer": customer_user_create(
            email="owner@acme-intelligent-agents.example.com",
            password=PASSWORD,
            customer=end_customer,
            role=MemberRole.OWNER,
        )
    }
    for mode, who in ((Customer.ChainMode.RESALE, "reseller"), (Customer.ChainMode.AGENCY, "agency")):
        seller = customer_onboard(
            name=f"Long Name {who.title()} Distribution Partners Co., Ltd.",
            code=f"{who}-s",
            kind=Customer.Kind.SUB_DISTRIBUTOR,
            parent=None,
            language="en",
            contact_email=f"{who}@example.com",
            mode="monthly",
            currency="CNY",
            chain_mode=mode,
        )
        users[who] = customer_user_create(
            email=f"owner@{who}-partners.example.com",
            password=PASSWORD,
            customer=seller,
            role=MemberRole.OWNER,
        )
        if mode == Customer.ChainMode.RESALE:
            seller_customer_onboard(
                seller=seller,
                actor=users[who],
                name=f"{who.title()} Customer With A Long Name Ltd.",
                code=f"{who}-c1",
                kind=Customer.Kind.END_CUSTOMER,
                language="en",
                contact_email=f"c1@{who}.example.com",
                mode="prepaid",
                currency="CNY",
            )
    return users


def _nav_links(page, who) -> list[str]:
    selector = (
        "#sidebar a.nav-link"
        if who in STAFF_ROLES
        else "#portal-nav a.nav-link:not(.dropdown-toggle), #portal-nav a.dropdown-item"
    )
    hrefs = page.eval_on_selector_all(selector, "links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(hrefs))


FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# Columns people missed (issue #21): they must be in view, not behind their table's scroll bar.
NOT_CLIPPED = """() => {
  const cells = document.querySelectorAll(
    '[data-testid=close-by], [data-testid=usage-by-day] tr > :last-child');
  return [...cells].filter((cell) => {
    const box = cell.closest('.table-responsive') || document.documentElement;
    return cell.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
  }).map((cell) => cell.textContent.trim().slice(0, 40));
}"""


def _measure(page, width: int) -> str | None:
    page.set_viewport_size({"width": width, "height": 900})
    # Charts follow a resize a few frames later (Chart.js's ResizeObserver): give the layout up to a second to
    # settle into the window before measuring; a page that really scrolls is then measured as it is.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(FITS, timeout=1_000)
    m = page.evaluate(MEASURE)
    problems = []
    clipped = page.evaluate(NOT_CLIPPED)
    if clipped:
        problems.append(f"clipped cells {clipped}")
    if m["scroll"] > m["client"]:
        problems.append(f"scrolls sideways ({m['scroll']} > {m['client']} px)")
    if m["signOut"] is None or m["signOut"][0] < 0 or m["signOut"][1] > m["client"]:
        problems.append(f"'Sign out' is not in view ({m['signOut']})")
    return ", ".join(problems) or None


@pytest.mark.parametrize("who", [*STAFF_ROLES, *PORTAL_USERS])
def test_every_navigation_page_fits_at_1024_and_1440_px_with_sign_out_in_view(page, who):
    from django.urls import reverse

    from distributor.navigation import entries_for

    users = _world()
    if who in STAFF_ROLES:
        user = UserFactory(
            email=f"{who}.staff.member@operator.example.com", password=PASSWORD, staff_role=who
        )
        enable_totp(user)
        sign_in(page, user.email, totp_secret=TEST_TOTP_SECRET)
    else:
        sign_in(page, users[who].email)
    expect(page.get_by_test_id("sign-out")).to_be_visible()

    links = _nav_links(page, who)
    if who in STAFF_ROLES:
        assert set(links) == {reverse(e.url_name) for e in entries_for(user)}
    else:
        assert len(links) >= 8
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"shell-{who}-{width}")
    # at the wide width the product's name is whole (it gives way only when the bar is short of room)
    page.set_viewport_size({"width": 1440, "height": 900})
    assert page.locator(".shell-brand").evaluate("b => b.scrollWidth <= b.clientWidth"), "brand truncated"

    problems = []
    for href in links:
        response = page.goto(href)
        assert response.status == 200, href
        for width in WIDTHS:
            problem = _measure(page, width)
            if problem:
                problems.append(f"{href} at {width} px: {problem}")
                screenshot(page, f"shell-overflow-{who}-{width}-{href.strip('/').replace('/', '-')}")
    assert not problems, "\n".join(problems)

    # "Sign out" works at the narrow width too
    page.set_viewport_size({"width": 1024, "height": 900})
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/accounts/logout/"))


def test_the_staff_search_box_suggests_as_you_type_and_opens_an_invoice_by_number(page, live_server):
    from tests.billing.invoicing.factories import issued_invoice

    user = UserFactory(email="sam@op.example.com", password=PASSWORD, staff_role=StaffRole.SUPPORT)
    enable_totp(user)
    acme = CustomerFactory(name="Acme Agents", code="acme")
    invoice = issued_invoice(acme, "88.00")
    sign_in(page, user.email, totp_secret=TEST_TOTP_SECRET)

    box = page.get_by_test_id("search-input")
    box.fill("acme ag")
    suggestion = page.get_by_test_id("suggestion-customer")
    expect(suggestion).to_contain_text("Acme Agents")
    screenshot(page, "staff-search-typeahead")
    suggestion.click()
    expect(page).to_have_url(re.compile(rf"/dashboard/customers/{acme.pk}/$"))

    page.get_by_test_id("search-input").fill(invoice.number)
    page.get_by_test_id("search-input").press("Enter")
    expect(page).to_have_url(re.compile(rf"/dashboard/finance/invoices/{invoice.pk}/$"))
