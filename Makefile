# The README's two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml contrib/*/pyproject.toml | cksum | cut -d' ' -f1)
DEMO   ?= .demo/hello

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml contrib/mega-duckdb/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev,examples]'
	# a third-party dialect, installed as its users would: proves pip + entry points end to end
	$(BIN)/python -m pip install --quiet -e contrib/mega-duckdb
	@rm -f $(VENV)/.installed-*
	@touch $@

## demo: create a throw-away project with `mega new` and boot it on the embedded defaults
demo: venv
	rm -rf $(DEMO)
	$(BIN)/mega new $(DEMO)
	cd $(DEMO) && ../../$(BIN)/mega plugins
	cd $(DEMO) && ../../$(BIN)/mega g service greeting
	cd $(DEMO) && ../../$(BIN)/mega run --once
	cd $(DEMO) && ../../$(BIN)/python -m pytest -q
	@echo "demo project in $(DEMO): cd $(DEMO) && ../../$(BIN)/mega serve   (http://127.0.0.1:8000)"

## test: install everything (.[all,dev]), lint and type-check, run the whole suite
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy cannot follow setuptools' editable import hook for the kernel/ -> mega remap, so it
# type-checks the kernel through a symlink named after the package.
lint: venv
	$(BIN)/ruff check kernel plugins tests bench contrib
	$(BIN)/ruff format --check kernel plugins tests bench contrib
	@mkdir -p build/typecheck && ln -sfn ../../kernel build/typecheck/mega
	MYPYPATH=build/typecheck $(BIN)/mypy -p mega

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[all,dev,bench]'
	@command -v wrk >/dev/null || echo "bench/http.py needs wrk: apt-get install wrk"
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) .demo build dist *.egg-info
