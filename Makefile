# Two commands do all set-up from a clean clone:
#   make demo   - build .venv, install, run the main job end to end on a simulated cohort
#   make test   - build .venv, install, run the lint gate and the test suite
# Every install takes its exact versions from the constraints file (pip install -c): the
# package declares lower bounds (pyproject.toml), the constraints file the versions the
# tests run with. `make constraints` regenerates it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-core
DOCS_STAMP := $(VENV)/.installed-docs
CONSTRAINTS := requirements/constraints.txt
PIP_INSTALL = $(1)/python -m pip install --quiet -c $(CONSTRAINTS)
DEMO_OUT ?= demo_out

# Extras .venv gets: what the test suite exercises (imaging: SimpleITK, onnxruntime;
# boosting: XGBoost, LightGBM; survival: lifelines; explain: shap, matplotlib; app:
# streamlit; dask: `prom score --engine dask`), the test tools and the lint gate (dev).
# torch is never installed here: it is training-only (make train-seg, .venv-train).
EXTRAS := test,dev,imaging,boosting,survival,explain,app,dask,fhir,serve
# pyradiomics cannot be a declared dependency (its sdist needs numpy at build time, which
# pip's isolated build lacks; see the imaging note in pyproject.toml), so it is installed
# after the extras, into the same venv, without build isolation.
PYRADIOMICS := pyradiomics==3.0.1
# the CPU build of torch, on this project's machines' disk (a bare `torch` would fetch a
# CUDA build of several GB)
TORCH := torch==2.13.0

.PHONY: help venv bytecode demo demo-full demo-bundle imaging-reference app lint test test-all docs constraints bench pfirrmann \
	train-seg train-grader clean

help:
	@echo "make demo      the whole flow on a simulated cohort, quick run (a few minutes)"
	@echo "make demo-full the same with every model family for every task (~17 min on 2 cores)"
	@echo "make app       the surgeon's calculator (Streamlit) on the embedded demonstration bundle"
	@echo "make demo-bundle  rebuild the calculator's embedded bundle (prom/data/demo_bundle, ~1 min)"
	@echo "make imaging-reference  re-measure SPIDER for the simulator's imaging scale (prom/data/imaging_reference.json)"
	@echo "make test      the lint gate, then the test suite (fast; slow tests: make test-all)"
	@echo "make lint      ruff check, ruff format --check, mypy (configured in pyproject.toml)"
	@echo "make docs      build the documentation site into site/ (mkdocs --strict)"
	@echo "make constraints  regenerate requirements/constraints.txt (newest allowed versions)"
	@echo "make bench     run benchmarks (see benchmarks/RESULTS.md)"
	@echo "make pfirrmann Pfirrmann grade from disc features on SPIDER (grouped CV)"
	@echo "make train-seg retrain the MRI segmentation backbone on SPIDER (CPU, ~40 min)"
	@echo "make train-grader  disc grader from the SPIDER slice set: dataset, baseline, CNN CV, export (CPU, ~1.5 h)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(call PIP_INSTALL,$(BIN)) --upgrade pip setuptools wheel

# Reinstall when the declared dependencies or the pinned versions change.
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(call PIP_INSTALL,$(BIN)) -e ".[$(EXTRAS)]"
	$(call PIP_INSTALL,$(BIN)) --no-build-isolation "$(PYRADIOMICS)"
	@touch $@

venv: $(STAMP)

# The package's bytecode, compiled ahead (as pip does for a wheel it installs): an
# editable install under PYTHONDONTWRITEBYTECODE (set on this project's machines) would
# otherwise compile every module from source in every process: the command and each of
# its worker processes, about 0.5 s each (benchmarks/RESULTS.md). Only changed modules
# are compiled again.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q prom radiomics_features > /dev/null

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

# make demo: the quick run (one task with all five families at a reduced search, the
# others with logistic regression and one family); make demo-full: every family for
# every task (prom demo --full).
demo: bytecode
	$(BIN)/prom demo --out $(DEMO_OUT)

demo-full: bytecode
	$(BIN)/prom demo --full --out $(DEMO_OUT)

# The calculator's embedded demonstration bundle (simulated cohort; see prom/workflows/demo/bundle.py).
demo-bundle: bytecode
	$(BIN)/python -m prom.workflows.demo.bundle

