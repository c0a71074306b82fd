"""Keyset pagination over both shard servers of test-db, on a real table (dead letters, which every
server has), with IDs that carry their shard: pages neither repeat nor skip a row, and rows written
between two page requests change neither."""

import itertools
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import signing
from django.db import connections

from shared.db import ids, keyset, shards
from shared.db.counts import Count, count_rows, planner_rows
from shared.db.scatter import scatter_count, scatter_keyset
from shared.events.models import DeadLetter

pytestmark = pytest.mark.django_db(databases="__all__")
ORDERINGS = {
    "id": ("id",),
    "-id": ("-id",),
    "type": ("event_type", "id"),
    "-type": ("-event_type", "-id"),
    "-attempts": ("-attempts", "-id"),
}
LETTERS = keyset.Keyset(name="letters", model=DeadLetter, orderings=ORDERINGS)
# text that sorts differently by code point than by a language's rules (the servers use the C collation)
TYPES = ["apple", "Apple", "banana", "Zebra", "éclair", "eclair", "a b", "a-b", "ab", ""]
_sequence = itertools.count(1)


def _letter(shard: int, rng: random.Random) -> DeadLetter:
    object_id = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 1000, shard=shard, sequence=next(_sequence))
    return DeadLetter(id=object_id, event_type=rng.choice(TYPES), attempts=rng.randint(0, 3), envelope={}, error="x")


def _store(letters: list[DeadLetter]) -> None:
    for letter in letters:
        letter.save(using=shards.primary_for_id(letter.id), force_insert=True)


@pytest.fixture
def letters() -> list[DeadLetter]:
    """60 rows spread over every logical shard (so over both servers), with many equal sort values."""
    rng = random.Random(16)
    made = [_letter(shard, rng) for shard in range(16) for _ in range(4)][:60]
    _store(made)
    return made


def _query(alias: str):
    return DeadLetter.objects.using(alias).all()


def _walk(order, page_size, between_pages=lambda page: None, keys_first=False) -> list[list[DeadLetter]]:
    pages, after = [], None
    while True:
        page = scatter_keyset(query=_query, order=order, after=after, page_size=page_size, keys_first=keys_first)
        pages.append(page.items)
        if not page.has_next:
            return pages
        between_pages(page)
        after = keyset.position(page.items[-1], order)


def _sorted(letters, order) -> list[int]:
    names, descending = keyset.directions(order)
    return [row.id for row in sorted(letters, key=lambda r: tuple(getattr(r, n) for n in names), reverse=descending)]


@pytest.mark.parametrize("keys_first", [False, True], ids=["rows", "keys-first"])
@pytest.mark.parametrize("name", list(ORDERINGS))
@pytest.mark.parametrize("page_size", [1, 7, 60, 100])
def test_pages_cover_every_row_once_in_the_global_order(letters, name, page_size, keys_first):
    # when
    pages = _walk(ORDERINGS[name], page_size, keys_first=keys_first)
    # then: every page is full but the last, and together they are the rows in order, each once
    walked = [row.id for page in pages for row in page]
    assert walked == _sorted(letters, ORDERINGS[name])
    assert all(len(page) == page_size for page in pages[:-1]) and 0 < len(pages[-1]) <= page_size


def test_the_servers_order_text_as_the_merge_does():
    # the merge compares text in Python (by code point): the C collation, as on the shard servers
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            assert cursor.fetchone()[0] in ("C", "POSIX")


@pytest.mark.parametrize("keys_first", [False, True], ids=["rows", "keys-first"])
def test_rows_written_between_pages_neither_repeat_nor_hide_the_rows_that_were_there(letters, keys_first):
    # given
    order = ORDERINGS["type"]
    rng = random.Random(7)
    inserted_behind: list[int] = []  # rows inserted at a position the walk has passed

    def write_between_pages(page):
        # a row just behind the last one sent (the same type, an older ID), and rows of any type on both servers
        last = page.items[-1]
        behind = _letter(ids.shard_of(last.id), rng)
        behind.id = ids.compose(
            timestamp_ms=ids.ID_EPOCH_MS + 999, shard=ids.shard_of(last.id), sequence=next(_sequence)
        )
        behind.event_type = last.event_type
        _store([behind, _letter(3, rng), _letter(12, rng)])
        inserted_behind.append(behind.id)

    # when
    pages = _walk(order, 9, write_between_pages, keys_first=keys_first)
    # then: each original row once, in order; nothing inserted behind the walk's position shows up
    walked = [row for page in pages for row in page]
    walked_ids = [row.id for row in walked]
    assert len(walked_ids) == len(set(walked_ids))
    assert {row.id for row in letters} <= set(walked_ids)
    assert inserted_behind and not set(inserted_behind) & set(walked_ids)
    keys = [(row.event_type, row.id) for row in walked]
    assert keys == sorted(keys)


