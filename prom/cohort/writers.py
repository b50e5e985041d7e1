"""Writing tables: by extension, atomically (temporary name, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["write_table", "SUPPORTED_OUTPUTS"]

SUPPORTED_OUTPUTS = (".csv", ".csv.gz", ".parquet")


def write_table(data: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``data`` to CSV or Parquet, chosen by the file extension.

    The file is written under a temporary name in the same folder and renamed when
    complete, so an interrupted write never leaves a partial file at ``path``.
    """
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(SUPPORTED_OUTPUTS):
        raise ValueError(
            f"cannot write {path.name!r}: unsupported extension; use one of "
            f"{', '.join(SUPPORTED_OUTPUTS)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        if name.endswith(".parquet"):
            data.to_parquet(tmp, index=False)
        else:
            data.to_csv(tmp, index=False, compression="gzip" if name.endswith(".gz") else None)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
