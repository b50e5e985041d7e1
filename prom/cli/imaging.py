"""``prom features``: per-level MRI features of lumbar sagittal T2 scans; ``prom phantoms``:
synthetic scans with known geometry to try it on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from prom.cli.common import console, err_console, fail

__all__ = ["features", "phantoms"]


def features(
    mri: Annotated[
        Path,
        typer.Option(
            "--mri",
            help="An image file (NIfTI/MHA/NRRD), a folder of them, a DICOM series folder, or a folder of DICOM series folders (one per patient)",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Wide table, one row per patient (.csv or .parquet)")
    ],
    masks: Annotated[
        Path | None,
        typer.Option(
            "--masks",
            help="Mask file, or folder of masks matched by patient id (`<id>_mask.nii.gz`); without it the bundled network segments",
        ),
    ] = None,
    series: Annotated[
        str | None,
        typer.Option(
            "--series",
            help="For DICOM folders holding several series (a study exported as one folder): the series to read, by its Series Description (a pattern, any case: 't2*sag*') or its Series Instance UID",
        ),
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(
            "--convention",
            help="Label convention of the masks: three_class (default), spider, spineps_instance, spineps_semantic, totalspineseg, totalspineseg_2024",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-j", help="Parallel worker processes", min=1)
    ] = 1,
    radiomics: Annotated[
        bool,
        typer.Option(
            "--radiomics/--no-radiomics",
            help="Also compute pyradiomics features (geometry is always computed)",
        ),
    ] = True,
    params: Annotated[
        Path | None,
        typer.Option(
            "--params", help="pyradiomics parameter YAML (default: the bundled sagittal_2d.yaml)"
        ),
    ] = None,
    long_out: Annotated[
        Path | None,
        typer.Option("--long-out", help="Also write the long table, one row per patient × level"),
    ] = None,
    label_map_out: Annotated[
        Path | None,
        typer.Option(
            "--label-map-out",
            help="Also write each case's label map (named levels, SPIDER-style ids) to this folder as <id>_levels.nii.gz",
        ),
    ] = None,
    grade: Annotated[
        bool,
        typer.Option(
            "--grade",
            help="Also grade each named lumbar disc with the bundled disc grader on the mid-sagittal slice the measurements use, under the same level names: img_<level>_pfirrmann_grade and img_<level>_pfirrmann_prob",
        ),
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            help="Error log (CSV) for failed cases; default `<out stem>_errors.csv` next to --out, written only when a case fails",
        ),
    ] = None,
) -> None:
    """Per-level MRI features (geometry and radiomics) of lumbar sagittal T2 scans.

    Each image is read, segmented (or its mask read), its levels named (the lowest
    visible disc is taken as L5/S1), and measured. The wide table has one row per patient
    with `img_<level>_<feature>` columns, joinable to a cohort on `patient_id`, plus
    `prov_*` provenance columns (file hashes, parameter hash, versions). Every named
    level is checked against anatomical ranges and its neighbours: `qc_<level>_confidence`
    and `qc_<level>_checks` (and `qc_case_*`) say how sure the level name is and why not.
    `cat_<disc>_canal_stenosis` is a measurement-based category from the canal AP
    diameter (Verbiest cut-offs), not a radiologist's grade. The terminal shows each
    case's time and level confidence.

    A case that fails does not stop the others: it is listed in the error log. Exit
    code 0 when at least one case succeeded, 1 when every case failed, 2 for bad options.

    Examples:

      prom features --mri scans/ --out features.parquet

      prom features --mri scans/ --masks masks/ --convention spider --workers 2 --out features.csv --long-out levels.csv

      prom features --mri dicom_exports/ --series 't2*sag*' --out features.csv
    """
    from prom.cohort.writers import write_table
    from radiomics_features.labels import CONVENTIONS
    from radiomics_features.pipeline import extract_batch, find_cases

    if convention is not None and convention not in CONVENTIONS:
        fail(
            f"--convention {convention!r} is not a known label convention; choose from "
            f"{', '.join(CONVENTIONS)}"
        )
    for path, opt in ((out, "--out"), (long_out, "--long-out")):
        if path is not None and not path.name.lower().endswith((".csv", ".csv.gz", ".parquet")):
            fail(f"{opt} {str(path)!r}: expected a .csv, .csv.gz or .parquet file name")
    run_params = None
    if radiomics:
        from radiomics_features.radiomic import (
            RadiomicsParamsError,
            load_params,
            require_pyradiomics,
        )

        try:
            require_pyradiomics()
            run_params = load_params(params)
        except (ImportError, FileNotFoundError, RadiomicsParamsError) as e:
            fail(
                f"{e}"
                + (
                    ""
                    if isinstance(e, RadiomicsParamsError)
                    else "; or run with --no-radiomics for geometry only"
                )
            )
    elif params is not None:
        fail("--params applies to radiomics; drop it or drop --no-radiomics")
    if label_map_out is not None and label_map_out.exists() and not label_map_out.is_dir():
        fail(f"--label-map-out {str(label_map_out)!r} exists and is not a folder; choose a folder")
    try:
        cases = find_cases(mri, masks, series=series)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    if not cases:
        fail(
            f"no images found in {str(mri)!r}; expected .nii.gz/.nii/.mha/.nrrd files or "
            "DICOM series folders"
        )
    if series is not None and all(not c.image.is_dir() for c in cases):
        fail(
            f"--series chooses a series in DICOM folders; the {len(cases)} image(s) in "
            f"{str(mri)!r} are files. Drop --series"
        )

    if grade:  # checked before any case runs: the grader is the package's, unmodified
        from radiomics_features.grader.inference import load_grader

        try:
            grader = load_grader()
        except (ImportError, OSError, ValueError) as err:  # missing or modified package files
            err_console.print(f"[red]the disc grader cannot be loaded:[/] {err}")
            raise typer.Exit(2) from None
        console.print(
            f"disc grades: {grader.metadata['name']} v{grader.metadata['version']}, "
            f"grade = {grader.rule}; each disc graded under its level's name",
            highlight=False,
        )

    if err_console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task("extracting features", total=len(cases))
            res = extract_batch(
                cases,
                workers=workers,
                params=run_params,
                radiomics=radiomics,
                convention=convention,
                progress=lambda done, total: bar.update(task, completed=done),
                label_map_dir=label_map_out,
                grade=grade,
            )
    else:
        res = extract_batch(
            cases,
            workers=workers,
            params=run_params,
            radiomics=radiomics,
            convention=convention,
            label_map_dir=label_map_out,
            grade=grade,
        )

    from radiomics_features.pipeline.summary import case_lines

    for line in case_lines(res.long, res.case_timings):
        console.print(line, highlight=False, markup=False)

    wide = res.wide
    if grade and res.n_ok:
        from radiomics_features.levels import DISC_LEVELS

        discs = res.long[(res.long["kind"] == "disc") & res.long["level"].isin(DISC_LEVELS)]
        graded = int(discs["pfirrmann_grade"].notna().sum()) if "pfirrmann_grade" in discs else 0
        console.print(
            f"disc grades: {graded} of {len(discs)} named lumbar disc(s) graded"
            + ("" if graded == len(discs) else " (the case notes say why not)"),
            highlight=False,
        )
    written = []
    if res.n_ok:
        written.append(f"wide table → {write_table(wide, out)}")
        if long_out is not None:
            written.append(f"long table → {write_table(res.long, long_out)}")
        if label_map_out is not None:
            written.append(f"label maps → {label_map_out}")
    if res.n_failed:
        err_path = (
            errors if errors is not None else out.with_name(out.name.split(".")[0] + "_errors.csv")
        )
        written.append(f"error log → {write_table(res.errors, err_path)}")
        for _, failed in res.errors.head(5).iterrows():
            err_console.print(
                f"[red]failed[/] {failed['patient_id']} at {failed['stage']}: "
                f"{failed['error_type']}: {escape(str(failed['message']))}"
            )
        if res.n_failed > 5:
            err_console.print(f"… and {res.n_failed - 5} more in the error log")
    colour = "green" if not res.n_failed else ("yellow" if res.n_ok else "red")
    console.print(f"[{colour}]{res.n_cases} case(s) read: {res.n_ok} ok, {res.n_failed} failed[/]")
    for line in written:
        console.print(line)
    if not res.n_ok:
        console.print("nothing written for the features: every case failed")
    raise typer.Exit(0 if res.n_ok else 1)


def phantoms(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the images (<id>_t2.nii.gz)")
    ],
    masks_out: Annotated[
        Path | None,
        typer.Option(
            "--masks-out",
            help="Folder for the three-class masks (<id>_mask.nii.gz); default: beside the "
            "images in --out",
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Number of phantoms", min=1, max=100)] = 2,
    seed: Annotated[int, typer.Option(help="Random seed of the geometry and noise")] = 0,
) -> None:
    """Synthetic lumbar sagittal T2 scans with known geometry, for trying `prom features`.

    Each phantom is a rendered lumbar spine (L1–S1, discs, canal, posterior elements)
    whose disc heights and canal diameters are drawn from the seed, with its three-class
    mask (vertebra, disc, canal) and a truth table (`phantoms_truth.csv`: the true disc
    height and canal AP diameter of every level). They are not patient images.

    Examples:

      prom phantoms --n 2 --out scans/ --masks-out masks/

      prom features --mri scans/ --masks masks/ --out mri_features.parquet
    """
    import numpy as np
    import pandas as pd

    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom

    masks_out = out if masks_out is None else masks_out
    for folder in {out, masks_out}:
        if folder.exists() and not folder.is_dir():
            fail(f"{str(folder)!r} exists and is not a folder; choose a folder name")
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth = []
    for k in range(1, n + 1):
        pid = f"phantom_{k:03d}"
        p = make_phantom(
            disc_heights_mm=tuple(np.round(rng.uniform(6.0, 13.0, 5), 1)),
            canal_ap_mm=tuple(np.round(rng.uniform(9.0, 17.0, 5), 1)),
            noise_sd=5.0,
            seed=int(rng.integers(2**31)),
        )
        write_volume(p.image, out / f"{pid}_t2.nii.gz")
        write_volume(p.mask, masks_out / f"{pid}_mask.nii.gz")
        truth.append(p.truth.assign(patient_id=pid))
    table = pd.concat(truth, ignore_index=True)
    table.to_csv(out / "phantoms_truth.csv", index=False)
    console.print(
        f"wrote {n} phantom scan(s) to {out}, their masks to {masks_out} and the true "
        f"geometry to {out / 'phantoms_truth.csv'}",
        highlight=False,
    )
