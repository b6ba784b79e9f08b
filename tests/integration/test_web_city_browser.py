"""The city Department's dashboard in a real browser: headless
Chromium (Debian's chromium + chromium-driver) through Selenium, against a
real city (its web service included) and two real wards over CurveZMQ.

A `department` user opens the dashboard; a case submitted at ward 31002
through the CLI appears in the live list, and that ward's counters change,
without a reload; the city restarts (every service, the web's too) and the
page says "reconnecting", then resumes with no event lost; no reporter's
phone is on the page for a ward-handled case; the Department works a
forwarded case from its queue with the buttons of allowed_actions. The
dashboard's screenshot goes to $HOTLINE_BUILD/screenshots/dashboard.png, and
with HOTLINE_DASHBOARD_SCREENSHOT=1 also (made small) to
services/web/screenshot-dashboard.png, the one the README shows.

Marked `browser`: a pass that cannot run a browser (valgrind) leaves them out.
"""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, SLOW, wait_for
from federation_util import wait_converged
from test_web_browser import _selenium, browser, by_id, css, until, loaded, shot, csp_violations  # noqa: F401
from test_web_city import City

pytestmark = pytest.mark.browser

SCREENSHOT = os.path.join(ROOT, "services", "web", "screenshot-dashboard.png")


@pytest.fixture
def city(node_factory, tmp_path, smtp_sink):
    _selenium()
    return City(node_factory, tmp_path, smtp_sink, city_web="web\n    stream_keepalive_s = 2\n")


def open_dashboard(d, city):
    d.get(city.node.web + "/")
    loaded(d)
    by_id(d, "user").send_keys("hoa")
    by_id(d, "password").send_keys(city.password)
    by_id(d, "password").submit()
    # a Department user at the city lands on the dashboard (officers on the case list)
    until(d, lambda: "/dashboard.html" in d.current_url, "the dashboard after login")
    loaded(d)
    until(d, lambda: badge(d) == "live", "the live stream")
    until(d, lambda: css(d, "#wards tr.ward-row"), "the wards' table")


def badge(d):
    return d.execute_script("return document.getElementById('stream-status').dataset.state")


def figure(d, ward, name):
    return d.execute_script(
        "const c = document.querySelector(`#wards tr[data-ward='${arguments[0]}'] td[data-figure='${arguments[1]}']`);"
        " return c ? c.textContent : null;", ward, name)


def live_cases(d):
    return d.execute_script("return [...document.querySelectorAll('#live li[data-case]')].map(e => e.dataset.case)")


def live_seqs(d):
    return d.execute_script("return [...document.querySelectorAll('#live li[data-seq]')].map(e => Number(e.dataset.seq))")


def page_text(d):
    return d.execute_script("return document.body.innerText")


def test_the_department_watches_the_city_live(city, browser):
    d = browser
    wait_converged(city.node, city.wards)
    # something on the map and in the charts before the page opens
    for i in range(3):
        city.wards["31001"].submit(phone=f"09110000{i:02d}", name=f"Người A {i}", lat=f"20.8{6 + i}",
                                   lon=f"106.6{8 + i}", type=("noise", "odour", "waste_water")[i])
    open_dashboard(d, city)
    before = figure(d, "31002", "received")
    assert before is not None

    # A case at ward 31002, through the CLI: in the live list, and the
    # ward's counters move, without a reload
    name, phone = "Người Báo Tin Bí Mật", "0987654321"
    d.execute_script("window.__same_page = 1")
    case = city.wards["31002"].submit(name=name, phone=phone, lat="20.85", lon="106.70")
    until(d, lambda: case in live_cases(d), f"{case} in the live list")
    until(d, lambda: figure(d, "31002", "received") != before, "ward 31002's received count to move")
    assert d.execute_script("return window.__same_page") == 1, "the page reloaded"
    assert int(figure(d, "31002", "received")) == int(before) + 1

    # The ward's detail: its focal points, its cases, no reporter
    css(d, "#wards tr[data-ward='31002']")[0].click()
    until(d, lambda: case in page_text(d) and "0916588826" in page_text(d), "the ward's detail")
    shot(d, "dashboard-ward")
    assert phone not in page_text(d) and name not in page_text(d)
    d.execute_script("document.getElementById('ward-dialog').close()")

    # No reporter of a ward-handled case anywhere on the page (text or markup)
    assert phone not in d.page_source and name not in d.page_source
    assert not csp_violations(d), csp_violations(d)

    # The screenshot of the dashboard (services/web/screenshot-dashboard.png)
    until(d, lambda: d.execute_script("return Number(document.getElementById('map').dataset.drawn || 0) >= 4"),
          "the cases with coordinates on the map")
    d.set_window_size(1440, 1300)
    d.execute_script("window.scrollTo(0, 0)")
    path = shot(d, "dashboard")
    if os.environ.get("HOTLINE_DASHBOARD_SCREENSHOT") == "1":
        _save_small(path, SCREENSHOT)
    d.set_window_size(1280, 900)

    # The city restarts, every service of it (its web service too): the page
    # says "reconnecting", then resumes with no event lost
    seen = max(live_seqs(d))
    for service in ("web", "archive", "intake"):
        city.node.kill(service)
    until(d, lambda: badge(d) == "reconnecting", "'reconnecting' while the city is down")
    assert "Đang kết nối lại" in by_id(d, "stream-status").text
    during = city.wards["31002"].submit(phone="0900000001")       # the ward takes it meanwhile
    city.node.start("archive", "intake", "web")
    after = city.wards["31001"].submit(phone="0900000002")
    until(d, lambda: badge(d) == "live", "live again")
    until(d, lambda: {during, after} <= set(live_cases(d)), "the cases of the outage in the live list")
    seqs = sorted(s for s in live_seqs(d) if s > seen)
    expected = [r[0] for r in city.node.query("archive", "SELECT seq FROM log WHERE seq > ? ORDER BY seq", seen)]
    assert seqs == expected[:len(seqs)], "an event was lost or repeated across the restart"
    assert d.execute_script("return window.__same_page") == 1, "the page reloaded"


