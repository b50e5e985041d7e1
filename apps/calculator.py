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
    RANGE_LABEL,
    RANGE_METHOD,
    Calculator,
    PatientInputError,
    check_patient,
    item_fields,
    option_label,
    patient_fields,
)
from prom.calculator.fields import instrument_name
from prom.calculator.inputs import (
    ITEM_INSTRUMENTS,
    example_entries,
    field_label,
    score_from_items,
)
from prom.calculator.rules import score_text
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


def keep_entries() -> None:
    """Keep what was entered in fields not drawn in this run — the other region's, a PROM's
    items while its total is entered, the MRI inputs — as Streamlit drops a widget's value
    when the widget is not drawn: entries assigned again here are kept until drawn."""
    for k in list(st.session_state):
        if str(k).startswith(("in_", "mode_")) or k == "imaging_source":
            st.session_state[k] = st.session_state[k]


# --- entry widgets ------------------------------------------------------------------------


def number_widget(f, container=st):
    # a whole-number field is a float widget too: an integer widget truncates a typed 2.5
    # to 2 without a word, where the calculator's check refuses it with a message
    step = 1.0 if f.integer or (f.high or 0) - (f.low or 0) > 20 else 0.1
    return container.number_input(
        f.label_with_unit,
        value=None,
        step=step,
        format="%g" if f.integer else None,
        key=key(f.name),
        help=f.help,
        placeholder="not recorded" if not f.required else "required",
    )


def field_widget(f, container=st, on_change=None):
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
        on_change=on_change,
    )


def prom_widgets(region: str, entries: dict) -> None:
    fields = {f.name: f for f in patient_fields() if f.section == "proms" and region in f.regions}
    for name, f in fields.items():
        inst = name[:-3]
        if inst in ITEM_INSTRUMENTS:
            mode = st.radio(
                f"{instrument_name(inst)} entered as",
                ("total score", "item by item"),
                horizontal=True,
                key=f"mode_{inst}",
                on_change=carry_items_score,
                args=(inst,),
            )
            if mode == "item by item":
                with st.expander(f"{instrument_name(inst)} items", expanded=True):
                    cols = st.columns(2)
                    for i, it in enumerate(item_fields(inst)):
                        entries[it.name] = number_widget(it, cols[i % 2])
                continue
            if f"items_notice_{inst}" in st.session_state:
                st.info(st.session_state[f"items_notice_{inst}"])
        entries[name] = number_widget(f)


def carry_items_score(inst: str) -> None:
    """Radio callback: back from item-by-item entry to the total, the items' score (by
    the instrument) carried into the total field, and said; or why the items give none."""
    st.session_state.pop(f"items_notice_{inst}", None)
    if st.session_state.get(f"mode_{inst}") != "total score":
        return
    typed = {str(k)[3:]: v for k, v in st.session_state.items() if str(k).startswith("in_")}
    if all(typed.get(f.name) is None for f in item_fields(inst)):
        return
    score, how = score_from_items(inst, typed)
    name = instrument_name(inst)
    if score is None:
        st.session_state[f"items_notice_{inst}"] = (
            f"The {name} items entered give no total ({how}): type the total, or go back "
            "to item by item."
        )
        return
    st.session_state[key(f"{inst}_0m")] = score
    st.session_state[f"items_notice_{inst}"] = (
        f"{name} total filled in from the items entered ({how}): {score_text(score)}."
    )


def imaging_widgets(entries: dict) -> None:
    fields = [f for f in patient_fields() if f.section == "imaging"]
    level_field = fields[0]
    entries[level_field.name] = field_widget(level_field, on_change=reread_scan)
    source = st.radio(
        "Imaging features",
        ("type index-level values", "compute from a sagittal T2 scan"),
        key="imaging_source",
        horizontal=True,
    )
    if "scan_notice" in st.session_state:
        st.info(st.session_state["scan_notice"])
    if source == "compute from a sagittal T2 scan":
        scan_widgets(entries.get("index_level"))
    cols = st.columns(2)
    for i, f in enumerate(fields[1:]):
        entries[f.name] = field_widget(f, cols[i % 2])


