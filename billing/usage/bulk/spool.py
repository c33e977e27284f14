"""What the bulk producer hands the writers, chunk after chunk: slices of COPY text (spooled to files so
that neither process holds more than a slice), then the chunk's end; or a chunk an earlier run committed."""

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from billing.usage.bulk.copytext import Lines


@dataclass
class ChunkEnd:
    """What the producer says after a chunk's last slice: counts, bad rows, who and when."""

    received: int
    valid: int
    errors: list[tuple]  # RowError fields (index within the chunk, field, reason)
    customer_ids: set[int]
    start: datetime | None
    end: datetime | None
    batch_id: int
    derived: int = 0  # derived rows staged (events' hops up the chain)
    # Every upstream account of the chunk's events as sent → (channel, its contract's vendor), or None
    # for an account no channel names (its cost is the best cost book's, on the vendor's account).
    channels: dict[str, tuple[int, int] | None] = field(default_factory=dict)


@dataclass
class Slice:
    """Up to SLICE rated events as COPY text: ``wide`` for usage_event, ``narrow`` for the stage
    (STAGE_COLUMNS, each event's line numbered by its place in the chunk, its derived rows' by
    ``sql.derived_line``); where each wide line ends and whose
    it is."""

    wide: bytes
    narrow: bytes
    lines: Lines
    customer_ids: set[int]
    start: datetime
    end: datetime
    batch_id: int
    derived: int = 0
    channels: dict[str, tuple[int, int] | None] = field(default_factory=dict)


@dataclass
class Spooled:
    """A slice on disk: the wide text in one file; the narrow text and its ``Lines`` pickled in another."""

    wide_path: str
    narrow_path: str
    batch_id: int

    @classmethod
    def write(cls, piece: Slice, spool: str, n: int) -> "Spooled":
        spooled = cls(os.path.join(spool, f"{n}.wide"), os.path.join(spool, f"{n}.narrow"), piece.batch_id)
        with open(spooled.wide_path, "wb") as handle:
            handle.write(piece.wide)
        with open(spooled.narrow_path, "wb") as handle:
            pickle.dump((piece.narrow, piece.lines), handle, protocol=pickle.HIGHEST_PROTOCOL)
        return spooled

    def narrow(self) -> tuple[bytes, Lines]:
        with open(self.narrow_path, "rb") as handle:
            loaded = pickle.load(handle)  # our own file, written by Spooled.write
        os.unlink(self.narrow_path)
        return loaded

    def wide(self) -> bytes:
        with open(self.wide_path, "rb") as handle:
            text = handle.read()
        os.unlink(self.wide_path)
        return text

    def discard(self) -> None:
        """Remove the slice's files unread (its chunk was written by another run)."""
        os.unlink(self.wide_path)
        os.unlink(self.narrow_path)


@dataclass
class Replayed:
    """A chunk whose batch was committed by an earlier run: its first answer."""

    result: dict


def spooled(items: Iterator, spool: str) -> Iterator:
    """The producer's items with each slice written to files (memory: one slice, however large the chunk)."""
    for n, item in enumerate(items):
        yield Spooled.write(item, spool, n) if type(item) is Slice else item
