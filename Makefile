# youshu (邮数) developer tasks. `make test` is what CI runs (.ci/run); `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
# Re-install only when the locked set or the project metadata changes.
STAMP := $(VENV)/.youshu-installed

JAVA_HINT := install a JRE 17, e.g. sudo apt-get install -y openjdk-17-jre-headless (CI: .ci/run does it)

.PHONY: help venv lint test check-java demo bench clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv with the locked dependencies and youshu (editable)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(UV) pip sync -p $(PY) requirements.lock
	$(UV) pip install -p $(PY) --no-deps -e .
	touch $@

lint: venv ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

check-java: ## fail with install instructions when Java (needed by the Spark suite) is missing
	@if [ -n "$${JAVA_HOME:-}" ]; then \
	  [ -x "$$JAVA_HOME/bin/java" ] || { echo "JAVA_HOME=$$JAVA_HOME has no bin/java: $(JAVA_HINT)" >&2; exit 1; }; \
	else \
	  command -v java >/dev/null || { echo "make test runs the Spark suite, which needs Java: $(JAVA_HINT)" >&2; exit 1; }; \
	fi

test: check-java lint ## lint, then the whole test suite on DuckDB and Spark
	$(VENV)/bin/pytest

demo: venv ## generate the demo province and run the whole pipeline on it
	$(VENV)/bin/youshu demo

bench: venv ## run every benchmarks/bench_*.py (minutes; not part of test)
	@shopt -s nullglob; benches=(benchmarks/bench_*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks/bench_*.py yet"; exit 0; fi; \
	for bench in "$${benches[@]}"; do \
	  module="benchmarks.$$(basename "$$bench" .py)"; \
	  echo "== $$module"; \
	  $(PY) -m "$$module"; \
	done

clean: ## remove caches and build leftovers (keeps .venv, data/, runs/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist spark-warehouse metastore_db derby.log
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
	  | xargs -0 rm -rf

distclean: clean ## also remove .venv
	rm -rf $(VENV)
