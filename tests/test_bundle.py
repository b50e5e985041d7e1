"""Model bundles: exact round trip, and refusal of anything tampered, foreign or unsafe.

A bundle is what a surgeon's calculator and a registry's bulk scorer load, so loading
must verify before it deserialises and must never unpickle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from prom.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    load_bundle,
    manifest_id,
    sha256_file,
    sign_bundle,
    verify_bundle,
    write_bundle,
)
from prom.workflows import FAMILIES

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


@pytest.fixture(scope="module")
def fitted(small_fits):
    return small_fits


@pytest.fixture()
def bundle_dir(tmp_path, fitted, lab_keys):
    return write_bundle(tmp_path / "bundle", fitted["fits"], signing_key=lab_keys.key)


def test_round_trip_gives_the_same_predictions_to_the_last_bit(bundle_dir, fitted):
    b = load_bundle(bundle_dir)
    df = fitted["data"]
    for fit in fitted["fits"]:
        assert set(b.tasks[fit.task_name].models) == set(fit.models)
        for name, model in fit.models.items():
            X = df.loc[
                df["region"].eq("lumbar")
            ]  # per-level table: img_index_* derived by the model
            before = model.predict_proba(X)
            after = b.tasks[fit.task_name].models[name].predict_proba(X)
            assert np.array_equal(before, after), (fit.task_name, name)
        assert b.tasks[fit.task_name].primary == fit.primary


def test_the_same_fits_give_the_same_bytes(tmp_path, fitted, lab_keys):
    """Every file of a bundle, the random forest's skops file included (skops names its
    objects by id() and stamps the time: prom.bundle.formats.reproducible_skops), is the
    same bytes when the same fits are written again; the manifest differs only in its
    creation time and bundle_id (and so the signature of the manifest differs)."""
    a = write_bundle(tmp_path / "a", fitted["fits"], signing_key=lab_keys.key)
    b = write_bundle(tmp_path / "b", fitted["fits"], signing_key=lab_keys.key)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(f.name == "model.skops" for f in files)
    assert Path(SIGNATURE) in files
    for f in files:
        if f.name not in (MANIFEST, SIGNATURE):
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ma, mb = (json.loads((d / MANIFEST).read_text(encoding="utf-8")) for d in (a, b))
    for m in (ma, mb):
        del m["created"], m["bundle_id"]
    assert ma == mb


def test_every_family_is_stored_in_its_safe_format(bundle_dir):
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    fmts = {mm["family"]: mm["format"] for t in m["tasks"].values() for mm in t["models"].values()}
    assert fmts == {
        "logistic": "linear-json",
        "elastic_net": "linear-json",
        "random_forest": "skops",
        "xgboost": "xgboost-ubj",
        "lightgbm": "lightgbm-text",
    }
    assert set(fmts) == set(FAMILIES)


def test_manifest_records_what_a_reader_needs(bundle_dir, fitted):
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    assert m["format"] == "prom-model-bundle" and m["format_version"] == 1
    assert {"numpy", "scikit-learn", "xgboost", "lightgbm", "python"} <= set(m["packages"])
    t = m["tasks"]["mcid_odi_12m"]
    assert t["definition"]["threshold"] == "odi_ostelo2008"
    assert "Ostelo" in t["definition"]["source"]
    assert t["comparison"][0]["model"] == "logistic"
    assert t["row_accounting"]["read"] == len(fitted["data"])
    assert sum(v for k, v in t["row_accounting"].items() if k != "read") == len(fitted["data"])
    schema = m["feature_schema"]
    assert "age_years" in schema and "min" in json.dumps(schema["age_years"])
    for rel, digest in m["files"].items():
        assert sha256_file(bundle_dir / rel) == digest


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "target",
    [
        "xgboost/model.ubj",
        "lightgbm/model.txt",
        "random_forest/model.skops",
        "logistic/model.json",
        "logistic/state.json",
    ],
)
def test_a_changed_file_is_refused(bundle_dir, target):
    _flip_byte(bundle_dir / "mcid_odi_12m" / target)
    with pytest.raises(BundleError, match=r"SHA-256 does not match the manifest.*refusing it"):
        load_bundle(bundle_dir)


def test_an_edited_manifest_is_refused(bundle_dir, lab_keys):
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    task = m["tasks"]["mcid_odi_12m"]
    task["primary"] = next(f for f in task["models"] if f != task["primary"])
    (bundle_dir / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"does not verify against manifest\.json"):
        load_bundle(bundle_dir)
    # even without a signature (used unverified) or signed anew, the manifest's own
    # bundle_id no longer matches its content
    (bundle_dir / SIGNATURE).unlink()
    with pytest.raises(BundleError, match="modified after the bundle was written"):
        load_bundle(bundle_dir, allow_unsigned=True)
    with pytest.raises(BundleError, match="modified after the bundle was written"):
        sign_bundle(bundle_dir, lab_keys.key)


def test_an_unknown_file_is_refused(bundle_dir):
    (bundle_dir / "mcid_odi_12m" / "extra.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(BundleError, match=r"not listed in the manifest: mcid_odi_12m/extra.pkl"):
        load_bundle(bundle_dir)


def test_a_missing_file_is_refused(bundle_dir):
    (bundle_dir / "mcid_odi_12m" / "lightgbm" / "model.txt").unlink()
    with pytest.raises(BundleError, match="listed in the manifest are missing"):
        load_bundle(bundle_dir)


def test_a_bundle_handed_over_packed_or_one_folder_down_says_where_it_is(tmp_path, bundle_dir):
    """A colleague's bundle arrives as a zip, or unzipped into a folder of its own: the
    error says to unpack it, or names the folder one level down that holds it."""
    import shutil

    archive = shutil.make_archive(str(tmp_path / "from_a_colleague"), "zip", bundle_dir)
    packed = r"from_a_colleague\.zip is not a bundle directory; it is a zip archive: unpack it"
    with pytest.raises(BundleError, match=packed):
        load_bundle(archive)
    shutil.copytree(bundle_dir, tmp_path / "download" / "odi_bundle")
    with pytest.raises(
        BundleError, match=r"the bundle is one folder down: pass .*download/odi_bundle$"
    ):
        load_bundle(tmp_path / "download")
    shutil.copytree(bundle_dir, tmp_path / "download" / "other_bundle")
    with pytest.raises(BundleError, match=r"it holds 2 bundles, one per folder: pass one of "):
        load_bundle(tmp_path / "download")
    with pytest.raises(BundleError, match=r"nope is not a bundle directory: it does not exist"):
        load_bundle(tmp_path / "nope")


def test_a_foreign_directory_or_format_is_refused(tmp_path, bundle_dir):
    with pytest.raises(BundleError, match="is not a bundle directory"):
        load_bundle(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match=r"has no manifest\.json"):
        load_bundle(tmp_path / "empty")
    (tmp_path / "empty" / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="is not valid JSON"):
        load_bundle(tmp_path / "empty")
    (tmp_path / "empty" / MANIFEST).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(BundleError, match="expected 'prom-model-bundle'"):
        load_bundle(tmp_path / "empty")
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    m["format_version"] = 99
    m["bundle_id"] = manifest_id(m)
    (bundle_dir / MANIFEST).write_text(json.dumps(m))
    (bundle_dir / SIGNATURE).unlink()  # the format is refused even when used unverified
    with pytest.raises(BundleError, match="bundle format version 99"):
        load_bundle(bundle_dir, allow_unsigned=True)


def test_a_consistently_rehashed_skops_file_with_a_foreign_type_is_refused(bundle_dir, lab_keys):
    """Even with hashes recomputed and signed by a trusted key, a skops file may hold only
    the trusted types."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    rel = "mcid_odi_12m/random_forest/model.skops"
    sio.dump(Pipeline([("f", FunctionTransformer(np.exp))]), str(bundle_dir / rel))
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    m["files"][rel] = sha256_file(bundle_dir / rel)
    m["bundle_id"] = manifest_id(m)
    (bundle_dir / MANIFEST).write_text(json.dumps(m))
    sign_bundle(bundle_dir, lab_keys.key)
    verify_bundle(bundle_dir)  # hashes are consistent and signed now ...
    with pytest.raises(BundleError, match="outside the bundle's trusted list"):
        load_bundle(bundle_dir)  # ... but the content is refused


