import uuid

import pytest
from django.db import IntegrityError, connections
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
