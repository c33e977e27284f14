"""The request log reads events by time across every customer (staff): a BRIN index on ``occurred_at``.

What the log's queries need and what serves them (``billing/usage/request_log.py``, figures from
``make bench BENCH=request_log``):

- a customer's pages: ``usage_event_customer_at`` ``(customer_id, occurred_at)`` already serves them, scanned
  backwards per partition with an incremental sort on ``id`` inside equal instants, first and deep pages
  alike (a keyset cursor, never an OFFSET). A ``(customer_id, occurred_at, id)`` index would drop that tiny
  sort and cost the bulk path a wider B-tree on every COPYed row: not worth it.
- a request id: found through ``usage_request_key``'s primary key ``(source_id, request_id)``, which gives
  the event's instant; no index on ``usage_event.request_id`` (a B-tree entry per ingested event).
- staff reading every customer by time (and a request id found without a customer): nothing served it, so
  a partition was read whole. A B-tree on ``occurred_at`` would cost every ingested row an index entry
  (the bulk path COPYs ~30,000 events/s, ~10% of it per extra B-tree: docs/usage.md). Events are appended
  roughly in time order, so a BRIN index (a min/max per range of heap blocks, a few pages for millions of
  rows) finds a time range's blocks at next to no cost per insert, as ``usage_event_batch_brin`` does for
  batches (migration 0015). ``autosummarize`` lets autovacuum summarise new block ranges; until then they
  are simply scanned, so answers stay exact.

SQLite keeps no such index (it has no BRIN; its ``usage_event`` is a plain table).
"""

from django.db import migrations

FORWARD = (
    "CREATE INDEX IF NOT EXISTS usage_event_occurred_brin ON usage_event "
    "USING brin (occurred_at) WITH (autosummarize = on)"
)
BACKWARD = "DROP INDEX IF EXISTS usage_event_occurred_brin"


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0044_stored_messages")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
