from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType

from shared.db import shards
from shared.db.models import ShardAssignment
from shared.db.routers import ShardRouter, UnroutedQuery, is_sharded
from shared.events.models import DeadLetter, OutboxEvent


def _instance(db):
    return SimpleNamespace(_state=SimpleNamespace(db=db))


def test_models_of_home_apps_are_not_sharded_and_every_other_model_is():
    assert not is_sharded(ContentType)
    assert not is_sharded(ShardAssignment)
    assert is_sharded(OutboxEvent)


def test_a_sharded_model_without_an_alias_is_refused():
    # when / then
    with pytest.raises(UnroutedQuery, match=r"OutboxEvent\.objects needs \.using\(alias\)"):
        ShardRouter().db_for_read(OutboxEvent)
    with pytest.raises(UnroutedQuery):
        ShardRouter().db_for_write(OutboxEvent, instance=_instance(None))


def test_a_query_from_a_routed_instance_follows_its_database():
    assert ShardRouter().db_for_read(OutboxEvent, instance=_instance("db1_replica")) == "db1_replica"
    assert ShardRouter().db_for_write(OutboxEvent, instance=_instance("db1")) == "db1"


def test_unsharded_models_go_to_the_home_server():
    assert ShardRouter().db_for_read(ContentType) == shards.home_primary()
    assert ShardRouter().db_for_write(ShardAssignment) == shards.home_primary()


@pytest.mark.django_db(databases="__all__")
def test_an_unrouted_queryset_raises_when_it_is_evaluated():
    # given
    queryset = DeadLetter.objects.filter(event_type="x")
    # when / then
    with pytest.raises(UnroutedQuery, match="DeadLetter"):
        list(queryset)
    assert list(queryset.using("db1")) == []


@pytest.mark.django_db(databases="__all__")
def test_a_row_read_with_an_alias_is_saved_and_refreshed_on_its_server():
    # given: a row on the second server
    DeadLetter.objects.using("db1").create(envelope={}, error="boom")
    letter = DeadLetter.objects.using("db1").get(error="boom")
    # when: saved and refreshed with no alias
    letter.attempts = 3
    letter.save()
    letter.refresh_from_db()
    # then
    assert letter.attempts == 3
    assert DeadLetter.objects.using("db1").get(id=letter.id).attempts == 3
    assert not DeadLetter.objects.using("db0").filter(error="boom").exists()
