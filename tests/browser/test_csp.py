"""The pages work under the Content-Security-Policy: a real browser reports no violation on the main pages
of each shell, their scripts still run (charts are drawn, pickers submit), and the API reference renders
from our own files without a request leaving the site."""

import pytest
from playwright.sync_api import expect

from accounts.models import MemberRole, StaffRole
from billing.usage.models import token_hash
from tests.billing.usage.factories import source_make
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, sign_in
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script, outside the page's policy (Playwright injects it), so it sees every
# violation the browser reports, including those a console message would not name.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def watched(page, live_server):
    """The page, and a function that returns every CSP violation and off-site request seen so far."""
    console, offsite = [], []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.on(
        "request",
        lambda r: (
            offsite.append(r.url) if not r.url.startswith((live_server.url, "data:", "blob:")) else None
        ),
    )

    def problems() -> list[str]:
        events = page.evaluate("window.__cspViolations || []")
        return [*console, *events, *(f"off-site request {url}" for url in offsite)]

    return page, problems


def visit(page, problems, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert problems() == [], path


def chart_drawn(page, canvas_id: str) -> bool:
    return page.evaluate(f"Boolean(window.Chart && Chart.getChart({canvas_id!r}))")


def test_sign_in_page_has_no_violation(watched):
    page, problems = watched
    visit(page, problems, "/accounts/login/")
    expect(page.locator("input[name=login]")).to_be_visible()


def test_staff_pages_run_under_the_policy(watched):
    page, problems = watched
    enable_totp(UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    CustomerFactory(name="Acme Agents")
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)
    assert problems() == []

    visit(page, problems, "/dashboard/")
    assert chart_drawn(page, "chart-mode") and chart_drawn(page, "chart-kind")

    visit(page, problems, "/dashboard/usage/")
    assert chart_drawn(page, "chart-money") and chart_drawn(page, "chart-tokens")

    for path in ("/dashboard/customers/", "/dashboard/usage/unrated/", "/dashboard/finance/journal/"):
        visit(page, problems, path)

    # the language picker still submits itself, now from a static script
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("#sidebar")).to_contain_text("客户")
    assert problems() == []


def test_behaviours_moved_to_static_scripts_still_work(watched, live_server):
    page, problems = watched
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    enable_totp(UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    source, token = source_make("new-api")
    CustomerFactory(name="Child Co", parent=SubDistributorFactory(name="Reseller"))
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)

    # a customer one level down is indented by the depth the row carries
    visit(page, problems, "/dashboard/customers/")
    child = page.get_by_role("cell", name="Child Co")
    assert child.evaluate("td => getComputedStyle(td).paddingLeft") == "32px"  # 2 em of 16 px

    # a new token is asked for: dismissing the question changes nothing, accepting it does
    visit(page, problems, "/dashboard/usage/sources/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="New token").click()
    expect(page.locator("h1")).to_have_text("Gateway sources")
    source.refresh_from_db()
    assert source.token_hash == token_hash(token)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="New token").click()
    expect(page.locator("h1")).to_contain_text("New token for new-api")

    # the one-time token is copied with one click
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    new_token = page.get_by_test_id("source-token").input_value()
    assert page.evaluate("navigator.clipboard.readText()") == new_token != token
    assert problems() == []


def test_portal_pages_run_under_the_policy(watched):
    page, problems = watched
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=CustomerFactory(name="Acme Agents"),
        role=MemberRole.OWNER,
    )
    sign_in(page, "owner@acme.example.com")

    visit(page, problems, "/portal/")
    visit(page, problems, "/portal/usage/")
    assert chart_drawn(page, "chart-money") and chart_drawn(page, "chart-tokens")
    for path in ("/portal/wallet/", "/portal/invoices/", "/portal/prices/", "/portal/calculator/"):
        visit(page, problems, path)


def test_api_reference_renders_from_our_own_files(watched):
    page, problems = watched
    MembershipFactory(
        user=UserFactory(email="dev@acme.example.com", password=PASSWORD), customer=CustomerFactory()
    )
    sign_in(page, "dev@acme.example.com")

    visit(page, problems, "/api/v1/docs/")
    expect(page.locator("h1").first).to_contain_text("Distributor API", timeout=20_000)
    expect(page.get_by_text("/api/v1/usage/batches").first).to_be_attached()
    assert problems() == []
