"""The same link accepted twice at once, or two invitations of one address sent at once, on PostgreSQL:
one wins, the other is refused clearly; never two memberships or two open invitations."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.invitations import invitation_accept, invitation_create
from accounts.models import Invitation, MemberRole, Membership, StaffRole
from tests.factories import CustomerFactory, StaffFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "A-long-new-password-42"


def _at_once(calls) -> list[str]:
    """Run each call in its own thread and connection, released together; return how each ended."""
    barrier = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            call()
            outcomes[index] = "done"
        except ValidationError as exc:
            outcomes[index] = " ".join(exc.messages)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_one_link_accepted_twice_at_once_makes_one_member():
    customer = CustomerFactory()
    sales = StaffFactory(staff_role=StaffRole.SALES)
    invitation_create(
        customer=customer,
        email="twice@example.com",
        role=MemberRole.OWNER,
        invited_by=sales,
        site="http://x/",
    )
    token = re.search(r"/accounts/invitation/([\w-]+)/", mail.outbox[-1].body).group(1)

    outcomes = _at_once([lambda: invitation_accept(token=token, password=PASSWORD)] * 2)

    assert outcomes.count("done") == 1
    assert "already used" in max(outcomes, key=len)
    assert Membership.objects.filter(user__email="twice@example.com").count() == 1


def test_two_invitations_of_one_address_at_once_leave_one_open():
    customer = CustomerFactory()
    sales = StaffFactory(staff_role=StaffRole.SALES)

    def invite():
        invitation_create(
            customer=customer,
            email="dup@example.com",
            role=MemberRole.VIEWER,
            invited_by=sales,
            site="http://x/",
        )

    outcomes = _at_once([invite, invite])

    assert outcomes.count("done") == 1
    assert "already invited" in max(outcomes, key=len)
    assert Invitation.objects.filter(email="dup@example.com").count() == 1


def test_two_organisations_links_accepted_at_once_make_one_member():
    a, b = CustomerFactory(name="A"), CustomerFactory(name="B")
    sales = StaffFactory(staff_role=StaffRole.SALES)
    first = invitation_create(
        customer=a, email="both@example.com", role=MemberRole.VIEWER, invited_by=sales, site="http://x/"
    )
    # A's hold on the address is over, so B may invite it too: two live links.
    Invitation.objects.filter(pk=first.pk).update(invited_at=first.invited_at - timedelta(days=30))
    invitation_create(
        customer=b, email="both@example.com", role=MemberRole.VIEWER, invited_by=sales, site="http://x/"
    )
    tokens = [re.search(r"/accounts/invitation/([\w-]+)/", m.body).group(1) for m in mail.outbox[-2:]]

    outcomes = _at_once([lambda t=t: invitation_accept(token=t, password=PASSWORD) for t in tokens])

    assert outcomes.count("done") == 1
    assert "withdrawn" in max(outcomes, key=len)
    assert Membership.objects.filter(user__email="both@example.com").count() == 1
    assert Invitation.objects.filter(email="both@example.com", revoked_at__isnull=False).count() == 1