def _upload_files() -> list[tuple[str, bytes]]:
    return [(u.name, u.getvalue()) for u in st.session_state.get("scan_upload") or ()]


def _upload_name(files) -> str:
    names = [name for name, _ in files]
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more files" if len(names) > 2 else "")


def fill_from_scan(res, source: str) -> None:
    """A scan's values at its index level into the imaging inputs (empty where not
    measured, or all empty where the level is not plausible), remembered as the scan's."""
    for col, v in res.index_values.items():
        st.session_state[key(col)] = v
    st.session_state["scan_result"] = res
    st.session_state["scan_filled"] = dict(res.index_values)
    st.session_state["scan_file"] = source


def clear_scan(why: str) -> None:
    """The previous scan's table dropped, and the values it filled in cleared from the
    inputs (those not changed since), with a notice saying so and why."""
    res = st.session_state.pop("scan_result", None)
    filled = st.session_state.pop("scan_filled", {})
    source = st.session_state.pop("scan_file", "the previous scan")
    if res is None:
        return
    for col, v in filled.items():
        if v is not None and st.session_state.get(key(col)) == v:
            st.session_state[key(col)] = None
    st.session_state["scan_notice"] = (
        f"The per-level table and the imaging values filled in from {source} were cleared: {why}."
    )


def reread_scan() -> None:
    """Index-level callback: the measured scan's values at the newly chosen level."""
    res = st.session_state.get("scan_result")
    level = st.session_state.get(key("index_level"))
    if res is None or level == res.index_level:
        return
    if level is None:
        clear_scan("the index level was cleared")
        return
    source = st.session_state.get("scan_file", "the scan")
    fill_from_scan(res.at_level(level), source)
    st.session_state["scan_notice"] = (
        f"Index level changed from {option_label('index_level', res.index_level)} to "
        f"{option_label('index_level', level)}: the imaging inputs now hold the values "
        f"{source} measured at {option_label('index_level', level)}."
    )


def extract_scan() -> None:
    """Button callback: features of the uploaded scan into the imaging inputs (before the
    widgets are drawn, as Streamlit requires)."""
    from prom.calculator.imaging import scan_features_from_upload
    from prom.calculator.scan_upload import SCAN_SUFFIXES

    files = _upload_files()
    level = st.session_state.get(key("index_level"))
    st.session_state.pop("scan_error", None)
    st.session_state.pop("scan_notice", None)
    if level is None:
        st.session_state["scan_error"] = "choose the index level first"
        return
    if not files:
        st.session_state["scan_error"] = (
            f"no scan file uploaded; expected one of {', '.join(SCAN_SUFFIXES)}, the DICOM "
            "files (.dcm) of a series or a zip archive of a DICOM study (the uploader "
            "refuses files of other types)"
        )
        return
    options = st.session_state.get("scan_series_options") or {}
    series = st.session_state.get("scan_series") if len(options) > 1 else None
    try:
        res = scan_features_from_upload(files, level, series=series)
    except (ValueError, OSError, RuntimeError) as e:  # messages name the file, not the class
        if "scan_result" in st.session_state:
            clear_scan(f"{_upload_name(files)} was not read")
        st.session_state["scan_error"] = str(e)
        return
    fill_from_scan(res, _upload_name(files))
    st.session_state["scan_ident"] = tuple((name, len(data)) for name, data in files)


def series_choice(uploads) -> None:
    """A choice of series when the uploaded DICOM files hold several (a study exported
    from a PACS); listed once per upload, never guessed."""
    from prom.calculator.scan_upload import upload_series

    ident = tuple((u.name, u.size) for u in uploads or ())
    if st.session_state.get("scan_series_for") != ident:
        st.session_state["scan_series_for"] = ident
        st.session_state.pop("scan_series", None)
        st.session_state.pop("scan_error", None)  # said of the file chosen before
        try:
            st.session_state["scan_series_options"] = (
                upload_series(_upload_files()) if ident else {}
            )
            st.session_state.pop("scan_upload_error", None)
        except (ValueError, OSError, RuntimeError) as e:
            st.session_state["scan_series_options"] = {}
            st.session_state["scan_upload_error"] = str(e)
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


