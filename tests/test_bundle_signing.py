"""Signed bundles and the trust store: who made a bundle, not only whether its files match.

Hashes prove that a bundle's files match its manifest, not who wrote the manifest: a
forger who edits a coefficient and recomputes every hash and the ``bundle_id`` gets a
bundle that passes every hash check. These tests take exactly that forgery and check
that every loader refuses it; that an unsigned bundle, or one signed by a key outside the
trust store, is refused with how to trust it and accepted with the opt-out, which the
output then records; that trusting and revoking a key take effect; that the
demonstration key is trusted for the embedded demonstration bundle only; and that a
broken signature file is a clean refusal.

The session's lab set-up (``conftest.lab_keys``) signs with the key ``test-lab`` and
trusts it; tests that need another trust store pass one or point ``PROM_TRUST_STORE`` at it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prom.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    SignatureError,
    SigningKey,
    TrustStore,
    UntrustedBundleError,
    check_bundle,
    default_trust_store,
    demo_pin,
    load_bundle,
    manifest_id,
    read_public_key,
    sha256_file,
    sign_bundle,
    verify_bundle,
    write_bundle,
    write_key_pair,
)
from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")
runner = CliRunner()
LOGISTIC = "mcid_odi_12m/logistic/model.json"


@pytest.fixture(scope="module")
def signed(tmp_path_factory, small_fits, lab_keys):
    """The ODI task with logistic regression as its primary model, signed by the lab."""
    fit = dataclasses.replace(small_fits["fits"][0], primary="logistic")
    out = tmp_path_factory.mktemp("signed") / "bundle"
    return write_bundle(out, [fit], signing_key=lab_keys.key)


@pytest.fixture()
def bundle(signed, tmp_path) -> Path:
    """A fresh copy of the signed bundle, for a test to spoil."""
    return Path(shutil.copytree(signed, tmp_path / "bundle"))


@pytest.fixture(scope="module")
def table(tmp_path_factory, small_fits) -> Path:
    path = tmp_path_factory.mktemp("signing_in") / "cohort.parquet"
    small_fits["data"].iloc[:300].to_parquet(path)
    return path


@pytest.fixture()
def empty_store(tmp_path, monkeypatch) -> Path:
    """An empty trust store, made the default (as on a machine that trusts no key)."""
    store = tmp_path / "empty-store"
    monkeypatch.setenv("PROM_TRUST_STORE", str(store))
    return store


def forge(bundle: Path, shift: float = 4.0) -> None:
    """Raise the logistic intercept and recompute the file's hash and the bundle_id: what
    a forger who knows the format does (the signature file is left as it was)."""
    state = json.loads((bundle / LOGISTIC).read_text(encoding="utf-8"))
    state["intercept"][0] += shift
    (bundle / LOGISTIC).write_text(json.dumps(state))
    m = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    m["files"][LOGISTIC] = sha256_file(bundle / LOGISTIC)
    m["bundle_id"] = manifest_id(m)
    (bundle / MANIFEST).write_text(json.dumps(m, indent=1))


def said(res, stream: str = "output") -> str:
    """What a command printed (``output``: both streams; ``stdout``, ``stderr``), with the
    terminal's line wrapping undone."""
    return " ".join(getattr(res, stream).split())


def no_traceback(res) -> None:
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


# --- the forged bundle --------------------------------------------------------------------


def test_the_forgery_passes_every_hash_check_but_not_the_signature(bundle, small_fits):
    """Without the signature the forgery would be accepted and would move the predictions:
    every hash and the bundle_id are consistent."""
    df = small_fits["data"]
    rows = df.loc[df["region"].eq("lumbar")].iloc[:200]
    before = load_bundle(bundle).task().predict_proba(rows)
    forge(bundle)
    with pytest.raises(SignatureError, match=r"does not verify against manifest\.json"):
        load_bundle(bundle)
    (bundle / SIGNATURE).unlink()
    unverified = load_bundle(bundle, allow_unsigned=True)  # hashes alone: accepted
    after = unverified.task().predict_proba(rows)
    assert after[:, 1].mean() > before[:, 1].mean() + 0.2


