"""The calculator in a real browser: served by ``streamlit run`` on a free local port,
driven by headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through
selenium. Enters a patient by typing, checks that predictions appear and no exception
does, and saves a screenshot under the test's tmp dir.

Skips, with the reason, only when the browser stack is absent (no selenium, or no
chromium/chromedriver because apt is unavailable); ``make test`` installs all of it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the calculator needs the app extra (streamlit)")
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (make test installs it)"
)

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "apps" / "calculator.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
WAIT = 90  # seconds: first render loads the bundle and shap on a shared 2-core machine

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless Chromium not found (Debian packages chromium and chromium-driver; "
    "`make test` installs them with apt-get when apt is available)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + WAIT
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"streamlit did not start on {url} within {WAIT} s:\n"
                        f"{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.5)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the group this fixture started, only
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture()
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1600,3000",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _input(driver, key: str):
    return WebDriverWait(driver, WAIT).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, f".st-key-{key} input"))
    )


def _type(driver, key: str, value) -> None:
    el = _input(driver, key)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(str(value), Keys.ENTER)
    _settle(driver)


def _choose(driver, key: str, text: str) -> None:
    el = _input(driver, key)
    el.click()
    el.send_keys(text, Keys.ENTER)
    _settle(driver)


def _settle(driver) -> None:
    """Wait until Streamlit has finished the rerun the last entry started."""
    time.sleep(0.3)
    WebDriverWait(driver, WAIT).until_not(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
    )


def _page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _no_exception(driver, shot: Path) -> None:
    driver.save_screenshot(str(shot))
    shown = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    assert not shown, f"the page shows an exception (screenshot {shot}):\n{shown[0].text}"
    assert "Traceback" not in _page_text(driver), f"traceback on the page (screenshot {shot})"


def test_a_typed_patient_gets_predictions_in_a_real_browser(server, browser, tmp_path):
    browser.get(server)
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Spine outcome calculator")
    )
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "to see predictions")
    )
    _no_exception(browser, tmp_path / "calculator_empty.png")
    assert "DEMONSTRATION" in _page_text(browser)

    for key, value in (
        ("in_age_years", 57),
        ("in_odi_0m", 38),
        ("in_nrs_back_0m", 4),
        ("in_nrs_leg_0m", 7),
        ("in_comi_0m", 6.5),
    ):
        _type(browser, key, value)
    _choose(browser, "in_sex", "female")
    _choose(browser, "in_diagnosis", "disc herniation")
    try:
        WebDriverWait(browser, WAIT).until(
            EC.text_to_be_present_in_element(
                (By.TAG_NAME, "body"), "Minimal clinically important difference"
            )
        )
    except TimeoutException:
        browser.save_screenshot(str(tmp_path / "calculator_timeout.png"))
        raise
    shot = tmp_path / "calculator.png"
    _no_exception(browser, shot)
    text = _page_text(browser)
    tables = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stTable']")
    mcid = [t.text for t in tables if "best model" in t.text]
    assert mcid, f"no prediction table on the page (screenshot {shot})"
    import re

    rows = re.findall(r"\d+% \((?:\d+–\d+%|range < 1 pt)\)", mcid[0])
    assert len(rows) == 24, mcid[0]  # 4 PROMs × 3 treatments × (best, logistic)
    assert "Suggestion:" in text and "TFESI response if injected" in text
    assert shot.stat().st_size > 10_000

    _type(browser, "in_age_years", 130)
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "130 is not allowed")
    )
    _no_exception(browser, tmp_path / "calculator_out_of_range.png")
    assert not [
        t
        for t in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stTable']")
        if "best model" in t.text
    ]


def test_the_summary_prints_on_one_a4_page(tmp_path):
    """The downloadable summary of a patient with many warnings, printed by Chromium to
    PDF (A4, the page's own @page rule): exactly one page."""
    import re

    from prom.bundle import load_bundle
    from prom.calculator import DEMO_BUNDLE_PATH, Calculator
    from prom.calculator.summary import summary_html

    patient = {
        "region": "lumbar",
        "diagnosis": "disc_herniation",
        "age_years": 104.0,
        "sex": "female",
        "bmi_kg_m2": 69.0,
        "employment": "employed",
        "symptom_duration_months": 590.0,
        "prior_spine_surgery": False,
        "opioid_use": True,
        "diabetes": True,
        "depression_anxiety": False,
        "asa_grade": 3,
        "index_level": "l4_l5",
        "odi_0m": 46.0,
        "nrs_back_0m": 4.0,
        "nrs_leg_0m": 8.0,
        "comi_0m": 7.5,
        "img_index_disc_height_mm": 8.9,
        "img_index_disc_height_index": 0.31,
        "img_index_canal_ap_mm": 9.5,
        "img_index_disc_csf_signal_ratio": 0.55,
        "img_index_pfirrmann": 4,
        "img_index_firstorder_entropy": 4.3,
        "img_index_glcm_contrast": 45.0,
        "img_index_glcm_correlation": 0.6,
    }
    result = Calculator(load_bundle(DEMO_BUNDLE_PATH)).predict(patient)
    assert len(result.warnings) >= 4
    page = tmp_path / "summary.html"
    page.write_text(summary_html(result), encoding="utf-8")
    pdf = tmp_path / "summary.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())
    assert len(pages) == 1, f"{len(pages)} pages (see {pdf})"


def test_a_scan_uploaded_in_the_browser_fills_the_index_level(server, browser, tmp_path):
    """Upload a phantom sagittal T2 volume; the bundled backbone segments it, the levels
    table marks the index level and its features fill the imaging inputs."""
    pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
    from radiomics_features.io import write_volume
    from radiomics_features.phantoms import make_phantom

    scan = tmp_path / "phantom_t2.nii.gz"
    write_volume(make_phantom().image, scan)
    browser.get(server)
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "to see predictions")
    )
    _choose(browser, "in_index_level", "L4/L5")  # L5/S1 is a fragment here: not filled in
    radio = browser.find_element(
        By.XPATH, "//*[contains(@class,'st-key-imaging_source')]//label[contains(., 'scan')]"
    )
    radio.click()
    _settle(browser)
    upload = WebDriverWait(browser, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".st-key-scan_upload input[type='file']"))
    )
    upload.send_keys(str(scan))
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "phantom_t2.nii.gz")
    )
    _settle(browser)
    button = WebDriverWait(browser, WAIT).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, ".st-key-scan_extract button"))
    )
    button.click()
    WebDriverWait(browser, 180).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "Scan features by level")
    )
    _settle(browser)
    shot = tmp_path / "calculator_scan.png"
    _no_exception(browser, shot)
    levels = [
        t.text
        for t in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stTable']")
        if "◀ index" in t.text
    ]
    assert levels and "L4/L5 ◀ index" in levels[0], levels  # the index level's column
    assert "level confidence" in levels[0] and "canal stenosis (measured)" in levels[0]
    height = _input(browser, "in_img_index_disc_height_mm").get_attribute("value")
    assert height not in ("", None), f"disc height not filled in (screenshot {shot})"


