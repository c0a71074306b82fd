import multiprocessing

import pytest
from django.db import connections

from shared.db import ids


def test_id_parts_round_trip():
    # given
    object_id = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 123_456, shard=13, sequence=4095)
    # then
    assert ids.shard_of(object_id) == 13
    assert ids.timestamp_ms_of(object_id) == ids.ID_EPOCH_MS + 123_456
    assert object_id < 2**63


def test_ids_sort_by_time():
    earlier = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 1, shard=1023, sequence=4095)
    later = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 2, shard=0, sequence=0)
    assert earlier < later


@pytest.mark.django_db(databases=["db0"])
def test_sql_function_embeds_the_shard():
    made = ids.new_ids(shard=9, count=50, using="db0")
    assert len(set(made)) == 50
    assert {ids.shard_of(i) for i in made} == {9}


@pytest.mark.django_db(databases=["db0"])
def test_sql_function_refuses_a_shard_out_of_range():
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(using="db0"):
        ids.new_ids(shard=ids.MAX_LOGICAL_SHARDS, using="db0")


def _generate(queue, count):
    connections.close_all()  # a fresh connection per process, as separate containers would have
    queue.put(ids.new_ids(shard=3, count=count, using="db0"))
    connections.close_all()


@pytest.mark.django_db(databases=["db0"], transaction=True)
def test_ids_are_unique_across_processes_generating_in_parallel():
    # given: 6 processes, each asking for 5,000 IDs of the same shard at the same time (more than
    # the 4,096 one millisecond holds)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connections.close_all()
    workers = [context.Process(target=_generate, args=(queue, 5000)) for _ in range(6)]
    # when
    for worker in workers:
        worker.start()
    batches = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    # then
    everything = [i for batch in batches for i in batch]
    assert len(everything) == 30_000
    assert len(set(everything)) == 30_000
    assert all(batch == sorted(batch) for batch in batches)


def _synchronous_commit(using: str) -> str:
    with connections[using].cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(databases=["db0"], transaction=True)
def test_ids_made_in_autocommit_commit_locally_and_only_that_statement_does():
    # given: the connection in autocommit, as where IDs are made before the transaction that uses them
    before = _synchronous_commit("db0")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # when
    with connections["db0"].execute_wrapper(record):
        made = ids.new_ids(shard=2, count=3, using="db0")
    # then: the advance's own transaction commits without the standby; the session keeps its setting
    assert len(made) == 3 and statements == [ids.NEXT_IDS_LOCAL_COMMIT_SQL]
    assert before == _synchronous_commit("db0") == "on"


@pytest.mark.django_db(databases=["db0"], transaction=True)
def test_ids_made_inside_a_transaction_leave_its_commit_synchronous():
    from django.db import transaction

    # when: a caller that already opened a transaction makes IDs in it
    with transaction.atomic(using="db0"):
        ids.new_ids(shard=2, count=1, using="db0")
        inside = _synchronous_commit("db0")
    # then: that transaction's rows still commit only once the standby has them
    assert inside == "on"
