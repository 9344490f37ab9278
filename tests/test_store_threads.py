"""A workbench shared with a background thread (e.g. live post-call saves) stays consistent."""

from __future__ import annotations

import threading
from contextlib import closing


def test_cursor_shares_the_database_not_the_connection(sample_lab):
    n = sample_lab.sql("SELECT count(*) AS n FROM conversations")["n"][0]
    errors: list[BaseException] = []

    def background() -> None:
        try:
            with closing(sample_lab.cursor()) as worker:
                for i in range(200):
                    frame = worker.sql("SELECT ? AS worker_value, count(*) AS c FROM messages", [i])
                    assert frame.columns == ["worker_value", "c"] and frame["worker_value"][0] == i
                worker.audit("test.background", target="none", details={})
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    for _ in range(200):
        # Each thread only ever sees its own results: no column from the other's query.
        assert sample_lab.sql("SELECT count(*) AS n FROM conversations")["n"][0] == n
    thread.join()
    assert not errors, errors
    # The cursor wrote to the same database, and closing it left the main connection open.
    audit = sample_lab.sql("SELECT action FROM audit_log WHERE action = 'test.background'")
    assert audit.height == 1
