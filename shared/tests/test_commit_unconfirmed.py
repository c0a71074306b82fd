"""A COMMIT that PostgreSQL ends with its "canceling wait for synchronous replication" WARNING is not done.

test-db has no standby, so the warning is raised by a deferred constraint trigger, which fires inside
COMMIT: the notice then reaches the client during COMMIT, as the server's own does when a statement
timeout cancels the wait (tests/test_failover.py provokes that one on a Patroni leader)."""

import pytest
from django.db import connections, transaction

from shared.errors import CommitUnconfirmed

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

WARNING_AT_COMMIT = """
CREATE TEMP TABLE commit_notice (id int);
CREATE FUNCTION pg_temp.warn_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE WARNING 'canceling wait for synchronous replication due to user request'
    USING DETAIL = 'The transaction has already committed locally, but might not have been replicated to the standby.';
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER warn_at_commit AFTER INSERT ON commit_notice DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION pg_temp.warn_at_commit();
"""


@pytest.fixture
def cursor():
    connection = connections["db0"]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(WARNING_AT_COMMIT)
        yield cursor
    connection.close()  # the temporary table and function go with the session


def test_a_commit_whose_wait_for_the_standby_was_cancelled_raises_after_it_is_done(cursor):
    ran = []
    with pytest.raises(CommitUnconfirmed) as raised, transaction.atomic(using="db0"):
        cursor.execute("INSERT INTO commit_notice VALUES (1)")
        transaction.on_commit(lambda: ran.append("hook"), using="db0")
    assert (raised.value.status_code, raised.value.code, raised.value.retry_after) == (503, "commit_unconfirmed", 5)
    # committed on this server all the same: its hooks ran, and the connection is usable and idle
    assert ran == ["hook"]
    cursor.execute("SELECT count(*) FROM commit_notice")
    assert cursor.fetchone() == (1,)
    assert connections["db0"].get_autocommit() and not connections["db0"].in_atomic_block


def test_the_next_commit_on_the_connection_is_acknowledged_again(cursor):
    with pytest.raises(CommitUnconfirmed), transaction.atomic(using="db0"):
        cursor.execute("INSERT INTO commit_notice VALUES (1)")
    with transaction.atomic(using="db0"):
        cursor.execute("DELETE FROM commit_notice")  # no INSERT: the trigger does not fire
    with transaction.atomic(using="db0"):
        cursor.execute("SELECT 1")


def test_other_warnings_at_commit_do_not_matter(cursor):
    cursor.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.warn_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE WARNING 'something else'; RETURN NULL; END $$"
    )
    with transaction.atomic(using="db0"):
        cursor.execute("INSERT INTO commit_notice VALUES (1)")


@pytest.fixture
def outbox_warns_at_commit():
    connection = connections["db0"]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(WARNING_AT_COMMIT.replace("ON commit_notice", "ON events_outboxevent"))
        yield
        cursor.execute("DROP TRIGGER warn_at_commit ON events_outboxevent")
    connection.close()


def test_a_write_of_one_statement_in_autocommit_is_not_done_either(outbox_warns_at_commit):
    import uuid

    from shared.db.inserts import insert_together
    from shared.events.models import OutboxEvent

    event = OutboxEvent(id=uuid.uuid4(), event_type="t.x", envelope={})
    with pytest.raises(CommitUnconfirmed):
        insert_together([event], using="db0")
    # committed on this server all the same, as a transaction's rows are
    assert OutboxEvent.objects.using("db0").filter(id=event.id).exists()
