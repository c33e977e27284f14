"""``manage.py ingest FILE --format generic|litellm|newapi|openrouter [--source NAME]``."""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile

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


class Command(BaseCommand):
    help = "Ingest a usage file (CSV, NDJSON or JSON array) through the full pipeline."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--format", default="generic", choices=["generic", "litellm", "newapi", "openrouter"]
        )
        parser.add_argument("--source", help="Gateway source name (request ids are unique per source).")

    def handle(self, *args, **options):
        file, format, source = options["file"], options["format"], options["source"]
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
        self.stdout.write(json.dumps(result.as_dict() | {"errors": result.errors[:20]}, indent=2))
        if result.replayed:
            self.stderr.write(
                "Already ingested: an earlier run of this file committed all of it; its answer is shown "
                "and nothing was charged again."
            )


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
