"""``manage.py ingest FILE --format generic|litellm|newapi|openrouter [--source NAME]``.

SIGTERM or SIGINT (Ctrl-C) stops it in order: the chunks committed stay, the rest roll back, the producer
and the spool folder go, and it exits with 128 + the signal's number (143, 130). Killed outright, its
producer follows it and removes the spool; the next run (of this command or of an upload) sweeps what is
left (``bulk.spool_dirs``).
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from billing.usage.files import UnreadableFile, file_ingest, records_iter
from billing.usage.models import GatewaySource


@contextlib.contextmanager
def _readable_twice(file: str):
    """``file`` itself when it is a regular file; else (a pipe, ``/dev/stdin``, ``<(zcat …)``, which can
    be read only once) a temporary copy of it, so hashing it first does not leave nothing to ingest."""
    if os.path.isfile(file):
        yield file
        return
    with open(file, "rb") as source, tempfile.NamedTemporaryFile(prefix="ingest-") as copy:
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield copy.name


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: unwind (each ``finally`` on the way removes what the run made), then exit.

    Not an ``Exception``, so no handler of failures takes it for one.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _stopped_by_signals():
    """Turn SIGTERM and SIGINT into ``Stopped`` while the run lasts (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        # A second signal stops the command at once, should the orderly stop itself hang.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Shown under ``--help``: what an operator needs before stopping a long run.
EPILOG = (
    "Ctrl-C (SIGINT) or SIGTERM stops it in order: the chunks committed so far stay committed, the rest "
    "roll back, and it exits with 130 (Ctrl-C) or 143 (SIGTERM). Running the same file again finishes it "
    "without charging anything twice: the committed chunks are replayed, not charged again."
)


class Command(BaseCommand):
    help = (
        "Ingest a usage file (CSV, NDJSON or JSON array) through the full pipeline: its events are rated "
        "and charged like usage a gateway sends."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, epilog=EPILOG, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            help="The usage file: CSV with a header row, NDJSON, or a JSON array; a pipe or /dev/stdin too.",
        )
        parser.add_argument(
            "--format",
            default="generic",
            choices=["generic", "litellm", "newapi", "openrouter"],
            help=(
                "The records' format: generic (canonical events), litellm (LiteLLM's logging payloads), "
                "newapi (new-api / one-api log rows), openrouter (OpenRouter generation records). It also "
                "sets the customer key lookup order. Default: generic."
            ),
        )
        parser.add_argument(
            "--source",
            help=(
                "The gateway source name the events are recorded under (request ids are unique per "
                "source); created when missing. Default: file-<format>."
            ),
        )

    def handle(self, *args, **options):
        file, format, source = options["file"], options["format"], options["source"]
        try:
            with _stopped_by_signals():
                result = self._ingest(file, format, source)
        except Stopped as stop:
            self.stderr.write(
                f"Stopped by {signal.Signals(stop.signum).name}: the chunks committed so far stay committed "
                "and the rest were rolled back. Run the same file again to finish it: the committed chunks "
                "are replayed, not charged again."
            )
            raise SystemExit(128 + stop.signum) from None
        self.stdout.write(json.dumps(result.as_dict() | {"errors": result.errors[:20]}, indent=2))
        if result.replayed:
            self.stderr.write(
                "Already ingested: an earlier run of this file committed all of it; its answer is shown "
                "and nothing was charged again."
            )

    def _ingest(self, file: str, format: str, source: str | None):
        gateway = _source(source or f"file-{format}", format)
        try:
            with _readable_twice(file) as path:
                # Batches are keyed by the file's content: running the same file again replays its first
                # answer (nothing is charged twice either way: request ids are deduplicated per source).
                with open(path, "rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()[:32]
                with open(path, "rb") as handle:
                    result = file_ingest(
                        source=gateway, records=records_iter(handle), fmt=format, key_prefix=f"file:{digest}"
                    )
        except (OSError, UnreadableFile) as exc:
            raise CommandError(str(exc)) from exc
        return result


def _source(name: str, format: str) -> GatewaySource:
    """The gateway source ``name``, created for file ingests when missing (by this run or, at the same
    moment, another one: then that one's)."""
    gateway = GatewaySource.objects.filter(name=name).first()
    if gateway is not None:
        return gateway
    gateway = GatewaySource(name=name, kind=format)
    gateway.token_set()  # a token nobody knows: this source only ingests files
    try:
        with transaction.atomic():
            gateway.save()
    except IntegrityError:
        return GatewaySource.objects.get(name=name)
    return gateway
