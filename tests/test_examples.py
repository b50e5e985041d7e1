"""Every script in examples/ runs, as its docstring says, from a directory of its own.

Each script is run in a subprocess with this interpreter (the venv's python) and the venv's
``bin`` first on ``PATH`` (so ``prom`` is the one installed with it), from a temporary
working directory, so a script that only works from the repository root — or that
leaves files behind there — fails. ``RUNS`` names how each script is run and a line of
its output that shows it did its job; a script in examples/ without an entry fails
:func:`test_every_example_is_run`, so a new example cannot go untested.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

#: script (relative to examples/) -> (arguments, text its output must contain). The
#: arguments may name ``{tmp}``, the run's temporary directory.
RUNS: dict[str, tuple[tuple[str, ...], str]] = {
    "researcher_quickstart.py": ((), "anchor-based ODI MCID"),
    "make_registry_export.py": (("{tmp}/export.csv",), "wrote 3,000 rows"),
    "registry_validate.sh": ((), "wrote 3,000 rows to"),
}


def _scripts() -> set[str]:
    return {p.name for p in EXAMPLES.iterdir() if p.is_file() and p.suffix in {".py", ".sh"}}


def test_every_example_is_run():
    """A script added to examples/ without an entry in RUNS is an untested example."""
    assert _scripts() == set(RUNS), (
        f"examples without a run in tests/test_examples.py: {sorted(_scripts() - set(RUNS))}; "
        f"runs of missing scripts: {sorted(set(RUNS) - _scripts())}"
    )


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # the code of this checkout, whichever checkout the venv was installed from
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["OUT"] = str(tmp / "out")  # registry_validate.sh writes here
    env["PYTHON"] = sys.executable
    env["PROM"] = str(Path(sys.executable).parent / "prom")
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs(script, tmp_path):
    args, expected = RUNS[script]
    path = EXAMPLES / script
    cmd = [sys.executable, str(path)] if path.suffix == ".py" else ["bash", str(path)]
    work = tmp_path / "cwd"
    work.mkdir()
    res = subprocess.run(
        cmd + [a.format(tmp=tmp_path) for a in args],
        cwd=work,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"{script} exited {res.returncode}:\n{out[-3000:]}"
    assert expected in out, f"{script} did not print {expected!r}:\n{out[-3000:]}"
    assert "Traceback" not in out, out[-3000:]
