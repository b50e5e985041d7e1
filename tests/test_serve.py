"""``prom serve`` as clients use it: the real command started on a loopback port, called
with httpx.

The server runs the embedded demonstration bundle (trusted by its pin); every number it
returns is checked against :class:`prom.calculator.Calculator` in this process, to the
last digit (``==`` on the doubles: JSON numbers written with ``repr`` read back exactly).
CDS Hooks shapes are checked with models written here from the CDS Hooks 2.0
specification (https://cds-hooks.hl7.org/2.0/), independent of the server's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Literal

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fhir.resources")

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402

from prom.calculator import DEMO_BUNDLE_PATH  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serving(d: Path, *options: str):
    """``prom serve`` with the demo bundle and ``options`` in a subprocess on a free
    loopback port, its stderr (the logs) in a file; stopped (SIGTERM) on exit."""
    (d / "token").write_text(TOKEN + "\n", encoding="utf-8")
    port = _free_port()
    log = d / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PROM_SERVE_TOKEN", None)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "prom.cli", "serve", "--bundle", str(DEMO_BUNDLE_PATH)),
                *("--token-file", str(d / "token"), "--port", str(port), "--rate", "0"),
                *options,
            ],
            stdout=err,
            stderr=err,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prom serve exited: {log.read_text(encoding='utf-8')[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"prom serve did not start: {log.read_text(encoding='utf-8')[-2000:]}"
                )
            time.sleep(0.3)
        yield {"url": url, "log": log, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``prom serve`` in one process on a free loopback port."""
    with _serving(tmp_path_factory.mktemp("serve")) as srv:
        yield srv


@pytest.fixture(scope="module")
def calc():
    from prom.bundle import load_bundle
    from prom.calculator import Calculator

    return Calculator(load_bundle(DEMO_BUNDLE_PATH))


