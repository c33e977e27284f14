"""The owner's morning screen: the figures it shows against the ledger, what each role sees, a past day
as it was, a missing exchange rate named, and bad dates answered on the field."""

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.exposure.models import CapitalSnapshot
from billing.ledger.models import AccountKind, JournalEntry
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.status import wallet_status_refresh
from tests.billing.exposure.test_figures import ledger_world
from tests.billing.factories import staff, topup
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _page(client, role, **params) -> str:
    client.force_login(staff(role))
    response = client.get(reverse("dashboard"), params)
    assert response.status_code == 200
    return response.content.decode()


def _value(html: str, testid: str) -> str:
    """The text of the element carrying ``data-testid=testid`` (tags stripped, spaces collapsed)."""
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(button|div|td|span)>', html, re.S)
    assert match, testid
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_float_on_the_page_is_its_formula_over_the_ledger_and_each_figure_its_hand_value(client):
    ledger_world()
    html = _page(client, StaffRole.FINANCE)

    assert _value(html, "value-funded_float") == "-146.50 CNY"  # 294 + 6 + 60 − 494 − 12.50
    assert _value(html, "value-cash") == "240.00 CNY"
    assert _value(html, "value-receivables") == "60.00 CNY"
    assert _value(html, "value-overdue") == "60.00 CNY"
    assert _value(html, "value-unbilled") == "6.00 CNY"
    assert _value(html, "value-deposits") == "494.00 CNY"
    assert _value(html, "value-upstream_prepaid") == "294.00 CNY"
    assert _value(html, "value-payables") == "12.50 CNY"
    assert _value(html, "value-revenue") == "12.00" and _value(html, "value-revenue-prev") == "100.00"
    assert _value(html, "value-margin") == "6.00"
    # the formula is on hover (a translated title), the detail a click away
    assert 'title="Funded float = upstream prepaid + unbilled + receivables − deposits − payables"' in html
    assert f'href="{reverse("staff-ledger-accounts")}?kind=cash_bank"' in html
    assert f'href="{reverse("upstream-ledger")}"' in html
    # the largest exposures and the customers over their limit or overdue
    assert html.count('data-testid="exposure-row"') == 2  # credit 6 and invoiced 60; prepaid is a deposit
    assert _value(html, "over-limit-count") == "1" and _value(html, "overdue-count") == "1"
    assert "Invoiced Ltd" in html
    # the cycle, from billing.exposure.metrics
    assert 'data-testid="metric-dso"' in html and 'data-testid="metric-ccc"' in html


def test_the_same_page_in_chinese_translates_the_formula(client, tmp_path, settings):
    # the catalogue as committed (django.mo is compiled by the release), compiled here for the test
    if shutil.which("msgfmt") is None:
        pytest.skip("needs gettext's msgfmt")
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(po)], check=True)
    settings.LOCALE_PATHS = [tmp_path]
    ledger_world()
    client.force_login(staff(StaffRole.FINANCE))

    html = client.get(reverse("dashboard"), headers={"accept-language": "zh-hans"}).content.decode()

    assert 'title="垫资 = 上游预付 + 未开票 + 应收账款 − 客户预存 − 应付账款"' in html
    assert "敞口前 10 名" in html and "现金转换周期（近 90 天）" in html


@pytest.mark.parametrize(
    ("role", "sees", "hidden"),
    [
        (StaffRole.ADMIN, ["figure-cash", "section-cycle", "figure-unrated", "value-cost"], []),
        (StaffRole.AUDITOR, ["figure-cash", "section-cycle", "figure-recon", "section-watch"], []),
        (
            StaffRole.SALES,
            ["figure-receivables", "section-exposures", "section-watch", "figure-wallets", "value-revenue"],
            [
                "figure-cash",
                "figure-funded_float",
                "figure-payables",
                "section-cycle",
                "value-cost",
                "figure-unrated",
            ],
        ),
        (
            StaffRole.SUPPORT,
            ["figure-unrated", "figure-wallets", "figure-recon"],
            ["figure-cash", "figure-receivables", "section-exposures", "section-pl", "section-cycle"],
        ),
    ],
)
def test_each_role_sees_its_part(client, role, sees, hidden):
    html = _page(client, role)
    for testid in sees:
        assert f'data-testid="{testid}"' in html, (role, testid)
    for testid in hidden:
        assert f'data-testid="{testid}"' not in html, (role, testid)


