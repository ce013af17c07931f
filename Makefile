# EstateDesk local development. On a fresh Debian 12 machine, as root:
#   make run    set everything up and start it (Ctrl-C stops)
#   make test   set everything up and run all tests
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help run start stop test bootstrap clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  (DATABASE_URL=postgres-local make run  -> use a private PostgreSQL instead of SQLite)"

run: ## bootstrap, start everything in the foreground (Ctrl-C to stop)
	@scripts/run.sh

start: ## like run, but in the background (stop with `make stop`)
	@ESTATEDESK_DETACH=1 scripts/run.sh

stop: ## stop everything started by run/start
	@scripts/stop.sh

test: ## bootstrap and run all test phases (ARGS=... passed to pytest)
	@scripts/test.sh $(ARGS)

bootstrap: ## install system packages, .venv and python packages
	@scripts/bootstrap.sh

clean: stop ## stop (run and test instances), then delete var/ (all local data)
	@ESTATEDESK_VAR=$(CURDIR)/var/test RABBIT_PORT=5673 RABBIT_MGMT_PORT=15673 PG_PORT=54330 scripts/stop.sh
	rm -rf var
