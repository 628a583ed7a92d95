"""The trace explorer in a real browser: Debian's Chromium, driven headless by Selenium
through Debian's chromedriver, against the real stack — the example Flask API sending its
spans to hoptrace's OTLP receiver, the static frontend, and hoptrace with no exporter.

With HOPTRACE_SCREENSHOT=path the waterfall of the API's trace is saved there (the
README's picture is made this way: HOPTRACE_SCREENSHOT=docs/explorer-waterfall.png)."""

import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import BACKEND_APP, FRONTEND_DIR, HOPTRACE, Service, free_port, wait_for_http

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers or phone home
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service as DriverService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOSTILE = '<img src=x onerror="alert(1)">'
# A span that arrives without its parent: the parent id below is never sent.
ORPHAN_TRACE = "c0ffee00000000000000000000000001"
MISSING_PARENT = "00000000000000aa"
# The caller's span of a request that came with a traceparent.
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
# Records alert() calls and CSP violations before the page's own code runs.
PRELUDE = """
window.__alerts = []; window.__csp = [];
for (const name of ['alert', 'confirm', 'prompt']) { window[name] = (...args) => { window.__alerts.push(String(args[0])); }; }
document.addEventListener('securitypolicyviolation', (event) => window.__csp.push(event.violatedDirective));
"""


def explorer_config(folder: Path, port, admin, receiver, backend, frontend, closed) -> Path:
    path = folder / "hoptrace.yaml"
    path.write_text(f"""
listen: "127.0.0.1:{port}"
workers: 1
admin: "127.0.0.1:{admin}"
receiver: {{ listen: "127.0.0.1:{receiver}" }}
store: {{ settle_time: 1s }}
access_log: off
routes:
  - {{ name: flaky, path: /api/activities/slow, upstream: flaky }}
  - {{ name: api, path_prefix: /api, upstream: backend }}
  - {{ name: web, path_prefix: /, upstream: frontend }}
upstreams:
  backend: {{ servers: ["127.0.0.1:{backend}"] }}
  frontend: {{ servers: ["127.0.0.1:{frontend}"] }}
  flaky: {{ servers: ["127.0.0.1:{closed}", "127.0.0.1:{backend}"] }}
""")
    return path


class ExplorerStack:
    """hoptrace (memory only), the Flask API exporting to its receiver, the frontend."""

    def __init__(self, folder: Path):
        self.services = []
        self.port, self.admin, self.receiver = free_port(), free_port(), free_port()
        backend, frontend = free_port(), free_port()
        try:
            self.services.append(Service("backend", [sys.executable, BACKEND_APP], {
                "HOST": "127.0.0.1", "PORT": str(backend), "OTEL_SERVICE_NAME": "backend-flask",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.receiver}", "OTEL_BSP_SCHEDULE_DELAY": "200",
                "OTEL_EXPORTER_OTLP_HEADERS": None, "OTEL_EXPORTER_OTLP_PROTOCOL": None}, folder))
            self.services.append(Service("frontend", [
                sys.executable, "-m", "http.server", frontend, "--bind", "127.0.0.1", "--directory", FRONTEND_DIR], {}, folder))
            config = explorer_config(folder, self.port, self.admin, self.receiver, backend, frontend, free_port())
            self.proxy = Service("hoptrace", [HOPTRACE, "run", "--config", config], {
                "OTEL_SERVICE_NAME": "edge-proxy", "OTEL_EXPORTER_OTLP_ENDPOINT": None, "OTEL_TRACES_EXPORTER": None}, folder)
            self.services.append(self.proxy)
            wait_for_http(f"http://127.0.0.1:{backend}/api/health", process=self.services[0])
            wait_for_http(f"http://127.0.0.1:{frontend}/", process=self.services[1])
            wait_for_http(f"http://127.0.0.1:{self.admin}/healthz", process=self.proxy)
        except BaseException:
            self.stop()
            raise

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def explorer(self, path="/"):
        return f"http://127.0.0.1:{self.admin}{path}"

    def traces(self, query=""):
        return requests.get(self.explorer("/traces" + query), timeout=5).json()

    def stop(self):
        for service in reversed(self.services):
            service.stop()


