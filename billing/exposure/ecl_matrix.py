"""Changing the provision matrix in force (the single ``EclMatrix`` row): finance and admins only."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from billing.exposure.models import EclMatrix

MATRIX_EDITORS = (StaffRole.ADMIN, StaffRole.FINANCE)


@transaction.atomic
def ecl_matrix_update(*, actor, **values) -> EclMatrix:
    """Set ``values`` (model field names) on the matrix, validated by the model; record who changed it.

    Runs already posted keep the matrix they used (``EclRun.matrix``): changing it affects later runs only.
    """
    if actor is None or actor.staff_role not in MATRIX_EDITORS:
        raise PermissionDenied(_("Only finance staff or an admin may change the provision matrix."))
    matrix = EclMatrix.objects.select_for_update().get(pk=EclMatrix.load().pk)
    for name, value in values.items():
        setattr(matrix, name, value)
    matrix.updated_by = actor
    matrix.full_clean()
    matrix.save()
    return matrix
