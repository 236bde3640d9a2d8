# The two commands: `make demo` and `make test`. Both do all the set-up themselves.
# `make test` also installs the Debian packages the tests need (scripts/system_deps.py:
# chromium, a CJK font, mosquitto, the PostgreSQL server), as root or through sudo -n;
# `make demo` needs none of them and never asks for root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := .demo

.PHONY: demo test lint system-deps format bench bench-ivr bench-sms clean vendor-voice-sdk

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/guahao demo --dir $(DEMO_DIR) --serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

system-deps:
	$(PYTHON) scripts/system_deps.py

# Four workers on two cores: most tests wait on a store, a process or a browser rather than
# compute; a module stays in one worker (--dist loadscope), so its engine starts once.
TEST_WORKERS ?= 4

test: system-deps lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python scripts/bench/booking.py

bench-ivr: $(STAMP)
	$(BIN)/python scripts/bench/ivr.py

bench-sms: $(STAMP)
	$(BIN)/python scripts/bench/sms.py

# Twilio's Voice JavaScript SDK for the agents' softphone, at the version and integrity
# pinned in scripts/vendor_voice_sdk.py, copied into the console's static files. The copy is
# committed (no CDN, works offline); this re-creates it byte for byte from the npm registry.
vendor-voice-sdk:
	$(PYTHON) scripts/vendor_voice_sdk.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
