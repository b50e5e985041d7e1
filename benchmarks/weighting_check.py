"""Scan weighting check: does the disc/CSF signal ratio tell a T1-weighted series from a T2?

For every patient of ``spider-sagittal-slices`` with both a T1 and a T2 slice, each slice
(rows flipped to superior→inferior: the PNGs have the sacrum at the top) is repeated into
a 5-slice stack at its original pixel spacing and 3 mm apart, measured by
``extract_case`` (bundled backbone, no radiomics), and the median disc/CSF signal ratio of
its discs is compared with :data:`radiomics_features.geometry.weighting.T1_LIKE_RATIO`.
The threshold was chosen on the first ``--chosen-on`` patients (by id); the others are
held out. ``--record`` writes this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine, write_section

KEY = "weighting_check.py"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-sagittal-slices"


def measure(data: Path, folder: Path, patients: list[int]) -> pd.DataFrame:
    from PIL import Image

    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom
    from radiomics_features.pipeline import extract_case

    series = pd.read_csv(data / "series.csv")
    base = make_phantom().image
    rows = []
    for pid in patients:
        t = time.perf_counter()
        for _, r in series[series["patient"] == pid].iterrows():
            grey = np.asarray(Image.open(data / r["file"]).convert("L"), dtype=np.int16)[::-1]
            sp = ast.literal_eval(r["pixel_spacing_mm_original"])
            vol = dataclasses.replace(
                base,
                array=np.repeat(grey[None], 5, axis=0),
                spacing=(3.0, float(sp[0]), float(sp[1])),
            )
            path = write_volume(vol, folder / f"p{pid}_{r['sequence']}.nii.gz")
            row = {"patient": int(pid), "sequence": r["sequence"]}
            try:
                res = extract_case(path, radiomics=False, patient_id=str(pid))
                ratios = res.long.loc[res.long["kind"] == "disc", "disc_csf_signal_ratio"]
                ratios = ratios[np.isfinite(ratios.astype(float))]
                row.update(
                    n_discs=len(ratios), ratio=float(ratios.median()) if len(ratios) else np.nan
                )
            except ValueError as e:  # a slice the pipeline refuses: counted, not dropped
                row.update(n_discs=0, ratio=np.nan, error=str(e)[:120])
            rows.append(row)
        print(f"patient {pid}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def table(df: pd.DataFrame, threshold: float, min_discs: int) -> list[str]:
    lines = [
        (
            "| patients | sequence | cases | judged (≥ 2 discs with a ratio) "
            "| median ratio: min – max | said T1-like |"
        ),
        "|---|---|---:|---:|---|---:|",
    ]
    for part, g in df.groupby("part", sort=False):
        for seq in ("t2", "t1"):
            s = g[g["sequence"] == seq]
            judged = s[s["n_discs"] >= min_discs]
            flagged = int((judged["ratio"] >= threshold).sum())
            span = (
                f"{judged['ratio'].min():.2f} – {judged['ratio'].max():.2f}" if len(judged) else "–"
            )
            lines.append(
                f"| {part} | {seq.upper()} | {len(s)} | {len(judged)} | {span} | "
                f"{flagged} of {len(judged)} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    from radiomics_features.geometry.weighting import MIN_DISCS, T1_LIKE_RATIO

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument(
        "--chosen-on", type=int, default=60, help="patients the threshold was chosen on"
    )
    ap.add_argument("--csv", type=Path, default=None, help="also write the per-case ratios")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no slice data at {args.data}", file=sys.stderr)
        return 2
    series = pd.read_csv(args.data / "series.csv")
    both = sorted(p for p, g in series.groupby("patient") if set(g["sequence"]) == {"t1", "t2"})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        df = measure(args.data, Path(tmp), both)
    seconds = time.perf_counter() - t0
    chosen = set(both[: args.chosen_on])
    df["part"] = np.where(
        df["patient"].isin(chosen),
        f"first {len(chosen)} (threshold chosen here)",
        f"other {len(both) - len(chosen)} (held out)",
    )
    if args.csv:
        df.to_csv(args.csv, index=False)
    command = "python benchmarks/weighting_check.py" + (" --record" if args.record else "")
    text = "\n".join(
        [
            "## Scan weighting check: T1 told from T2 by the disc/CSF signal ratio",
            "",
            f"Command: `{command}`  ",
            f"Machine: {machine()}",
            "",
            (
                f"SPIDER's standard sagittal series, the {len(both)} patients with both a T1 and "
                "a T2 mid-sagittal slice; each slice repeated into a 5-slice stack and measured "
                f"by `extract_case` (bundled backbone, no radiomics). A case is said to look "
                f"T1-weighted when the median disc/CSF signal ratio of at least {MIN_DISCS} "
                f"discs is ≥ {T1_LIKE_RATIO:g} (`radiomics_features.geometry.weighting`). "
                f"{seconds / 60:.0f} min."
            ),
            "",
            *table(df, T1_LIKE_RATIO, MIN_DISCS),
            "",
            (
                "Cases not judged had fewer than two discs with a ratio (the backbone, trained "
                "on T2 SPACE volumes, found too few discs or no CSF beside them on that slice); "
                "the check then says nothing. The slices are 8-bit windowed exports: ratios on "
                "raw scanner values differ (the raw T2 SPACE volumes of spider-t2-lumbar "
                "measure 0.08–0.17)."
            ),
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