def test_the_department_works_a_forwarded_case_from_its_queue(city, browser):
    d = browser
    forwarded = city.wards["31002"].submit(name="Người Cần Sở Trả Lời", phone="0977123456",
                                           scope="beyond_city")
    wait_for(lambda: city.node.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?"
                                     " AND state = 'forwarded'", forwarded), timeout=60,
             what="the Department's case")
    dept = city.node.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?", forwarded)[0][0]
    open_dashboard(d, city)
    until(d, lambda: css(d, f"#queue li[data-case='{dept}'] button[data-action]"), "the queue's buttons")
    item = css(d, f"#queue li[data-case='{dept}']")[0]
    # the Department sees whom to answer, here only
    assert "0977123456" in item.text
    # assign, from a button the procedure gave, with its required argument
    css(d, f"#queue li[data-case='{dept}'] button[data-action='assign']")[0].click()
    form = css(d, f"#queue li[data-case='{dept}'] form")[0]
    form.find_element("css selector", "input[name='to']").send_keys("department:chi-cuc")
    form.find_element("css selector", "button[type=submit]").click()
    until(d, lambda: city.node.query("archive", "SELECT state FROM cases WHERE case_id = ?", dept)[0][0] == "verifying",
          "the Department's case assigned")
    until(d, lambda: css(d, f"#queue li[data-case='{dept}'] button[data-action='verify']"), "verify offered next")
    shot(d, "dashboard-queue")
    # each running deadline counts down (the procedure decides which run)
    from test_web_api import Web
    api = Web(city.node)
    api.login("hoa", city.password)
    rows = api.get("/api/v1/cases?ward=31").json["cases"]
    assert rows
    for row in rows:
        shown = d.execute_script("return document.querySelectorAll(`#queue li[data-case='${arguments[0]}'] .countdown`).length",
                                 row["case_id"])
        assert bool(shown) == bool(row.get("next_due_ms")), row
    # ... and the ward sees the Department's work
    wait_for(lambda: city.wards["31002"].show(forwarded).get("department_state") == "verifying", timeout=30,
             what="the ward sees the Department's work")
    # The city-wide report from the dashboard: CSV and the printable page
    href = by_id(d, "csv-link").get_attribute("href")
    assert "/api/v1/report?" in href and "format=csv" in href
    by_id(d, "report-link").click()
    until(d, lambda: "/report.html" in d.current_url, "the report page")
    loaded(d)
    until(d, lambda: "31002" in page_text(d), "the city-wide report, one row per ward")
    # ... issued by the Department to the city People's Committee, not a ward's letter
    text = page_text(d)
    assert "Kính gửi: Ủy ban nhân dân thành phố" in text and "KT. GIÁM ĐỐC" in text, text[:600]
    assert "TM. ỦY BAN NHÂN DÂN" not in text and "Kính gửi: Sở" not in text


def _save_small(src, dst):
    """The screenshot, at most 300 KB: a palette PNG when Pillow or
    ImageMagick is at hand, else as Chromium took it."""
    try:
        from PIL import Image
        img = Image.open(src).convert("RGB")
        img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
        return
    except Exception:
        pass
    if shutil.which("convert"):
        subprocess.run(["convert", src, "-colors", "128", "-strip", dst], check=False)
        if os.path.exists(dst):
            return
    shutil.copyfile(src, dst)
