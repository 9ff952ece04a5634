# Two commands matter: `make lab` (the main job) and `make test` (the whole suite).
# Every target builds .venv itself on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lab test test-unit test-ui demo bench catalogs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv 2>&1 | grep -v "is ignored" || true
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test,lab,ui]' \
	  || $(BIN)/python -m pip install -q -e '.[test,lab,ui]'
	touch $(STAMP)

install: $(STAMP)

# jupyter refuses root without --allow-root; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 $(ALLOW_ROOT) \
	  --ServerApp.root_dir=notebooks --LabApp.news_url=None

test: test-unit test-ui

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q

# A real browser on a real JupyterLab: a separate run (sync Playwright and anyio clash in one process).
test-ui: $(STAMP)
	$(BIN)/python -m pytest -q -o addopts="" -p no:cacheprovider tests_ui

demo: $(STAMP)
	$(BIN)/jivo-ops demo

# The recorder benchmark drives load with wrk (httpx as a load generator measures httpx).
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) \
	  || echo "make bench: install wrk (apt-get install wrk) for the recorder benchmark"
	$(BIN)/python benchmarks/run_all.py

# After marking messages with _() or editing a .po: extract, update both languages, compile (jivo_ops/i18n.py).
catalogs: $(STAMP)
	$(BIN)/python tools/catalogs.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
