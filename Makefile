# The two commands a newcomer needs:
#   make demo   set up (venv + install) and run mentormail on the shipped PeMento example
#   make test   set up and run the whole test suite with the linters (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mentormail -c config.example.toml validate
	$(BIN)/mentormail -c config.example.toml plan

lint: $(STAMP)
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy --strict daemon

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "mailmerge==2.3.0"  # the send baseline only
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/send.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
