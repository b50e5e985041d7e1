# Two commands do all set-up from a clean clone:
#   make demo   - build .venv, install, run the main job end to end on a simulated cohort
#   make test   - build .venv, install, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-core
DEMO_OUT ?= demo_out

.PHONY: help venv demo demo-bundle app test test-all bench pfirrmann train-seg clean

help:
	@echo "make demo      simulate a cohort, score PROMs, derive labels, validate, summarise"
	@echo "make app       the surgeon's calculator (Streamlit) on the embedded demonstration bundle"
	@echo "make demo-bundle  rebuild the calculator's embedded bundle (prom/data/demo_bundle, ~1 min)"
	@echo "make test      run the test suite (fast; slow tests: make test-all)"
	@echo "make bench     run benchmarks (see benchmarks/RESULTS.md)"
	@echo "make pfirrmann Pfirrmann grade from disc features on SPIDER (grouped CV)"
	@echo "make train-seg retrain the MRI segmentation backbone on SPIDER (CPU, ~40 min)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3" "setuptools==80.9.0" "wheel==0.45.1"

# Reinstall when the project's declared dependencies change.
# Extras the test suite exercises: imaging (SimpleITK, onnxruntime), boosting (XGBoost,
# LightGBM) and survival (lifelines); dask (distributed) for `prom score --engine dask`.
# torch is never installed here: it is training-only.
# pyradiomics cannot be a declared dependency (its sdist needs numpy at build time,
# which pip's isolated build lacks; see the imaging note in pyproject.toml), so it is
# installed after the extras, into the same .venv, without build isolation.
PYRADIOMICS := pyradiomics==3.0.1
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,imaging,boosting,survival,explain,app,dask]"
	$(BIN)/python -m pip install --quiet --no-build-isolation "$(PYRADIOMICS)"
	@touch $@

venv: $(STAMP)

# Headless Chromium for the calculator's browser test (tests/test_calculator_browser.py):
# Debian's chromium and chromium-driver, installed once with apt-get when missing. Where
# apt-get is unavailable (or not root) nothing is installed and that test skips, saying so.
BROWSER_STAMP := $(VENV)/.installed-browser
$(BROWSER_STAMP): | $(BIN)/python
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y --no-install-recommends chromium chromium-driver \
	      || echo "apt-get could not install chromium chromium-driver: the browser test will skip"; \
	  else \
	    echo "no apt-get (or not root): chromium not installed, the browser test will skip"; \
	  fi; \
	fi
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then touch $@; fi

demo: $(STAMP)
	$(BIN)/prom demo --out $(DEMO_OUT)

# The calculator's embedded demonstration bundle (simulated cohort; see prom/workflows/demo/bundle.py).
demo-bundle: $(STAMP)
	$(BIN)/python -m prom.workflows.demo.bundle

app: $(STAMP)
	$(BIN)/streamlit run apps/calculator.py --browser.gatherUsageStats false

test: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --record
	$(BIN)/python benchmarks/fit_comparison.py --record
	$(BIN)/python benchmarks/imaging_volume.py --data $(SPIDER_DATA) --dice --record
	$(BIN)/python benchmarks/calculator_latency.py --record
	$(BIN)/python benchmarks/score_bulk.py --record

# Pfirrmann grade from disc features on SPIDER (patient-grouped CV), expert masks and
# backbone segmentation, geometry + radiomics; writes CSV/JSON to $(PFIRRMANN_OUT).
PFIRRMANN_OUT ?= $(DEMO_OUT)/pfirrmann
pfirrmann: $(STAMP)
	$(BIN)/python -m radiomics_features.pfirrmann --data $(SPIDER_DATA) --masks truth --radiomics --out $(PFIRRMANN_OUT)
	$(BIN)/python -m radiomics_features.pfirrmann --data $(SPIDER_DATA) --masks backbone --radiomics --out $(PFIRRMANN_OUT)

# Retrain the bundled segmentation backbone (CPU; ~40 min training budget).
# torch is training-only and lives in its own venv, never in .venv.
TRAIN_VENV  := .venv-train
TRAIN_BIN   := $(TRAIN_VENV)/bin
TRAIN_STAMP := $(TRAIN_VENV)/.installed-train
SPIDER_DATA ?= ../shared/data/spider-t2-lumbar

$(TRAIN_STAMP):
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_BIN)/python -m pip install --quiet "torch==2.13.0" "onnx==1.23.2" "onnxruntime==1.32.0" "SimpleITK==2.5.7" "numpy==2.3.5" "scipy==1.17.1"
	@touch $@

train-seg: $(TRAIN_STAMP)
	nice -n 10 $(TRAIN_BIN)/python -m radiomics_features.train --data $(SPIDER_DATA) --out radiomics_features/backbone/

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .hypothesis