@pytest.mark.parametrize(
    ("rel", "edit"),
    [
        (
            "mcid_odi_12m/logistic/state.json",
            lambda d: {k: v for k, v in d.items() if k != "params"},
        ),
        ("mcid_odi_12m/logistic/state.json", lambda d: [d]),
        ("mcid_odi_12m/logistic/model.json", lambda d: {**d, "params": {"no_such_option": 1}}),
    ],
)
def test_a_signed_bundle_with_a_damaged_model_description_is_refused_naming_it(
    bundle_dir, lab_keys, rel, edit
):
    """A trusted author's damaged file: a BundleError naming the model, not a KeyError."""
    file = bundle_dir / rel
    file.write_text(json.dumps(edit(json.loads(file.read_text(encoding="utf-8")))))
    m = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    m["files"][rel] = sha256_file(file)
    m["bundle_id"] = manifest_id(m)
    (bundle_dir / MANIFEST).write_text(json.dumps(m))
    sign_bundle(bundle_dir, lab_keys.key)
    with pytest.raises(BundleError, match=r"mcid_odi_12m/logistic/model\.json .*not a readable"):
        load_bundle(bundle_dir)


def test_write_refuses_to_overwrite_and_leaves_nothing_on_failure(tmp_path, fitted):
    out = write_bundle(tmp_path / "b", fitted["fits"])  # unsigned: no key given
    with pytest.raises(BundleError, match="exists; choose another --out"):
        write_bundle(out, fitted["fits"])
    with pytest.raises(BundleError, match="nothing to write"):
        write_bundle(tmp_path / "c", [])
    assert not (tmp_path / "c").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_no_pickle_or_joblib_load_anywhere_in_the_packages():
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(
        r"\b(pickle|cPickle|joblib|cloudpickle|dill)\.loads?\(|torch\.load\(|"
        r"np\.load\([^)]*allow_pickle\s*=\s*True"
    )
    offenders = []
    for pkg in ("prom", "radiomics_features", "apps"):
        for f in (root / pkg).rglob("*.py"):
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                # torch.load(weights_only=True) refuses arbitrary objects (training
                # checkpoints written by this project's own training code)
                if pattern.search(line) and "weights_only=True" not in line:
                    offenders.append(f"{f.relative_to(root)}:{i}: {line.strip()}")
    assert offenders == []
