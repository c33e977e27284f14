"""The bulk path's spool folders (``usage-bulk-*`` in the temporary directory: ``TMPDIR``, else ``/tmp``):
made per run, marked with their owners, removed on every way out, and swept when a killed run left one.

A run's folder holds the slices waiting between producer and writers (up to ~300 MB). The run removes it
when it ends, fails or is stopped by SIGTERM/SIGINT; the producer removes it when the run was killed
outright (SIGKILL, out of memory) and it outlives it. What neither can remove — both killed, a Celery
worker's child killed mid-task — ``spools_sweep`` removes when the next bulk run starts (``manage.py
ingest`` or an upload) and when a worker starts: folders none of whose owners is still running.

Each owner (the run's process, then its producer) leaves an ``owner-<pid>`` file naming itself by host,
boot and process start time as well as pid, so a pid the system has since given to another process is
not taken for the owner.
"""

import json
import logging
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "usage-bulk-"
MARK = "owner-"
# A folder with no owner file is a run's for the instant between making it and marking it — or was left
# by a run of the code before the owner files. A run's folder changes (slices come and go) every few
# seconds, so one unchanged this long with no owner is a leftover.
UNMARKED_GRACE_S = 600
_PROC = Path("/proc")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), "" where there is no /proc to ask; None
    when no such process is running (an unreaped zombie has exited: it holds no memory, files or
    connections)."""
    if not _PROC.joinpath("self").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""  # another user's: alive
        return ""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name in parentheses: state (field 3) … starttime (field 22).
    return None if fields[0] in ("Z", "X") else fields[19]


def _identity(pid: int) -> dict:
    return {"pid": pid, "host": socket.gethostname(), "boot": _boot_id(), "started": _started(pid)}


def owner_mark(spool: str) -> None:
    """Name the calling process as one of ``spool``'s owners (the run's process, or its producer)."""
    pid = os.getpid()
    with open(os.path.join(spool, f"{MARK}{pid}"), "w") as handle:
        json.dump(_identity(pid), handle)


def owners(spool: str) -> list[dict]:
    """The owners marked in ``spool`` (an unreadable owner file counts as none)."""
    found = []
    for name in os.listdir(spool):
        if name.startswith(MARK):
            try:
                with open(os.path.join(spool, name)) as handle:
                    found.append(json.load(handle))
            except (OSError, ValueError):
                continue
    return found


def _running(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # a folder shared with another machine: its processes are not ours to judge
    pid = owner.get("pid")
    if owner.get("boot") != _boot_id() or not isinstance(pid, int):
        return False  # written before a reboot (or not by us)
    started = _started(pid)
    return started is not None and started == owner.get("started")


class SpoolDir:
    """A run's spool folder, made in the temporary directory and marked with the calling process."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix=PREFIX)
        try:
            owner_mark(self.path)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        remove(self.path)


def remove(spool: str) -> None:
    """Remove ``spool`` and whatever it holds, however far the run got; a process still adding files at
    the same moment (the other half of the run) may make one pass miss them, so try again."""
    for _ in range(5):
        shutil.rmtree(spool, ignore_errors=True)
        if not os.path.lexists(spool):
            return


def spools_sweep(root: str | None = None) -> list[str]:
    """Remove the spool folders in ``root`` (the temporary directory) that no running process owns;
    return their paths. Only ours: directories named ``usage-bulk-*``, of this user, not symlinks."""
    root = root or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            marked = owners(entry.path)
        except OSError:
            continue  # gone meanwhile (its run ended) or not ours to read
        if marked:
            if any(_running(owner) for owner in marked):
                continue
        elif time.time() - info.st_mtime < UNMARKED_GRACE_S:
            continue
        size = _size(entry.path)
        remove(entry.path)
        removed.append(entry.path)
        logger.warning(
            "Removed the bulk ingest spool folder %s (%d MB) left by a run that was killed (owners: %s).",
            entry.path,
            size // 2**20,
            ", ".join(str(o.get("pid")) for o in marked) or "not marked",
        )
    return removed


def _size(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def worker_ready_sweep(**kwargs) -> None:
    """``celery.signals.worker_ready`` receiver: a worker starting removes what killed tasks left."""
    spools_sweep()