def eventually(check, timeout=15.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = ExplorerStack(tmp_path_factory.mktemp("explorer"))
    try:
        # The API through the proxy: hoptrace's spans and Flask's, one trace.
        assert requests.get(running.url("/api/activities/home"), timeout=5).status_code == 200
        # The frontend, which sends no spans.
        assert requests.get(running.url("/"), timeout=5).status_code == 200
        # A caller's traceparent (trusted: loopback): its span is never sent to hoptrace.
        assert requests.get(running.url("/api/health"), headers={
            "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}, timeout=5).status_code == 200
        # A group whose first server refuses: one of two requests is retried on the next.
        for _ in range(2):
            assert requests.get(running.url("/api/activities/slow?seconds=0"), timeout=5).status_code == 200
        # A span whose parent never arrives, with a name that would be markup.
        orphan = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "worker"}}]},
                  "scopeSpans": [{"spans": [{"traceId": ORPHAN_TRACE, "spanId": "00000000000000bb", "parentSpanId": MISSING_PARENT,
                                             "name": HOSTILE, "kind": 1, "startTimeUnixNano": str(time.time_ns()),
                                             "endTimeUnixNano": str(time.time_ns() + 5_000_000),
                                             "attributes": [{"key": "note", "value": {"stringValue": "<script>alert(2)</script>"}}]}]}]}]}
        answer = requests.post(f"http://127.0.0.1:{running.receiver}/v1/traces", data=json.dumps(orphan),
                               headers={"Content-Type": "application/json"}, timeout=5)
        assert answer.status_code == 200
        eventually(lambda: running.traces("?service=backend-flask")["matched"] >= 4, what="the API's spans in the store")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver (scripts/test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,760"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PRELUDE})
    yield driver
    driver.quit()


def wait(driver, condition, timeout=15, what="the page"):
    """Waits for `condition`; a list that re-rendered under it (live updates) is asked again."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _: condition(), message=f"waiting for {what}")


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def trace_id(stack, query):
    return stack.traces(query)["traces"][0]["trace_id"]


HOME = "?attr=" + urllib.parse.quote("url.path=/api/activities/home")


def assert_page_is_safe(driver):
    try:
        text = driver.switch_to.alert.text
        pytest.fail(f"an alert opened: {text}")
    except NoAlertPresentException:
        pass
    state = driver.execute_script("return {alerts: window.__alerts, csp: window.__csp, images: document.images.length}")
    assert state == {"alerts": [], "csp": [], "images": 0}


def open_trace(driver, stack, trace, rows):
    driver.get(stack.explorer(f"/traces/{trace}"))
    wait(driver, lambda: len(css(driver, ".span-row")) >= rows, what=f"{rows} waterfall rows")
    return css(driver, ".span-row")


def test_the_list_shows_every_trace_and_opens_one_with_the_keyboard(stack, browser):
    browser.get(stack.explorer("/"))
    wait(browser, lambda: len(css(browser, "tr.trace-row")) >= 6, what="the trace list")
    api = trace_id(stack, HOME)
    row_text = wait(browser, lambda: browser.find_element(By.CSS_SELECTOR, f'tr.trace-row[data-trace-id="{api}"]').text,
                    what="the API's row")
    assert "backend-flask" in row_text and "edge-proxy" in row_text
    assert "GET /api/*" in row_text
    # ↓ until the API's trace is selected, then Enter opens it, Esc comes back.
    body = browser.find_element(By.TAG_NAME, "body")
    selected = f'tr.trace-row[data-trace-id="{api}"][aria-selected="true"]'
    for _ in range(len(css(browser, "tr.trace-row"))):
        if css(browser, selected):
            break
        body.send_keys(Keys.ARROW_DOWN)
    assert css(browser, selected)
    body.send_keys(Keys.ENTER)
    wait(browser, lambda: browser.current_url.endswith(f"/traces/{api}"), what="the trace view")
    wait(browser, lambda: len(css(browser, ".span-row")) == 4, what="four rows")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait(browser, lambda: urllib.parse.urlparse(browser.current_url).path == "/", what="the list again")
    assert_page_is_safe(browser)


def test_the_waterfall_joins_the_proxys_spans_and_the_backends(stack, browser):
    api = trace_id(stack, HOME)
    rows = open_trace(browser, stack, api, 4)
    assert [row.get_attribute("data-service") for row in rows] == ["edge-proxy", "edge-proxy", "backend-flask", "backend-flask"]
    assert "GET /api/*" in rows[0].text and "GET /api/*" in rows[1].text
    assert "home-activities-mock-data" in rows[3].text
    # The upstream attempt shows where its time went.
    assert rows[1].find_elements(By.CSS_SELECTOR, ".phase.wait") and rows[1].find_elements(By.CSS_SELECTOR, ".phase.transfer")
    assert not rows[1].find_elements(By.CSS_SELECTOR, ".badge.not-instrumented")
    # Its details: the attributes of the selected span.
    rows[2].click()
    wait(browser, lambda: browser.find_element(By.ID, "details").is_displayed(), what="the details panel")
    assert "http.route" in browser.find_element(By.ID, "details").text
    if os.environ.get("HOPTRACE_SCREENSHOT"):
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        wait(browser, lambda: not browser.find_element(By.ID, "details").is_displayed(), what="the panel to close")
        wait(browser, lambda: "receiving" not in browser.find_element(By.TAG_NAME, "main").text, what="the trace to settle")
        browser.set_window_size(1400, 440)
        browser.save_screenshot(os.environ["HOPTRACE_SCREENSHOT"])
        browser.set_window_size(1400, 760)
    assert_page_is_safe(browser)


def test_an_upstream_that_sends_no_spans_is_marked_not_instrumented(stack, browser):
    frontend = trace_id(stack, "?route=%2F")
    rows = open_trace(browser, stack, frontend, 2)
    # Once the trace has settled (store.settle_time is 1 s here), the mark says so.
    wait(browser, lambda: css(browser, ".span-row .badge.not-instrumented"), what="the not-instrumented mark")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in browser.page_source
    assert_page_is_safe(browser)


def test_a_retried_attempt_is_its_own_row(stack, browser):
    retried = trace_id(stack, "?retry=1")
    rows = open_trace(browser, stack, retried, 3)
    clients = [row for row in rows if "GET /api/activities/slow" in row.text and row.get_attribute("data-service") == "edge-proxy"]
    assert len(clients) >= 3  # the SERVER span and two attempts
    assert css(browser, ".span-row .badge.retry")
    assert css(browser, ".span-row.error")  # the refused connection
    assert_page_is_safe(browser)


def test_missing_parents_hang_under_placeholders_and_names_stay_text(stack, browser):
    rows = open_trace(browser, stack, ORPHAN_TRACE, 2)
    placeholder = browser.find_element(By.CSS_SELECTOR, f'.span-row.placeholder[data-missing-span-id="{MISSING_PARENT}"]')
    assert placeholder
    assert HOSTILE in browser.find_element(By.ID, "waterfall").text
    assert_page_is_safe(browser)
    # The caller's span of a request that came with a traceparent is expected, not an error.
    open_trace(browser, stack, CALLER_TRACE, 3)
    caller = browser.find_element(By.CSS_SELECTOR, f'.span-row.placeholder[data-missing-span-id="{CALLER_SPAN}"]')
    assert "caller's span" in caller.text
    assert_page_is_safe(browser)


def test_a_backend_clock_that_disagrees_is_shown_not_corrected(stack, browser):
    # A service whose clock runs 3 ms behind answers the caller trace's upstream attempt.
    trace = requests.get(stack.explorer(f"/traces/{CALLER_TRACE}"), timeout=5).json()
    proxy = next(group for group in trace["resourceSpans"]
                 if any(a["key"] == "telemetry.sdk.name" and a["value"].get("stringValue") == "hoptrace"
                        for a in group["resource"]["attributes"]))
    attempt = next(span for scope in proxy["scopeSpans"] for span in scope["spans"] if span["kind"] == 3)
    start = int(attempt["startTimeUnixNano"]) - 3_000_000
    skewed = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "skewed"}}]},
              "scopeSpans": [{"spans": [{"traceId": CALLER_TRACE, "spanId": "00000000000000cc", "parentSpanId": attempt["spanId"],
                                         "name": "GET /late-clock", "kind": 2, "startTimeUnixNano": str(start),
                                         "endTimeUnixNano": str(start + 1_000_000)}]}]}]}
    assert requests.post(f"http://127.0.0.1:{stack.receiver}/v1/traces", data=json.dumps(skewed),
                         headers={"Content-Type": "application/json"}, timeout=5).status_code == 200
    rows = open_trace(browser, stack, CALLER_TRACE, 5)
    row = next(row for row in rows if row.get_attribute("data-service") == "skewed")
    badge = row.find_element(By.CSS_SELECTOR, ".badge.clock-skew")
    assert "clock skew" in badge.text and "ms" in badge.text
    assert_page_is_safe(browser)


def test_filters_live_in_the_url_and_survive_a_reload(stack, browser):
    browser.get(stack.explorer("/"))
    wait(browser, lambda: len(css(browser, "tr.trace-row")) >= 6, what="the trace list")
    Select(browser.find_element(By.ID, "filter-service")).select_by_value("backend-flask")
    wait(browser, lambda: "service=backend-flask" in browser.current_url, what="the filter in the URL")
    matched = stack.traces("?service=backend-flask")["matched"]
    wait(browser, lambda: len(css(browser, "tr.trace-row")) == matched, what="the filtered list")
    browser.refresh()
    wait(browser, lambda: len(css(browser, "tr.trace-row")) == matched, what="the filtered list after a reload")
    assert Select(browser.find_element(By.ID, "filter-service")).first_selected_option.get_attribute("value") == "backend-flask"
    # A bad value is explained, not ignored.
    browser.get(stack.explorer("/?min_ms=5&max_ms=1"))
    wait(browser, lambda: browser.find_element(By.ID, "list-error").text, what="the filter error")
    assert "min_ms" in browser.find_element(By.ID, "list-error").text
    assert_page_is_safe(browser)


def test_the_overview_shows_each_route_and_opens_its_traces(stack, browser):
    browser.get(stack.explorer("/"))
    wait(browser, lambda: len(css(browser, "tr.trace-row")) >= 6, what="the trace list")
    browser.find_element(By.ID, "overview-nav").click()
    wait(browser, lambda: urllib.parse.urlparse(browser.current_url).path == "/overview", what="the overview")
    # The workers hand in their counts every second; the page asks every five.
    link = wait(browser, lambda: next((a for a in css(browser, "#overview-routes a.overview-link") if a.text == "api"), None),
                timeout=20, what="the api route's row")
    row = link.find_element(By.XPATH, "./ancestor::tr").text
    assert "ms" in row, row  # quantiles shown
    assert css(browser, "#overview-upstreams tr")
    assert "seconds" in browser.find_element(By.ID, "overview-window").text or "minutes" in browser.find_element(By.ID, "overview-window").text
    link.click()
    wait(browser, lambda: "route=%2Fapi%2F*" in browser.current_url or "route=/api/*" in browser.current_url, what="the filtered list")
    wait(browser, lambda: len(css(browser, "tr.trace-row")) > 0, what="the api's traces")
    assert all("GET /api/" in row.text for row in css(browser, "tr.trace-row"))
    assert_page_is_safe(browser)


def test_the_browser_console_stayed_clean(browser):
    problems = [entry["message"] for entry in browser.get_log("browser")
                if entry["level"] == "SEVERE" and "400 (Bad Request)" not in entry["message"]]
    assert problems == []
