# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat test lint bench messages clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: install, create and seed the database, run the bot (local chat without a token)
run: $(STAMP)
	$(BIN)/resource-finder run

## chat: talk to the bot in this terminal
chat: $(STAMP)
	$(BIN)/resource-finder chat

## test: the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/ruff check bot knowledge jobs tests benchmarks migrations
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot knowledge jobs tests benchmarks migrations
	$(BIN)/ruff format --check bot knowledge jobs tests benchmarks migrations
	$(BIN)/mypy

## bench: speed and relevance figures (not tests)
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## messages: refresh the gettext template and the Spanish catalog after changing texts
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o bot/locales/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -D messages --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) data .pytest_cache
