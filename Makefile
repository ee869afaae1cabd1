# The two commands a newcomer needs:
#   make demo   set up (venv + install) and rehearse the shipped PeMento program in a sandbox
#   make test   set up and run the whole test suite with the linters (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint dovecot systemd-tools bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mentormail demo

lint: $(STAMP)
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy --strict daemon
	$(BIN)/lint-imports --no-cache

test: lint dovecot systemd-tools
	$(BIN)/pytest -n 2

# the IMAP tests start a private Dovecot from its own config; install it when missing
dovecot:
	@if [ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing dovecot-imapd for the IMAP tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	else \
		echo "dovecot is missing: install dovecot-imapd (e.g. sudo apt-get install dovecot-imapd) or the IMAP tests are skipped"; \
	fi

# tests/test_deploy.py checks the unit files in deploy/ with systemd-analyze
systemd-tools:
	@if command -v systemd-analyze >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing systemd (for systemd-analyze) to check the unit files"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; \
	else \
		echo "systemd-analyze is missing: install systemd or the unit-file check is skipped"; \
	fi

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "mailmerge==2.3.0"  # the send baseline only
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/send.py
	$(MAKE) dovecot
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
