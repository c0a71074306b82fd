import uuid

import pytest
from django.db import IntegrityError, connections, transaction
from django.test.utils import CaptureQueriesContext

from shared.db.inserts import insert_together
from shared.events.models import InboxEvent, OutboxEvent

pytestmark = pytest.mark.django_db(databases=["db0"], transaction=True)


def _outbox(n: int) -> list[OutboxEvent]:
    return [OutboxEvent(id=uuid.uuid4(), event_type="t.x", envelope={"n": i}) for i in range(n)]


def test_rows_of_several_tables_are_written_in_one_statement_with_their_timestamps():
    # given
    events, claims = _outbox(3), [InboxEvent(key=f"k-{uuid.uuid4()}", event_type="t.x")]
    # when: outside a transaction (autocommit), as a service writes
    with CaptureQueriesContext(connections["db0"]) as sent:
        insert_together(events, claims, using="db0")
    # then: one statement, no BEGIN or COMMIT, and every row there with what save() would have filled in
    assert len(sent.captured_queries) == 1 and sent.captured_queries[0]["sql"].startswith("WITH ")
    assert OutboxEvent.objects.using("db0").filter(id__in=[e.id for e in events]).count() == 3
    assert InboxEvent.objects.using("db0").filter(key=claims[0].key).exists()
    assert all(e.created_at and e.updated_at and not e._state.adding for e in events + claims)


def test_a_unique_conflict_in_one_table_writes_nothing_of_the_others():
    # given: a claim already taken
    taken = InboxEvent(key=f"k-{uuid.uuid4()}", event_type="t.x")
    insert_together([taken], using="db0")
    events = _outbox(2)
    # when
    with pytest.raises(IntegrityError):
        insert_together(events, [InboxEvent(key=taken.key, event_type="t.x")], using="db0")
    # then: the statement was one transaction
    assert not OutboxEvent.objects.using("db0").filter(id__in=[e.id for e in events]).exists()


# A deferred constraint trigger fires inside COMMIT: it sees the synchronous_commit that commit obeys.
SEEN_AT_COMMIT = """
CREATE TEMP TABLE seen_at_commit (setting text);
CREATE FUNCTION pg_temp.see_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seen_at_commit VALUES (current_setting('synchronous_commit'));
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER see_at_commit AFTER INSERT ON events_outboxevent DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION pg_temp.see_at_commit();
"""


@pytest.fixture
def setting_at_commit():
    connection = connections["db0"]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(SEEN_AT_COMMIT)

        def seen() -> list[str]:
            cursor.execute("DELETE FROM seen_at_commit RETURNING setting")
            return [row[0] for row in cursor.fetchall()]

        yield seen
        cursor.execute("DROP TRIGGER see_at_commit ON events_outboxevent")
    connection.close()  # the temporary table and function go with the session


def test_rows_written_to_commit_locally_commit_without_the_standby_and_the_next_statement_waits_again(
    setting_at_commit,
):
    # when: a statement that commits locally, then an ordinary one on the same connection
    insert_together(_outbox(2), using="db0", commit_locally=True)
    local = setting_at_commit()
    insert_together(_outbox(1), using="db0")
    # then: the first one's COMMIT did not wait for the synchronous standby; the next one's does
    assert (local, setting_at_commit()) == (["local", "local"], ["on"])


def test_commit_locally_is_refused_inside_a_transaction(setting_at_commit):
    # when: inside a transaction it would last until that transaction's own COMMIT, the caller's writes too
    with pytest.raises(ValueError), transaction.atomic(using="db0"):
        insert_together(_outbox(1), using="db0", commit_locally=True)
    # then
    assert setting_at_commit() == []
