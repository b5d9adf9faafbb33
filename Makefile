# The README's two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml contrib/*/pyproject.toml | cksum | cut -d' ' -f1)
DEMO_APP  ?= examples/crud
DEMO_PORT ?= 8000
MEGA_BIN  := $(abspath $(BIN))
# mongoeco (a MongoDB wire-protocol server in Python, for the mongo tests) needs Python >= 3.13:
# its own venv, beside .venv. Found on PATH or under pyenv; override with MONGOECO_PYTHON=...
MONGOECO_VENV   ?= .venv-mongoeco
# (pyenv's shim is skipped: it exists even where it refuses to run 3.13)
MONGOECO_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell for p in $$(which -a python3.13 2>/dev/null); do "$$p" -c "" 2>/dev/null && echo "$$p" && break; done))
MONGOECO_STAMP  := $(MONGOECO_VENV)/.installed-mongoeco-4

.PHONY: demo test lint bench venv mongoeco clean

venv: $(STAMP)

$(STAMP): pyproject.toml contrib/mega-duckdb/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev,examples]'
	# a third-party dialect, installed as its users would: proves pip + entry points end to end
	$(BIN)/python -m pip install --quiet -e contrib/mega-duckdb
	@rm -f $(VENV)/.installed-*
	@touch $@

## mongoeco: the MongoDB wire server the mongo tests start (tests/plugins/mongo/conftest.py).
## Without a Python 3.13 it says so and the mongo tests skip (or fail under MEGA_REQUIRE_SERVICES=1).
mongoeco: $(MONGOECO_STAMP)

$(MONGOECO_STAMP):
	@if [ -z "$(MONGOECO_PYTHON)" ]; then \
		echo "mongoeco needs Python >= 3.13 (none found; set MONGOECO_PYTHON=...): the mongo tests will skip"; \
	else \
		set -e; \
		test -x $(MONGOECO_VENV)/bin/python || $(MONGOECO_PYTHON) -m venv $(MONGOECO_VENV); \
		$(MONGOECO_VENV)/bin/python -m pip install --quiet --upgrade pip; \
		$(MONGOECO_VENV)/bin/python -m pip install --quiet 'mongoeco>=4.11,<5' 'pymongo>=4.13,<5'; \
		touch $@; \
	fi

## demo: set up examples/crud (migrations, a demo account) and serve it on 127.0.0.1:8000 with
## SQLite, the local bus and SQLite locks: no server needed. Ctrl-C stops it.
demo: venv
	@cd $(DEMO_APP) && test -f .env || $(MEGA_BIN)/python -c "import secrets; print('MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY=' + secrets.token_urlsafe(48))" > .env
	cd $(DEMO_APP) && $(MEGA_BIN)/mega migrate up
	cd $(DEMO_APP) && $(MEGA_BIN)/python scripts/seed.py --port $(DEMO_PORT)
	cd $(DEMO_APP) && $(MEGA_BIN)/mega serve --host 127.0.0.1 --port $(DEMO_PORT)

## test: install everything (.[all,dev], and mongoeco's own venv), lint and type-check, run the whole suite
## in PYTEST_WORKERS processes (a test file stays on one; PYTEST_WORKERS=0 runs them in this one)
PYTEST_WORKERS ?= 3
test: lint mongoeco
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# mypy cannot follow setuptools' editable import hook (kernel/ -> mega, plugins/ -> mega.plugins,
# scaffolds/ -> mega.scaffolds), so it checks them through a symlink farm laid out as the installed
# package: build/typecheck/mega/ holds a link to each kernel entry, plus plugins and scaffolds.
# Rebuilt on every run, so a new kernel module is never missed; mypy names files by their
# build/typecheck/mega/... path (kernel/... or plugins/... under the links).
lint: venv
	$(BIN)/ruff check kernel plugins tests bench contrib examples
	$(BIN)/ruff format --check kernel plugins tests bench contrib examples
	@rm -rf build/typecheck && mkdir -p build/typecheck/mega
	@for entry in kernel/* plugins scaffolds; do ln -s ../../../$$entry build/typecheck/mega/; done
	MYPYPATH=build/typecheck:contrib/mega-duckdb $(BIN)/mypy -p mega -p mega_duckdb
	cd examples/crud && MYPYPATH=../../build/typecheck $(abspath $(BIN))/mypy -p apps
	cd examples/crud && MYPYPATH=../../build/typecheck:. $(abspath $(BIN))/mypy scripts/seed.py

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[all,dev,bench]'
	@command -v wrk >/dev/null || echo "bench/http.py needs wrk: apt-get install wrk"
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) $(MONGOECO_VENV) build dist *.egg-info examples/crud/.mega/*.sqlite3 examples/crud/.mega/sessions examples/crud/.mega/outbox
