from shared.db import replicas, scatter


class FakeRow:
    def __init__(self, id, price):
        self.id, self.price = id, price


class FakeQuerySet:
    def __init__(self, rows):
        self.rows = rows

    def order_by(self, *fields):
        reverse = fields[0].startswith("-")
        names = [f.lstrip("-") for f in fields]
        return FakeQuerySet(sorted(self.rows, key=lambda r: tuple(getattr(r, n) for n in names), reverse=reverse))

    def __getitem__(self, item):
        return self.rows[item]

    def values_list(self, *names):
        return [tuple(getattr(row, name) for name in names) for row in self.rows]

    def filter(self, id__in):
        return FakeQuerySet([row for row in self.rows if row.id in id__in])

    def count(self):
        return len(self.rows)


def test_pages_of_a_merged_order_neither_repeat_nor_skip(monkeypatch):
    # given: rows spread over two servers, with equal prices across them
    data = {
        "db0": [FakeRow(i, price=i % 7) for i in range(0, 60, 2)],
        "db1": [FakeRow(i, price=i % 7) for i in range(1, 60, 2)],
    }
    monkeypatch.setattr(replicas, "run_read", lambda primary, read: read(primary))
    monkeypatch.setattr(scatter, "on_shards", lambda queryset, field, owned: queryset)

    def query(alias):
        return FakeQuerySet(data[alias])

    # when
    pages = [scatter.scatter_gather(query=query, order=("price", "id"), page=n, page_size=7) for n in range(1, 10)]
    # then
    merged = [(row.price, row.id) for page in pages for row in page.items]
    assert merged == sorted((r.price, r.id) for rows in data.values() for r in rows)
    assert len(merged) == 60 and pages[-2].has_next and not pages[-1].has_next


def test_descending_order(monkeypatch):
    data = {"db0": [FakeRow(i, 0) for i in (1, 4, 5)], "db1": [FakeRow(i, 0) for i in (2, 3, 6)]}
    monkeypatch.setattr(replicas, "run_read", lambda primary, read: read(primary))
    monkeypatch.setattr(scatter, "on_shards", lambda queryset, field, owned: queryset)
    page = scatter.scatter_gather(query=lambda a: FakeQuerySet(data[a]), order=("-id",), page=1, page_size=4)
    assert [row.id for row in page.items] == [6, 5, 4, 3]