def test_a_row_deleted_between_pages_does_not_shift_the_next_page(letters):
    # given: the first page, then the last row it sent is deleted
    order = ORDERINGS["-attempts"]
    first = scatter_keyset(query=_query, order=order, after=None, page_size=10)
    last = first.items[-1]
    DeadLetter.objects.using(shards.primary_for_id(last.id)).filter(id=last.id).delete()
    # when
    second = scatter_keyset(query=_query, order=order, after=keyset.position(last, order), page_size=10)
    # then: it starts right after the deleted row
    assert [row.id for row in second.items] == _sorted(letters, order)[10:20]


def test_seek_is_one_row_comparison():
    sql = str(keyset.seek(DeadLetter.objects.using("db0"), ("-event_type", "-id"), ("x", 5)).query)
    assert 'ROW("events_deadletter"."event_type", "events_deadletter"."id") < (ROW(' in sql
    assert sql.endswith('ORDER BY "events_deadletter"."event_type" DESC, "events_deadletter"."id" DESC')


def test_a_cursor_holds_its_ordering_and_position():
    # given
    row = DeadLetter(id=ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 9, shard=3, sequence=7), event_type="é x")
    # when
    cursor = LETTERS.decode(LETTERS.cursor("-type", row))
    # then
    assert cursor == keyset.Cursor(ordering="-type", after=("é x", row.id))


def test_values_keep_their_type_through_a_cursor():
    # given: a list ordered by a datetime
    by_time = keyset.Keyset(name="t", model=DeadLetter, orderings={"c": ("created_at", "id")})
    row = DeadLetter(id=5, created_at=datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC))
    # when / then
    assert by_time.decode(by_time.cursor("c", row)).after == (row.created_at, 5)
    assert keyset._plain(Decimal("1.50")) == "1.50"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature changed
        lambda token: ("e" if token[0] != "e" else "f") + token[1:],  # payload changed
        lambda token: token.split(":")[0],  # signature removed
        lambda token: "not a cursor",
        lambda token: "",
        lambda token: "é" * 40,
        lambda token: keyset.Keyset(name="other", model=DeadLetter, orderings=ORDERINGS).cursor("id", DeadLetter(id=1)),
    ],
)
def test_a_cursor_it_did_not_make_is_refused(tamper):
    token = LETTERS.cursor("type", DeadLetter(id=42, event_type="a"))
    with pytest.raises(keyset.InvalidCursor):
        LETTERS.decode(tamper(token))


@pytest.mark.parametrize(
    "payload",
    [{"o": "nope", "k": [1]}, {"o": "id", "k": [1, 2]}, {"o": "id", "k": ["x"]}, {"o": "id", "k": [None]}, [1], "x"],
)
def test_a_signed_cursor_that_is_not_a_position_of_the_list_is_refused(payload):
    with pytest.raises(keyset.InvalidCursor):
        LETTERS.decode(signing.dumps(payload, salt="shared.db.keyset:letters"))


def test_orderings_must_be_total_and_one_direction():
    with pytest.raises(ValueError):
        keyset.Keyset(name="x", model=DeadLetter, orderings={"type": ("event_type",)})
    with pytest.raises(ValueError):
        keyset.Keyset(name="x", model=DeadLetter, orderings={"type": ("event_type", "-id")})


def test_counts_are_exact_when_small_and_estimated_when_large(letters):
    # given: fresh statistics
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("ANALYZE events_deadletter")
    # when
    exact = scatter_count(query=_query)
    small_bound = scatter_count(query=_query, exact_up_to=5)
    # then
    assert exact == Count(60, is_estimate=False)
    assert small_bound.is_estimate and small_bound.value > 10
    assert count_rows(DeadLetter.objects.using("db0").filter(event_type="no such type")) == Count(0, False)
    assert planner_rows(DeadLetter.objects.using("db0").all()) > 0
