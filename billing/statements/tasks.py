"""Celery tasks (queue "pdf"): a statement export fans out into chunk tasks and ends in one zip task.

The task names keep their ``billing.documents.`` prefix: they are the names queued messages carry, and
the ``billing.documents.*`` route sends them to the pdf queue.
"""

from celery import chord, shared_task

from billing.statements import export_steps


@shared_task(name="billing.documents.statement_export_start")
def statement_export_start(export_id: int) -> int:
    chunks = export_steps.export_plan(export_id=export_id)
    if not chunks:
        export_steps.export_zip(export_id=export_id)
        return 0
    error = statement_export_failed.si(export_id)
    header = [statement_export_chunk.si(export_id, ids).on_error(error) for ids in chunks]
    chord(header)(statement_export_zip.si(export_id).on_error(error))
    return len(chunks)


# A chord's header tasks must keep their results (Celery's chord notes) whatever task_ignore_result says.
@shared_task(name="billing.documents.statement_export_chunk", acks_late=True, ignore_result=False)
def statement_export_chunk(export_id: int, customer_ids: list[int]) -> int:
    return export_steps.export_chunk(export_id=export_id, customer_ids=customer_ids)


@shared_task(name="billing.documents.statement_export_zip")
def statement_export_zip(export_id: int) -> None:
    export_steps.export_zip(export_id=export_id)


@shared_task(name="billing.documents.statement_export_failed")
def statement_export_failed(export_id: int, *args) -> None:
    export_steps.export_fail(export_id=export_id, error="A statement could not be built; see the worker log.")


@shared_task(name="billing.documents.statement_export_warm")
def statement_export_warm() -> int:
    from billing.documents.pdf import warm

    return warm()
