# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two workers (the machine has two cores); one file stays on one worker (module fixtures).
PYTEST_PARALLEL ?= -n 2 --dist loadfile
PROMPT ?= A red fox reading a book under a maple tree in autumn, watercolor style

.PHONY: install demo test lint typecheck unit integration bench bench-full serve emulator clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	@# Bytecode now, as a wheel install does: with PYTHONDONTWRITEBYTECODE set, an editable
	@# install would compile every module from source at each launch (~0.1 s of start-up).
	$(BIN)/python -m compileall -q creatok_graph
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/creatok-image --sandbox --prompt "$(PROMPT)"

lint: $(STAMP)
	$(BIN)/ruff check creatok_graph tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit_tests -q

integration: $(STAMP)
	$(BIN)/pytest tests/integration_tests -q $(PYTEST_PARALLEL)

test: lint typecheck
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

# `make bench` is the ~4 min run (--quick); `make bench-full` everything (~17 min, 1-60 s
# CLI tasks); `make bench BENCH="--scenarios startup"` one scenario (benchmarks/run.py -h).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(or $(BENCH),--quick)

bench-full: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

serve: $(STAMP)
	$(BIN)/langgraph dev --no-browser

emulator: $(STAMP)
	$(BIN)/creatok-emulator --port 8765

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache generate-image
