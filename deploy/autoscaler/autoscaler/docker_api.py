"""The few Docker Engine API calls the autoscaler makes, over the Unix socket (no client library needed).

A compose service's replicas are the running containers labelled with its project and service. A new
replica is a copy of an existing one, made the way compose makes one: the same image, configuration and
host configuration, the next `container-number`, the name `<project>-<service>-<n>` and, on each of
its networks, the aliases compose gives (its name and the service name, so Docker's DNS answers for it
under the service's name). A replica is removed by a graceful stop (SIGTERM: gunicorn and Celery finish
what they hold) and then removal. A stateful container (a named volume mounted read-write) is never
touched.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote, urlencode

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"


class DockerError(RuntimeError):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class Docker:
    def __init__(self, socket_path: str = "/var/run/docker.sock", timeout: float = 30.0):
        self.socket_path, self.timeout = socket_path, timeout

    def _call(self, method: str, path: str, body: dict | None = None, ok=(200, 201, 204, 304)):
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status not in ok:
            raise DockerError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def replicas(self, project: str, service: str, *, stopped_too: bool = False) -> list[dict]:
        """The service's running containers (not one-off `compose run`s), by container number."""
        filters = json.dumps({"label": [f"{PROJECT}={project}", f"{SERVICE}={service}", f"{ONEOFF}=False"]})
        query = {"filters": filters, **({"all": "true"} if stopped_too else {})}
        found = self._call("GET", "/containers/json?" + urlencode(query))
        return sorted(found, key=lambda c: int(c["Labels"].get(NUMBER, "0")))

    def inspect(self, container_id: str) -> dict:
        return self._call("GET", f"/containers/{quote(container_id)}/json")

    def own_project(self) -> str:
        """The compose project of the container this runs in (its hostname is its container ID)."""
        return self.inspect(socket.gethostname())["Config"]["Labels"][PROJECT]

    def cpu_and_memory(self, container_id: str) -> tuple[float, float, float]:
        """CPU nanoseconds used so far, memory in use and the memory limit, in bytes."""
        stats = self._call("GET", f"/containers/{quote(container_id)}/stats?stream=false&one-shot=true")
        memory = stats.get("memory_stats", {})
        usage = memory.get("usage", 0) - memory.get("stats", {}).get("cache", 0)
        return float(stats["cpu_stats"]["cpu_usage"]["total_usage"]), float(usage), float(memory.get("limit", 0))

    @staticmethod
    def is_stateful(container: dict) -> bool:
        """A named volume mounted read-write holds its data (a read-only one, e.g. the JWT public key, does not)."""
        return any(mount.get("Type") == "volume" and mount.get("RW") for mount in container.get("Mounts", []))

    def add_replica(self, project: str, service: str) -> str:
        """Start one more replica of `service`, a copy of its first; returns the new container's name."""
        existing = self.replicas(project, service)
        if not existing:
            raise DockerError(f"{service}: no running replica to copy")
        template = self.inspect(existing[0]["Id"])
        if self.is_stateful(template):
            raise DockerError(f"{service}: a named volume is mounted read-write; stateful services are not scaled")
        number = max(int(c["Labels"].get(NUMBER, "0")) for c in self.replicas(project, service, stopped_too=True)) + 1
        name = f"{project}-{service}-{number}"
        config = {**template["Config"], "Image": template["Image"]}  # the very image the others run
        for key in ("Hostname", "Domainname"):
            config.pop(key, None)
        config["Labels"] = {**config["Labels"], NUMBER: str(number)}
        networks = template["NetworkSettings"]["Networks"]
        first, *others = sorted(networks)
        config["HostConfig"] = {**template["HostConfig"], "NetworkMode": first}
        config["NetworkingConfig"] = {"EndpointsConfig": {first: {"Aliases": [name, service]}}}
        created = self._call("POST", "/containers/create?" + urlencode({"name": name}), config)
        for network in others:
            self._call(
                "POST",
                f"/networks/{quote(network)}/connect",
                {
                    "Container": created["Id"],
                    "EndpointConfig": {"Aliases": [name, service]},
                },
            )
        self._call("POST", f"/containers/{created['Id']}/start")
        return name

    def remove_replica(self, project: str, service: str, stop_seconds: int = 25) -> str:
        """Stop gracefully and remove the replica with the highest number; returns its name."""
        existing = self.replicas(project, service)
        if len(existing) < 2:
            raise DockerError(f"{service}: the last replica is never removed")
        last = existing[-1]
        if self.is_stateful(last):
            raise DockerError(f"{service}: a named volume is mounted read-write; stateful services are not scaled")
        self._call("POST", f"/containers/{last['Id']}/stop?t={stop_seconds}")
        self._call("DELETE", f"/containers/{last['Id']}")
        return last["Names"][0].lstrip("/")
