"""The steps of a statement export, run by the workers (``billing.statements.tasks``).

``export_plan`` counts the customers and splits them into chunks; each chunk renders its PDFs into
the default storage under ``statement_exports/parts/<id>/`` (shared by all workers when storage is), and
the last step zips the parts into ``StatementExport.file``. Progress is ``done``/``total``, advanced with
an atomic UPDATE per statement so concurrent chunks never lose a count.
"""

import tempfile
import zipfile

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from accounts.models import Customer
from billing.documents.pdf import statement_pdf
from billing.statements.build import customers_with_activity, statement_build
from billing.statements.models import StatementExport

CHUNK_SIZE = 20


def parts_dir(export: StatementExport) -> str:
    return f"statement_exports/parts/{export.pk}"


def export_plan(*, export_id: int) -> list[list[int]]:
    """Count the customers, mark the export running and return their ids in chunks."""
    export = StatementExport.objects.get(pk=export_id)
    ids = list(customers_with_activity(export.date_from, export.date_to).values_list("pk", flat=True))
    StatementExport.objects.filter(pk=export_id).update(
        state=StatementExport.State.RUNNING, total=len(ids), done=0, error=""
    )
    return [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]


def export_chunk(*, export_id: int, customer_ids: list[int]) -> int:
    """Render the statements of ``customer_ids`` into the export's parts folder; returns how many."""
    export = StatementExport.objects.get(pk=export_id)
    if export.state == StatementExport.State.FAILED:
        return 0
    folder = parts_dir(export)
    count = 0
    for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
        name = f"{folder}/{customer.code}.pdf"
        if default_storage.exists(name):  # a retried chunk: the part is already there and counted
            continue
        statement = statement_build(customer, export.date_from, export.date_to)
        default_storage.save(name, ContentFile(statement_pdf(statement), name=f"{customer.code}.pdf"))
        StatementExport.objects.filter(pk=export_id).update(done=F("done") + 1)
        count += 1
    return count


def export_zip(*, export_id: int) -> StatementExport:
    """Zip the parts into the export's file, remove the parts and mark the export done."""
    export = StatementExport.objects.get(pk=export_id)
    folder = parts_dir(export)
    try:
        _dirs, names = default_storage.listdir(folder)
    except FileNotFoundError:
        names = []
    names = sorted(n for n in names if n.endswith(".pdf"))
    with tempfile.TemporaryFile() as handle:
        # PDFs are already compressed: store them, do not deflate again.
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in names:
                with default_storage.open(f"{folder}/{name}", "rb") as part:
                    archive.writestr(name, part.read())
        handle.seek(0)
        filename = f"statements-{export.date_from:%Y%m%d}-{export.date_to:%Y%m%d}-{export.pk}.zip"
        export.file.save(filename, File(handle, name=filename), save=False)
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    export.state = StatementExport.State.DONE
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "state", "finished_at"])
    return export


def export_fail(*, export_id: int, error: str) -> None:
    StatementExport.objects.filter(pk=export_id).exclude(state=StatementExport.State.DONE).update(
        state=StatementExport.State.FAILED, error=error[:2000], finished_at=timezone.now()
    )