# The measured imaging reference the simulator draws from (prom/cohort/imaging_reference.py):
# the pipeline on the SPIDER scans (backbone and expert masks), per level and Pfirrmann grade.
# Minutes of CPU; not part of the tests. Rebuild the demo bundle afterwards (make demo-bundle).
imaging-reference: $(STAMP)
	nice -n 10 $(BIN)/python -m prom.cohort.imaging_reference_build --data $(SPIDER_DATA) --out prom/data/imaging_reference.json

app: bytecode
	$(BIN)/streamlit run apps/calculator.py --browser.gatherUsageStats false

# The lint gate: ruff (lint and format) and mypy, configured in pyproject.toml (mypy checks
# the files it lists there: prom and radiomics_features). make test runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint bytecode $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: lint bytecode $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q

# The documentation site (MkDocs + mkdocstrings, mkdocs.yml), warnings as errors, into site/.
$(DOCS_STAMP): pyproject.toml $(CONSTRAINTS) $(STAMP)
	$(call PIP_INSTALL,$(BIN)) -e ".[$(EXTRAS),docs]"
	@touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Regenerate the constraints file: a throwaway venv gets the newest releases pyproject.toml
# allows (every extra, the docs, torch and pyradiomics as pinned above), and its
# `pip freeze` replaces the file below its header. Then run `make test docs` and commit.
LOCK_VENV := .venv-lock
constraints:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[$(EXTRAS),docs,train]" "$(TORCH)"
	$(LOCK_VENV)/bin/python -m pip install --quiet --no-build-isolation "$(PYRADIOMICS)"
	{ sed -n '/^#/!q;p' $(CONSTRAINTS); \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude spine-prom; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

bench: bytecode
	$(BIN)/python benchmarks/run.py --record
	$(BIN)/python benchmarks/fit_comparison.py --record
	$(BIN)/python benchmarks/fit_small.py --record
	$(BIN)/python benchmarks/imaging_volume.py --data $(SPIDER_DATA) --dice --record
	$(BIN)/python benchmarks/weighting_check.py --data $(SLICES_DATA) --record
	$(BIN)/python benchmarks/grade_naming.py --data $(SPIDER_DATA) --record
	$(BIN)/python benchmarks/calculator_latency.py --record
	$(BIN)/python benchmarks/serve_latency.py --record
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

$(TRAIN_STAMP): $(CONSTRAINTS)
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(call PIP_INSTALL,$(TRAIN_BIN)) --upgrade pip setuptools wheel
	$(call PIP_INSTALL,$(TRAIN_BIN)) "$(TORCH)" onnx onnxruntime SimpleITK numpy scipy
	@touch $@

train-seg: $(TRAIN_STAMP)
	nice -n 10 $(TRAIN_BIN)/python -m radiomics_features.train --data $(SPIDER_DATA) --out radiomics_features/backbone/

# The disc grader (radiomics_features/grader): localise and crop the graded discs of the
# SPIDER slice set, the feature baseline and the CNN on the same patient-grouped folds
# (5 folds x 3 repeats; per repeat 5 out-of-fold networks and 10 pair networks, which
# score the training discs for tuning the combined rule's thresholds honestly), then
# the final network on every disc, exported to ONNX in the package, and the feature
# model with the rule's thresholds (feature_model.json). torch runs only in
# .venv-train; the rest in .venv.
SLICES_DATA ?= ../shared/data/spider-sagittal-slices
GRADER_OUT  ?= $(DEMO_OUT)/grader
train-grader: $(STAMP) $(TRAIN_STAMP)
	nice -n 10 $(BIN)/python -m radiomics_features.grader.build --data $(SLICES_DATA) --volumes $(SPIDER_DATA) --out $(GRADER_OUT)
	$(BIN)/python -m radiomics_features.grader.cv prepare --dataset $(GRADER_OUT)
	nice -n 10 $(BIN)/python -m radiomics_features.grader.cv baseline --dataset $(GRADER_OUT)
	nice -n 10 $(TRAIN_BIN)/python -m radiomics_features.grader.train_cnn --arrays $(GRADER_OUT)/train_arrays.npz --out $(GRADER_OUT)/cnn --cv
	$(BIN)/python -m radiomics_features.grader.cv score --dataset $(GRADER_OUT)
	nice -n 10 $(TRAIN_BIN)/python -m radiomics_features.grader.train_cnn --arrays $(GRADER_OUT)/train_arrays.npz --out $(GRADER_OUT)/cnn --export radiomics_features/grader/
	$(BIN)/python -m radiomics_features.grader.cv export --dataset $(GRADER_OUT)

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(DEMO_OUT) site .pytest_cache .hypothesis .mypy_cache .ruff_cache