def level_table(res) -> pd.DataFrame:
    """The scan's features by level, one column per disc level (the index level marked),
    one row per feature: narrow enough for the form's column."""
    from prom.calculator.imaging import FEATURE_SOURCES, SHORT_LABELS
    from prom.calculator.imaging_checks import PANEL_COLUMNS, stenosis_text

    per = res.per_level
    rows = {
        SHORT_LABELS[f]: ["—" if pd.isna(v) else f"{v:.3g}" for v in per[f]]
        for f in FEATURE_SOURCES
    }
    rows[PANEL_COLUMNS["confidence"]] = list(per["confidence"])
    rows[PANEL_COLUMNS["canal_stenosis"]] = [stenosis_text(c) for c in per["canal_stenosis"]]
    levels = [
        option_label("index_level", lv) + (" ◀ index" if lv == res.index_level else "")
        for lv in per["level"]
    ]
    return pd.DataFrame(rows, index=levels).T


def scan_widgets(index_level) -> None:
    from prom.calculator.imaging_checks import level_name
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
        disabled=index_level is None or "scan_upload_error" in st.session_state,
    )
    if "scan_error" in st.session_state:
        st.error(f"Scan not read: {st.session_state['scan_error']}")
    res = st.session_state.get("scan_result")
    if res is None:
        return
    source = st.session_state.get("scan_file", "the scan")
    chosen = tuple((u.name, u.size) for u in uploads or ())
    if chosen and chosen != st.session_state.get("scan_ident"):
        st.warning(
            f"The table and the imaging values below are from the previous file ({source}), "
            "not from the file now chosen: press 'Extract features at the index level' to "
            "measure it."
        )
    st.caption(
        f"Scan features by level of {source} (mask: {res.mask_source}); the index level "
        f"{option_label('index_level', res.index_level)} fills the inputs below."
    )
    st.table(level_table(res))
    if res.withheld:
        st.warning(res.withheld)
    per = res.per_level
    for lv, why in zip(per["level"], per["reason"], strict=True):
        if why:
            st.caption(f"{level_name(lv)}: {why}")
    for lv, why in zip(per["level"], per["checks"], strict=True):
        if why and lv != res.index_level:  # the index level's are among the notes
            st.caption(f"{level_name(lv)} level checks: {why}")
    for n in res.notes:
        if n != res.withheld:
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
        st.caption(RANGE_LABEL)
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
    st.caption(RANGE_LABEL)


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
        if result.patient.region == "cervical":
            st.markdown("**Rule** — mJOA severity and the AO Spine/CSRS guideline")
        else:
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
        title = f"triage: {option_label('treatment', tri.suggestion)}"
        fig = waterfall_figure(
            tri.explanation,
            0,
            points=True,
            class_=tri.suggestion,
            event=f"treated {option_label('treatment', tri.suggestion)}",
            missing="not recorded",
        )
        why = reasons(tri.explanation, 0, class_=tri.suggestion)
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
        title = f"{row.outcome}, {treatment_label(row.treatment)}"
        event = "response" if row.treatment is None else "MCID reached"
        fig = waterfall_figure(
            row.explanation,
            row.explanation_row,
            points=True,
            event=f"{event} ({title})",
            missing="not recorded",
        )
        why = reasons(row.explanation, row.explanation_row)
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
    keep_entries()

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
        st.button(  # one under the other: side by side, the sidebar cuts their labels
            "Example lumbar patient",
            key="example_lumbar",
            on_click=fill_example,
            args=("lumbar",),
            help="A simulated patient, not a real one",
        )
        st.button(
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
                "Not recorded, although every training patient had a value; the models "
                "assumed: "
                + "; ".join(f"{field_label(w.column)}: {w.assumed}" for w in unrecorded)
                + " (the training median for numbers and yes/no entries, no category for "
                "the others). Enter them if known."
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
