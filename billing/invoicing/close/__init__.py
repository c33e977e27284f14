"""Period close: invoices for credit-term customers, usage statements for prepaid ones.

Be extremely careful changing how usage is measured here: it decides what every credit customer is billed.

* **Usage is billed cumulatively.** For each customer × model × currency a close bills the rated usage of
  every day up to the period's last day (``UsageDaily``, operator-time-zone days) minus what earlier
  invoices already billed for that model (usage lines of every invoice but drafts voided unissued). Usage
  of an earlier period that arrives after its close (a late gateway delivery, a re-rated event) is
  therefore billed by the next close, never lost, and nothing is billed twice. A re-rating that lowers an
  already-billed amount shows up as a negative usage line on the next invoice.
* **Everything else carries a ``source_key``** (``subscription:<id>:<period>``, ``service:<id>`` for
  one-off charges, ``service:<id>:<period>`` for recurring ones, ``pack:<id>``); a key already on an
  invoice line is never billed again.
* **Re-running a close creates nothing**: an invoice's ``close_key`` is ``<period>:<customer>:<currency>``
  (unique), and customers whose key exists are skipped. Customers are closed in chunks, each its own
  database transaction holding the chunk's billing-terms rows locked, so two closes racing on the same
  customers queue instead of both building invoices.
* **Monthly customers close at month periods, quarterly ones at quarter periods** ("2026-Q3"). The beat
  runs after every month end and also closes the quarter when the month ended one
  (``periods.periods_just_ended``). Prepaid customers get a ``UsageStatement`` per month instead.
* **Issue in bulk**: customers without ``review_invoices`` are issued at once; a chunk takes its numbers
  in one locked step (``numbers_take``) so they stay gapless, and posts one journal transaction per
  invoice (``invoice:<id>``, linked by ``Invoice.journal_transaction``) — the same posting
  :func:`billing.invoicing.services.invoice_issue` makes, so an invoice's ledger trace never depends on how
  it was issued.

The package, in the order a close runs: ``measure`` (what was used and what was already billed, read from
the rollups and earlier invoices), ``lines`` (invoice and statement lines built from those figures, rounded
once), ``store`` (invoices, lines by COPY, postings and statements written), and ``services``
(``close_period``: which customers close, chunk by chunk, each chunk one transaction).
"""