def test_support_sees_the_reconciliation_count_without_a_link_it_may_not_open(client):
    html = _page(client, StaffRole.SUPPORT)
    assert 'data-testid="detail-recon"' not in html
    assert 'data-testid="detail-unrated"' in html


def test_portal_users_are_refused_and_anonymous_sent_to_sign_in(client):
    member = MembershipFactory(user=UserFactory(), customer=CustomerFactory()).user
    client.force_login(member)
    assert client.get(reverse("dashboard")).status_code == 403
    client.logout()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_past_day_is_shown_as_it_was_and_stored_after_later_postings(client):
    world = ledger_world()
    yesterday = timezone.localdate() - timedelta(days=1)

    topup(world.prepaid, "1000", "today-topup")
    html = _page(client, StaffRole.FINANCE, day=yesterday.isoformat())

    assert _value(html, "value-cash") == "-300.00 CNY"  # only the pack had been paid by then
    assert _value(html, "value-receivables") == "100.00 CNY"
    snapshot = CapitalSnapshot.objects.get(day=yesterday)
    assert snapshot.figures["currencies"]["CNY"]["cash"].startswith("-300")
    # shown again from the stored snapshot, not computed a second time
    taken_at = snapshot.computed_at
    again = _page(client, StaffRole.FINANCE, day=yesterday.isoformat())
    assert _value(again, "value-cash") == "-300.00 CNY" and "from the snapshot taken" in again
    assert CapitalSnapshot.objects.get().computed_at == taken_at


def test_a_missing_rate_is_named_and_the_split_shows_the_currency(client):
    topup(CustomerFactory(name="Dollar Co"), "100", "usd-topup", currency="USD")
    html = _page(client, StaffRole.FINANCE)

    warning = _value(html, "missing-rates")
    assert "USD" in warning and "CNY" in warning
    assert _value(html, "value-cash") == "0.00 CNY"
    split = re.search(r'data-testid="split-cash">(.*?)</table>', html, re.S).group(1)
    assert "USD" in split and "100.00" in split and "no rate" in split


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2999-01-01", "1999-12-31"])
def test_a_bad_day_is_answered_on_the_field_never_a_500(client, bad):
    client.force_login(staff(StaffRole.FINANCE))
    response = client.get(reverse("dashboard"), {"day": bad})
    assert response.status_code == 400
    assert 'data-testid="day-error"' in response.content.decode()
    assert CapitalSnapshot.objects.count() == 0


def test_low_wallets_list_wallets_at_their_threshold_lowest_first(client):
    low = CustomerFactory(name="Low Co")
    topup(low, "10", "low-topup")
    wallet = wallet_get_or_create(customer=low, currency="CNY")
    wallet.low_balance_threshold = Decimal("20")
    wallet.save()
    wallet_status_refresh(wallet)
    topup(CustomerFactory(name="Rich Co"), "500", "rich-topup")

    html = _page(client, StaffRole.SUPPORT)
    assert _value(html, "value-wallets") == "1"
    assert "Low Co" in html and "Rich Co" not in html


def test_the_page_reads_cached_balances_in_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    ledger_world()
    for n in range(15):
        topup(CustomerFactory(name=f"Extra {n}"), "5", f"extra-{n}")
    client.force_login(staff(StaffRole.FINANCE))
    with django_assert_max_num_queries(60):
        assert client.get(reverse("dashboard")).status_code == 200
    assert JournalEntry.objects.filter(account__kind=AccountKind.CASH_BANK).exists()
