"""Leadership: which of several scheduler processes runs the cycles.

PostgreSQL: the leader holds a session advisory lock (`store.locks.SCHEDULER_LEADER`) on a connection of its
own. The server releases the lock when that connection ends, so a leader that dies (kill -9, lost host, lost
network) loses leadership with its connection, and a follower that asks next takes it. The leader checks
its connection before every cycle: if it was lost (say the server restarted), it is not the leader any more.
SQLite has no such lock: one scheduler process per database file (documented in docs/operations.md); every
process that asks is told it leads.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from selfheal.store import Store, locks


class Leadership:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Connection | None = None

    @property
    def exclusive(self) -> bool:
        """Whether leadership excludes other processes (PostgreSQL) or is assumed (SQLite)."""
        return self.store.dialect == "postgresql"

    def lead(self) -> bool:
        """Whether this process leads now: keeps leadership it holds, or takes it if free."""
        if not self.exclusive:
            return True
        if self._conn is not None:
            if self._alive(self._conn):
                return True
            self._drop()
        conn = self.store.engine.connect()
        try:
            taken = locks.try_session_lock(conn, locks.SCHEDULER_LEADER)
            conn.commit()
        except Exception:
            conn.close()
            raise
        if taken:
            self._conn = conn
        else:
            conn.close()
        return taken

    def resign(self) -> None:
        """Give leadership up (on shutdown), so a follower takes over at once."""
        if self._conn is None:
            return
        try:
            locks.release_session_lock(self._conn, locks.SCHEDULER_LEADER)
            self._conn.commit()
        except Exception:
            pass  # the connection is gone, and with it the lock
        self._drop()

    @staticmethod
    def _alive(conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1"))
            conn.commit()
            return True
        except Exception:
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never hand a connection that may hold the lock back to the pool
                conn.close()
            except Exception:
                pass
