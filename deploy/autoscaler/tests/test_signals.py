"""Signals (autoscaler/signals.py): queries get the service's labels, and a value per running replica."""

from autoscaler import signals


class FakePrometheus:
    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def value(self, query):
        self.asked.append(query)
        return self.answers.get(query)


class FakeUsage:
    def of(self, replicas):
        return {"cpu_percent": 50.0, "memory_percent": None}


def test_queries_get_the_services_labels_and_values_per_replica():
    prometheus = FakePrometheus({'sum(redis_key_size{key="product"})': 90.0})
    queries = {"queue_length": 'sum(redis_key_size{key="{queue}"})', "request_rate": 'rate(x{service="{service}"})'}
    # when
    found = signals.read(
        {"service": "product-worker", "queue": "product"}, queries, [{"Id": "a"}, {"Id": "b"}], prometheus, FakeUsage()
    )
    # then
    assert prometheus.asked == ['sum(redis_key_size{key="product"})', 'rate(x{service="product-worker"})']
    assert found["queue_length"] == 90.0 and found["queue_length_per_replica"] == 45.0
    assert found["request_rate"] is None and found["request_rate_per_replica"] is None
    assert found["cpu_percent"] == 50.0
