"""The dashboard widget in a real headless Chromium (Debian's chromium + chromium-driver).

Against the shared server (tests/conftest_serve.py), which needs a token: the
widget must ask for it. Then the ranked table must equal the API's JSON, a new
metric must reorder it, a segment link must open the segment's page, and no
request may leave the server's host (Chromium's own network log says which
requests it made).
"""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlsplit

import pytest

from tests.conftest_serve import AS_OF
from tests.serve_server import get

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1200,900"]


@pytest.fixture(scope="session")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_ready(driver, shown: str | None = None, timeout: float = 15):
    """Until the page is drawn (and, with `shown`, until that CSS selector matches: the new view)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return document.body.dataset.ready === 'true' && (!arguments[0] || !!document.querySelector(arguments[0]))",
        shown))


def ranked_rows(driver) -> list[dict]:
    """The card's table as the page shows it: segment id, name, and the counts."""
    return driver.execute_script("""
        return [...document.querySelectorAll('#top-segments tbody tr')].map(tr => ({
            segment_id: Number(tr.dataset.segmentId),
            segment_name: tr.querySelector('th a').textContent,
            leads_sent: tr.querySelector('[data-key=leads_sent]').textContent,
            replied: tr.querySelector('[data-key=replied]').textContent,
            rates: [...tr.querySelectorAll('td.rate .pct')].map(td => td.textContent),
        }));""")


def expected_rows(body: dict) -> list[dict]:
    return [{"segment_id": s["segment_id"], "segment_name": s["segment_name"], "leads_sent": f"{s['leads_sent']:,}",
             "replied": f"{s['replied']:,}",
             "rates": [f"{s[r] * 100:.2f} %" if s[r] is not None else "–" for r in ("open_rate", "reply_rate", "bounce_rate")]}
            for s in body["segments"]]


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_the_widget_in_chromium(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.get_log("performance")  # start the network log afresh
    browser.get(f"{server.base_url}/?as_of={AS_OF}")
    wait_ready(browser)
    # the server needs a token: the widget asks for it, and a wrong one is refused
    field = browser.find_element(By.ID, "token")
    field.send_keys("not-a-token", Keys.ENTER)
    wait_ready(browser, "#token-form[data-rejected]")
    assert "did not accept" in browser.find_element(By.ID, "token-help").text
    browser.find_element(By.ID, "token").send_keys("tok-all", Keys.ENTER)
    wait_ready(browser, "#top-segments")

    api = f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}&days=30&limit=5"
    by_reply = get(api + "&metric=reply_rate", "tok-all")[2]
    assert ranked_rows(browser) == expected_rows(by_reply) != []

    Select(browser.find_element(By.ID, "metric")).select_by_value("bounce_rate")
    wait_ready(browser, "#metric option[value=bounce_rate][selected]")
    by_bounce = get(api + "&metric=bounce_rate", "tok-all")[2]
    assert ranked_rows(browser) == expected_rows(by_bounce)
    assert [r["segment_id"] for r in expected_rows(by_bounce)] != [r["segment_id"] for r in expected_rows(by_reply)]
    assert "bounce rate" in browser.find_element(By.CSS_SELECTOR, "#top-segments caption").text

    first = by_bounce["segments"][0]
    link = browser.find_element(By.CSS_SELECTOR, f"#top-segments tr[data-segment-id='{first['segment_id']}'] a")
    link.send_keys(Keys.ENTER)  # keyboard, not a click
    wait_ready(browser, "article.segment #leads-table")
    assert browser.find_element(By.TAG_NAME, "h1").text == first["segment_name"]
    # the filters as written, each value isolated (U+2068 … U+2069) so a right-to-left mark stays inside it
    facts = dict(zip([e.text for e in browser.find_elements(By.CSS_SELECTOR, "dl.facts dt")],
                     [e.text for e in browser.find_elements(By.CSS_SELECTOR, "dl.facts dd")]))
    written = get(f"{server.base_url}/api/segments/{first['segment_id']}", "tok-all")[2]["filters"]
    assert written and facts["Filters"] == ("; ".join(f"{key}: " + (", ".join(f"\u2068{v}\u2069" for v in value)
                                                         if isinstance(value, list) else str(value).lower())
                                          for key, value in written.items()) or "every lead")
    leads = get(f"{server.base_url}/api/segments/{first['segment_id']}/leads?limit=20", "tok-all")[2]
    shown = browser.find_elements(By.CSS_SELECTOR, "#leads-table tbody tr")
    assert len(shown) == len(leads["leads"])
    campaigns = get(f"{server.base_url}/api/segments/{first['segment_id']}/campaigns?as_of={AS_OF}", "tok-all")[2]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#campaigns-table tbody tr")) == len(campaigns["campaigns"])
    trend = get(f"{server.base_url}/api/segments/{first['segment_id']}/trend?as_of={AS_OF}", "tok-all")[2]
    if any(point["leads_sent"] for point in trend["series"][0]["points"]):
        assert browser.find_elements(By.CSS_SELECTOR, "#trend .uplot canvas"), "the trend chart is drawn"
    else:
        assert browser.find_element(By.ID, "trend").text == "No sends in this window."

    # the page charts the card's metric, and "back" returns to the card as it was left
    assert "Bounce rate by week" in [h2.text for h2 in browser.find_elements(By.CSS_SELECTOR, "article.segment h2")]
    urls = requested_urls(browser)
    assert any(u.endswith("/api/dashboard/top-segments?metric=bounce_rate&days=30&limit=5&as_of=" + AS_OF)
               for u in urls)
    assert any(f"/api/segments/{first['segment_id']}/trend?metric=bounce_rate&" in u for u in urls), urls
    browser.find_element(By.ID, "back").send_keys(Keys.ENTER)
    wait_ready(browser, "#top-segments")
    assert Select(browser.find_element(By.ID, "metric")).first_selected_option.get_attribute("value") == "bounce_rate"
    assert ranked_rows(browser) == expected_rows(by_bounce)
    foreign = [u for u in urls if urlsplit(u).scheme not in ("data", "blob", "about")
               and urlsplit(u).netloc != f"127.0.0.1:{server.port}"]
    assert foreign == []


