"""A worker's pool processes keep their database connections across tasks, and drop a broken one."""

import pytest
from django.db import connections

from shared import celery


def test_celerys_fixup_no_longer_closes_every_connection_around_each_task():
    from celery.fixups.django import DjangoWorkerFixup

    app = celery.make_celery_app("product")
    assert DjangoWorkerFixup(app).db_reuse_max == celery.KEEP_CONNECTIONS_FOR_TASKS


@pytest.mark.django_db(transaction=True)
def test_around_a_task_a_healthy_connection_is_kept_and_a_broken_one_closed(monkeypatch):
    connection = connections["default"]
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    kept = connection.connection
    # when: a task ends and the next begins, with nothing wrong
    celery._close_old_connections()
    # then: the same connection serves the next task
    assert connection.connection is kept
    # when: a task's query broke the connection
    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    celery._close_old_connections()
    # then: it is closed, and the retry connects afresh
    assert connection.connection is None
