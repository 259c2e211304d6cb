"""End to end in headless Chromium: the report's charts render offline; `make dev` serves the asset graph."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from orchestration.definitions import defs
from orchestration.settings import PROJECT_ROOT
from tests.integration.browser import ARTIFACTS, save_full_page, start_chromium
from tests.integration.conftest import Warehouse

pytestmark = pytest.mark.integration

# A chart counts as rendered when plotly drew its SVG with at least one trace in it.
RENDERED_CHARTS_JS = """
return Array.from(document.querySelectorAll("section[data-status='chart']")).map(section => {
  const plot = section.querySelector('.js-plotly-plot');
  const box = plot ? plot.getBoundingClientRect() : {width: 0, height: 0};
  return {
    id: section.id,
    plotted: !!plot && !!plot.querySelector('svg.main-svg'),
    traces: plot && plot._fullData ? plot._fullData.length : 0,
    drawn: plot ? plot.querySelectorAll('.trace').length : 0,
    title: plot ? (plot.querySelector('.gtitle') || {}).textContent || '' : '',
    width: box.width, height: box.height,
  };
});
"""


def test_the_report_renders_every_chart_offline_in_headless_chromium(warehouse: Warehouse) -> None:
    # given the report the session's nightly run wrote, and a browser that cannot reach any network
    report = warehouse.home / "report.html"
    assert report.exists()
    driver = start_chromium(offline=True)
    try:
        # when it is opened from disk
        driver.get(report.as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script(
                "const plots = document.querySelectorAll(\"section[data-status='chart'] .js-plotly-plot\");"
                "return plots.length > 0 && Array.from(plots).every(p => p.querySelector('svg.main-svg'));"
            )
        )
        charts = driver.execute_script(RENDERED_CHARTS_JS)
        sections = dict(
            driver.execute_script(
                "return Array.from(document.querySelectorAll('section.report-section'))"
                ".map(s => [s.id, s.dataset.status]);"
            )
        )
        unavailable_box = driver.find_element(By.ID, "unavailable").text
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        screenshot = save_full_page(driver, "report.png")
    finally:
        driver.quit()

    # then every chart section has a drawn plot with a title, and the charts this branch's marts feed are there
    assert {chart["id"] for chart in charts} >= {"cpst_by_workflow", "spend_by_model"}
    for chart in charts:
        assert chart["plotted"] and chart["traces"] > 0 and chart["drawn"] > 0, chart
        assert chart["width"] > 600 and chart["height"] > 300, chart
        assert chart["title"], chart
        if chart["id"] in ("cpst_by_workflow", "spend_by_model"):
            assert "USD" in chart["title"], chart  # units in the title
    assert len(charts) == sum(status == "chart" for status in sections.values())
    # every mart the report reads is published in the session warehouse: no section is unavailable
    assert set(sections.values()) <= {"chart", "table"}, sections
    assert unavailable_box == "Every section of the report is available.", unavailable_box
    assert errors == []
    assert screenshot.stat().st_size > 50_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`make dev` exited with {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own server on 127.0.0.1)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds:.0f} s")


def dismiss_dialogs(driver: object) -> None:
    """Close Dagster's first-visit dialogs (the newsletter offer can open seconds after the page)."""
    for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):  # type: ignore[attr-defined]
        try:
            skip.click()
        except (ElementClickInterceptedException, StaleElementReferenceException):
            driver.execute_script("arguments[0].click();", skip)  # type: ignore[attr-defined]
    time.sleep(0.3)


def expand_sidebar_groups(driver: object, groups: list[str]) -> None:
    """Open each asset group in the lineage page's sidebar (bottom first, so rows above do not move)."""
    for group in reversed(groups):
        for attempt in range(5):
            try:
                toggle = driver.find_element(  # type: ignore[attr-defined]
                    By.XPATH,
                    f"//button[.//div[@aria-label='arrow_drop_down']][..//*[normalize-space()='{group}']]",
                )
                toggle.click()
                break
            except StaleElementReferenceException:
                time.sleep(0.3)
            except ElementClickInterceptedException:
                dismiss_dialogs(driver)  # a dialog's backdrop took the click: close it and try again
                if attempt == 4:
                    driver.execute_script("arguments[0].click();", toggle)  # type: ignore[attr-defined]
        time.sleep(0.5)


def test_make_dev_serves_the_asset_graph_with_every_asset_of_the_nightly_job(tmp_path: Path) -> None:
    # given `make dev` (as the README says) on a free port, in its own process group
    port = free_port()
    env = {**os.environ, "AGENTLEDGER_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster")}
    env.pop("AGENTLEDGER_DB", None)
    log = (tmp_path / "make-dev.log").open("w")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"DEV_PORT={port}"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    graph = defs.resolve_asset_graph()
    job_assets = {key.path[-1] for key in defs.resolve_job_def("nightly").asset_layer.selected_asset_keys}
    groups = sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", 180, process)
        driver = start_chromium(width=1600, height=3200)  # tall enough for every sidebar row (~80 assets)
        try:
            # when the lineage page is loaded and its groups opened
            driver.get(f"http://127.0.0.1:{port}/asset-groups")
            WebDriverWait(driver, 120).until(
                lambda d: all(group in d.find_element(By.TAG_NAME, "body").text for group in groups)
            )
            dismiss_dialogs(driver)
            # the canvas draws one box per group (SVG foreignObjects) with the edges between them
            WebDriverWait(driver, 60).until(
                lambda d: len(d.find_elements(By.XPATH, "//*[local-name()='foreignObject']")) >= len(groups)
            )
            time.sleep(1)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / "dagster-asset-graph.png"))
            print(f"screenshot: {ARTIFACTS / 'dagster-asset-graph.png'}")
            expand_sidebar_groups(driver, groups)
            # long names are middle-truncated on screen ("mart_routing_…mendations"): read the rendered DOM
            WebDriverWait(driver, 30).until(lambda d: job_assets <= set(re.findall(r"[a-z0-9_]+", d.page_source)))
            rendered = set(re.findall(r"[a-z0-9_]+", driver.page_source))
        finally:
            driver.quit()
    finally:
        # background processes here ignore SIGINT/SIGTERM: kill the whole group (webserver, daemon, code server)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()

    # then the graph names every asset the nightly job materializes, in readable groups
    assert {"extract", "transform", "marts", "publish"} <= set(groups)
    missing = sorted(job_assets - rendered)
    assert missing == []
    assert {"bi_snapshot", "report", "fct_llm_calls", "otel_spans"} <= job_assets