def test_the_widget_at_phone_width(server, browser):
    """At 390 px wide the card still shows every segment name without a page-wide horizontal scroll."""
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{server.base_url}/?as_of={AS_OF}")
        wait_ready(browser)
        if browser.find_elements("id", "token"):
            browser.find_element("id", "token").send_keys("tok-all\n")
            wait_ready(browser)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        viewport = browser.execute_script("return window.innerWidth")
        assert width <= viewport
        assert browser.find_elements("css selector", "#top-segments tbody tr")
    finally:
        browser.set_window_size(1200, 900)


def test_the_api_docs_render_from_the_server_itself(server, browser):
    """/docs is Swagger UI from the vendored copy: every endpoint listed, nothing from another host."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("performance")
    browser.get(f"{server.base_url}/docs")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", ".opblock-summary-path"))
    paths = {e.get_attribute("data-path") for e in browser.find_elements("css selector", ".opblock-summary-path")}
    assert {"/api/dashboard/top-segments", "/api/segments/{segment}/leads", "/api/segments/{segment}/trend"} <= paths
    foreign = [u for u in requested_urls(browser) if urlsplit(u).scheme not in ("data", "blob", "about")
               and urlsplit(u).netloc != f"127.0.0.1:{server.port}"]
    assert foreign == []


def test_an_api_error_keeps_the_card_and_its_selectors(server, browser):
    """A window the API refuses shows its one-line detail in the card, whose metric and
    window selectors stay, so choosing another window brings the table back."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{server.base_url}/?as_of={AS_OF}#/?days=400")
    wait_ready(browser)
    if browser.find_elements(By.ID, "token"):
        browser.find_element(By.ID, "token").send_keys("tok-all\n")
    wait_ready(browser, "[role=alert]")
    status, _, body = get(f"{server.base_url}/api/dashboard/top-segments?days=400&as_of={AS_OF}", "tok-all")
    assert status == 422
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == body["detail"]
    assert browser.find_element(By.ID, "metric") and browser.find_element(By.TAG_NAME, "h1").text == \
        "Top Performing Segments"
    Select(browser.find_element(By.ID, "days")).select_by_value("30")
    wait_ready(browser, "#top-segments")
    expected = get(f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}&days=30&limit=5", "tok-all")[2]
    assert ranked_rows(browser) == expected_rows(expected)


