"""The child process of an isolated booster load: a script, standard library only.

:mod:`prom.bundle.booster_guard` runs this file with the parent's interpreter
(``python -I -S booster_probe.py``) and writes to its standard input one JSON line —
``{"libraries": {format: path of the native library}, "files": [{"format": …, "size":
…}, …]}`` — followed by the files' bytes, one after the other. For each file the child
reports on its standard output, one JSON line at a time and before it goes on,
``{"file": i, "status": "start"}`` and then ``"ok"`` or ``"error"`` with the library's own
message. A native abort or crash therefore ends the child with a signal after the
``start`` of the file that caused it, which is how the parent names that file.

The libraries are called through their C APIs with :mod:`ctypes` (the Python packages
take seconds to import; their libraries a few milliseconds): each model is read from its
bytes the way the Python packages read it (``LGBM_BoosterLoadModelFromString``,
``XGBoosterLoadModelFromBuffer``), its stored parameters are read back, and it predicts
three rows — all zeros, all missing, all 1e30 — so that a tree walk outside the model's
arrays happens here rather than in the parent. The native libraries' own output goes to
the standard error stream, which the parent keeps for its message.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

#: The rows every model predicts: zeros, missing values, very large values.
ROW_VALUES = (0.0, math.nan, 1e30)


class ProbeError(Exception):
    """A library reported an error (cleanly, through its C API)."""


def _checked(lib: Any, last_error: str) -> Callable[[int], None]:
    getattr(lib, last_error).restype = ctypes.c_char_p

    def check(rc: int) -> None:
        if rc != 0:
            raise ProbeError(getattr(lib, last_error)().decode("utf-8", "replace"))

    return check


def _finite(values: Any, n: int) -> None:
    if not all(math.isfinite(values[i]) for i in range(n)):
        raise ProbeError("the model's predictions for the test rows are not finite numbers")


def _rows(n_features: int) -> Any:
    values = [v for v in ROW_VALUES for _ in range(n_features)]
    return (ctypes.c_double * len(values))(*values)


def probe_lightgbm(lib: Any, data: bytes) -> None:
    check = _checked(lib, "LGBM_GetLastError")
    handle, iterations = ctypes.c_void_p(), ctypes.c_int(0)
    check(
        lib.LGBM_BoosterLoadModelFromString(
            ctypes.c_char_p(data), ctypes.byref(iterations), ctypes.byref(handle)
        )
    )
    try:
        n_class, n_feature = ctypes.c_int(0), ctypes.c_int(0)
        check(lib.LGBM_BoosterGetNumClasses(handle, ctypes.byref(n_class)))
        check(lib.LGBM_BoosterGetNumFeature(handle, ctypes.byref(n_feature)))
        size, needed = 1 << 20, ctypes.c_int64(0)
        buffer = ctypes.create_string_buffer(size)
        check(
            lib.LGBM_BoosterGetLoadedParam(
                handle, ctypes.c_int64(size), ctypes.byref(needed), buffer
            )
        )
        if needed.value > size:
            buffer = ctypes.create_string_buffer(needed.value)
            check(
                lib.LGBM_BoosterGetLoadedParam(
                    handle, ctypes.c_int64(needed.value), ctypes.byref(needed), buffer
                )
            )
        try:
            json.loads(buffer.value.decode("utf-8"))
        except ValueError as e:
            raise ProbeError(f"its stored parameters are not readable ({e})") from None
        n_rows, width = len(ROW_VALUES), max(n_class.value, 1)
        out, out_len = (ctypes.c_double * (n_rows * width))(), ctypes.c_int64(0)
        check(
            lib.LGBM_BoosterPredictForMat(
                handle,
                _rows(n_feature.value),
                ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
                ctypes.c_int32(n_rows),
                ctypes.c_int32(n_feature.value),
                ctypes.c_int(1),  # row-major
                ctypes.c_int(0),  # C_API_PREDICT_NORMAL
                ctypes.c_int(0),
                ctypes.c_int(-1),
                ctypes.c_char_p(b""),
                ctypes.byref(out_len),
                out,
            )
        )
        if out_len.value != n_rows * width:
            raise ProbeError(f"{out_len.value} predictions for {n_rows} rows of {width}")
        _finite(out, out_len.value)
    finally:
        lib.LGBM_BoosterFree(handle)


def probe_xgboost(lib: Any, data: bytes) -> None:
    check = _checked(lib, "XGBGetLastError")
    handle = ctypes.c_void_p()
    check(lib.XGBoosterCreate(None, ctypes.c_uint64(0), ctypes.byref(handle)))
    try:
        buffer = ctypes.create_string_buffer(data, len(data))
        check(lib.XGBoosterLoadModelFromBuffer(handle, buffer, ctypes.c_uint64(len(data))))
        n_feature = ctypes.c_uint64(0)
        check(lib.XGBoosterGetNumFeature(handle, ctypes.byref(n_feature)))
        rows = _rows(n_feature.value)
        order = "<" if sys.byteorder == "little" else ">"
        interface = {
            "data": [ctypes.addressof(rows), True],
            "shape": [len(ROW_VALUES), n_feature.value],
            "typestr": f"{order}f8",
            "version": 3,
            "strides": None,
        }
        config = {
            "type": 0,
            "training": False,
            "iteration_begin": 0,
            "iteration_end": 0,
            "missing": math.nan,
            "strict_shape": False,
            "cache_id": 0,
        }
        shape, dims = ctypes.POINTER(ctypes.c_uint64)(), ctypes.c_uint64(0)
        preds = ctypes.POINTER(ctypes.c_float)()
        check(
            lib.XGBoosterPredictFromDense(
                handle,
                json.dumps(interface).encode(),
                json.dumps(config).encode(),
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        n = 1
        for k in range(dims.value):
            n *= shape[k]
        _finite(preds, n)
    finally:
        lib.XGBoosterFree(handle)


PROBES = {"lightgbm-text": probe_lightgbm, "xgboost-ubj": probe_xgboost}


def main() -> int:
    report = os.fdopen(os.dup(1), "w", buffering=1)  # line-buffered: one line per event
    os.dup2(2, 1)  # the libraries' own printing goes to the standard error stream
    source = sys.stdin.buffer
    request = json.loads(source.readline())
    libraries: dict[str, Any] = {}
    for i, spec in enumerate(request["files"]):
        data = source.read(spec["size"])
        fmt = spec["format"]
        report.write(json.dumps({"file": i, "status": "start"}) + "\n")
        try:
            if len(data) != spec["size"]:
                raise ProbeError(f"received {len(data)} of {spec['size']} bytes")
            if fmt not in libraries:
                libraries[fmt] = ctypes.CDLL(request["libraries"][fmt])
            PROBES[fmt](libraries[fmt], data)
        except (ProbeError, OSError) as e:
            report.write(json.dumps({"file": i, "status": "error", "message": str(e)}) + "\n")
            continue
        report.write(json.dumps({"file": i, "status": "ok"}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
