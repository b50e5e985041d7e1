"""``prom report``: every section present, self-contained, and its numbers equal to the
metrics module's, recomputed here from the same labels and out-of-fold predictions.

Fits: the shared ``small_fits`` (ODI MCID with all five families; triage, multiclass) plus
two small fits of our own: a binary task with internal–external validation by site, and
the survival task. Printed numbers are compared at the precision they are printed with;
``data-value`` attributes (full precision) exactly.
"""

from __future__ import annotations

import json
import shutil
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from prom.bundle import BundleError, load_bundle, write_bundle
from prom.errors import StatisticalWarning
from prom.report import build_report
from prom.report.build import SECTIONS
from prom.report.html import el, slug
from prom.validation import (
    auc_ci,
    calibration_errors,
    calibration_intercept_slope,
    concordance,
    minimum_sample_size,
    multiclass_auc_ovr,
    net_benefit,
)
from prom.workflows import FitSettings, fit_task, prepare_task_data
from prom.workflows.record import roc_on_grid

CLIP = 1e-8


class _Doc(HTMLParser):
    """Ids, ``data-*`` cells with their text, and every src/href of an HTML document."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: set[str] = set()
        self.cells: list[dict] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._open: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        self.links += [a[k] for k in ("src", "href") if k in a]
        if "data-metric" in a:
            self._open.append({"tag": tag, **a, "text": ""})

    def handle_data(self, data):
        for c in self._open:
            c["text"] += data

    def handle_endtag(self, tag):
        if self._open and self._open[-1]["tag"] == tag:
            self.cells.append(self._open.pop())

    def find(self, **want) -> dict:
        keys = {k.replace("_", "-"): v for k, v in want.items()}
        hits = [c for c in self.cells if all(c.get(f"data-{k}") == v for k, v in keys.items())]
        if len(hits) != 1:
            raise AssertionError(f"{len(hits)} cells match {want}")
        return hits[0]


@pytest.fixture(scope="module")
def report(small_fits, tmp_path_factory, lab_keys):
    data = small_fits["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        sites = fit_task(
            data,
            "mcid_nrs_back_12m",
            families=("logistic", "elastic_net"),
            settings=FitSettings(
                n_splits=3, n_iter=1, n_boot=20, optimism_boot=0, site_column="site", random_state=2
            ),
        )
        surv = fit_task(
            data,
            "surgery_conversion",
            families=("cox",),
            settings=FitSettings(
                n_splits=3, n_repeats=1, n_boot=20, optimism_boot=0, random_state=2
            ),
        )
    fits = {f.task_name: f for f in [*small_fits["fits"], sites, surv]}
    path = write_bundle(
        tmp_path_factory.mktemp("report") / "bundle", list(fits.values()), signing_key=lab_keys.key
    )
    bundle = load_bundle(path)
    html = build_report(bundle)  # SHAP (needs data): test_shap_section_…
    return {
        "html": html,
        "doc": _Doc(html),
        "bundle": bundle,
        "fits": fits,
        "data": data,
        "path": path,
    }


def _labels(report, task):
    _, X, y, _, _ = prepare_task_data(report["data"], task)
    return X, y


def _tid(task):
    return f"task-{slug(task)}"


def test_every_section_of_every_task_is_present(report):
    doc = report["doc"]
    for name, bt in report["bundle"].tasks.items():
        assert _tid(name) in doc.ids
        for key in SECTIONS[bt.kind]:
            assert f"{_tid(name)}-{key}" in doc.ids, f"{name}: section {key} missing"
    for fig in ("roc", "calibration", "decision"):
        assert f"{_tid('mcid_odi_12m')}-{fig}-figure" in doc.ids
    assert f"{_tid('mcid_nrs_back_12m')}-iecv-logistic-figure" in doc.ids
    assert f"{_tid('surgery_conversion')}-km-figure" in doc.ids
    assert "simulated-banner" in doc.ids
    # one TRIPOD+AI checklist for the whole report, not one per task
    assert "tripod" in doc.ids
    assert report["html"].count('class="tripod"') == 1
    assert not any(i.endswith("-tripod") for i in doc.ids)


def test_report_is_self_contained(report):
    doc = report["doc"]
    assert doc.links, "expected figures and anchors"
    for link in doc.links:
        assert link.startswith(("data:image/png;base64,", "#")), link[:60]
    assert not doc.tags & {"script", "link", "iframe", "object", "embed"}
    assert "url(" not in report["html"] and "@import" not in report["html"]


def test_no_patient_rows_in_report_or_record(report):
    ids = report["data"]["patient_id"].astype(str)
    html = report["html"]
    assert not any(pid in html for pid in ids[:200])
    for name in report["bundle"].tasks:
        text = (report["path"] / name / "validation.json").read_text(encoding="utf-8")
        assert not any(pid in text for pid in ids[:200])

        def longest(obj):
            if isinstance(obj, dict):
                return max((longest(v) for v in obj.values()), default=0)
            if isinstance(obj, list):
                return max([len(obj)] + [longest(v) for v in obj])
            return 0

        n = report["fits"][name].n
        assert n > 300 and longest(json.loads(text)) <= 201  # grids, never one entry per row


def test_binary_numbers_equal_metrics_module(report):
    doc, fit = report["doc"], report["fits"]["mcid_odi_12m"]
    _, y = _labels(report, "mcid_odi_12m")
    yv = y.to_numpy(dtype=float)
    tid = _tid("mcid_odi_12m")
    for model, cv in fit.cv.items():
        p = cv.probabilities[0]
        a = auc_ci(yv, p)
        cell = doc.find(task=tid, model=model, metric="auc")
        assert cell["text"] == f"{a.auc:.3f} ({a.low:.3f} to {a.high:.3f})"
        assert float(cell["data-value"]) == a.auc
        c = calibration_intercept_slope(yv, np.clip(p, CLIP, 1 - CLIP))
        cells = [
            x
            for x in doc.cells
            if x.get("data-task") == tid
            and x.get("data-model") == model
            and x["data-metric"] == "calibration_slope"
        ]
        assert len(cells) == 2  # comparison table and calibration table
        for cell in cells:
            assert cell["text"] == f"{c.slope:.2f} ({c.slope_low:.2f} to {c.slope_high:.2f})"
        assert doc.find(task=tid, model=model, metric="citl")["text"] == f"{c.citl:.3f}"
        e = calibration_errors(yv, p)
        assert doc.find(task=tid, model=model, metric="ici")["text"] == f"{e.eavg:.4f}"
        assert doc.find(task=tid, model=model, metric="emax")["text"] == f"{e.emax:.4f}"
        nb = net_benefit(yv, p, [0.2])["net_benefit"].iloc[0]
        assert doc.find(task=tid, model=model, metric="net_benefit_0.2")["text"] == f"{nb:.4f}"


def test_multiclass_and_survival_numbers_equal_metrics_module(report):
    doc = report["doc"]
    fit = report["fits"]["triage"]
    _, y = _labels(report, "triage")
    for model, cv in fit.cv.items():
        m = multiclass_auc_ovr(y.astype(object).to_numpy(), cv.probabilities[0], fit.classes)
        cell = doc.find(task=_tid("triage"), model=model, metric="auc")
        assert cell["text"].split(" (")[0] == f"{m.macro:.3f}"
    fit = report["fits"]["surgery_conversion"]
    _, y = _labels(report, "surgery_conversion")
    c = concordance(
        y["time"].to_numpy(), y["event"].to_numpy(), fit.cv["cox"].log_cumulative_hazard[0]
    ).c
    cell = doc.find(task=_tid("surgery_conversion"), model="cox", metric="c")
    assert cell["text"].split(" (")[0] == f"{c:.3f}"


def test_iecv_site_auc_equals_metrics_module(report):
    fit = report["fits"]["mcid_nrs_back_12m"]
    X, y = _labels(report, "mcid_nrs_back_12m")
    site = report["data"].loc[X.index, "site"].to_numpy()
    res = fit.iecv["logistic"]
    checked = 0
    for s in np.unique(site):
        rows = site == s
        a = auc_ci(y.to_numpy(dtype=float)[rows], res.predictions[rows])
        cell = report["doc"].find(
            task=_tid("mcid_nrs_back_12m"), model="logistic", site=s, metric="auc"
        )
        assert cell["text"] == f"{a.auc:.3f} ({a.low:.3f} to {a.high:.3f})"
        checked += 1
    assert checked >= 5


def test_table_one_and_sample_size_equal_recomputation(report):
    doc, fit = report["doc"], report["fits"]["mcid_odi_12m"]
    X, y = _labels(report, "mcid_odi_12m")
    tid = _tid("mcid_odi_12m")
    for group, code in (("not reached", 0), ("reached", 1)):
        age = X.loc[y.to_numpy() == code, "age_years"]
        q1, med, q3 = np.quantile(age, [0.25, 0.5, 0.75])
        cell = doc.find(task=tid, variable="age_years", level="", group=group, metric="median")
        assert cell["text"] == f"{med:.1f} [{q1:.1f}, {q3:.1f}]"
        sex = X.loc[y.to_numpy() == code, "sex"]
        k = int((sex == "female").sum())
        cell = doc.find(task=tid, variable="sex", level="female", group=group, metric="count")
        assert cell["text"] == f"{k:,} ({100 * k / sex.notna().sum():.1f}%)"
    miss = int(X["bmi_kg_m2"].isna().sum())
    assert doc.find(task=tid, variable="bmi_kg_m2", metric="missing")["text"] == f"{miss:,}"
    need = minimum_sample_size(
        fit.sample_size.required.n_parameters, float(y.mean()), c_statistic=0.75
    )
    assert doc.find(task=tid, metric="n_required")["text"] == f"{need.n_required:,}"


def test_shap_section_uses_prom_explain_and_needs_data(report):
    from prom.explain import explain_rows, global_importance

    tid = _tid("mcid_odi_12m")
    assert "Run prom report with --data" in report["html"]
    assert f"{tid}-shap-beeswarm" not in report["doc"].ids
    html = build_report(
        report["bundle"],
        data=report["data"],
        tasks=["mcid_odi_12m"],
        shap_rows=80,
        random_state=4,
    )
    doc = _Doc(html)
    assert {f"{tid}-shap-beeswarm", f"{tid}-shap-importance"} <= doc.ids
    # the beeswarm says what the log-odds are of, not "class 1"
    assert "contribution to the log-odds of ODI MCID at 12 months per variable" in html
    bt = report["bundle"].tasks["mcid_odi_12m"]
    X, _ = _labels(report, "mcid_odi_12m")
    sample = X[bt.predictors].sample(n=80, random_state=4)
    top = global_importance(
        explain_rows(bt.models[bt.primary], sample, groups=bt.entry.explain_groups)
    ).iloc[0]
    cell = doc.find(task=tid, variable=top["variable"], metric="mean_abs_shap")
    assert cell["text"] == f"{top['mean_abs']:.4f}"


def test_roc_grid_matches_auc():
    """The stored ROC curve integrates to the Mann–Whitney AUC (ties give diagonals)."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    p = np.round(rng.random(400) * 0.6 + 0.3 * y, 1)  # heavy ties
    grid = np.linspace(0, 1, 4001)
    area = np.trapezoid(roc_on_grid(y, p, grid), grid)
    assert area == pytest.approx(auc_ci(y, p).auc, abs=1e-6)
    assert roc_on_grid(
        np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]), np.array([0, 0.5, 1])
    ).tolist() == [0.5, 1.0, 1.0]


