"""The citizens' pages in a real browser on a phone's viewport (360 x 740):
headless Chromium (Debian's chromium + chromium-driver) through Selenium,
against a real ward node (all five services) with its web service.

Covers: from the login page's link, a citizen uses
their location, then picks a pin on the map, attaches a photo (a JPEG the
test makes), submits and sees the case number and the tracking link; the
case at the node has the photo and the pin. They open the tracking link and
see the state change as an officer works the case (assign, verify, contain,
resolve, inform, through the CLI), with the result note; they rate the
handling and say "not fixed" (reopen), and add a photo. Neither page
scrolls sideways at 360 px, and no CSP violation is logged.

At the city: the form lists the wards, takes files, files at the ward
chosen, and the tracking link shows the ward's case number once filed.

Screenshots go to $HOTLINE_BUILD/screenshots/public-*.png (each page at the
phone's viewport, and the whole page at 360 px wide).
"""
import base64
import hashlib
import os

import pytest

from conftest import wait_for
from test_web_public import cases, evidence_files
# The fixtures (a ward with its web service; a headless Chromium) and the
# helpers are the officer console's: one way to drive a browser here
from test_web_browser import (browser, by_id, console, css, csp_violations,  # noqa: F401
                              loaded, shot, until)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True}


def phone(d, height=None):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "height": height or PHONE["height"]})


def whole_page(d, name):
    """The page at 360 px wide and as tall as it is, then the phone again."""
    height = d.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    phone(d, min(int(height), 6000))
    shot(d, name + "-full")
    phone(d)


