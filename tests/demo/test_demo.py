"""The demo data set loads, covers every role, and a second load adds nothing; never in production."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from accounts.models import Customer, MemberRole, Membership, StaffRole, User
from demo.loader import demo_load
from demo.management.commands.load_demo import sign_in_url

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"accounts", "catalog", "billing"} and not model._meta.proxy
    }


def test_demo_data_is_what_a_reseller_would_recognise(capsys):
    call_command("load_demo", port=9001)
    out = capsys.readouterr().out
    assert "Sign in at http://127.0.0.1:9001/ with:" in out

    sub_distributors = Customer.objects.filter(kind=Customer.Kind.SUB_DISTRIBUTOR)
    assert sub_distributors.count() == 2
    for sub in sub_distributors:
        assert sub.children.count() == 3
    assert Customer.objects.filter(parent__isnull=True, kind=Customer.Kind.END_CUSTOMER).count() == 10
    direct_modes = set(
        Customer.objects.filter(parent__isnull=True, kind=Customer.Kind.END_CUSTOMER).values_list(
            "billing_terms__mode", flat=True
        )
    )
    assert {"prepaid", "monthly", "quarterly"} <= direct_modes
    assert set(User.objects.exclude(staff_role="").values_list("staff_role", flat=True)) == set(
        StaffRole.values
    )
    assert set(Membership.objects.values_list("role", flat=True)) == set(MemberRole.values)
    vendors = set(apps.get_model("catalog", "Vendor").objects.values_list("name", flat=True))
    assert {
        "OpenAI",
        "Anthropic",
        "Google",
        "DeepSeek",
        "Alibaba Cloud",
        "Moonshot AI",
        "Zhipu AI",
        "MiniMax",
    } <= vendors
    for user in User.objects.all():
        assert user.email in out
    # DeepSeek's off-peak hours are in its list and contract prices, and demo usage at night was sold at them.
    windows = apps.get_model("catalog", "PriceWindow").objects.filter(entry__model__name="deepseek-v3.2")
    assert {w.entry.book.kind for w in windows} == {"list", "cost"}
    events = apps.get_model("billing", "UsageEvent").objects.filter(model__name="deepseek-v3.2")
    assert events.filter(price_window="Off-peak").exists()
    assert events.filter(price_window="").exists()


def test_loading_the_demo_twice_adds_nothing():
    call_command("load_demo")
    first = _row_counts()
    call_command("load_demo")
    assert _row_counts() == first


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9001/"),
        ("0.0.0.0", "http://localhost:9001/"),
        ("::1", "http://[::1]:9001/"),
        ("demo.internal", "http://demo.internal:9001/"),
    ],
)
def test_the_printed_sign_in_address_is_where_the_server_listens(host, url):
    assert sign_in_url(host, 9001) == url


@pytest.mark.parametrize("command", ["load_demo", "demo_totp"])
def test_demo_commands_refuse_in_production_naming_the_setting(settings, capsys, command):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="DISTRIBUTOR_ENV=production"):
        call_command(command)
    assert capsys.readouterr().out == ""
    assert not User.objects.exists()
    assert not Customer.objects.exists()


def test_the_demo_loader_itself_refuses_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="DISTRIBUTOR_ENV=production"):
        demo_load()
    assert not User.objects.exists()


def test_the_logins_say_who_each_user_is_and_no_notice_scrolls_them_away(capsys):
    call_command("load_demo", port=9001)
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if "@" in line and "TOTP" not in line}
    assert "Staff (dashboard): Administrator" in lines["admin@distributor.example.com"]
    assert "Staff (dashboard): Auditor (read-only)" in lines["auditor@distributor.example.com"]
    assert "(sub-distributor, resale), owner" in lines["owner@huadong-ai.example.com"]
    assert "(sub-distributor, agency), owner" in lines["owner@pacific-hub.example.com"]
    assert "(end customer), viewer" in lines["viewer@acme-agents.example.com"]
    # The month's price alerts and low-balance notices are counted, not printed over the sign-in lines.
    assert "Subject:" not in out and "below cost" not in out
    assert out.index("Demo data ready") == out.lstrip().index("Demo data ready")


def test_a_wallets_api_usage_is_its_usage_and_the_demo_mostly_profits():
    call_command("load_demo")
    UsageEvent = apps.get_model("billing", "UsageEvent")
    JournalEntry = apps.get_model("billing", "JournalEntry")
    prepaid = Customer.objects.filter(billing_terms__mode="prepaid")
    spending = 0
    for customer in prepaid:
        rated = UsageEvent.objects.filter(customer=customer, rating_state="rated")
        usage = sum((e.sell_amount for e in rated), Decimal(0))
        # A charge debits the wallet (a liability to the customer): its entries are positive.
        charged = sum(
            (
                e.amount
                for e in JournalEntry.objects.filter(
                    account__customer=customer,
                    account__kind__startswith="wallet_",
                    transaction__kind__startswith="usage.",
                )
            ),
            Decimal(0),
        )
        assert charged == usage, customer.code
        spending += usage > 0
    assert spending >= 6
    # Top-ups are bank lines finance recorded and an administrator approved: on the bank-transfer list.
    transfers = apps.get_model("billing", "BankTransfer").objects.filter(reference__startswith="DEMO-")
    assert transfers.count() >= len(prepaid) and {t.status for t in transfers} == {"approved"}
    assert all(t.decided_by_id and t.decided_by_id != t.recorded_by_id for t in transfers)
    # Suspended for balance by its own usage, not by a made-up debit.
    assert apps.get_model("billing", "BalanceSuspension").objects.filter(customer__code="chengdu-cs").exists()
    # Sold above cost, except the one plan that undercuts on purpose (its alerts are the demo's only ones).
    losing = {
        e.customer.code
        for e in UsageEvent.objects.filter(rating_state="rated").select_related("customer")
        if e.cost_currency == e.sell_currency and e.cost_amount > e.sell_amount
    }
    assert len(losing) <= 3
    plans = set(apps.get_model("catalog", "PriceAlert").objects.values_list("plan__name", flat=True))
    assert plans == {"Undercut 9% USD"}