def test_every_loader_refuses_the_forged_bundle(bundle, table, tmp_path):
    forge(bundle)
    message = f"bundle {bundle}: the signature in signature.json"
    for allow in (False, True):  # a signature that does not verify: no opt-out
        with pytest.raises(SignatureError, match="the manifest was changed after it was signed"):
            load_bundle(bundle, allow_unsigned=allow)
        with pytest.raises(SignatureError):
            verify_bundle(bundle, allow_unsigned=allow)
    out = tmp_path / "scored.parquet"
    html = tmp_path / "report.html"
    commands = [
        ["score", "-b", str(bundle), "-i", str(table), "-o", str(out)],
        ["evaluate", "--bundle", str(bundle), "--data", str(table)],
        ["report", "--bundle", str(bundle), "--out", str(html)],
    ]
    commands += [[*c, "--allow-unsigned"] for c in commands]
    commands.append(["keys", "verify", str(bundle)])
    for args in commands:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in said(res), (args, res.output)
        no_traceback(res)
    assert not out.exists() and not html.exists()


def test_the_calculator_page_refuses_the_forged_bundle(bundle):
    pytest.importorskip("streamlit", reason="the calculator needs the app extra (streamlit)")
    from streamlit.testing.v1 import AppTest

    forge(bundle)
    at = AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "apps" / "calculator.py"), default_timeout=120
    )
    at.run()
    at.radio(key="bundle_source").set_value("a bundle folder").run()
    at.text_input(key="bundle_path").input(str(bundle)).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any(e.startswith("Bundle not loaded:") and "does not verify" in e for e in errors)


# --- unsigned, untrusted, trusted, revoked --------------------------------------------------