def test_text_is_escaped(report):
    import dataclasses

    b = report["bundle"]
    saved = b.manifest
    b.manifest = dataclasses.replace(saved, description='<script>alert("x")</script> & co')
    try:
        html = build_report(b, tasks=["mcid_odi_12m"])
    finally:
        b.manifest = saved
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert el("td", "<b>", data_value="1<2") == '<td data-value="1&lt;2">&lt;b&gt;</td>'
    with pytest.raises(ValueError, match="attribute name"):
        el("td", "x", **{"on click": "y"})


def test_bundle_without_record_still_reports_every_section(report):
    import dataclasses

    b = report["bundle"]
    bt = b.tasks["mcid_odi_12m"]
    entry = bt.entry
    bt.entry = dataclasses.replace(entry, validation_record=None)
    try:
        html = build_report(b, tasks=["mcid_odi_12m"])
    finally:
        bt.entry = entry
    doc = _Doc(html)
    for key in SECTIONS["binary"]:
        assert f"{_tid('mcid_odi_12m')}-{key}" in doc.ids
    assert "holds no validation record" in html
    assert doc.find(task=_tid("mcid_odi_12m"), model="logistic", metric="auc")  # manifest


def test_changed_record_is_refused(report, tmp_path):
    copy = shutil.copytree(report["path"], tmp_path / "bundle")
    b = load_bundle(copy)
    rec = copy / "mcid_odi_12m" / "validation.json"
    rec.write_text(rec.read_text(encoding="utf-8").replace('"n": ', '"n": 1', 1))
    with pytest.raises(BundleError, match="validation record was changed"):
        b.tasks["mcid_odi_12m"].read_record()
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        load_bundle(copy)


def test_cli_report(report, tmp_path):
    from prom.cli import app

    runner = CliRunner()
    out = tmp_path / "r" / "odi.html"
    res = runner.invoke(
        app,
        ["report", "--bundle", str(report["path"]), "--task", "mcid_odi_12m", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "tripod" in _Doc(out.read_text(encoding="utf-8")).ids  # the report's one checklist
    res = runner.invoke(
        app, ["report", "--bundle", str(report["path"]), "--out", str(tmp_path / "odi.pdf")]
    )
    assert res.exit_code == 2 and "expected a file name ending in .html" in " ".join(
        res.output.split()
    )
    res = runner.invoke(
        app, ["report", "--bundle", str(report["path"]), "--task", "nope", "--out", str(out)]
    )
    assert res.exit_code == 2 and "has no task 'nope'" in " ".join(res.output.split())
