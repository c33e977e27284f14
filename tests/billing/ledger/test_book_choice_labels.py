"""The book dropdowns name the operator's book in the reader's language."""

import pytest
from django.utils import translation

from billing.invoicing.forms import PeriodCloseForm
from billing.statements.forms import ExportForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("form_class", [PeriodCloseForm, ExportForm])
def test_the_operators_book_reads_in_the_readers_language(settings, form_class):
    settings.OPERATOR_NAME = "Distributor Demo Ltd."
    with translation.override("zh-hans"):
        labels = dict(form_class().fields["book"].choices)
    assert labels["operator"] == "Distributor Demo Ltd.（运营方）"
    with translation.override("en"):
        labels = dict(form_class().fields["book"].choices)
    assert labels["operator"] == "Distributor Demo Ltd. (operator)"
