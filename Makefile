# make demo: set up .venv from pyproject.toml and run the main job. make test: set up and run every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing sputter-twin with its dependencies (1-2 minutes on a fresh machine)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[test,bench]'
	@$(BIN)/python -c "import sputter_twin, twin, campaigns, dashboards" && echo "==> installed into $(VENV)"
	touch $(STAMP)

demo: $(STAMP)
	@echo "==> running the demo: the twin against Haruta et al. 2015, then a 30-run campaign (about a minute)"
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Two workers (pytest-xdist), each taking whole test files: a file's module fixtures are built once. TEST_WORKERS=0
# runs everything in this process.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/twin_speed.py
	$(BIN)/python benchmarks/proposal_latency.py
	$(BIN)/python benchmarks/whatif_speed.py

clean:
	rm -rf $(VENV) out test-output
