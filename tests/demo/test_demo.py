"""The demo data set loads, covers every role, and a second load adds nothing; never in production."""

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
