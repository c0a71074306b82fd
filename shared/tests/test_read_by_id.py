import pytest

from shared.db import ids, replicas
from shared.events.models import DeadLetter

pytestmark = pytest.mark.django_db(databases="__all__")


def _id(shard: int, sequence: int = 1) -> int:
    return ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 1000, shard=shard, sequence=sequence)


@pytest.fixture
def letter():
    # a row with an ID of logical shard 12, on the server that holds it (db1 in the even map)
    return DeadLetter.objects.using("db1").create(id=_id(12), envelope={}, error="boom", attempts=2)


def test_a_row_is_read_by_its_id_from_a_model_a_manager_or_a_queryset(letter):
    assert replicas.read_by_id(DeadLetter, letter.id) == letter
    assert replicas.read_by_id(DeadLetter.objects, letter.id) == letter
    assert replicas.read_by_id(DeadLetter.objects.filter(attempts=2), letter.id) == letter


def test_a_row_the_queryset_leaves_out_is_none(letter):
    assert replicas.read_by_id(DeadLetter.objects.filter(attempts=0), letter.id) is None


def test_a_missing_row_is_none(letter):
    assert replicas.read_by_id(DeadLetter, _id(12, sequence=2)) is None
    assert replicas.read_by_id(DeadLetter, _id(3)) is None


def test_an_id_of_an_unknown_shard_is_none():
    assert replicas.read_by_id(DeadLetter, _id(500)) is None


def test_a_callable_gets_the_alias_of_the_server_holding_the_id(letter):
    found = replicas.read_by_id(lambda alias: DeadLetter.objects.using(alias).filter(error="boom").first(), letter.id)
    assert found == letter and found._state.db == "db1"
