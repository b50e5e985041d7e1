"""prom.parallel: the import a command asks for while its worker processes run.

``prom fit`` used to import the bundle writer's library (skops) in a second thread during
the fit; when the fit's own thread imported scikit-learn modules at the same moment, one
of them failed now and then ("cannot import name 'BaseLibSVM' from partially initialized
module 'sklearn.svm._base'": 1 of 7 fits on a 420-row table). The import now happens in
the command's own thread, at the pool's first result.
"""

from __future__ import annotations

import sys
import threading

import pytest

from prom.parallel import import_while_workers_run, parallel_map


def _square(x: int) -> int:
    return x * x


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A module that records, when imported, the thread that imported it."""
    name = "prom_test_import_probe"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nTHREAD = threading.get_ident()\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    yield name
    sys.modules.pop(name, None)


def test_the_import_happens_in_this_thread_while_a_pool_runs(probe):
    import_while_workers_run(probe)
    assert probe not in sys.modules
    assert parallel_map(_square, [(i,) for i in range(6)], n_jobs=2) == [0, 1, 4, 9, 16, 25]
    assert probe in sys.modules
    assert threading.get_ident() == sys.modules[probe].THREAD  # this thread, no other


def test_nothing_is_imported_without_a_pool_and_a_failing_import_is_left_alone(probe):
    import_while_workers_run("prom_no_such_module_anywhere", probe)
    assert parallel_map(_square, [(2,), (3,)], n_jobs=1) == [4, 9]
    assert probe not in sys.modules  # one worker: the later step imports it itself
    assert parallel_map(_square, [(2,), (3,)], n_jobs=2) == [4, 9]  # the failure is ignored
    assert probe in sys.modules