def _split(entries: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entries FHIR does not carry, and the FHIR Bundle of those it does."""
    from prom.fhir import example_bundle, fhir_columns

    carried = set(fhir_columns())
    return {k: v for k, v in entries.items() if k not in carried}, example_bundle(entries)


def _numbers(result) -> dict[tuple, float | None]:
    """Every probability and range bound of a calculator result, keyed by what it is."""
    out: dict[tuple, float | None] = {}
    for row in [*result.mcid, *([result.tfesi] if result.tfesi else [])]:
        for m, a in row.answers.items():
            out[(row.task, row.treatment, m)] = a.probability
            out[(row.task, row.treatment, m, "low")] = a.low
            out[(row.task, row.treatment, m, "high")] = a.high
    if result.triage is not None:
        for m, p in result.triage.probabilities.items():
            for c, v in p.items():
                out[("triage", m, c)] = v
    return out


def _served_numbers(body: dict[str, Any]) -> dict[tuple, float | None]:
    out: dict[tuple, float | None] = {}
    for row in [*body["mcid"], *([body["tfesi"]] if body["tfesi"] else [])]:
        for a in row["answers"]:
            out[(row["task"], row["treatment"], a["model"])] = a["probability"]
            out[(row["task"], row["treatment"], a["model"], "low")] = a["low"]
            out[(row["task"], row["treatment"], a["model"], "high")] = a["high"]
    if body["triage"] is not None:
        for p in body["triage"]["probabilities"]:
            for c, v in p["probabilities"].items():
                out[("triage", p["model"], c)] = v
    return out


# --- (a) the calculator's numbers, to the last digit --------------------------------------


@pytest.mark.parametrize("region", ["lumbar", "cervical"])
def test_fhir_example_patient_gets_the_calculators_numbers(server, calc, region):
    """The calculator's example patient, items sent as FHIR QuestionnaireResponses in a
    Bundle with the Patient: every probability and range equals Calculator.predict's."""
    from prom.calculator.inputs import example_entries

    entries = example_entries(region, items=True)
    rest, bundle = _split(entries)
    r = httpx.post(
        f"{server['url']}/v1/predict",
        json={"entries": rest, "fhir": bundle},
        headers={**AUTH, "Content-Type": "application/fhir+json"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    expected = calc.predict(entries)
    want = _numbers(expected)
    assert len(want) > 10
    assert _served_numbers(body) == want
    assert body["demonstration"] is True and body["simulated_data_warning"]
    assert body["rule"]["suggestion"] == expected.rule.suggestion
    if expected.triage is None:  # the triage task is for lumbar patients
        assert body["triage"] is None
    else:
        assert body["triage"]["suggestion"] == expected.triage.suggestion
    assert [w["message"] for w in body["warnings"]] == [w.message for w in expected.warnings]
    assert body["notes"][: len(expected.notes)] == list(expected.notes)
    assert all(row["reasons"] for row in body["mcid"] if row["withheld"] is None)


@pytest.mark.parametrize("region", ["lumbar", "cervical"])
def test_a_bare_fhir_bundle_is_answered_with_the_region_it_implies(server, calc, region):
    """POST /v1/predict/fhir with only the Bundle: the region from the questionnaires
    (mJOA: cervical), the numbers the calculator gives for what FHIR carries."""
    from prom.calculator.inputs import example_entries
    from prom.fhir import entries_from_fhir

    _, bundle = _split(example_entries(region, items=True))
    r = httpx.post(
        f"{server['url']}/v1/predict/fhir",
        json=bundle,
        headers={**AUTH, "Content-Type": "application/fhir+json"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["region"] == region
    expected = calc.predict({"region": region, **entries_from_fhir(bundle).entries})
    assert _served_numbers(r.json()) == _numbers(expected)
    # ?bundle= chooses the bundle, as /v1/predict's field does: one it does not serve is a 404
    for which, status in ((calc.bundle.bundle_id[:8], 200), ("ffff0000", 404)):
        r = httpx.post(
            f"{server['url']}/v1/predict/fhir?bundle={which}",
            json=bundle,
            headers={**AUTH, "Content-Type": "application/fhir+json"},
            timeout=60,
        )
        assert r.status_code == status, r.text


def test_batch_answers_each_row(server, calc):
    from prom.calculator.inputs import example_entries

    good = example_entries("lumbar")
    r = httpx.post(
        f"{server['url']}/v1/predict/batch",
        json={
            "patients": [{"entries": good, "reasons": 0}, {"entries": {**good, "age_years": 300}}]
        },
        headers=AUTH,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    rows = r.json()["results"]
    assert [row["index"] for row in rows] == [0, 1]
    assert _served_numbers(rows[0]["result"]) == _numbers(calc.predict(good))
    assert all(row["reasons"] == [] for row in rows[0]["result"]["mcid"])
    assert rows[1]["result"] is None
    assert [p["field"] for p in rows[1]["problems"]] == ["entries.age_years"]


def test_a_column_from_fhir_and_entries_is_refused(server):
    from prom.calculator.inputs import example_entries

    entries = example_entries("lumbar", items=True)
    rest, bundle = _split(entries)
    r = httpx.post(
        f"{server['url']}/v1/predict",
        json={"entries": {**rest, "sex": entries["sex"]}, "fhir": bundle},
        headers=AUTH,
        timeout=60,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["entries.sex"]


def test_model_card_has_no_patient_rows(server):
    r = httpx.get(f"{server['url']}/v1/bundles", headers=AUTH, timeout=30)
    assert r.status_code == 200
    bid = r.json()[0]["bundle_id"]
    card = httpx.get(f"{server['url']}/v1/bundles/{bid[:12]}/model-card", headers=AUTH).json()
    assert card["bundle_id"] == bid and card["demonstration"] is True
    odi = next(t for t in card["tasks"] if t["task"] == "mcid_odi_12m")
    assert {v["model"] for v in odi["validation"]} == set(odi["models"])
    assert 0.5 < odi["validation"][0]["auc"] < 1
    assert "feature_schema" not in card


# --- (b) CDS Hooks 2.0 --------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Service(_Strict):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Strict):
    services: list[Service]


class Source(_Strict):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: dict[str, Any] | None = None


class Link(_Strict):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Strict):
    uuid: str | None = None
    summary: str = Field(max_length=139)  # "<140 characters"
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[dict[str, Any]] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[dict[str, Any]] | None = None
    links: list[Link] | None = None


class CdsResponse(_Strict):
    cards: list[Card]
    systemActions: list[dict[str, Any]] | None = None


def _hook_request(hook: str, bundle: dict[str, Any], **context) -> dict[str, Any]:
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    responses = [
        {**e["resource"], "subject": {"reference": f"Patient/{patient['id']}"}}
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.example/fhir",
        "context": {"userId": "Practitioner/1", "patientId": patient["id"], **context},
        "prefetch": {
            "patient": patient,
            "responses": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": q} for q in responses],
            },
        },
    }


def test_cds_discovery_validates(server):
    r = httpx.get(f"{server['url']}/cds-services", headers=AUTH, timeout=30)
    assert r.status_code == 200
    d = Discovery.model_validate(r.json())
    hooks = {s.id: s.hook for s in d.services}
    assert hooks == {"prom-patient-view": "patient-view", "prom-order-select": "order-select"}
    for s in d.services:
        assert "{{context.patientId}}" in s.prefetch["patient"]
        assert s.prefetch["responses"].startswith("QuestionnaireResponse?")


def test_cds_patient_view_cards_carry_the_numbers(server, calc):
    from prom.calculator.inputs import example_entries
    from prom.fhir import entries_from_fhir

    _, bundle = _split(example_entries("lumbar", items=True))
    r = httpx.post(
        f"{server['url']}/cds-services/prom-patient-view",
        json=_hook_request("patient-view", bundle),
        headers=AUTH,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    cards = CdsResponse.model_validate(r.json()).cards
    assert all(v is not None for c in r.json()["cards"] for v in c["source"].values())
    assert all(len(c.summary) < 140 for c in cards)
    # the numbers a CDS request can give: the FHIR entries and the region
    request = _hook_request("patient-view", bundle)["prefetch"]
    read = entries_from_fhir(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": "Patient/example-patient", "resource": request["patient"]}]
            + request["responses"]["entry"],
        }
    )
    expected = calc.predict({"region": "lumbar", **read.entries})
    text = "\n".join(c.detail or "" for c in cards)
    for row in expected.mcid:
        assert f"| {row.outcome} | {row.treatment} | {100 * row.best.probability:.0f}%" in text
    assert f"{100 * expected.tfesi.best.probability:.0f}%" in text
    triage = next(c for c in cards if c.summary.startswith("Triage"))
    assert expected.rule.suggestion in triage.summary and expected.rule.reason in triage.detail
    assert expected.triage.suggestion in triage.summary
    assert any("simulated" in c.summary.lower() and c.indicator == "warning" for c in cards)
    assert all(c.source.url and c.source.url.endswith("/model-card") for c in cards)


def test_cds_order_select_puts_the_ordered_treatment_first(server):
    from prom.calculator.inputs import example_entries

    _, bundle = _split(example_entries("lumbar", items=True))
    order = {"resourceType": "ServiceRequest", "id": "o1", "status": "draft", "intent": "order"}
    order["code"] = {"text": "Transforaminal epidural steroid injection L4-5"}
    req = _hook_request(
        "order-select",
        bundle,
        selections=["ServiceRequest/o1"],
        draftOrders={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        },
    )
    r = httpx.post(f"{server['url']}/cds-services/prom-order-select", json=req, headers=AUTH)
    cards = CdsResponse.model_validate(r.json()).cards
    main = next(c for c in cards if c.summary.startswith("Chance"))
    assert "with tfesi" in main.summary
    assert main.detail.splitlines()[2].split("|")[2].strip() == "tfesi"


def test_cds_without_prefetch_says_so(server):
    r = httpx.post(
        f"{server['url']}/cds-services/prom-patient-view",
        json={"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "1"}},
        headers=AUTH,
    )
    cards = CdsResponse.model_validate(r.json()).cards
    assert len(cards) == 1 and "prefetched" in cards[0].summary


# --- (c) auth and refusal -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_no_or_wrong_token_is_401_problem(server, headers):
    r = httpx.post(f"{server['url']}/v1/predict", json={"entries": {}}, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert body["status"] == 401 and body["title"] and body["type"] and body["detail"]


def test_health_needs_no_token(server):
    assert httpx.get(f"{server['url']}/v1/health").json()["status"] == "ok"
    assert httpx.get(f"{server['url']}/v1/ready").json() == {"status": "ready", "bundles": 1}


def test_a_worker_that_cannot_load_the_bundles_stops_the_service(tmp_path):
    """A bundle gone between the command's check and a worker's start: the workers are not
    restarted over and over; the service stops and says why (exit 2 from the CLI)."""
    script = tmp_path / "serve_gone.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from prom.server import WorkerStartError, run_workers

            if __name__ == "__main__":
                try:
                    run_workers([{str(tmp_path / "gone")!r}], {TOKEN!r}, port={_free_port()},
                                workers=2, max_body=1 << 20, rate=0, burst=1)
                except WorkerStartError as e:
                    print("refused:", e)
                    sys.exit(2)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stdout.count("could not load the bundles") == 1  # one reason, two workers
    assert "gone is not a bundle directory" in res.stdout
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("options", [[], ["--workers", "2"]])
def test_unsigned_bundle_stops_the_server(tmp_path, options):
    import shutil

    from typer.testing import CliRunner

    from prom.cli import app

    unsigned = tmp_path / "bundle"
    shutil.copytree(DEMO_BUNDLE_PATH, unsigned)
    (unsigned / "signature.json").unlink()
    (tmp_path / "token").write_text(TOKEN, encoding="utf-8")
    res = CliRunner().invoke(
        app,
        ["serve", "--bundle", str(unsigned), "--token-file", str(tmp_path / "token"), *options],
    )
    assert res.exit_code == 2
    assert "unsigned" in res.output and "signed, trusted bundles only" in res.output
    assert "--allow-unsigned" not in res.output


def test_a_port_in_use_stops_the_command_before_the_bundles_are_read(monkeypatch):
    from typer.testing import CliRunner

    from prom.cli import app

    monkeypatch.setenv("PROM_SERVE_TOKEN", TOKEN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = CliRunner().invoke(
            app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH), "--port", str(port)]
        )
    assert res.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in res.output and "--port" in res.output
    assert "verifying" not in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(
        app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH), "--host", "no-such-host.invalid"]
    )
    assert res.exit_code == 2 and "--host no-such-host.invalid" in res.output


def test_short_or_missing_token_stops_the_server(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from prom.cli import app

    monkeypatch.delenv("PROM_SERVE_TOKEN", raising=False)
    res = CliRunner().invoke(app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH)])
    assert res.exit_code == 2 and "PROM_SERVE_TOKEN" in res.output
    monkeypatch.setenv("PROM_SERVE_TOKEN", "short")
    res = CliRunner().invoke(app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH)])
    assert res.exit_code == 2 and "at least 16" in res.output
    monkeypatch.setenv("PROM_SERVE_TOKEN", "a" * 32)  # long, and guessable
    res = CliRunner().invoke(app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH)])
    assert res.exit_code == 2 and "only 1 distinct characters; make a random one" in " ".join(
        res.output.split()
    )


