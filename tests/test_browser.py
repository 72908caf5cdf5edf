"""The map in a real headless browser (issue #6): Debian Chromium driven by Selenium with the
system chromedriver (installed by .ci/run; never downloaded at test time).

Checks that the page renders, shows the expected number of nodes, makes zero network
requests, and that no injected script runs.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import pytest

import crimegraph as cg
from crimegraph.viz import save_briefing, save_html
from crimegraph.viz.html import map_data

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "small"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><svg onload="window.__xss=3">'

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install crimegraph[test]")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("Debian chromium and chromium-driver are not installed (.ci/run installs them)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield d
    d.quit()


@pytest.fixture(scope="module")
def hostile_analysis():
    a = cg.analyse(cg.read_case(SAMPLE / "case"))
    a.roles = copy.deepcopy(a.roles)
    t = a.roles.table
    t.loc[t.index[t["role"] == "pusher"][0], "label"] = PAYLOAD
    return a


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _open(driver, path: Path) -> float:
    driver.get_log("performance")   # drop earlier events
    t0 = time.perf_counter()
    driver.get(path.as_uri())
    for _ in range(200):
        if driver.execute_script("return window.cgReady === true"):
            break
        time.sleep(0.05)
    return time.perf_counter() - t0


def test_map_renders_offline_without_injection(driver, hostile_analysis, tmp_path):
    path = save_html(hostile_analysis, tmp_path / "map.html")
    _open(driver, path)
    assert driver.execute_script("return window.cgReady === true"), "map did not finish drawing"
    expected = len(map_data(hostile_analysis).nodes)
    assert driver.execute_script("return window.cgNodeCount") == expected
    assert driver.execute_script("return window.cgNetwork.body.data.nodes.length") == expected
    # the canvas was drawn
    assert driver.execute_script("return document.querySelector('canvas').width") > 0
    # no request but the page itself
    others = [u for u in _requests(driver) if u != path.as_uri()]
    assert others == []
    # nothing injected ran, and the payload is shown as text
    assert driver.execute_script("return window.__xss") is None
    label = driver.execute_script(
        "return window.cgNetwork.body.data.nodes.get().map(function(n){return n.label}).join('|')")
    assert PAYLOAD in label
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_briefing_renders_offline(driver, hostile_analysis, tmp_path):
    path = save_briefing(hostile_analysis, tmp_path / "briefing.html", cg.rank_targets(hostile_analysis, k=20),
                         top=20)
    driver.get_log("performance")
    driver.get(path.as_uri())
    assert "case briefing" in driver.title
    assert driver.execute_script("return document.querySelectorAll('svg').length") == 2
    assert driver.execute_script("return window.__xss") is None
    assert PAYLOAD in driver.find_element("tag name", "body").text
    assert [u for u in _requests(driver) if u != path.as_uri()] == []
