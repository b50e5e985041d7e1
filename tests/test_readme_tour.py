"""The README's "A short tour" runs top to bottom as written.

The tour's ``bash`` blocks are read from README.md and run, in order, as one script in
one shell — as a reader pasting them into one terminal would — from a temporary
"repository root" holding only a link to this interpreter's virtualenv as ``.venv`` (the
tour activates ``.venv`` itself, so ``prom`` comes from the venv's ``bin``). ``HOME`` is
the temporary folder and the test suite's signing variables are removed, so the tour
uses the key pair and trust store it makes itself, the path a new user takes. Then the
tour's Python block runs in the same folder. Every file a later step reads must have
been made by an earlier one; a failing step fails the test with its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOUR_HEADING = "## A short tour"


def tour_blocks(text: str, language: str) -> list[str]:
    """The fenced ``language`` blocks of the README's tour section, in order."""
    start = text.find(TOUR_HEADING)
    if start < 0:
        raise ValueError(f"README.md has no {TOUR_HEADING!r} section")
    end = text.find("\n## ", start + len(TOUR_HEADING))
    section = text[start : end if end > 0 else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """Run the tour's shell blocks once; return (tour folder, environment, output)."""
    root = tmp_path_factory.mktemp("readme_tour")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PROM_SIGNING_KEY", "PROM_TRUST_STORE", "XDG_CONFIG_HOME", "VIRTUAL_ENV"}
    }
    env["HOME"] = str(root / "home")
    env["MPLBACKEND"] = "Agg"
    env["COLUMNS"] = "120"
    # the code of this checkout, whichever checkout the venv was installed from
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    blocks = tour_blocks(README.read_text(encoding="utf-8"), "bash")
    script = "set -euo pipefail\n" + "\n".join(blocks)
    res = subprocess.run(
        ["bash", "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=900,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"the README tour failed (exit {res.returncode}):\n{out[-4000:]}"
    return root / "tour", env, out


def test_tour_has_shell_and_python_blocks():
    text = README.read_text(encoding="utf-8")
    bash = tour_blocks(text, "bash")
    assert len(bash) >= 2 and len(tour_blocks(text, "python")) == 1
    joined = "\n".join(bash)
    # the tour signs its bundle with a key it makes and trusts (bundles load only signed)
    assert "prom keys new" in joined and "prom keys trust" in joined and "--sign-key" in joined
    assert "--allow-unsigned" not in joined


def test_tour_makes_what_later_steps_use(tour):
    folder, _, out = tour
    for name in (
        "cohort.parquet",
        "cohort_scored.parquet",
        "odi_bundle/manifest.json",
        "odi_bundle/signature.json",
        "reports/odi.html",
        "new_site.parquet",
        "odi_bundle_recal/manifest.json",
        "registry.parquet",
        "risks.parquet",
        "risks_reasons.parquet",
        "mri_features.parquet",
    ):
        assert (folder / name).exists(), f"the tour did not make {name}:\n{out[-3000:]}"
    assert "Traceback" not in out
    assert "unsigned" not in out, "the tour's bundle should load as signed and trusted"


def test_tour_python_block_runs(tour):
    folder, env, _ = tour
    (code,) = tour_blocks(README.read_text(encoding="utf-8"), "python")
    env = dict(env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert (folder / "odi_bundle_py" / "signature.json").exists()
