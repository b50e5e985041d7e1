#!/usr/bin/env bash
# Registry: map your own column names and units onto the contract, validate, score.
# Run after `make demo` (or any `make` that built .venv), from the repository root or
# anywhere else:
#   bash examples/registry_validate.sh
# It uses the repository's .venv (or, without one, the prom and python on your PATH) and
# writes to $OUT (default /tmp/prom-registry-example).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
if [[ -x "$ROOT/.venv/bin/prom" ]]; then
    PROM=${PROM:-$ROOT/.venv/bin/prom}
    PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
else
    PROM=${PROM:-prom}
    PYTHON=${PYTHON:-python}
fi
OUT=${OUT:-/tmp/prom-registry-example}
mkdir -p "$OUT"
"$PYTHON" "$HERE/make_registry_export.py" "$OUT/export.csv"
# 1. the contract report: every problem at once (exit code 1 when there are errors)
"$PROM" validate --data "$OUT/export.csv" --mapping "$HERE/mappings/registry_export.yaml" \
    --mode lenient --report "$OUT/problems.csv" || echo "(validation found problems; see $OUT/problems.csv)"
# 2. score PROM items and derive labels under the registry's preferred ODI definition
"$PROM" score-proms --data "$OUT/export.csv" --mapping "$HERE/mappings/registry_export.yaml" \
    --out "$OUT/scored.parquet" -t mcid_odi_12m=odi_spinereg
