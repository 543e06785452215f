"""Nested transactions per thread, shared by the index implementations (SQLite, PostgreSQL).

`write()` is one transaction (or a savepoint inside an open one), `atomic()` makes every
write inside one transaction, and `after_commit()` defers what must follow a durable
change (a deleted message's file goes after its row, never before). A subclass says how
to reach this thread's connection and how to begin, commit and roll back on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class NestedTransactions:
    def __init__(self) -> None:
        self._local = threading.local()

    # --- what an implementation provides ------------------------------------------------
    def conn(self) -> Any:
        """This thread's connection."""
        raise NotImplementedError

    def _begin_write(self, conn: Any) -> None:
        raise NotImplementedError

    def _in_transaction(self, conn: Any) -> bool:
        raise NotImplementedError

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        conn.execute("ROLLBACK")

    # --- shared ----------------------------------------------------------------------------
    def _nested(self) -> bool:
        return bool(getattr(self._local, "depth", 0) or getattr(self._local, "atomic", 0))

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A write transaction: committed on exit, rolled back on error.

        Reentrant on the calling thread: inside another write() or inside `atomic()` it
        joins the open transaction as a savepoint (an error rolls back this write only,
        and a caller that catches it may go on); only the outermost exit commits.
        """
        conn = self.conn()
        if self._nested():
            yield from self._joined(conn)
            return
        self._begin_write(conn)
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            self._rollback(conn)
            self._drop_after_commit()
            raise
        self._local.depth = 0
        self._commit_or_drop(conn)
        self._run_after_commit()

    def _joined(self, conn: Any) -> Iterator[Any]:
        """A write inside `atomic()` or another write: the transaction begins at the first
        write (so slow work before it, such as Argon2, holds no lock) and each write is a
        savepoint."""
        if not self._in_transaction(conn):
            self._begin_write(conn)
        conn.execute("SAVEPOINT joined_write")
        try:
            yield conn
        except BaseException:
            if self._in_transaction(conn):
                conn.execute("ROLLBACK TO joined_write")
                conn.execute("RELEASE joined_write")
            raise
        conn.execute("RELEASE joined_write")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every write inside (on this thread) in one transaction; reentrant.

        The outermost exit commits (if anything was written); an exception rolls back
        everything written inside. Reads inside see the writes made so far.
        """
        depth = getattr(self._local, "atomic", 0)
        self._local.atomic = depth + 1
        try:
            yield
        except BaseException:
            if depth == 0:
                if self._in_transaction(self.conn()):
                    self._rollback(self.conn())
                self._drop_after_commit()
            raise
        else:
            if depth == 0:
                if self._in_transaction(self.conn()):
                    self._commit_or_drop(self.conn())
                self._run_after_commit()
        finally:
            self._local.atomic = depth

    def _commit_or_drop(self, conn: Any) -> None:
        """Commit; if that fails, nothing deferred may run (nor leak into the next one)."""
        try:
            self._commit(conn)
        except BaseException:
            self._drop_after_commit()
            raise

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the open transaction of this thread commits (never if it
        rolls back); at once when none is open. For what must follow a durable index
        change and never precede it, such as removing a deleted message's file."""
        if self._nested():
            self._pending().append(action)
        else:
            action()

    def _pending(self) -> list[Callable[[], None]]:
        pending = getattr(self._local, "after_commit", None)
        if pending is None:
            pending = self._local.after_commit = []
        return pending

    def _run_after_commit(self) -> None:
        actions, self._local.after_commit = self._pending(), []
        for action in actions:
            action()

    def _drop_after_commit(self) -> None:
        self._local.after_commit = []
