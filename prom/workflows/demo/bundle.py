"""The compact demonstration bundle shipped inside the package (``prom/data/demo_bundle``).

The surgeon's calculator (``apps/calculator.py``) must start without anything the user
has to build first, so the package carries a small bundle of **demonstration models
trained on the simulated cohort** — not on patients, and not for clinical use. The full
demonstration (``make demo``, every family, every task, ~8 minutes) writes a larger
bundle to ``demo_out/bundle``; this one is what the calculator and its tests load.

What is in it, and what was reduced (also written into the bundle's description):

- the calculator's seven tasks — the five PROM MCID tasks, ``tfesi_response`` and
  ``triage`` — each with logistic regression (the baseline) and one gradient-boosting
  model (LightGBM at its default parameters: 400 trees of 4 leaves, learning rate 0.03;
  no tuning, ``n_iter=1``) — LightGBM rather than XGBoost because its text model of
  the same trees is a third smaller (≈ 240 against ≈ 360 kB per binary task);
- developed on :data:`N_FIT` simulated patients (``simulate_cohort(N_SIMULATED,
  seed=SEED)``, the first ``N_FIT`` rows), validated by 3-fold cross-validation (the
  full demo: 5 folds), 100 bootstrap replicates for the comparison with logistic
  regression (full: 200), leave-one-site-out validation as in ``fit_task``, no bootstrap
  optimism correction (the full demo has none either);
- no survival task (time to surgery): the calculator shows it when a bundle that has one
  is loaded.

Deterministic: the same code and package versions give byte-identical files (every
random choice derives from :data:`SEED`); only the manifest's creation time, and so its
``bundle_id``, differ between runs. About 3.7 MB, of which the LightGBM trees are ~2.1 MB.

Run ``make demo-bundle`` (``python -m prom.workflows.demo.bundle``; ~45 s on an idle 2-core
machine) to rebuild it — and do, whenever the model, bundle or validation-record code
changes what a bundle holds (the calculator's tests load this committed copy).

Signing: the rebuild signs the bundle with the demonstration key (:data:`DEMO_KEY_PATH`,
``keys/demo-signing-key.pem`` in the source tree, deliberately public) and pins that key
to the new bundle's ``bundle_id`` (:func:`prom.bundle.trust.write_demo_pin`), which is what
lets the calculator load it with an empty trust store. ``--sign-only`` signs and pins the
existing bundle without rebuilding it (its model files stay byte-identical).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from prom.bundle import BundleError
from prom.calculator import DEMO_BUNDLE_PATH

__all__ = [
    "DEMO_BUNDLE_PATH",
    "DEMO_KEY_PATH",
    "DEMO_TASKS",
    "N_FIT",
    "N_SIMULATED",
    "SEED",
    "build_demo_bundle",
    "sign_demo_bundle",
]
#: The demonstration signing key: in the source tree, not in the package, and public.
DEMO_KEY_PATH = Path(__file__).resolve().parents[3] / "keys" / "demo-signing-key.pem"
DEMO_TASKS: tuple[str, ...] = (
    "mcid_odi_12m",
    "mcid_nrs_back_12m",
    "mcid_nrs_leg_12m",
    "mcid_comi_12m",
    "mcid_mjoa_12m",
    "tfesi_response",
    "triage",
)
FAMILIES: tuple[str, ...] = ("logistic", "lightgbm")
SEED = 2026
N_SIMULATED = 12000
N_FIT = 12000
N_SPLITS = 3
N_BOOT = 100

DESCRIPTION = (
    "DEMONSTRATION models trained on a SIMULATED cohort (prom.cohort.simulate_cohort, "
    f"{N_FIT:,} simulated patients, seed {SEED}); not trained on patients and not for "
    "clinical use. Compact build for the calculator (prom.demo_bundle): logistic "
    "regression and LightGBM at default parameters (no tuning) per task; validation "
    f"reduced to {N_SPLITS}-fold CV and {N_BOOT} bootstrap replicates for the comparison "
    "with logistic regression; no bootstrap optimism correction; no survival task."
)


def build_demo_bundle(
    out: str | Path = DEMO_BUNDLE_PATH, *, n_jobs: int = 2, progress=None
) -> Path:
    """Simulate, score, fit :data:`DEMO_TASKS` and write the (unsigned) bundle to ``out``,
    replacing it; :func:`sign_demo_bundle` signs it."""
    from prom.bundle import write_bundle
    from prom.cohort import simulate_cohort
    from prom.errors import StatisticalWarning
    from prom.instruments import add_scores
    from prom.outcomes import get_task
    from prom.workflows.fit import fit_classifier_task
    from prom.workflows.settings import FitSettings

    say = progress or (lambda msg: None)
    data = add_scores(simulate_cohort(N_SIMULATED, seed=SEED)).iloc[:N_FIT]
    fits = []
    for name in DEMO_TASKS:
        say(f"fitting {name}")
        with warnings.catch_warnings():
            # sample-size cautions are recorded in the manifest (task warnings)
            warnings.simplefilter("ignore", StatisticalWarning)
            fits.append(
                fit_classifier_task(
                    data,
                    get_task(name),
                    families=FAMILIES,
                    settings=FitSettings(
                        n_splits=N_SPLITS,
                        n_iter=1,
                        n_boot=N_BOOT,
                        optimism_boot=0,
                        random_state=SEED,
                        n_jobs=n_jobs,
                    ),
                )
            )
    return write_bundle(out, fits, overwrite=True, description=DESCRIPTION)


def sign_demo_bundle(path: str | Path = DEMO_BUNDLE_PATH, key: str | Path = DEMO_KEY_PATH) -> str:
    """Sign the bundle at ``path`` with the demonstration key and, when ``path`` is the
    embedded bundle, pin the key to its ``bundle_id``; returns a line saying what was done."""
    from prom.bundle import sign_bundle, verify_bundle
    from prom.bundle.trust import write_demo_pin

    signature, _ = sign_bundle(path, _demo_key(Path(key)))
    line = f"signed {path} with the demonstration key {signature.key.label()}"
    if Path(path).resolve() == DEMO_BUNDLE_PATH.resolve():
        bundle_id = verify_bundle(path, allow_unsigned=True).bundle_id
        pin = write_demo_pin(signature.key, bundle_id)
        line += f"; pinned to bundle {bundle_id[:12]} in {pin}"
    return line


def _demo_key(path: Path):
    from prom.bundle import KeyFileError, read_signing_key

    if not path.is_file():
        raise KeyFileError(
            f"the demonstration key {path} is not here: it is kept in the source tree "
            "(keys/demo-signing-key.pem), not in the installed package; rebuild from a clone"
        )
    return read_signing_key(path)


def bundle_size_bytes(path: str | Path = DEMO_BUNDLE_PATH) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m prom.workflows.demo.bundle",
        description="Rebuild the embedded demonstration bundle.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEMO_BUNDLE_PATH,
        help=f"bundle directory (default: {DEMO_BUNDLE_PATH})",
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel resampling jobs")
    parser.add_argument(
        "--key",
        type=Path,
        default=DEMO_KEY_PATH,
        help=f"the demonstration signing key (default: {DEMO_KEY_PATH})",
    )
    parser.add_argument(
        "--sign-only",
        action="store_true",
        help="sign (and pin) the existing bundle at --out without rebuilding it",
    )
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except BundleError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if not args.sign_only:
        _demo_key(args.key)  # a missing or unreadable key fails before a minute of fitting
        path = build_demo_bundle(
            args.out, n_jobs=args.jobs, progress=lambda m: sys.stderr.write(f"{m}\n")
        )
        sys.stdout.write(
            f"demonstration bundle written to {path} "
            f"({bundle_size_bytes(path) / 1e6:.2f} MB, {time.perf_counter() - t0:.0f} s)\n"
        )
    sys.stdout.write(sign_demo_bundle(args.out, args.key) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
