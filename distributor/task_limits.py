"""How long each Celery task may run, how long the broker waits before handing a task to another worker,
and which tasks are acknowledged before they run (``CELERY_TASK_ANNOTATIONS`` in settings).

With Redis as the broker, a task taken by a worker whose main process dies (SIGKILL, out of memory, the
host going away) is handed to another worker only after the transport's ``visibility_timeout``: kombu's
default is an hour, which is how an upload stayed "running" for an hour. The timeout must be longer than
any task may live (else a task still running is handed out a second time), so every task gets a hard time
limit, and the timeout is set just above the longest.

Limits per queue (seconds; ``soft`` raises ``SoftTimeLimitExceeded`` in the task, ``hard`` kills the
process), from what the queue's tasks need; the few tasks that need more than their queue say so:

| queue / task           | soft | hard | what runs there, and the measure                               |
|------------------------|------|------|----------------------------------------------------------------|
| ingest                 |  480 |  600 | uploads: a run works 240 s (``billing.usage.uploads``), queues |
|                        |      |      | the rest; a chunk of 100,000 events takes ≤ 30 s (3,900        |
|                        |      |      | events/s on a loaded machine, docs/usage.md). Re-rating        |
|                        |      |      | commits every 5,000 events; the next beat goes on.             |
| billing                |  600 |  720 | period close of 10,000 customers ≤ 60 s (bench/close.py);      |
|                        |      |      | reconciliation, snapshots, FX, ECL: nightly sweeps.            |
| pdf                    |  300 |  360 | a statement chunk: 20 customers × ≤ 7.6 s (docs/usage.md).     |
| notify                 |  120 |  180 | one webhook (10 s timeout) or one e-mail with at most one PDF. |
| notify: dunning run,   |  600 |  720 | every customer, rendering the reminders' invoice PDFs.         |
| risk flags sweep       |      |      |                                                                |

``VISIBILITY_TIMEOUT`` = the longest hard limit (720 s) + 3 minutes = 15 minutes. A retry's countdown must
stay under it too (the worker holds a task waiting for its ETA unacknowledged): the longest is 180 s
(Celery's default retry delay; webhook back-off reaches 2^7 = 128 s in eight retries).

``acks_late`` (settings: ``CELERY_TASK_ACKS_LATE``) acknowledges a task when it ends, so a worker killed
mid-task leaves it to be run again: right for every task whose second run changes nothing already done
(idempotency keys, "already closed" checks, the same webhook event id). The tasks in ``AT_MOST_ONCE``
would do harm if run twice, and are acknowledged on receipt instead: a worker killed mid-task loses them.
"""

MINUTE = 60

QUEUE_LIMITS = {
    "ingest": (8 * MINUTE, 10 * MINUTE),
    "billing": (10 * MINUTE, 12 * MINUTE),
    "pdf": (5 * MINUTE, 6 * MINUTE),
    "notify": (2 * MINUTE, 3 * MINUTE),
}
TASK_LIMITS = {
    # Routed to notify with the e-mails (billing.dunning.*) but sweeps every customer.
    "billing.dunning.tasks.dunning_run_task": QUEUE_LIMITS["billing"],
    "billing.dunning.risk_tasks.risk_flags_task": QUEUE_LIMITS["billing"],
}
VISIBILITY_TIMEOUT = max(hard for _soft, hard in [*QUEUE_LIMITS.values(), *TASK_LIMITS.values()]) + 3 * MINUTE

AT_MOST_ONCE = {
    # E-mails: nothing records a message as sent before it goes, so a second run mails the customer (or
    # staff) the same invoice, notice or alert again.
    "billing.wallets.tasks.notify_wallet_email_task",
    "billing.receivables.tasks.notify_invoice_send_task",
    "billing.dunning.risk_notify.risk_flag_email_task",
    "billing.terms.tasks.notify_credit_limit_email_task",
    "catalog.tasks.notify_price_alerts_task",
    # A second start launches a second chord over the same parts folder, whose zip can replace the first
    # one's with the parts left after the first zip removed them.
    "billing.documents.statement_export_start",
}


def task_limits(name: str, queue: str) -> dict:
    """The attributes a task named ``name`` routed to ``queue`` gets: time limits, and acks_late when off."""
    soft, hard = TASK_LIMITS.get(name) or QUEUE_LIMITS[queue]
    attributes = {"soft_time_limit": soft, "time_limit": hard}
    if name in AT_MOST_ONCE:
        attributes["acks_late"] = False
    return attributes


class TaskLimits:
    """A Celery task annotation (``task_annotations``): each task's limits from its queue, as routed."""

    def annotate(self, task) -> dict:
        queue = task.app.amqp.router.route({}, task.name)["queue"].name
        return task_limits(task.name, queue)
