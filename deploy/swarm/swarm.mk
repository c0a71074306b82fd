# Docker Swarm (deploy/swarm): the same images, a stack rendered from the compose definitions.
# Included by the Makefile; the steps are in deploy/swarm/swarm.sh, the stack in deploy/swarm/render.py.
# The stack is named $(SWARM_STACK) (never the compose project's name: its volumes would be compose's).
export IMAGE_PREFIX ?= scaling-django
export SWARM_STACK ?= $(IMAGE_PREFIX)-swarm
export SWARM_DIR ?= .swarm
.PHONY: swarm-up swarm-down swarm-clean swarm-test

swarm-up: env images ## Docker Swarm: swarm init if needed, deploy the stack rendered from compose, wait, seed
	@bash deploy/swarm/swarm.sh up

swarm-down: ## remove the Swarm stack and its secrets (its volumes stay; `make swarm-clean` drops them)
	@bash deploy/swarm/swarm.sh down

swarm-clean: ## remove the Swarm stack with its volumes
	@bash deploy/swarm/swarm.sh down --volumes

# tests/test_swarm.py deploys the stack itself (swarm.sh up) and removes it, volumes too, at the end
swarm-test: venv env images ## the Swarm smoke test: converge, order saga, scale product to 3, rolling update under load
	@$(PY) -m pytest tests/test_swarm.py -v -s
