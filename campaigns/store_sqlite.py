"""The campaign store's SQLite connection: ordinary lab failures become one-line errors, and the WAL stays bounded.

A full disk, a damaged page, a store another process holds locked, or a read-only file end a command with one
line naming the file, what happened and what to do, never a traceback (the CLI maps the errors to exit statuses:
:class:`~campaigns.errors.StoreDamagedError` and :class:`~campaigns.errors.StoreReadOnlyError` are bad input,
2; :class:`~campaigns.errors.StoreFullError` and :class:`~campaigns.errors.StoreLockedError` are failures at run
time, 1). Every change is one transaction, so a change that failed was rolled back whole and everything before
it is kept: the same command resumes the campaign once the cause is gone.

:class:`Connection` wraps :class:`sqlite3.Connection` and its cursors so that every statement and every fetch
translates SQLite's errors (a damaged page is often found only while rows are fetched). Errors that are not one
of these conditions (a programming error: a bad statement, a constraint) pass through unchanged.

The write-ahead log is bounded: SQLite checkpoints it every :data:`WAL_AUTOCHECKPOINT_PAGES` pages and truncates
it to :data:`JOURNAL_SIZE_LIMIT_BYTES` afterwards, and the runner checkpoints it after every run. A checkpoint that
cannot copy the log into a full database leaves it as it is; the next one after space is freed does the work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from campaigns.errors import (
    StoreDamagedError,
    StoreFullError,
    StoreLockedError,
    StoreReadOnlyError,
    StoreUnavailableError,
)

WAL_AUTOCHECKPOINT_PAGES = 256
"""Pages in the write-ahead log that trigger an automatic checkpoint (SQLite's default is 1000; 256 pages of
4 KiB keep the log near 1 MiB)."""

JOURNAL_SIZE_LIMIT_BYTES = 1 << 20
"""Size the write-ahead log is truncated to after a checkpoint resets it [bytes] (SQLite's default: never)."""

BUSY_TIMEOUT_S = 30.0
"""How long a change waits for another process's write lock before it gives up [s]."""

# SQLite's primary result codes (https://www.sqlite.org/rescode.html)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def translate(exc: sqlite3.Error, path: str) -> Exception | None:
    """The store error for an SQLite error, or None if ``exc`` is not a store condition (then re-raise it)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary == _FULL or "disk is full" in text:
        return StoreFullError(path, f"the disk is full (SQLite: {text}); the last change was rolled back and "
                                    "everything before it is kept. Free space, then run the same command again: "
                                    "the campaign resumes where it stopped")
    if primary in (_CORRUPT, _NOTADB) or "malformed" in text:
        return StoreDamagedError("", "", f"the campaign store is damaged (SQLite: {text}); nothing was changed. "
                                 "Restore it from a backup ('sqlite3 FILE .recover' may rescue its rows)",
                                 source=path)
    if primary in (_BUSY, _LOCKED) or "database is locked" in text:
        return StoreLockedError(path, f"another process held the store locked for more than {BUSY_TIMEOUT_S:g} s "
                                      f"(SQLite: {text}); nothing was changed. Run the command again when it has "
                                      "finished")
    if primary == _READONLY or "readonly database" in text:
        return StoreReadOnlyError("", "", f"the campaign store cannot be written (SQLite: {text}); nothing was "
                                  "changed. Give the file and its folder write permission, or copy the store "
                                  "somewhere writable", source=path)
    if primary in (_IOERR, _CANTOPEN):
        return StoreUnavailableError(path, f"the store's file could not be read or written (SQLite: {text}); the "
                                           "last change was rolled back and everything before it is kept. Check the "
                                           "disk and the file's permissions, then run the same command again")
    return None


def _raise(exc: sqlite3.Error, path: str) -> NoReturn:
    err = translate(exc, path)
    if err is None:
        raise exc
    raise err from None


class Cursor:
    """An :class:`sqlite3.Cursor` whose statements and fetches raise the store's errors."""

    def __init__(self, raw: sqlite3.Cursor, path: str) -> None:
        self._raw = raw
        self._path = path

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor:
        try:
            self._raw.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            _raise(exc, self._path)
        return self

    def fetchone(self) -> Any:
        try:
            return self._raw.fetchone()
        except sqlite3.Error as exc:
            _raise(exc, self._path)

    def fetchall(self) -> list[Any]:
        try:
            return self._raw.fetchall()
        except sqlite3.Error as exc:
            _raise(exc, self._path)

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def lastrowid(self) -> int | None:
        return self._raw.lastrowid

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount


class Connection:
    """An :class:`sqlite3.Connection` (autocommit; transactions are explicit) whose errors are the store's.

    ``read_only`` opens the file read-only and immutable (for a store on a read-only medium, where SQLite could
    create no ``-shm`` file for its write-ahead log); every change then fails as a :class:`StoreReadOnlyError`.
    """

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        target = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1" if read_only else path
        try:
            self._raw = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                        check_same_thread=False, uri=read_only)
        except sqlite3.Error as exc:
            _raise(exc, path)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor:
        return self.cursor().execute(sql, params)

    def cursor(self) -> Cursor:
        return Cursor(self._raw.cursor(), self.path)

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    def close(self) -> None:
        self._raw.close()

    def iterdump(self):
        """The database as SQL text, line by line (:meth:`sqlite3.Connection.iterdump`)."""
        return self._raw.iterdump()

    def quick_check(self) -> None:
        """``PRAGMA quick_check``: a damaged page found now raises :class:`StoreDamagedError` before anything
        reads or writes campaign data (linear in the file's size; milliseconds for a campaign store)."""
        rows = self.execute("PRAGMA quick_check(1)").fetchall()
        if [r[0] for r in rows] != ["ok"]:
            first = " ".join(str(rows[0][0]).replace("*** in database main ***", "").split())  # one line
            raise StoreDamagedError("", "", f"the campaign store is damaged (SQLite quick_check: {first}); "
                                    "nothing was changed. Restore it from a backup ('sqlite3 FILE .recover' may "
                                    "rescue its rows)", source=self.path)

    def bound_wal(self) -> None:
        """Set the pragmas that bound the write-ahead log (:data:`WAL_AUTOCHECKPOINT_PAGES`,
        :data:`JOURNAL_SIZE_LIMIT_BYTES`)."""
        self.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        self.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}")

    def checkpoint(self, *, truncate: bool = False) -> bool:
        """Copy the write-ahead log into the database (``wal_checkpoint(PASSIVE)``, or ``TRUNCATE`` to empty the
        log file as well).

        PASSIVE never waits: a reader (the dashboard) holding an old snapshot keeps its part of the log until
        the next checkpoint, and a runner is never held up by a viewer. TRUNCATE waits for readers and writers
        up to :data:`BUSY_TIMEOUT_S`. Returns whether every frame of the log was copied; False also when the
        database cannot grow (a full disk): the log is left for the next checkpoint, nothing is lost.
        """
        try:
            busy, log, copied = self._raw.execute(
                f"PRAGMA wal_checkpoint({'TRUNCATE' if truncate else 'PASSIVE'})").fetchone()
        except sqlite3.Error:
            return False
        return busy == 0 and log == copied
