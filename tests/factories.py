"""Factories for the whole suite. Apps add theirs here or in tests/<app>/factories.py."""

import factory

from accounts.models import Customer, MemberRole, Membership, StaffRole, User
from billing.terms.models import BillingTerms


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = "pass-word-123"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, **kwargs)


class StaffFactory(UserFactory):
    staff_role = StaffRole.SALES


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer with a correct tree path; pass ``parent=`` for a child."""

    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    code = factory.Sequence(lambda n: f"cust-{n}")
    kind = Customer.Kind.END_CUSTOMER
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from accounts.services import customer_create

        return customer_create(**kwargs)


class SubDistributorFactory(CustomerFactory):
    kind = Customer.Kind.SUB_DISTRIBUTOR


class BillingTermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingTerms

    customer = factory.SubFactory(CustomerFactory)
    mode = BillingTerms.Mode.PREPAID
    currency = "CNY"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = MemberRole.OWNER