#: A deployment's own canonical base for the Questionnaires (``prom serve --fhir-base``).
HOSPITAL_BASE = "https://fhir.hospital.test/fhir"


def test_a_fhir_base_that_is_not_an_absolute_url_stops_the_server(monkeypatch):
    from typer.testing import CliRunner

    from prom.cli import app

    monkeypatch.setenv("PROM_SERVE_TOKEN", TOKEN)
    for bad in ("fhir.hospital.test", "https://fhir.hospital.test/fhir?x=1"):
        res = CliRunner().invoke(
            app, ["serve", "--bundle", str(DEMO_BUNDLE_PATH), "--fhir-base", bad]
        )
        assert res.exit_code == 2 and f"--fhir-base {bad!r}" in res.output, res.output


def test_worker_processes_answer_with_the_calculators_numbers(tmp_path, calc):
    """``--workers 2``: two processes, each verifying and loading the bundle itself, answer
    concurrent requests with the calculator's numbers, and read FHIR responses to the
    Questionnaires of the deployment's ``--fhir-base``; SIGTERM stops both."""
    from concurrent.futures import ThreadPoolExecutor

    from prom.calculator.inputs import example_entries

    patients = [example_entries(r, seed=s) for r in ("lumbar", "cervical") for s in range(3)]
    with _serving(tmp_path, "--workers", "2", "--fhir-base", HOSPITAL_BASE) as srv:
        deadline = time.monotonic() + 90  # health answers once the first worker is up
        while srv["log"].read_text(encoding="utf-8").count("Started server process") < 2:
            assert time.monotonic() < deadline, srv["log"].read_text(encoding="utf-8")[-2000:]
            time.sleep(0.3)

        def ask(entries):
            r = httpx.post(
                f"{srv['url']}/v1/predict", json={"entries": entries}, headers=AUTH, timeout=60
            )
            assert r.status_code == 200, r.text
            return _served_numbers(r.json())

        with ThreadPoolExecutor(8) as pool:
            served = list(pool.map(ask, patients * 4))
        for i, got in enumerate(served):
            assert got == _numbers(calc.predict(patients[i % len(patients)]))
        assert httpx.post(f"{srv['url']}/v1/predict", json={"entries": {}}).status_code == 401

        # the workers read responses to the deployment's own Questionnaires (--fhir-base)
        from prom.fhir import example_bundle, fhir_columns

        entries = example_entries("lumbar", items=True)
        rest = {k: v for k, v in entries.items() if k not in set(fhir_columns())}
        ours = {"entries": rest, "fhir": example_bundle(entries, base=HOSPITAL_BASE)}
        r = httpx.post(f"{srv['url']}/v1/predict", json=ours, headers=AUTH, timeout=60)
        assert r.status_code == 200, r.text
        assert _served_numbers(r.json()) == _numbers(calc.predict(entries))
        shipped = {"entries": rest, "fhir": example_bundle(entries)}  # the project's base
        r = httpx.post(f"{srv['url']}/v1/predict", json=shipped, headers=AUTH, timeout=60)
        assert r.status_code == 422
        assert f"{HOSPITAL_BASE}/Questionnaire/odi|2.1a" in r.text
        assert "not a Questionnaire this toolkit scores" in r.text

        # 16 clients connecting at once, each keeping its connection: both workers answer
        # (each listens on its own SO_REUSEPORT socket; with one shared socket, the worker
        # that woke first took every connection)
        async def clients() -> None:
            cs = [
                httpx.AsyncClient(base_url=srv["url"], headers=AUTH, timeout=60) for _ in range(16)
            ]
            for _ in range(3):
                got = await asyncio.gather(*(c.get("/v1/bundles") for c in cs))
                assert all(r.status_code == 200 for r in got)
            for c in cs:
                await c.aclose()

        before = srv["log"].read_text(encoding="utf-8")
        asyncio.run(clients())
        time.sleep(0.5)
        new_lines = srv["log"].read_text(encoding="utf-8")[len(before) :].splitlines()
        pids = {
            m.group(1)
            for line in new_lines
            if (m := re.search(r"prom\.server\.access \[(\d+)\]: GET /v1/bundles 200", line))
        }
        assert len(pids) == 2, new_lines[-5:]
        proc = srv["proc"]
    assert proc.returncode is not None
    assert srv["log"].read_text(encoding="utf-8").count("Finished server process") == 2