def test_a_zipped_dicom_study_asks_for_the_series_then_fills_the_index_level(
    server, browser, tmp_path
):
    """Upload a zip archive of a study (sagittal T2 and T1, as a PACS exports them): the
    calculator lists its series, measures the one chosen, and says which it read."""
    pytest.importorskip("SimpleITK", reason="scan features need the imaging extra")
    import zipfile
    from dataclasses import replace

    import numpy as np

    from radiomics_features.io import write_dicom_series
    from radiomics_features.phantoms import make_phantom

    p = make_phantom()
    inverse = replace(p.image, array=(p.image.array.max() - p.image.array).astype(np.int16))
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, vol in (("T2_TSE_SAG", p.image), ("T1_TSE_SAG", inverse)):
            for f in sorted(write_dicom_series(vol, tmp_path / name, description=name).iterdir()):
                zf.write(f, f"{name}/{f.name}")
    browser.get(server)
    WebDriverWait(browser, WAIT).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "to see predictions")
    )
    _choose(browser, "in_index_level", "L4/L5")
    browser.find_element(
        By.XPATH, "//*[contains(@class,'st-key-imaging_source')]//label[contains(., 'scan')]"
    ).click()
    _settle(browser)
    upload = WebDriverWait(browser, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".st-key-scan_upload input[type='file']"))
    )
    upload.send_keys(str(archive))
    WebDriverWait(browser, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".st-key-scan_series input"))
    )
    _choose(browser, "scan_series", "T2_TSE_SAG")
    WebDriverWait(browser, WAIT).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, ".st-key-scan_extract button"))
    ).click()
    WebDriverWait(browser, 180).until(
        EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "Scan features by level")
    )
    _settle(browser)
    shot = tmp_path / "calculator_dicom_study.png"
    _no_exception(browser, shot)
    assert "DICOM series read: 'T2_TSE_SAG' (sagittal," in _page_text(browser), shot
    height = _input(browser, "in_img_index_disc_height_mm").get_attribute("value")
    assert height not in ("", None), f"disc height not filled in (screenshot {shot})"
