"""Writes about documents: a resale sub-distributor's seller profile."""

from django.db import transaction

from accounts.models import SellerProfile


def seller_profile_save(*, form) -> SellerProfile:
    """Save a valid ``SellerProfileForm``; a replaced or cleared logo's file is removed once committed
    (documents already printed embedded it; nothing reads the old file again)."""
    profile = form.instance
    old_logo = None
    if profile.pk and "logo" in form.changed_data:
        old_logo = SellerProfile.objects.get(pk=profile.pk).logo.name or None
    with transaction.atomic():
        profile = form.save()
    if old_logo and old_logo != profile.logo.name:
        storage = profile.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return profile