def test_every_file_the_page_asks_for_is_found(server, browser):
    """Chromium asks for /favicon.ico unless the page names an icon; a 404 there is an error
    in the browser's console on every load."""
    browser.get_log("performance")
    browser.get(f"{server.base_url}/?as_of={AS_OF}")
    wait_ready(browser)
    browser.get(f"{server.base_url}/docs")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", ".opblock-summary-path"))
    statuses = {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            if urlsplit(response["url"]).scheme.startswith("http") and "/api/" not in response["url"]:
                statuses[response["url"]] = response["status"]
    assert statuses and {url: status for url, status in statuses.items() if status >= 400} == {}


def test_the_ranking_selector_orders_by_the_wilson_bound(server, browser):
    """The card's "Ranking" selector is `rank_by` (SPEC §7): by the Wilson lower bound the
    order is the API's, the bound computed here with statsmodels, and the ranked metric's
    cell shows its interval."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    from statsmodels.stats.proportion import proportion_confint

    browser.get(f"{server.base_url}/?as_of={AS_OF}#/?days=365&limit=100&metric=open_rate")
    wait_ready(browser)
    if browser.find_elements(By.ID, "token"):
        browser.find_element(By.ID, "token").send_keys("tok-all\n")
    wait_ready(browser, "#top-segments")
    Select(browser.find_element(By.ID, "rank_by")).select_by_value("wilson")
    wait_ready(browser, "#rank_by option[value=wilson][selected]")

    api = f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}&days=365&limit=100&metric=open_rate"
    by_wilson = get(api + "&rank_by=wilson", "tok-all")[2]
    assert ranked_rows(browser) == expected_rows(by_wilson)
    bounds = {s["segment_id"]: proportion_confint(s["opened"], s["leads_sent"], method="wilson")
              for s in by_wilson["segments"]}
    order = sorted(bounds, key=lambda i: (-bounds[i][0], -next(s["leads_sent"] for s in by_wilson["segments"]
                                                               if s["segment_id"] == i), i))
    assert [s["segment_id"] for s in by_wilson["segments"]] == order
    by_rate = get(api, "tok-all")[2]
    assert [s["segment_id"] for s in by_rate["segments"]] != order, "the data should rank differently"

    notes = browser.execute_script("""return [...document.querySelectorAll('#top-segments tbody tr')].map(
        tr => [...tr.querySelectorAll('td.rate')].map(td => [...td.querySelectorAll('.note')].map(n => n.textContent)))""")
    for segment, cells in zip(by_wilson["segments"], notes):
        low, high = bounds[segment["segment_id"]]
        assert cells == [[f"95 %: {low * 100:.2f}–{high * 100:.2f} %"], [], []]
    assert "lower end" in browser.find_element(By.CSS_SELECTOR, "#top-segments caption").text


def test_a_segment_page_shows_its_best_hour_and_its_ab_variants(server, browser):
    """The segment's page answers "when to send" and "which variant wins" from the
    best-time and variants endpoints: every hour with sends, and every campaign that split
    the sends, each variant against its control in the API's figures."""
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/?as_of={AS_OF}#/segments/3?days=365")
    wait_ready(browser)
    if browser.find_elements(By.ID, "token"):
        browser.find_element(By.ID, "token").send_keys("tok-all\n")
    wait_ready(browser, "#best-time-table")
    query = f"as_of={AS_OF}&days=365&metric=reply_rate"
    best_time = get(f"{server.base_url}/api/segments/3/best-time?{query}", "tok-all")[2]
    shown_hours = [int(tr.get_attribute("data-hour")) for tr in browser.find_elements(By.CSS_SELECTOR, "#best-time-table tbody tr")]
    assert shown_hours == [b["hour"] for b in best_time["buckets"] if b["leads_sent"]] != []
    assert best_time["best"] is None  # fewer than 30 sends an hour
    assert browser.find_element(By.CSS_SELECTOR, "#best-time .verdict").text == \
        "No hour has 30 sends yet, too few to pick a best one."

    variants = get(f"{server.base_url}/api/segments/3/variants?{query}", "tok-all")[2]
    split = [c for c in variants["campaigns"] if len(c["variants"]) > 1]
    sections = browser.find_elements(By.CSS_SELECTOR, "#variants section.campaign-variants")
    assert [int(s.get_attribute("data-campaign-id")) for s in sections] == [c["campaign_id"] for c in split] != []
    for section, campaign in zip(sections, split):
        rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.get_attribute("data-variant") for r in rows] == [v["variant"] for v in campaign["variants"]]
        for row, variant in zip(rows, campaign["variants"]):
            verdict = row.find_element(By.CSS_SELECTOR, "td:last-child").text
            if variant["control"]:
                assert verdict == "control"
            else:
                word = "differs" if variant["p_adjusted"] < 0.05 else "not significant"
                assert verdict.startswith(f"{word} (p = ")


def test_a_token_the_browser_cannot_send_asks_for_it_again(server, browser):
    """fetch throws a TypeError for a header value outside ISO-8859-1 (here a Polish ł typed
    for an l): the widget asks for the token again and says why, as for a token the server
    refused, rather than showing the exception; a good token then shows the card."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server.base_url}/?as_of={AS_OF}")
    browser.execute_script("sessionStorage.clear()")  # an earlier test's token would skip the form
    browser.refresh()
    wait_ready(browser, "#token-form")
    browser.find_element(By.ID, "token").send_keys("tok-a\u0142l", Keys.ENTER)
    wait_ready(browser, "#token-form[data-rejected]")
    assert browser.find_element(By.ID, "token-help").text == \
        "Your browser cannot send that token: a token holds only letters, digits and punctuation " \
        "(printable ASCII). Check it and try again."
    assert not browser.find_elements(By.CSS_SELECTOR, "[role=alert]")
    browser.find_element(By.ID, "token").send_keys("tok-all", Keys.ENTER)
    wait_ready(browser, "#top-segments")