def no_sideways_scroll(d, page):
    width = d.execute_script("return window.innerWidth")
    scroll = d.execute_script("return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width == 360, width
    assert scroll <= width, f"{page}: {scroll}px wide in a {width}px window"


def make_jpeg(d, path, ground="#6f8f3a"):
    """A small valid JPEG, encoded by the browser's own canvas."""
    data = d.execute_script(
        "const c = document.createElement('canvas'); c.width = 96; c.height = 64;"
        "const x = c.getContext('2d'); x.fillStyle = arguments[0]; x.fillRect(0, 0, 96, 64);"
        "x.fillStyle = '#4a3b2a'; x.fillRect(18, 30, 60, 22); x.fillStyle = '#d9e4ea'; x.fillRect(0, 0, 96, 18);"
        "return c.toDataURL('image/jpeg', 0.9).split(',')[1];", ground)
    jpeg = base64.b64decode(data)
    assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"
    with open(path, "wb") as f:
        f.write(jpeg)
    return jpeg


def page_state(d):
    return d.execute_script("const e = document.getElementById('state'); return e ? e.dataset.state : null;")


def pin(d):
    return d.execute_script("const e = document.getElementById('pin-text');"
                            "return e.dataset.lat ? [Number(e.dataset.lat), Number(e.dataset.lon)] : null;")


def test_citizen_reports_with_photo_and_pin_then_follows_the_case(console, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    d, node = browser, console.node
    phone(d)
    # The browser gives a position when asked (as a phone that allowed it)
    d.execute_cdp_cmd("Browser.grantPermissions", {"origin": console.url, "permissions": ["geolocation"]})
    d.execute_cdp_cmd("Emulation.setGeolocationOverride",
                      {"latitude": 20.8461, "longitude": 106.6879, "accuracy": 25})

    # From the login page's link for citizens
    d.get(console.url + "/index.html")
    loaded(d)
    by_id(d, "citizen-link").click()
    until(d, lambda: "/report-public.html" in d.current_url, "the public form from the login page")
    loaded(d)
    assert by_id(d, "confidential").text.startswith("Theo Quyết định 174/QĐ-BTNMT")
    # the honeypot is in the form but off screen, and hidden from screen readers
    assert d.execute_script("return document.getElementById('website').getBoundingClientRect().right") <= 0
    assert d.execute_script("return document.getElementById('website').closest('[aria-hidden=true]') !== null")
    shot(d, "public-report-empty")
    photo = tmp_path / "anh-bai-rac.jpg"
    jpeg = make_jpeg(d, str(photo))
    later = tmp_path / "anh-hom-sau.jpg"
    jpeg2 = make_jpeg(d, str(later), "#8a7f3a")

    # What, where (my location, then a pin of my own on the map), a photo, who
    from selenium.webdriver.support.ui import Select
    Select(by_id(d, "type")).select_by_value("solid_waste")
    by_id(d, "description").send_keys("Đổ trộm rác thải xây dựng ven kênh, bốc mùi")
    by_id(d, "geolocate").click()
    until(d, lambda: pin(d) == [20.8461, 106.6879], "the pin at my location")
    the_map = by_id(d, "map")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", the_map)
    ActionChains(d).move_to_element_with_offset(the_map, 50, -40).click().perform()
    until(d, lambda: pin(d) not in (None, [20.8461, 106.6879]), "a pin where I tapped")
    lat, lon = pin(d)
    assert 20.5 < lat < 21.2 and 106.3 < lon < 107.0, (lat, lon)
    by_id(d, "files").send_keys(str(photo))
    until(d, lambda: len(css(d, "#file-list li")) == 1, "the photo listed")
    assert css(d, "#file-list img.thumb"), "the photo shows as a thumbnail"
    by_id(d, "location").send_keys("Bờ kênh Xáng, cạnh cầu tổ 5")
    # A phone number the server refuses: its refusal, in plain Vietnamese, by the field; nothing filed
    by_id(d, "r-phone").send_keys("12")
    by_id(d, "submit").click()
    until(d, lambda: css(d, "#r-phone[aria-invalid=true]"), "the phone refused")
    error = d.find_element("css selector", "#r-phone + .field-error, #r-phone ~ .field-error")
    assert error.text == "Số điện thoại chưa đúng: 8 đến 15 chữ số.", error.text
    shot(d, "public-report-refused")
    assert cases(node) == 0 and evidence_files(node) == []
    by_id(d, "r-phone").clear()
    by_id(d, "r-phone").send_keys("0912 345 678")
    no_sideways_scroll(d, "/report-public.html")
    whole_page(d, "public-report-filled")

    by_id(d, "submit").click()
    until(d, lambda: by_id(d, "case-number").text.strip() != "", "the case number")
    number = by_id(d, "case-number").text.strip()
    assert number.startswith("31001-"), number
    assert d.execute_script("const r = document.createRange(); r.selectNodeContents(document.getElementById('case-number'));"
                            " return r.getClientRects().length") == 1, "the case number on one line"
    link = by_id(d, "track-link").get_attribute("value")
    assert link.startswith(console.url + "/track.html#") and "0912" not in link
    by_id(d, "copy-link").click()
    until(d, lambda: by_id(d, "copy-status").text.strip() != "", "the copy button to answer")
    no_sideways_scroll(d, "the answer")
    shot(d, "public-report-sent")

    # The case at the node: the photo (byte for byte), the pin, by the web
    node.wait_archived(number)
    report = node.show(number)["report"]
    assert report["evidence"] == ["sha256:" + hashlib.sha256(jpeg).hexdigest()]
    assert report["channel"] == "web" and report["location"] == "Bờ kênh Xáng, cạnh cầu tổ 5"
    assert abs(report["latitude"] - lat) < 1e-6 and abs(report["longitude"] - lon) < 1e-6

    # The tracking link
    by_id(d, "open-track").click()
    until(d, lambda: "/track.html#" in d.current_url, "the tracking page")
    loaded(d)
    until(d, lambda: page_state(d) is not None, "the state shown")
    first = page_state(d)
    assert by_id(d, "case-id").text == number
    assert by_id(d, "description").text == "Đổ trộm rác thải xây dựng ven kênh, bốc mùi"
    assert by_id(d, "files-count").get_attribute("data-count") == "1"
    assert "0912" not in d.page_source and "345 678" not in d.page_source
    assert not by_id(d, "result").is_displayed()
    assert not by_id(d, "rate-box").is_displayed() and not by_id(d, "reopen-box").is_displayed()
    no_sideways_scroll(d, "/track.html")
    shot(d, "public-track-new")

    # An officer works the case; the page shows each change it is asked for
    node.wait_archived(number, "routed_ward")
    for args in (["assign", number, "--to", "division:lan"],
                 ["verify", number, "--result", "accurate", "--note", "Đã kiểm tra: đúng phản ánh"],
                 ["contain", number, "--note", "Đã yêu cầu dừng đổ"],
                 ["resolve", number, "--note", "Đã thu gom toàn bộ rác"]):
        node.cli(*args)
    node.wait_archived(number, "resolved")
    by_id(d, "refresh").click()
    until(d, lambda: page_state(d) == "resolved", "the page to show the case handled")
    assert page_state(d) != first
    assert "Đã xử lý xong" in by_id(d, "state").text
    node.cli("inform", number, "--channel", "web", "--note", "Phường đã thu gom rác và xử phạt người đổ trộm")
    node.wait_archived(number, "reporter_informed")
    by_id(d, "refresh").click()
    until(d, lambda: page_state(d) == "reporter_informed", "the page to show the reporter informed")
    assert by_id(d, "result-note").text == "Phường đã thu gom rác và xử phạt người đổ trộm"
    assert by_id(d, "rate-box").is_displayed() and by_id(d, "reopen-box").is_displayed()
    history = by_id(d, "history").text
    assert "Đã xử lý xong" in history and "Đã thông tin lại cho người phản ánh" in history
    assert "division:lan" not in d.page_source and "Đã kiểm tra" not in d.page_source   # no officer, no other note
    no_sideways_scroll(d, "/track.html informed")
    shot(d, "public-track-informed")
    whole_page(d, "public-track-informed")

    # Rate the handling
    by_id(d, "rate-no").click()
    until(d, lambda: "unsatisfied" in (by_id(d, "rating").get_attribute("class") or ""), "the rating shown")
    assert not by_id(d, "rate-buttons").is_displayed()
    wait_for(lambda: any(e["action"] == "rate" and e.get("variant") == "unsatisfied" and e["actor"] == "citizen:web"
                         for e in node.show(number)["history"]), what="the rating recorded")

    # "Not fixed": the case is reopened, by the reporter
    by_id(d, "reopen-open").click()
    by_id(d, "reopen-note").send_keys("Sáng nay lại có người đổ rác ở chỗ cũ")
    shot(d, "public-track-reopen")
    by_id(d, "reopen-send").click()
    until(d, lambda: page_state(d) == "reopened", "the page to show the case reopened")
    node.wait_archived(number, "reopened")
    reopen = [e for e in node.show(number)["history"] if e["action"] == "reopen"]
    assert reopen and reopen[-1]["actor"] == "citizen:web" and reopen[-1]["note"] == "Sáng nay lại có người đổ rác ở chỗ cũ"
    assert not by_id(d, "reopen-box").is_displayed() and not by_id(d, "rate-box").is_displayed()

    # In English, on the reporter's wish
    by_id(d, "lang-toggle").click()
    until(d, lambda: by_id(d, "state").text == "Reopened", "the state in English")
    assert by_id(d, "reopen-box").is_displayed() is False and "Add a photo" in by_id(d, "attach-box").text
    by_id(d, "lang-toggle").click()
    until(d, lambda: by_id(d, "state").text == "Mở lại, xác minh lại", "the state in Vietnamese again")

    # Add a photo from the tracking page
    assert by_id(d, "attach-box").is_displayed()
    by_id(d, "t-files").send_keys(str(later))
    until(d, lambda: len(css(d, "#t-file-list li")) == 1, "the new photo listed")
    by_id(d, "attach-send").click()
    until(d, lambda: by_id(d, "attach-done").is_displayed(), "the photo sent")
    no_sideways_scroll(d, "/track.html reopened")
    shot(d, "public-track-reopened")
    until(d, lambda: by_id(d, "files-count").get_attribute("data-count") == "2", "two files counted")
    wait_for(lambda: any(e["action"] == "attach" and e["actor"] == "citizen:web"
                         and e["args"].get("evidence") == "sha256:" + hashlib.sha256(jpeg2).hexdigest()
                         for e in node.show(number)["history"]), what="the photo attached by the reporter")
    assert not csp_violations(d), csp_violations(d)


def test_city_form_offers_the_wards_and_files_at_the_one_chosen(node_factory, tmp_path, browser):
    """At the city the form lists its wards (the demo ones here), offers
    files as at a ward, and its answer has no case number yet; the tracking
    link shows the report on its way, then the ward's case number."""
    from selenium.webdriver.support.ui import Select
    from federation_util import make_filing_city
    city, wards = make_filing_city(node_factory, tmp_path)
    d = browser
    phone(d)
    d.get(city.web + "/report-public.html")
    loaded(d)
    assert by_id(d, "ward-field").is_displayed() and by_id(d, "evidence-set").is_displayed()
    options = [o.get_attribute("value") for o in Select(by_id(d, "ward")).options]
    assert options == ["", "31001", "31002"]
    Select(by_id(d, "type")).select_by_value("noise")
    by_id(d, "description").send_keys("Tiếng ồn máy khoan về đêm")
    by_id(d, "location").send_keys("Ngõ 3, tổ 7")
    by_id(d, "r-phone").send_keys("0912 345 678")
    # Neither a ward nor a pin: said by the ward's field, nothing sent
    by_id(d, "submit").click()
    until(d, lambda: css(d, "#ward[aria-invalid=true]"), "the ward asked for")
    Select(by_id(d, "ward")).select_by_value("31002")
    no_sideways_scroll(d, "the city's form")
    shot(d, "public-city-report")
    by_id(d, "submit").click()
    until(d, lambda: by_id(d, "case-number").text.strip() != "", "the answer")
    assert "Phường Lê Chân" in by_id(d, "case-number").text
    by_id(d, "open-track").click()
    until(d, lambda: "/track.html#" in d.current_url, "the tracking page")
    loaded(d)

    def numbered():
        if by_id(d, "case-id").text.startswith("31002-"):
            return True
        by_id(d, "refresh").click()         # the page reads it again
        return False
    until(d, numbered, "the ward's case number")
    assert wards["31002"].query("intake", "SELECT count(*) FROM cases") == [(1,)]
    assert by_id(d, "attach-box").is_displayed() and "0912" not in d.page_source
    shot(d, "public-city-track")
    assert csp_violations(d) == []
