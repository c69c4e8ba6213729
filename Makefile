# Two commands for a new user: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OPSDESK_PORT ?= 8000
export OPSDESK_PORT

.PHONY: demo test fuzz lint bench install install-test browser serve migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# --no-compile: byte-compiling every installed library took about 40 of 90 s; Python compiles the
# modules a command imports on first use instead.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --no-compile -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q --no-compile -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

# Debian's chromium drives the page tests; Playwright never downloads a browser of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

migrate: install
	$(BIN)/opsdesk migrate

demo: install
	$(BIN)/opsdesk migrate
	$(BIN)/opsdesk demo --if-empty
	$(BIN)/opsdesk serve --host 127.0.0.1 --port $(OPSDESK_PORT)

serve: install
	$(BIN)/opsdesk serve --host 127.0.0.1 --port $(OPSDESK_PORT)

# Two test processes (one per core of a CI machine), whole files to each; each has its own PostgreSQL
# database (tests/conftest.py). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: install-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Schemathesis over the whole API with many more examples than `make test` runs (FUZZ_EXAMPLES each).
FUZZ_EXAMPLES ?= 100
fuzz: install-test
	OPSDESK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/web/test_api_fuzz.py $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install-test
	$(BIN)/pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
