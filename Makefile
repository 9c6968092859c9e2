# The README's two commands: `make run` (set up, build the sample index if missing, launch the app)
# and `make test` (set up, lint, run the tests). Both work on a fresh machine with no model hub.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: pip takes the CPU build from this machine's disk; a free choice pulls CUDA (GBs).
TORCH ?= torch==2.13.0

.PHONY: setup setup-dev run ingest-sample search-example test lint format bench evaluate clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e .
	touch $@

# the test setup includes the Milvus extra, so the backend tests run against embedded Milvus too
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev,milvus]"
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

run: setup
	$(BIN)/python app.py

ingest-sample: setup
	$(BIN)/python data/make_sample_pdfs.py
	$(BIN)/python -m ingest data/sample
	$(BIN)/python data/make_sample_judgments.py

search-example: ingest-sample
	$(BIN)/python -m search "How much battery storage did the grid operator add?"

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser tests drive the system's chromium (Playwright's own download needs the network): say
# so up front when there is none, since they then skip (.ci/run installs it with apt-get).
test: setup-dev
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$CHROMIUM_PATH" ] \
		|| echo "note: no chromium found: tests/test_browser.py will skip (sudo apt-get install chromium, or set CHROMIUM_PATH)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

bench: setup-dev
	$(BIN)/python -m bench.run

# NDCG@10 / Recall@100 / MRR@10 on the shared BEIR sets (beside this checkout), fusion tuned on dev/train
BEIR ?= ../shared/data/beir
evaluate: setup-dev
	$(BIN)/python -m search.evaluate $(foreach d,scifact nfcorpus cosqa aila2019-statutes,--beir $(BEIR)/$(d)) \
		--reranker none --tune-on dev,train

clean:
	rm -rf $(VENV) data/index .pytest_cache .ruff_cache
