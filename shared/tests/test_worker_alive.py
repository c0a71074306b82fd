"""The worker's health file: fresh while its consumer runs, gone when the consumer stops (a lost broker
connection stops it), so that compose's and Kubernetes' `find /tmp/worker-alive -mmin -1` fails."""

from shared.celery import ALIVE_EVERY_SECONDS, AliveFile


class FakeTimer:
    def __init__(self):
        self.calls = []
        self.cancelled = False

    def call_repeatedly(self, seconds, function):
        self.calls.append((seconds, function))
        return self

    def cancel(self):
        self.cancelled = True


class FakeConsumer:
    def __init__(self):
        self.timer = FakeTimer()


def test_the_file_is_touched_from_the_event_loop_while_the_consumer_runs(tmp_path, monkeypatch):
    # given
    path = tmp_path / "worker-alive"
    monkeypatch.setenv("WORKER_ALIVE_FILE", str(path))
    consumer = FakeConsumer()
    step = AliveFile(consumer)
    # when: the consumer starts (connected to the broker)
    step.start(consumer)
    # then: the file is there, and the event loop's timer touches it again and again
    assert path.exists()
    [(seconds, touch)] = consumer.timer.calls
    assert seconds == ALIVE_EVERY_SECONDS < 60  # fresher than the health check's one minute
    path.unlink()
    touch()
    assert path.exists()
    # when: the consumer stops (shutdown, or the broker connection lost)
    step.stop(consumer)
    # then
    assert not path.exists() and consumer.timer.cancelled


def test_every_service_worker_runs_the_step():
    from shared.celery import make_celery_app

    app = make_celery_app("product")
    assert AliveFile in app.steps["consumer"]
