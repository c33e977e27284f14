"""The shared list machinery: filter, sort by header, paginate, and keep the sort across filters."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_list_is_paginated_sorted_and_filtered(staff_client):
    for n in range(30):
        CustomerFactory(name=f"Org {n:02d}", code=f"org-{n:02d}")
    CustomerFactory(name="Zeta Labs", code="zeta")

    first = staff_client.get(reverse("staff-customer-list"), {"o": "-name"})
    names = [c.name for c in first.context["page_obj"]]
    assert names[0] == "Zeta Labs"
    assert len(names) == 25
    assert first.context["page_obj"].paginator.num_pages == 2

    second = staff_client.get(reverse("staff-customer-list"), {"o": "-name", "page": 2})
    assert [c.name for c in second.context["page_obj"]][-1] == "Org 00"
    # pagination links keep the sort
    assert "o=-name" in second.content.decode()

    filtered = staff_client.get(reverse("staff-customer-list"), {"q": "zeta", "o": "-name"})
    assert [c.code for c in filtered.context["page_obj"]] == ["zeta"]


def test_sort_is_chosen_by_headers_and_kept_as_a_hidden_field(staff_client):
    body = staff_client.get(reverse("staff-customer-list"), {"o": "code"}).content.decode()
    assert '<input type="hidden" name="o" value="code">' in body
    assert 'name="o" class=' not in body  # no ordering drop-down next to the filters
    assert "?o=-code" in body  # clicking the sorted header again reverses it


def test_an_invalid_filter_says_so_instead_of_showing_everything(staff_client):
    CustomerFactory()
    response = staff_client.get(reverse("staff-customer-list"), {"kind": "planet"})
    assert list(response.context["page_obj"]) == []
    assert "planet is not one of the available choices" in response.content.decode()
