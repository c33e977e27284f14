"""The bulk path (PostgreSQL): stream a large NDJSON/CSV file through the pipeline at COPY speed.

Same steps, in the same order (``charging.usage_charge``), and same guarantees as
``services.usage_batch_ingest``, organised for throughput. The work is
split so that the machine's two cores are both busy:

- the *producer* (a forked process) reads records, validates and rates them on plain data (prices loaded
  per slice of ``SLICE`` events) and turns each slice into two COPY texts at once — the wide rows of
  ``usage_event`` and a narrow copy (line number, key, customer, model, tokens, amounts) — with no
  per-event model instances;
- a *writer* copies a chunk's narrow rows into a temporary stage, claims their keys in one statement (an
  index probe per key, then a plain ``INSERT`` of the new ones into the key table; the rest are
  duplicates and leave the stage), COPYs the wide rows of the new events straight into ``usage_event``
  (each written once: no wide staging table), draws token allowances for the chunk's customers holding
  any (``billing.allowances.drawdown``; their wide rows are copied after the draw, with the sales it
  set), inserts the derived rows of events sold through the distribution chain (one per hop, rated by
  the producer and staged with their event: ``billing.usage.rating``) from the stage in one statement,
  upserts the hourly and daily rollups (and, for sales priced at a time-of-day window, the window's daily
  rollup) from the stage, and posts one journal transaction per chunk × customer, in bulk.

``WRITERS`` writers (threads of the calling process, each with its own connection) take consecutive
chunks, so PostgreSQL works on two at once: one chunk's COPYs overlap the other's. Before its turn a
chunk writes only rows of its own (its stage, its batch, its new events); it claims its keys and takes
the rows it shares with others (allowances, rollup rows, ledger accounts and wallets) only once the
chunk before it has committed (``turns.Turns``). So no transaction holding rows that chunk needs can be
waiting for a chunk that is itself waiting for its turn: such a cycle, one of whose waits is ours, is
one PostgreSQL could not detect. The producer settles a repeat of the previous chunk's key itself, so
the claim seldom meets a key taken since its probe.

Each chunk is one usage batch and one database transaction (events, rollups, allowance draws and ledger
postings commit together), and chunks commit in input order; its idempotency key is ``<key_prefix>:<n>``,
so a re-run after a crash replays the chunks already committed and completes the rest exactly once.
Memory is bounded by a slice or two in each process, not by the chunk or the file: slices waiting
between them are spooled to temporary files, and the writers send them to COPY a block at a time (a
slice holding allowance holders' rows is read whole once more, in the chunk's turn). Inside a caller's
transaction (tests), or where no process may be forked, the producer runs in-process and one writer,
the caller, writes each chunk in turn.

Modules: ``ingest`` (``bulk_ingest``, the entry point), ``producer`` (reading, rating, COPY text),
``validate`` (the fast check), ``copytext`` and ``spool`` (what passes between them), ``spool_dirs`` (the
run's spool folder: owners, removal, the sweep of killed runs' folders), ``writer`` (a chunk's transaction),
``turns`` (the writers' order), ``sql`` (the statements).
"""
