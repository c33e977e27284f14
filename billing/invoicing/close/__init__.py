"""Period close: invoices for credit-term customers, usage statements for prepaid ones.

Be extremely careful changing how usage is measured here: it decides what every credit customer is billed.

* **Usage is billed cumulatively, by when it happened.** For each customer × model × currency a close bills
  the customer's *credit usage* up to the period's end minus what earlier invoices already billed for that
  model (usage lines of every invoice of the customer but void ones). Credit usage is the rated usage
  whose ``occurred_at`` lies in one of the customer's credit intervals (``billing.terms.spans``: every
  credit span of its terms history, the first reaching back before onboarding): whole operator days from
  ``UsageDaily``, whole hours from ``UsageHourly``, and the switch hours themselves from the raw events,
  so a switch at 12:30 splits its hour exactly. Usage of an earlier period that arrives after its close
  (a late gateway delivery, a re-rated event) is therefore billed by the next close, never lost, and
  nothing is billed twice. A re-rating that lowers an already-billed amount shows up as a negative usage
  line on the next invoice.
* **Interim invoices** (``billing.invoicing.progressive``) bill a credit customer's usage mid-period, up
  to a cut-off instant, once it passes a threshold. They are earlier invoices like any other, so the
  close bills only the rest; a re-run of an earlier period's close counts a later period's interim
  invoices only as far as they cover its own usage (``measure.billed_against``), so it neither bills
  their usage twice nor credits the later period's.
* **Every month close also takes the customers now on prepaid who were ever on credit**: what their credit
  spans used and no invoice billed yet (the span just left, credit-time usage delivered after the switch)
  gets a final invoice; with nothing left, none is made.
* **A voided issued invoice's usage is billed again** by the next close; that share of a line credits
  usage revenue, not unbilled (``unbilled``), and each issued close invoice moves the rounding trace of
  the customer's usage batches to the rounding account, so unbilled ends at exactly the credit usage
  still to invoice.
* **Everything else is billed cumulatively too, by its ``source_key``** (``subscription:<id>:<YYYY-MM>``,
  ``service:<id>`` for one-off charges, ``service:<id>:<YYYY-MM>`` or ``:<YYYY-QN>`` for recurring ones,
  ``pack:<id>``): a close bills every subscription month, service charge and pack due by the period's end
  (from the subscription's or charge's start, the pack's purchase) whose key is on no invoice line
  (``measure.billed_keys``; a draft voided unissued gives its keys back) and that the wallet does not
  pay (``billing.allowances.selectors.keys_paid_by_wallet``: a subscription month is the invoice's only
  if the terms in force when the month *started* were credit, a pack if it was bought on credit terms).
  So a month no close could bill — the customer was quarterly when its month closed and is no longer
  quarterly at the quarter's, or its invoice came to zero or less — lands on a later invoice, once.
* **Re-running a close creates nothing**: an invoice's ``close_key`` is ``<period>:<customer>:<currency>``
  (unique), and customers whose key exists are skipped. Customers are closed in chunks, each its own
  database transaction holding the chunk's billing-terms rows locked, so two closes racing on the same
  customers queue instead of both building invoices.
* **Monthly customers close at month periods, quarterly ones at quarter periods** ("2026-Q3"). The beat
  runs after every month end and also closes the quarter when the month ended one
  (``periods.periods_just_ended``). Customers on prepaid terms during the month get a
  ``UsageStatement`` of the usage the wallet paid (their credit-time usage is on the invoice).
* **Issue in bulk**: customers without ``review_invoices`` are issued at once; a chunk takes its numbers
  in one locked step (``numbers_take``) so they stay gapless, and posts one journal transaction per
  invoice (``invoice:<id>``, linked by ``Invoice.journal_transaction``) — the same posting
  :func:`billing.invoicing.services.invoice_issue` makes, so an invoice's ledger trace never depends on how
  it was issued.

The package, in the order a close runs: ``measure`` (what was used and what was already billed, read from
the rollups, the switch hours' events and earlier invoices), ``lines`` (invoice and statement lines built
from those figures, rounded once), ``unbilled`` (the re-billed shares and the rounding trace), ``store``
(invoices, lines by COPY, postings and statements written), and ``services`` (``close_period``: which
customers close, chunk by chunk, each chunk one transaction).
"""