def test_an_unsigned_bundle_is_refused_with_how_to_trust_it(bundle, table, tmp_path):
    (bundle / SIGNATURE).unlink()
    with pytest.raises(
        UntrustedBundleError,
        match=rf"bundle {bundle} is unsigned.*prom keys sign {bundle} --key YOUR_KEY\.pem.*"
        r"pass --allow-unsigned",
    ):
        load_bundle(bundle)
    out = tmp_path / "scored.parquet"
    res = runner.invoke(app, ["score", "-b", str(bundle), "-i", str(table), "-o", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert f"bundle {bundle} is unsigned" in said(res) and "pass --allow-unsigned" in said(res)
    no_traceback(res)
    res = runner.invoke(app, ["keys", "verify", str(bundle)])
    assert res.exit_code == 1 and "is unsigned" in said(res)


def test_the_opt_out_is_noted_on_every_run_and_recorded_in_the_provenance(bundle, table, tmp_path):
    (bundle / SIGNATURE).unlink()
    b = load_bundle(bundle, allow_unsigned=True)
    assert (b.trust.status, b.trust.reason) == ("unverified", "the bundle is unsigned")
    out = tmp_path / "scored.parquet"
    args = ["score", "-b", str(bundle), "-i", str(table), "-o", str(out), "--allow-unsigned"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "notice: --allow-unsigned" in said(res, "stderr")
    summary = json.loads((tmp_path / "scored.summary.json").read_text(encoding="utf-8"))
    assert summary["bundle"]["allow_unsigned"] is True
    assert summary["bundle"]["trust"]["status"] == "unverified"
    assert summary["bundle"]["trust"]["description"].startswith("unverified: opted out")
    assert "unverified: opted out" in said(res, "stdout")
    res = runner.invoke(app, [*args, "--overwrite"])  # every run, not once
    assert res.exit_code == 0 and "notice: --allow-unsigned" in said(res, "stderr")

    html = tmp_path / "report.html"
    res = runner.invoke(
        app, ["report", "--bundle", str(bundle), "--out", str(html), "--allow-unsigned"]
    )
    assert res.exit_code == 0, res.output
    assert "notice: --allow-unsigned" in said(res, "stderr")
    page = html.read_text(encoding="utf-8")
    assert '<div class="banner" id="bundle-trust">UNVERIFIED BUNDLE — unverified: opted out' in page

    res = runner.invoke(
        app, ["evaluate", "--bundle", str(bundle), "--data", str(table), "--allow-unsigned"]
    )
    assert res.exit_code == 0, res.output
    assert "notice: --allow-unsigned" in said(res, "stderr")
    assert "unverified: opted out (--allow-unsigned); the bundle is unsigned" in said(res, "stdout")


def test_a_trusted_bundle_says_who_signed_it_in_every_output(signed, table, tmp_path, lab_keys):
    out = tmp_path / "scored.parquet"
    res = runner.invoke(app, ["score", "-b", str(signed), "-i", str(table), "-o", str(out)])
    assert res.exit_code == 0, res.output
    trust = json.loads((tmp_path / "scored.summary.json").read_text(encoding="utf-8"))["bundle"][
        "trust"
    ]
    assert trust["status"] == "trusted" and trust["key_id"] == lab_keys.key.public.key_id
    assert (trust["key_name"], trust["trust_store"]) == ("test-lab", str(lab_keys.store))
    html = tmp_path / "report.html"
    assert (
        runner.invoke(app, ["report", "--bundle", str(signed), "--out", str(html)]).exit_code == 0
    )
    page = html.read_text(encoding="utf-8")
    assert (
        f'<p class="meta" id="bundle-trust">Signature: signed by key '
        f"{lab_keys.key.public.key_id[:16]}… (test-lab), trusted" in page
    )


def test_an_untrusted_key_is_refused_then_trusted_then_revoked(bundle, tmp_path):
    stranger = SigningKey.generate("stranger")
    _, public = write_key_pair(stranger, tmp_path / "keys")
    sign_bundle(bundle, stranger)
    store = tmp_path / "store"
    refusal = (
        rf"bundle {bundle} is signed by key {stranger.public.short_id}… \(stranger\) which is "
        rf"not in your trust store {store}; if you trust its author: prom keys trust "
        r"THEIR_PUBLIC_KEY\.pem .*or pass --allow-unsigned"
    )
    with pytest.raises(UntrustedBundleError, match=refusal):
        load_bundle(bundle, trust_store=store)
    res = runner.invoke(app, ["keys", "verify", str(bundle), "--trust-store", str(store)])
    assert res.exit_code == 1 and "not in your trust store" in said(res)

    res = runner.invoke(app, ["keys", "trust", str(public), "--trust-store", str(store)])
    assert res.exit_code == 0 and f"trusted key {stranger.public.key_id} (stranger)" in said(res)
    b = load_bundle(bundle, trust_store=store)
    assert (b.trust.status, b.trust.key_name) == ("trusted", "stranger")
    res = runner.invoke(app, ["keys", "verify", str(bundle), "--trust-store", str(store)])
    assert res.exit_code == 0 and "trusted" in said(res)
    res = runner.invoke(app, ["keys", "list", "--trust-store", str(store)])
    assert res.exit_code == 0 and stranger.public.key_id in said(res)

    res = runner.invoke(app, ["keys", "revoke", "stranger", "--trust-store", str(store)])
    assert res.exit_code == 0 and "revoked key" in said(res)
    with pytest.raises(UntrustedBundleError, match=refusal):
        load_bundle(bundle, trust_store=store)


def test_a_key_named_like_a_trusted_one_is_refused_and_called_a_different_key(bundle, tmp_path):
    """A name is a label anyone can write: a second 'lab-a' key is not the trusted 'lab-a',
    and the refusal says so in those words (what impersonation looks like)."""
    store = TrustStore(tmp_path / "store")
    ours = SigningKey.generate("lab-a")
    store.add(ours.public)
    impostor = SigningKey.generate("lab-a")
    sign_bundle(bundle, impostor)
    with pytest.raises(UntrustedBundleError) as e:
        load_bundle(bundle, trust_store=store.path)
    assert (
        f"signed by key {impostor.public.short_id}… (lab-a) which is not in your trust store "
        f"{store.path} — it is named 'lab-a' like your trusted key {ours.public.short_id}…, but "
        "it is a different key"
    ) in str(e.value)


def test_rotation_trusts_the_new_key_then_revokes_the_old(bundle, tmp_path):
    old, new = SigningKey.generate("lab-2025"), SigningKey.generate("lab-2026")
    store = TrustStore(tmp_path / "store")
    store.add(old.public)
    sign_bundle(bundle, old)
    assert load_bundle(bundle, trust_store=store.path).trust.key_name == "lab-2025"
    store.add(new.public)
    _, replaced = sign_bundle(bundle, new)  # re-signing replaces the signature
    assert replaced == f"a signature by key {old.public.label()}"
    removed = store.remove(old.public.key_id[:10])  # by a prefix of its id
    assert removed.name == "lab-2025"
    assert load_bundle(bundle, trust_store=store.path).trust.key_name == "lab-2026"


def test_the_configured_trust_store(monkeypatch, tmp_path, bundle):
    monkeypatch.setenv("PROM_TRUST_STORE", str(tmp_path / "env-store"))
    assert default_trust_store() == tmp_path / "env-store"
    with pytest.raises(UntrustedBundleError, match=str(tmp_path / "env-store")):
        load_bundle(bundle)  # the lab key is not in this store
    monkeypatch.delenv("PROM_TRUST_STORE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_trust_store() == tmp_path / "xdg" / "prom" / "trusted-keys"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_trust_store() == tmp_path / "home" / ".config" / "prom" / "trusted-keys"


# --- the demonstration key ------------------------------------------------------------------


def test_the_committed_demo_bundle_verifies_with_an_empty_trust_store(empty_store):
    b = load_bundle(DEMO_BUNDLE_PATH)
    assert b.trust.status == "demonstration" and not empty_store.exists()
    pin = demo_pin()
    assert pin is not None and pin.bundle_id == b.bundle_id
    assert b.trust.key_id == pin.key.key_id
    res = runner.invoke(app, ["keys", "verify", str(DEMO_BUNDLE_PATH)])
    assert res.exit_code == 0 and "demonstration key" in said(res)


def test_the_demo_key_signing_another_bundle_is_refused(bundle, tmp_path, empty_store):
    from prom.workflows.demo.bundle import DEMO_KEY_PATH

    sign_bundle(bundle, DEMO_KEY_PATH)
    with pytest.raises(UntrustedBundleError, match=r"signed by the demonstration key .* only, not"):
        load_bundle(bundle)
    # an edited copy of the demonstration bundle itself, re-signed with the demo key
    demo = Path(shutil.copytree(DEMO_BUNDLE_PATH, tmp_path / "demo"))
    forge(demo)
    sign_bundle(demo, DEMO_KEY_PATH)
    with pytest.raises(UntrustedBundleError, match="demonstration key"):
        load_bundle(demo)
    # the demo key cannot be trusted generally, by command or by copying its file in
    demo_public = tmp_path / "demo-signing-key.pub.pem"
    demo_public.write_bytes(demo_pin().key.to_pem())
    res = runner.invoke(app, ["keys", "trust", str(demo_public)])
    assert res.exit_code == 2 and "cannot be added to a trust store" in said(res)
    empty_store.mkdir()
    shutil.copy(demo_public, empty_store)
    with pytest.raises(UntrustedBundleError, match="demonstration key"):
        load_bundle(bundle)


# --- a broken signature file ----------------------------------------------------------------


def _doc(bundle: Path) -> dict:
    return json.loads((bundle / SIGNATURE).read_text(encoding="utf-8"))


def _write(bundle: Path, doc: dict) -> None:
    (bundle / SIGNATURE).write_text(json.dumps(doc))


def _flip_signature(b: Path) -> str:
    d = _doc(b)
    sig = bytearray(base64.b64decode(d["signature"]))
    sig[10] ^= 0x01
    _write(b, d | {"signature": base64.b64encode(bytes(sig)).decode()})
    return "does not verify against manifest.json"


def _truncated(b: Path) -> str:
    data = (b / SIGNATURE).read_bytes()
    (b / SIGNATURE).write_bytes(data[: len(data) // 2])
    return "is not a valid bundle signature: not JSON"


def _garbage(b: Path) -> str:
    (b / SIGNATURE).write_bytes(b"\x00\xff\xfe garbage \x80")
    return "is not a valid bundle signature: not JSON"


def _empty(b: Path) -> str:
    (b / SIGNATURE).write_bytes(b"")
    return "is not a valid bundle signature: not JSON"


def _other_key_same_signature(b: Path) -> str:
    other = SigningKey.generate("other").public
    d = _doc(b) | {"public_key": base64.b64encode(other.raw).decode(), "key_id": other.key_id}
    _write(b, d)
    return "does not verify against manifest.json"


def _key_id_mismatch(b: Path) -> str:
    _write(b, _doc(b) | {"key_id": "0" * 64})
    return "key_id '0000.* is not the SHA-256 of its public key"


def _short_signature(b: Path) -> str:
    _write(b, _doc(b) | {"signature": base64.b64encode(b"x" * 10).decode()})
    return "signature has 10 bytes, expected 64"


def _not_base64(b: Path) -> str:
    _write(b, _doc(b) | {"public_key": "not base64!"})
    return "public_key is not base64"


def _extra_field(b: Path) -> str:
    _write(b, _doc(b) | {"trusted": True})
    return r"unknown field\(s\) trusted"


def _other_algorithm(b: Path) -> str:
    _write(b, _doc(b) | {"algorithm": "rsa"})
    return "algorithm is 'rsa', expected 'ed25519'"


def _markup_in_name(b: Path) -> str:
    _write(b, _doc(b) | {"key_name": "[bold]x"})
    return "key_name .* is not a key name"


def _huge(b: Path) -> str:
    (b / SIGNATURE).write_bytes(b" " * 100_000)
    return "100,000 bytes"


def _a_directory(b: Path) -> str:
    (b / SIGNATURE).unlink()
    (b / SIGNATURE).mkdir()
    return "signature.json is not a file"


@pytest.mark.parametrize(
    "spoil",
    [
        _flip_signature,
        _truncated,
        _garbage,
        _empty,
        _other_key_same_signature,
        _key_id_mismatch,
        _short_signature,
        _not_base64,
        _extra_field,
        _other_algorithm,
        _markup_in_name,
        _huge,
        _a_directory,
    ],
)
def test_a_broken_signature_file_is_a_clean_refusal(bundle, spoil):
    message = spoil(bundle)
    for allow in (False, True):
        with pytest.raises(SignatureError, match=message):
            check_bundle(bundle, allow_unsigned=allow)
    res = runner.invoke(app, ["keys", "verify", str(bundle)])
    assert res.exit_code == 2 and "error:" in said(res)
    no_traceback(res)


def test_only_the_signature_file_may_sit_beside_the_manifest(bundle):
    verify_bundle(bundle)
    (bundle / "mcid_odi_12m" / SIGNATURE).write_bytes((bundle / SIGNATURE).read_bytes())
    with pytest.raises(
        BundleError, match=r"not listed in the manifest: mcid_odi_12m/signature\.json"
    ):
        verify_bundle(bundle)
    (bundle / "mcid_odi_12m" / SIGNATURE).unlink()
    (bundle / "signature.json.bak").write_bytes(b"{}")
    with pytest.raises(BundleError, match=r"not listed in the manifest: signature\.json\.bak"):
        verify_bundle(bundle)


# --- keys, signing on write -----------------------------------------------------------------


def test_keys_new_writes_a_private_key_only_its_owner_reads(tmp_path):
    res = runner.invoke(app, ["keys", "new", "--out", str(tmp_path / "k"), "--name", "alice"])
    assert res.exit_code == 0, res.output
    private, public = tmp_path / "k" / "alice.pem", tmp_path / "k" / "alice.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    key = read_public_key(public)
    assert key.name == "alice" and f"key {key.key_id} (alice)" in said(res)
    again = runner.invoke(app, ["keys", "new", "--out", str(tmp_path / "k"), "--name", "alice"])
    assert again.exit_code == 2 and "is never replaced" in again.output
    bad = runner.invoke(app, ["keys", "new", "--out", str(tmp_path / "k"), "--name", "a b"])
    assert bad.exit_code == 2 and "key name 'a b'" in bad.output
    res = runner.invoke(app, ["keys", "trust", str(private), "--trust-store", str(tmp_path / "s")])
    assert res.exit_code == 2 and "is a private key" in said(res)


def test_write_bundle_signs_and_names_the_key(tmp_path, small_fits, lab_keys):
    path = write_bundle(tmp_path / "b", small_fits["fits"][:1], signing_key=lab_keys.private)
    _, trust = check_bundle(path)
    assert trust.key_id == lab_keys.key.public.key_id and trust.key_name == "test-lab"
    with pytest.raises(BundleError, match="not a PEM private key"):
        write_bundle(tmp_path / "c", small_fits["fits"][:1], signing_key=lab_keys.public)
    assert not (tmp_path / "c").exists()


def test_prom_fit_signs_with_the_given_key_and_says_which(tmp_path, small_fits, lab_keys):
    data = tmp_path / "cohort.parquet"
    small_fits["data"].iloc[:600].to_parquet(data)
    key = SigningKey.generate("fit-key")
    private, _ = write_key_pair(key, tmp_path / "keys")
    args = ["fit", "--data", str(data), "--task", "mcid_odi_12m"]
    args += ["--models", "logistic,elastic_net", "--n-iter", "1", "--folds", "2"]
    args += ["--boot", "10", "--optimism-boot", "0", "--jobs", "1"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--sign-key", str(private)])
    assert res.exit_code == 0, res.output
    assert f"signed with key {key.public.short_id}… (fit-key)" in said(res, "stdout")
    assert "prom keys trust fit-key.pub.pem" in said(res, "stdout")  # not trusted here yet
    _, trust = check_bundle(tmp_path / "b", allow_unsigned=True)
    assert trust.key_id == key.public.key_id


def test_evaluate_signs_the_recalibrated_bundle(signed, table, tmp_path, lab_keys):
    out = tmp_path / "recal"
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--bundle",
            str(signed),
            "--data",
            str(table),
            "--recalibrate",
            "intercept",
            "--out",
            str(out),
        ],
    )  # the key: PROM_SIGNING_KEY, as the lab set it
    assert res.exit_code == 0, res.output
    assert f"signed with key {lab_keys.key.public.short_id}… (test-lab)" in said(res, "stdout")
    assert load_bundle(out).trust.status == "trusted"
    assert os.environ["PROM_SIGNING_KEY"] == str(lab_keys.private)
