# The two commands: `make run` (the bot) and `make test` (the whole suite). Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench sandbox docker clean catalogues

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "coopbot needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed-run

$(VENV)/.installed-sandbox: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[sandbox]"
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/coopbot run

# One worker per core (pytest-xdist), each with its own databases; work-stealing evens out the slow tests.
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: every bot a test starts imports its cogs
# afresh, and every process test starts Python again.
TEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The bot in a simulated Discord, in your browser, without a token: `make sandbox SANDBOX_ARGS="--fresh"`.
sandbox: $(VENV)/.installed-sandbox
	$(BIN)/coopbot sandbox $(SANDBOX_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every benchmark: plain tables on stdout, JSON in bench/results/ (~6 min; BENCH_ARGS=--quick takes ~2).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

# The message catalogues (governance/locales, Babel's toolchain): extract every marked message and every
# command's strings into the templates, merge them into each language's catalogue (new messages arrive
# untranslated; `make test` says which), and compile them. README: Languages.
LOCALES_DIR := governance/locales
catalogues: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _ -k _n:1,2 -k N_ --no-default-keywords --sort-by-file \
		--no-location -w 110 --project coopbot -o $(LOCALES_DIR)/coopbot.pot governance cogs sandbox
	$(BIN)/python -m cogs._translator $(LOCALES_DIR)/commands.pot
	for domain in coopbot commands; do \
		$(BIN)/pybabel update -i $(LOCALES_DIR)/$$domain.pot -d $(LOCALES_DIR) -D $$domain -w 110 \
			--no-fuzzy-matching --ignore-obsolete || exit 1; \
	done
	for domain in coopbot commands; do \
		$(BIN)/pybabel compile -d $(LOCALES_DIR) -D $$domain --statistics || exit 1; \
	done

# No Docker engine runs on CI machines: CI checks the Dockerfile and compose file instead (tests/test_deployment.py).
docker:
	docker build -t coopbot .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
