"""The cache holds JSON, never pickle: Django's RedisCache is given JSONSerializer, and the layered cache
refuses a value JSON cannot hold whether or not Redis answers."""

import pickle
from decimal import Decimal

import pytest
from django.core.cache import caches

from shared.cache import JSONSerializer, LayeredCache, UnserializableValue

_side_effects = []


class _Payload:
    """What an attacker who can write to Redis would store for a pickle-reading cache."""

    def __reduce__(self):
        return (_side_effects.append, ("code ran",))


@pytest.fixture
def layered(settings):
    settings.CACHE_RETRY_SECONDS = 5
    cache = LayeredCache()
    cache._ensure_listener = lambda: None  # no invalidation channel without Redis
    return cache


def test_django_cache_uses_the_json_serializer():
    assert isinstance(caches["default"]._cache._serializer, JSONSerializer)


@pytest.mark.parametrize("value", [{"id": "1", "price": "9.90", "tags": ["a"], "ok": True}, "12", 1.5, None, [1]])
def test_values_go_through_json_and_come_back_equal(value):
    serializer = JSONSerializer()
    data = serializer.dumps(value)
    assert isinstance(data, str)
    assert serializer.loads(data.encode()) == value


def test_integers_stay_raw_so_incr_works():
    serializer = JSONSerializer()
    assert serializer.dumps(41) == 41
    assert serializer.loads(b"42") == 42


def test_a_pickle_in_redis_is_never_unpickled():
    with pytest.raises(ValueError):
        JSONSerializer().loads(pickle.dumps(_Payload()))
    assert _side_effects == []


def test_a_value_json_cannot_hold_is_an_error_not_a_silent_pickle():
    with pytest.raises(UnserializableValue):
        JSONSerializer().dumps({"price": Decimal("9.90")})


def test_the_layered_cache_refuses_what_json_cannot_hold_even_without_redis(layered):
    with pytest.raises(UnserializableValue):
        layered.get_or_compute("p:decimal", lambda: {"price": Decimal("1.00")}, ttl=60)


def test_the_layered_cache_returns_the_json_shape_from_every_layer(layered):
    first = layered.get_or_compute("p:shape", lambda: {"ids": (1, 2)}, ttl=60)
    again = layered.get_or_compute("p:shape", lambda: {"ids": (3, 4)}, ttl=60)  # from L1
    assert first == again == {"ids": [1, 2]}