def test_a_worker_that_stops_stops_the_service_with_the_reason(tmp_path):
    """A worker process killed from outside: the other is stopped too, and the command
    ends with exit code 2 naming the worker and its exit code, not serving on half."""
    import signal

    with _serving(tmp_path, "--workers", "2") as srv:
        deadline = time.monotonic() + 90
        while srv["log"].read_text(encoding="utf-8").count("Started server process") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.3)
        pid = int(re.findall(r"Started server process \[(\d+)\]", srv["log"].read_text("utf-8"))[0])
        os.kill(pid, signal.SIGKILL)
        assert srv["proc"].wait(timeout=60) == 2
        log = srv["log"].read_text(encoding="utf-8")
    assert f"worker process {pid} stopped (exit code -9); the service stopped" in log
    assert log.count("Finished server process") == 1  # the other worker, shut down


# --- (d) schema-based fuzzing -------------------------------------------------------------


def _fuzz(op, mode, url: str, failures: list[str], calls: list[int]) -> None:
    """``max_examples`` generated requests of one operation; 5xx answers into ``failures``."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    where = f"{op.method.upper()} {op.path} ({mode.value})"

    @settings(
        max_examples=8,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        resp = case.call(base_url=url, headers=AUTH, timeout=60)
        calls.append(resp.status_code)
        if resp.status_code >= 500:
            failures.append(f"{where}: {resp.status_code}")

    try:
        run()
    except Unsatisfiable:
        # an operation without parameters or body has no invalid request to generate
        if mode.value != "negative":
            raise


def test_schemathesis_finds_no_server_error(server):
    """Every operation of the served OpenAPI document, a bounded number of generated
    requests each (positive and negative); no answer is a 5xx."""
    schemathesis = pytest.importorskip("schemathesis")

    schema = schemathesis.openapi.from_url(f"{server['url']}/openapi.json", headers=AUTH)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 8
    failures: list[str] = []
    calls: list[int] = []
    for op in operations:
        for mode in (
            schemathesis.GenerationMode.POSITIVE,
            schemathesis.GenerationMode.NEGATIVE,
        ):
            _fuzz(op, mode, server["url"], failures, calls)
    assert failures == []
    assert len(calls) >= 50 and 200 in calls and 422 in calls


# --- (e) logs -----------------------------------------------------------------------------


def test_logs_of_a_full_request_hold_no_patient_value(server):
    from prom.calculator.inputs import example_entries

    entries = example_entries("cervical", items=True)
    entries["bmi_kg_m2"] = 31.4159
    rest, bundle = _split(entries)
    before = server["log"].read_text(encoding="utf-8", errors="replace")
    r = httpx.post(
        f"{server['url']}/v1/predict?trace=1",
        json={"entries": rest, "fhir": bundle},
        headers=AUTH,
        timeout=60,
    )
    assert r.status_code == 200
    bad = httpx.post(
        f"{server['url']}/v1/predict",
        json={"entries": {**rest, "age_years": 271.828}},
        headers=AUTH,
    )
    assert bad.status_code == 422 and "271.828" in bad.text  # the caller sees its value
    # a client's text in a path (a bundle id that is a name, a path of no route): the
    # log holds the route as declared, never the path as sent
    named = httpx.get(f"{server['url']}/v1/bundles/JohnDoe-1974-03-02/model-card", headers=AUTH)
    stray = httpx.get(f"{server['url']}/v1/JaneRoe-1980-01-01", headers=AUTH)
    unauthenticated = httpx.get(f"{server['url']}/v1/bundles/JohnDoe-1974-03-02/model-card")
    assert (named.status_code, stray.status_code, unauthenticated.status_code) == (404, 404, 401)
    time.sleep(0.5)
    logged = server["log"].read_text(encoding="utf-8", errors="replace")[len(before) :]
    assert "POST /v1/predict 200" in logged and "POST /v1/predict 422" in logged
    assert "GET /v1/bundles/{bundle_id}/model-card 404" in logged
    assert "GET /v1/bundles/{bundle_id}/model-card 401" in logged
    assert "GET (a path matching no route) 404" in logged
    assert "JohnDoe" not in logged and "JaneRoe" not in logged
    birth = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    values = ["31.4159", "271.828", birth["birthDate"], TOKEN, "trace=1"]
    values += [str(v) for k, v in rest.items() if isinstance(v, str) and k != "region"]
    values += [str(v) for v in rest.values() if isinstance(v, float) and len(str(v)) > 4]
    found = [v for v in values if v in logged]
    assert found == [], f"patient values in the log: {found}"


# --- limits, in process -------------------------------------------------------------------


@pytest.fixture(scope="module")
def service():
    from prom.service import load_service

    return load_service([DEMO_BUNDLE_PATH])


def test_body_over_the_limit_is_413(service):
    import asyncio

    from prom.server import create_app

    app = create_app(service, TOKEN, max_body=2048, rate=0)

    async def go():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            big = await c.post("/v1/predict", json={"entries": {"x": "y" * 3000}}, headers=AUTH)
            small = await c.post("/v1/predict", json={"entries": {}}, headers=AUTH)
            return big, small

    big, small = asyncio.run(go())
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    assert "2048 bytes" in big.json()["detail"]
    assert small.status_code == 422  # under the limit: read, and refused for its content


def test_rate_limit_is_429_with_retry_after(service):
    import asyncio

    from prom.server import create_app

    app = create_app(service, TOKEN, rate=1, burst=3)

    async def go():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            codes = [(await c.get("/cds-services", headers=AUTH)).status_code for _ in range(5)]
            last = await c.get("/cds-services", headers=AUTH)
            health = await c.get("/v1/health")
            return codes, last, health

    codes, last, health = asyncio.run(go())
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
    assert last.json()["status"] == 429
    assert health.status_code == 200  # probes are not limited


def test_schema_validation_error_names_the_field(service):
    import asyncio

    from prom.server import create_app

    app = create_app(service, TOKEN, rate=0)

    async def go():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            return await c.post(
                "/v1/predict", json={"entries": {"age_years": [1]}, "reasons": 99}, headers=AUTH
            )

    r = asyncio.run(go())
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert "body.reasons" in fields
    assert any(f.startswith("body.entries.age_years") for f in fields)


def test_an_internal_error_is_a_500_problem_logged_by_type_only(service, caplog):
    """An exception whose message quotes a value: the client gets a 500 problem without
    it, the log names the exception's type only, and nothing is re-raised to the server
    (which would log the traceback)."""
    import asyncio
    import logging

    from prom.server import create_app

    app = create_app(service, TOKEN, rate=0)

    def boom():
        raise RuntimeError("age_years = 271.828 broke it")

    app.app.add_api_route("/v1/boom", boom, methods=["GET"])

    async def go():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            return await c.get("/v1/boom", headers=AUTH)

    with caplog.at_level(logging.INFO, logger="prom.server"):
        r = asyncio.run(go())
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "271.828" not in r.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "RuntimeError" in logged and "GET /v1/boom 500" in logged
    assert "271.828" not in logged
