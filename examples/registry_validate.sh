#!/usr/bin/env bash
# Registry: map your own column names and units onto the contract, validate, score.
# Run from the repository root after `make demo` (or any `make` that built .venv):
#   bash examples/registry_validate.sh
set -euo pipefail
PROM=.venv/bin/prom
OUT=${OUT:-/tmp/prom-registry-example}
mkdir -p "$OUT"
.venv/bin/python examples/make_registry_export.py "$OUT/export.csv"
# 1. the contract report: every problem at once (exit code 1 when there are errors)
$PROM validate --data "$OUT/export.csv" --mapping examples/mappings/registry_export.yaml \
    --mode lenient --report "$OUT/problems.csv" || echo "(validation found problems; see $OUT/problems.csv)"
# 2. score PROM items and derive labels under the registry's preferred ODI definition
$PROM score-proms --data "$OUT/export.csv" --mapping examples/mappings/registry_export.yaml \
    --out "$OUT/scored.parquet" -t mcid_odi_12m=odi_spinereg
