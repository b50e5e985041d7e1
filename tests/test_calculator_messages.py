"""What the calculator says, checked on the library: refused numbers rounded for reading,
a zero-width calibration range said as such, warnings only for outcomes that are
predicted and once per entry, empty entries in the reasons said as what the model
assumed, scores rounded once, and the waterfall's labels kept off the variable names."""

from __future__ import annotations

import pytest

from prom.bundle import load_bundle
from prom.calculator import DEMO_BUNDLE_PATH, Calculator, ModelAnswer
from prom.calculator.entries import parse_entry
from prom.calculator.rules import cervical_triage_rule, lumbar_triage_rule
from prom.calculator.summary import answer_text, reasons

PATIENT = {
    "region": "lumbar",
    "age_years": 52.0,
    "sex": "female",
    "odi_0m": 44.0,
    "nrs_leg_0m": 7.0,
}


@pytest.fixture(scope="module")
def calc():
    return Calculator(load_bundle(DEMO_BUNDLE_PATH))


@pytest.mark.parametrize(
    "column, value, shown",
    [
        ("img_index_disc_height_index", 2.583480140935298, "2.583"),  # a scan's value
        ("age_years", 110.0000001, "110.0000001"),  # :g would show the allowed 110
        ("asa_grade", 2.0000001, "2.0000001"),  # :g would show the whole 2
        ("age_years", 130.0, "130"),
    ],
)
def test_a_refused_number_is_shown_with_the_digits_that_say_why(column, value, shown):
    _, problem = parse_entry(column, value)
    assert problem is not None
    assert f": {shown} is not allowed; expected" in problem.message, problem.message


def test_a_zero_width_range_is_said_as_such():
    assert answer_text(ModelAnswer("m", 0.52, 0.5201, 0.5204)) == "52% (range < 1 pt)"
    assert answer_text(ModelAnswer("m", 0.52, 0.513, 0.529)) == "52% (51–53%)"
    assert answer_text(ModelAnswer("m", 0.52)) == "52%"


def test_warnings_name_only_predicted_outcomes_and_each_entry_once(calc):
    """Back pain not entered: the NRS back-pain MCID is withheld, so no warning lists it;
    Back pain, NRS is still a predictor of others, warned about once with its median."""
    res = calc.predict(PATIENT)
    withheld = {r.outcome for r in res.mcid if r.withheld}
    assert "NRS back pain" in withheld
    for w in res.warnings:
        assert not set(w.tasks) & withheld, w
    missing = [w.column for w in res.warnings if w.kind == "missing"]
    assert len(missing) == len(set(missing)), missing
    by_col = {w.column: w for w in res.warnings if w.kind == "missing"}
    assert by_col["diabetes"].assumed == "no"
    assert by_col["employment"].assumed == "no category"
    assert by_col["diabetes"].message.startswith("Diabetes mellitus not recorded")
    note = next(n for n in res.notes if " imputed: " in n)
    assert "Body-mass index (kg/m2)" in note and "bmi_kg_m2" not in note


def test_reasons_say_an_empty_entry_was_assumed_not_given(calc):
    pytest.importorskip("shap", reason="explanations need the explain extra")
    res = calc.predict(PATIENT)
    row = next(r for r in res.mcid if not r.withheld)
    said = reasons(row.explanation, row.explanation_row, k=40)
    empty = [r for r in said if "not recorded" in r]
    assert empty, said
    for r in empty:
        assert "= not recorded: the model assumed the training median, which" in r or (
            "= not recorded: the model used no category, which" in r
        ), r
        assert "= not recorded raises" not in r and "= not recorded lowers" not in r


def test_scores_in_rule_texts_have_one_rounding():
    odi = 100 * 20 / 45  # 9 of 10 ODI items summing to 20
    rule = lumbar_triage_rule(odi, 7, 5)
    assert rule.reason.startswith("ODI 44.4 is severe disability")
    assert rule.suggestion == lumbar_triage_rule(44.4444444, 7, 5).suggestion
    assert lumbar_triage_rule(100 * 37 / 45, 3, 5).reason.startswith("ODI 82.2 is in the")
    assert cervical_triage_rule(13.0).reason.startswith("mJOA 13 is moderate")


def test_waterfall_labels_stay_clear_of_the_variable_names(calc):
    """Every value label lies inside the axes (left of them are the variable names), the
    title names the outcome rather than 'class 1', and an empty entry reads as the page
    says it."""
    pytest.importorskip("shap", reason="explanations need the explain extra")
    pytest.importorskip("matplotlib")
    from prom.explain import waterfall_figure

    res = calc.predict(PATIENT)
    for row in [r for r in res.mcid if not r.withheld][:3]:
        fig = waterfall_figure(
            row.explanation,
            row.explanation_row,
            points=True,
            event="MCID reached (ODI)",
            missing="not recorded",
        )
        fig.canvas.draw()
        ax = fig.axes[0]
        box = ax.get_window_extent()
        for t in ax.texts:
            extent = t.get_window_extent()
            assert box.x0 <= extent.x0 and extent.x1 <= box.x1, t.get_text()
        assert "class 1" not in ax.get_title() and "MCID reached (ODI)" in ax.get_title()
        names = [t.get_text() for t in ax.get_yticklabels()]
        assert any(n.endswith("= not recorded") for n in names), names
        assert not any("missing" in n for n in names), names
