# Longer than 500 lines: one Streamlit script; AppTest loads a single file (a sibling module would need sys.path edits).
"""Spine outcome calculator: one patient in, calibrated risks, reasons and a triage suggestion.

Run::

    streamlit run apps/calculator.py --browser.gatherUsageStats false

A thin layer over :mod:`prom.calculator` (checking, prediction, ranges, rules, summary) and
:mod:`prom.explain` (waterfall): no scoring logic lives here. Every widget has a key.
Nothing entered is stored or logged; an uploaded scan is held in a private temporary
directory only while its features are extracted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from prom.bundle import BundleError, TrustStore, load_bundle
from prom.calculator import (
    DEMO_BUNDLE_PATH,
    RANGE_METHOD,
    Calculator,
    PatientInputError,
    check_patient,
    item_fields,
    option_label,
    patient_fields,
)
from prom.calculator.inputs import ITEM_INSTRUMENTS, example_entries
from prom.calculator.summary import (
    ASSOCIATION_NOTE,
    DEMO_BANNER,
    answer_text,
    percent,
    reasons,
    summary_html,
    treatment_label,
)

EMBEDDED = "embedded demonstration bundle"
FOLDER = "a bundle folder"
SECTIONS = (("patient", "Patient"), ("history", "History"))


@st.cache_resource(show_spinner="Loading and verifying the model bundle…")
def calculator_for(path: str, state: tuple = ()) -> Calculator:
    """The bundle, verified and prepared once per path and ``state`` (holds no patient data)."""
    return Calculator(load_bundle(path))


def bundle_state(path: str) -> tuple:
    """What a verified bundle depends on besides its path — its manifest and signature
    files and the trust store's files, by modification time — so that a re-signed bundle
    or a revoked key is checked again rather than served from the cache."""
    files = [Path(path) / "manifest.json", Path(path) / "signature.json", *TrustStore().files()]
    return tuple((str(f), f.stat().st_mtime_ns if f.exists() else None) for f in files)


def key(column: str) -> str:
    return f"in_{column}"


# --- entry widgets ------------------------------------------------------------------------


def number_widget(f, container=st):
    step = 1 if f.integer else (0.1 if (f.high or 0) - (f.low or 0) <= 20 else 1.0)
    return container.number_input(
        f.label_with_unit,
        value=None,
        step=step,
        key=key(f.name),
        help=f.help,
        placeholder="not recorded" if not f.required else "required",
    )


def field_widget(f, container=st):
    if f.kind == "number":
        return number_widget(f, container)
    if f.kind == "yesno":
        v = container.selectbox(
            f.label,
            ("yes", "no"),
            index=None,
            key=key(f.name),
            help=f.help,
            placeholder="not recorded",
        )
        return v  # "yes", "no" or None: read by prom.calculator.entries like any entry
    return container.selectbox(
        f.label,
        f.options,
        index=None,
        key=key(f.name),
        help=f.help,
        format_func=lambda v, n=f.name: option_label(n, v),
        placeholder="required" if f.required else "not recorded",
    )


def prom_widgets(region: str, entries: dict) -> None:
    fields = {f.name: f for f in patient_fields() if f.section == "proms" and region in f.regions}
    for name, f in fields.items():
        inst = name[:-3]
        if inst in ITEM_INSTRUMENTS:
            mode = st.radio(
                f"{f.label}: enter",
                ("total score", "item by item"),
                horizontal=True,
                key=f"mode_{inst}",
            )
            if mode == "item by item":
                with st.expander(f"{inst.upper()} items", expanded=True):
                    cols = st.columns(2)
                    for i, it in enumerate(item_fields(inst)):
                        entries[it.name] = number_widget(it, cols[i % 2])
                continue
        entries[name] = number_widget(f)


def imaging_widgets(entries: dict) -> None:
    fields = [f for f in patient_fields() if f.section == "imaging"]
    level_field = fields[0]
    entries[level_field.name] = field_widget(level_field)
    source = st.radio(
        "Imaging features",
        ("type index-level values", "compute from a sagittal T2 scan"),
        key="imaging_source",
        horizontal=True,
    )
    if source == "compute from a sagittal T2 scan":
        scan_widgets(entries.get("index_level"))
    cols = st.columns(2)
    for i, f in enumerate(fields[1:]):
        entries[f.name] = field_widget(f, cols[i % 2])


def _upload_files() -> list[tuple[str, bytes]]:
    return [(u.name, u.getvalue()) for u in st.session_state.get("scan_upload") or ()]


def extract_scan() -> None:
    """Button callback: features of the uploaded scan into the imaging inputs (before the
    widgets are drawn, as Streamlit requires)."""
    from prom.calculator.imaging import scan_features_from_upload

    files = _upload_files()
    level = st.session_state.get(key("index_level"))
    st.session_state.pop("scan_error", None)
    if not files or level is None:
        st.session_state["scan_error"] = "choose the index level and a scan file first"
        return
    options = st.session_state.get("scan_series_options") or {}
    series = st.session_state.get("scan_series") if len(options) > 1 else None
    try:
        res = scan_features_from_upload(files, level, series=series)
    except (ValueError, OSError, RuntimeError) as e:
        st.session_state["scan_error"] = f"{type(e).__name__}: {e}"
        return
    for col, v in res.index_values.items():
        st.session_state[key(col)] = v
    st.session_state["scan_result"] = res


def series_choice(uploads) -> None:
    """A choice of series when the uploaded DICOM files hold several (a study exported
    from a PACS); listed once per upload, never guessed."""
    from prom.calculator.scan_upload import upload_series

    ident = tuple((u.name, u.size) for u in uploads or ())
    if st.session_state.get("scan_series_for") != ident:
        st.session_state["scan_series_for"] = ident
        st.session_state.pop("scan_series", None)
        try:
            st.session_state["scan_series_options"] = (
                upload_series(_upload_files()) if ident else {}
            )
            st.session_state.pop("scan_upload_error", None)
        except (ValueError, OSError, RuntimeError) as e:
            st.session_state["scan_series_options"] = {}
            st.session_state["scan_upload_error"] = f"{type(e).__name__}: {e}"
    if "scan_upload_error" in st.session_state:
        st.error(f"Upload not read: {st.session_state['scan_upload_error']}")
    options: dict[str, str] = st.session_state.get("scan_series_options") or {}
    if len(options) > 1:
        st.selectbox(
            "DICOM series",
            options=list(options),
            format_func=lambda uid: options[uid],
            index=None,
            placeholder="choose the sagittal T2 series",
            key="scan_series",
            help="The upload holds several series (e.g. a localiser, sagittal T1 and T2, "
            "axial); the features are measured on the sagittal T2 one.",
        )


def scan_widgets(index_level) -> None:
    from prom.calculator.scan_upload import UPLOAD_TYPES

    uploads = st.file_uploader(
        "Sagittal T2 scan: a NIfTI, MHA or NRRD file, the DICOM files of a series, or a "
        "zip archive of a DICOM study",
        key="scan_upload",
        type=list(UPLOAD_TYPES),
        accept_multiple_files=True,
        help="Segmented by the bundled network; levels named from the lowest "
        "visible disc (L5/S1). Held in memory only while the features are "
        "extracted; never stored.",
    )
    series_choice(uploads)
    st.button(
        "Extract features at the index level",
        key="scan_extract",
        on_click=extract_scan,
        disabled=index_level is None,
    )
    if "scan_error" in st.session_state:
        st.error(f"Scan not read: {st.session_state['scan_error']}")
    res = st.session_state.get("scan_result")
    if res is not None:
        from prom.calculator.imaging import FEATURE_SOURCES, SHORT_LABELS
        from prom.calculator.imaging_checks import PANEL_COLUMNS

        per = res.per_level
        shown = per[list(FEATURE_SOURCES)].rename(columns=SHORT_LABELS).round(3)
        for col in ("confidence", "canal_stenosis"):
            if col in per:
                shown[PANEL_COLUMNS[col]] = per[col]
        shown.insert(0, "level", [option_label("index_level", v) for v in per["level"]])
        shown.insert(
            0, "index", ["◀ index" if lv == res.index_level else "" for lv in per["level"]]
        )
        st.caption(
            f"Scan features by level (mask: {res.mask_source}); the index level "
            f"{option_label('index_level', res.index_level)} fills the inputs below."
        )
        st.table(shown.set_index("index"))
        for lv, why in zip(per["level"], per["reason"], strict=True):
            if why:
                st.caption(f"{option_label('index_level', lv)}: {why}")
        if "checks" in per:
            for lv, why in zip(per["level"], per["checks"], strict=True):
                if why:
                    st.caption(f"{option_label('index_level', lv)} level checks: {why}")
        for n in res.notes:
            st.caption(n)


def fill_example(region: str) -> None:
    """Button callback: a simulated example patient into the form."""
    for k in [k for k in st.session_state if str(k).startswith("in_")]:
        del st.session_state[k]
    for inst in ITEM_INSTRUMENTS:
        st.session_state[f"mode_{inst}"] = "total score"
    st.session_state["imaging_source"] = "type index-level values"
    for col, v in example_entries(region).items():
        if isinstance(v, bool):
            v = "yes" if v else "no"
        st.session_state[key(col)] = v


# --- output -----------------------------------------------------------------------------------


def show_mcid(result) -> None:
    st.subheader("Minimal clinically important difference at 12 months")
    rows = []
    for r in result.mcid:
        row = {"PROM": r.outcome, "treatment": treatment_label(r.treatment)}
        if r.withheld:
            row |= {
                "best model": f"no prediction: {r.withheld}",
                "logistic regression": "",
                "model": "",
            }
        else:
            row |= {
                "best model": answer_text(r.best),
                "logistic regression": answer_text(r.logistic),
                "model": r.primary,
            }
            if r.alternative is not None:
                row["model"] += (
                    f" (no model beat it; {r.alternative.model}: "
                    f"{percent(r.alternative.probability)})"
                )
        rows.append(row)
    if rows:
        st.table(pd.DataFrame(rows).set_index(["PROM", "treatment"]))
        rules = dict.fromkeys(r.definition.rule for r in result.mcid if r.definition.rule)
        st.caption(
            "MCID definitions: " + "; ".join(rules) + " (sources under "
            "'Definitions, sources and method'). " + ASSOCIATION_NOTE
        )
    else:
        st.info("No MCID model in this bundle applies to this patient.")


def show_tfesi(result) -> None:
    t = result.tfesi
    if t is None:
        return
    st.subheader("TFESI response if injected")
    if t.withheld:
        st.info(f"No prediction: {t.withheld}")
        return
    st.caption(
        "Probability of ≥ 50% leg-pain reduction at 1 month after a transforaminal "
        "epidural steroid injection."
    )
    c1, c2 = st.columns(2)
    c1.metric(f"best model ({t.primary})", answer_text(t.best))
    if t.alternative is not None:  # the best model is logistic regression itself
        c2.metric(
            f"{t.alternative.model} (did not beat logistic regression)", answer_text(t.alternative)
        )
    else:
        c2.metric("logistic regression", answer_text(t.logistic))


def show_triage(result, calc) -> None:
    st.subheader("Triage")
    left, right = st.columns(2)
    tri = result.triage
    with left:
        st.markdown("**Model** — what patients like this received at the development sites")
        if tri is None or tri.withheld:
            st.info("No triage model for this patient in this bundle.")
        else:
            st.markdown(f"Suggestion: **{option_label('treatment', tri.suggestion)}**")
            table = pd.DataFrame(
                {
                    m: {option_label("treatment", c): percent(p[c]) for c in tri.classes}
                    for m, p in tri.probabilities.items()
                }
            )
            st.table(table)
    with right:
        st.markdown("**Rule** — a transparent severity matrix")
        rule = result.rule
        if rule is None:
            st.info(f"No rule suggestion: {calc.rule_missing(result.patient)}.")
        else:
            st.markdown(f"Suggestion: **{option_label('treatment', rule.suggestion)}**")
            st.caption(f"{rule.reason}. Source: {rule.source}")


def show_explanation(result) -> None:
    from prom.explain import waterfall_figure

    st.subheader("Why: contributions to the best model's prediction")
    rows = [
        r
        for r in list(result.mcid) + ([result.tfesi] if result.tfesi else [])
        if not r.withheld and r.explanation is not None
    ]
    tri = result.triage if result.triage and result.triage.explanation is not None else None
    options = list(dict.fromkeys(r.outcome for r in rows)) + (["triage"] if tri else [])
    if not options:
        st.info("No prediction to explain.")
        return
    outcome = st.selectbox("Outcome", options, key="explain_outcome")
    if outcome == "triage" and tri is not None:
        fig = waterfall_figure(tri.explanation, 0, points=True, class_=tri.suggestion)
        why = reasons(tri.explanation, 0, class_=tri.suggestion)
        title = f"triage: {option_label('treatment', tri.suggestion)}"
    else:
        choices = [r for r in rows if r.outcome == outcome]
        if len(choices) > 1:
            t = st.selectbox(
                "Treatment",
                [r.treatment for r in choices],
                key="explain_treatment",
                format_func=treatment_label,
            )
            row = next(r for r in choices if r.treatment == t)
        else:
            row = choices[0]
        fig = waterfall_figure(row.explanation, row.explanation_row, points=True)
        why = reasons(row.explanation, row.explanation_row)
        title = f"{row.outcome}, {treatment_label(row.treatment)}"
    st.pyplot(fig, clear_figure=True)
    st.markdown(f"Main reasons ({title}): " + "; ".join(why))
    st.caption(
        "SHAP contributions on the model's log-odds, shown as calibrated probability "
        "points: from the training-average patient (base) to this patient."
    )


def show_definitions(result) -> None:
    with st.expander("Definitions, sources and method"):
        seen = set()
        for r in list(result.mcid) + ([result.tfesi] if result.tfesi else []):
            rule = r.definition.rule
            if rule and rule not in seen:
                seen.add(rule)
                st.markdown(f"- **{rule}** — {r.definition.source}")
        st.markdown(f"- {RANGE_METHOD}")
        st.markdown(f"- {ASSOCIATION_NOTE}")


# --- page ---------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Spine outcome calculator", layout="wide")
    st.title("Spine outcome calculator")

    with st.sidebar:
        st.header("Model bundle")
        source = st.radio("Models", (EMBEDDED, FOLDER), key="bundle_source")
        path = str(DEMO_BUNDLE_PATH)
        if source == FOLDER:
            typed = st.text_input(
                "Bundle folder",
                key="bundle_path",
                help="A folder written by `prom fit` or `make demo`; its signature is "
                "checked against your trust store (`prom keys list` shows it) and its "
                "file hashes are verified before anything is loaded.",
            )
            if not typed:
                st.info("Type the path of a bundle folder.")
                return
            path = os.path.expanduser(typed)
        try:
            resolved = str(Path(path).resolve())
            calc = calculator_for(resolved, bundle_state(resolved))
        except BundleError as e:  # the calculator has no opt-out: trusted bundles only
            st.error(f"Bundle not loaded: {e}")
            return
        st.caption(f"Bundle {calc.bundle.bundle_id[:12]}: {calc.description}")
        st.caption(f"Signature: {calc.bundle.trust.describe()}")
        for name, why in calc.skipped.items():
            st.caption(f"{name}: {why}")
        st.header("Try it")
        c1, c2 = st.columns(2)
        c1.button(
            "Example lumbar patient",
            key="example_lumbar",
            on_click=fill_example,
            args=("lumbar",),
            help="A simulated patient, not a real one",
        )
        c2.button(
            "Example cervical patient",
            key="example_cervical",
            on_click=fill_example,
            args=("cervical",),
            help="A simulated patient, not a real one",
        )
        st.caption("Nothing you enter is stored or logged.")

    if calc.is_demo:
        st.warning(DEMO_BANNER)

    entries: dict = {}
    form, out = st.columns([2, 3])
    with form:
        fields = patient_fields()
        region_field = fields[0]
        region = st.radio(
            region_field.label,
            region_field.options,
            key=key("region"),
            format_func=lambda v: option_label("region", v),
            horizontal=True,
            help=region_field.help,
        )
        entries["region"] = region
        for section, title in SECTIONS:
            st.markdown(f"**{title}**")
            cols = st.columns(2)
            visible = [
                f
                for f in fields
                if f.section == section and f.name != "region" and region in f.regions
            ]
            for i, f in enumerate(visible):
                entries[f.name] = field_widget(f, cols[i % 2])
        st.markdown("**Baseline PROMs**")
        prom_widgets(region, entries)
        if region == "lumbar":
            st.markdown("**MRI at the index level**")
            imaging_widgets(entries)

    with out:
        try:
            patient = check_patient(entries)
        except PatientInputError as e:
            if e.invalid:
                st.error("No prediction: some entries are outside what the data contract allows.")
                for p in e.invalid:
                    st.error(p.message)
            if e.required:
                st.info(
                    "Enter "
                    + ", ".join(p.message.removesuffix(" is required") for p in e.required)
                    + " to see predictions."
                )
            return
        result = calc.predict(patient)
        if not result.has_prediction:
            st.info("Enter the baseline PROMs to see predictions.")
        show_mcid(result)
        show_tfesi(result)
        show_triage(result, calc)
        for w in result.warnings:
            if w.kind == "range":
                st.warning(f"Outside the training data: {w.message} ({', '.join(w.tasks)})")
            elif w.kind == "tail":
                st.warning(f"In the training tail: {w.message} ({', '.join(w.tasks)})")
        unrecorded = [w for w in result.warnings if w.kind == "missing"]
        if unrecorded:
            st.warning(
                "Not recorded, although every training patient had a value: "
                + "; ".join(w.message.split(" not recorded")[0] for w in unrecorded)
                + ". The models use the training median for numbers and yes/no "
                "entries and no category for the others; enter them if known."
            )
        for n in result.notes:
            st.caption(n)
        if calc.explain:
            show_explanation(result)
        else:
            st.info("Explanations need the explain extra: pip install 'spine-prom[explain]'")
        show_definitions(result)
        treatment = st.session_state.get("explain_treatment")
        st.download_button(
            "Download a one-page summary (HTML, printable)",
            data=summary_html(result, treatment=treatment),
            file_name="spine_outcome_summary.html",
            mime="text/html",
            key="download_summary",
            on_click="ignore",
        )


main()
