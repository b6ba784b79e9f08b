"""The officer's web console in a real browser: headless Chromium (Debian's
chromium + chromium-driver) driven by Selenium, against a real ward node
with its web service (hotline-web) serving services/web/static.

Covers: log in; take a phone report through the form
and see its number; assign, verify, contain, resolve and inform from the
case page and see the deadlines change; log out; a viewer sees no phone
number; a description holding <script> or <img onerror> shows as text and
runs nothing; the list and intake pages have no horizontal scroll at 360 px.

Each page is saved as a screenshot under $HOTLINE_BUILD/screenshots/
(default build/screenshots/). Marked `browser` so a pass that cannot run a
browser (valgrind) can leave them out: pytest -m "not browser".
"""
import json
import os
import shutil
import time
import urllib.error
import urllib.request
import http.cookiejar

import pytest

from conftest import BUILD, SERVICES, SLOW, wait_for

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = os.path.join(BUILD, "screenshots")
WAIT = 15 * SLOW


def _selenium():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no chromium at {CHROMIUM} (apt install chromium)")
    if not (os.path.exists(CHROMEDRIVER) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"no chromedriver at {CHROMEDRIVER} (apt install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("no python3-selenium (apt install python3-selenium; run with /usr/bin/python3)")
    if not os.path.exists(os.path.join(BUILD, "hotline-web")):
        pytest.skip(f"no {BUILD}/hotline-web: build it first (make all)")


# ----------------------------------------------------------------- the node

class Console:
    """A ward node (all five services and its web service), and its users.

    Users are added with the conftest's node.web_user (`hotline user add`)
    when it has one; otherwise through the API as the first admin
    (`hotline-web --init-admin`)."""

    def __init__(self, node):
        self.node = node
        self.url = f"http://127.0.0.1:{node.base + 10}"
        self.admin = None
        if not hasattr(node, "web_user"):
            import subprocess
            admin_file = os.path.join(node.dir, "admin.txt")
            out = subprocess.run([os.path.join(BUILD, "hotline-web"), "-c", node.config, "--init-admin", admin_file],
                                 env=node.env, capture_output=True, text=True, timeout=60 * SLOW)
            assert out.returncode == 0, out.stdout + out.stderr
            with open(admin_file) as f:
                creds = dict(line.split(" = ", 1) for line in f.read().splitlines() if " = " in line)
            self.admin = (creds["user"], creds["password"])
        node.start("web")
        wait_for(self._up, what="hotline-web serving its pages")

    def _up(self):
        try:
            with urllib.request.urlopen(self.url + "/index.html", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            if not self.node.alive("web"):
                raise AssertionError("hotline-web exited:\n" + self.node.log("web")[-2000:])
            return False

    def http(self, method, path, body=None, session=None):
        """One API call with its own cookie jar; returns (status, json)."""
        opener, csrf = session or (urllib.request.build_opener(), None)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if csrf:
            req.add_header("X-CSRF-Token", csrf)
        try:
            with opener.open(req, timeout=10 * SLOW) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def login(self, user, password):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        status, answer = self.http("POST", "/api/v1/session", {"user": user, "password": password},
                                   session=(opener, None))
        assert status == 200, (status, answer)
        return opener, answer["csrf"]

    def add_user(self, name, role, password):
        if hasattr(self.node, "web_user"):
            self.node.web_user(name, role, password)
            return
        admin = self.login(*self.admin)
        status, answer = self.http("POST", "/api/v1/users", {"name": name, "role": role, "password": password},
                                   session=admin)
        assert status in (200, 201), (status, answer)


@pytest.fixture
def console(node_factory):
    _selenium()
    node = node_factory(services=SERVICES).start()
    c = Console(node)
    c.add_user("lan", "officer", "mat-khau-cua-lan-1")
    c.add_user("xem", "viewer", "mat-khau-cua-xem-1")
    return c


@pytest.fixture
def browser():
    _selenium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--lang=vi", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30 * SLOW)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


# ----------------------------------------------------------------- helpers

def by_id(d, id_):
    from selenium.webdriver.common.by import By
    return d.find_element(By.ID, id_)


def css(d, selector):
    from selenium.webdriver.common.by import By
    return d.find_elements(By.CSS_SELECTOR, selector)


def until(d, predicate, what):
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(d, WAIT, poll_frequency=0.1).until(lambda drv: predicate())
    except Exception:
        shot(d, "failed-" + what.replace(" ", "-")[:40])
        raise AssertionError(f"timed out waiting for {what}; console: {console_log(d)[-5:]}")


def loaded(d):
    """Wait until the page has drawn from its first answers (body[data-loaded])."""
    until(d, lambda: d.execute_script("return document.body.dataset.loaded === '1'"), "page loaded")


def shot(d, name):
    path = os.path.join(SHOTS, f"{name}.png")
    d.save_screenshot(path)
    return path


def console_log(d):
    try:
        return [entry["message"] for entry in d.get_log("browser")]
    except Exception:
        return []


def csp_violations(d):
    return [m for m in console_log(d) if "Content Security Policy" in m or "Refused to" in m]


def log_in(d, console, user, password):
    d.get(console.url + "/")
    loaded(d)
    by_id(d, "user").send_keys(user)
    by_id(d, "password").send_keys(password)
    by_id(d, "password").submit()
    until(d, lambda: "/cases.html" in d.current_url, "the case list after login")
    loaded(d)


def select(d, id_, value):
    from selenium.webdriver.support.ui import Select
    Select(by_id(d, id_)).select_by_value(value)


def deadlines(d):
    """{name: status} from the case page's deadline panel (read in one
    script: the page redraws after each action, so elements go stale)."""
    return d.execute_script(
        "const o = {}; for (const r of document.querySelectorAll('#deadlines tr[data-deadline]'))"
        " o[r.dataset.deadline] = r.dataset.status; return o;")


def state(d):
    return d.execute_script("const e = document.getElementById('state'); return e ? e.dataset.state : null;")


def take_report(d, console, description, **extra):
    """Fill the intake form with the keyboard and submit with Enter; returns the case number."""
    from selenium.webdriver.common.keys import Keys
    d.get(console.url + "/intake.html")
    loaded(d)
    assert not by_id(d, "case-number").is_displayed()
    by_id(d, "r-name").send_keys(extra.get("name", "Nguyễn Thị Hằng"))
    by_id(d, "r-phone").send_keys(extra.get("phone", "0916 588 826"))
    select(d, "type", "waste_water")
    if extra.get("urgent"):
        by_id(d, "urgent").click()
    by_id(d, "description").send_keys(description)
    by_id(d, "polluter").send_keys("Cơ sở chế biến thủy sản X")
    by_id(d, "evidence").send_keys("anh-cong-xa-1.jpg")
    by_id(d, "location").send_keys("Cống xả ra kênh Xáng, tổ 5")
    by_id(d, "latitude").send_keys("20.8461")
    by_id(d, "longitude").send_keys("106.6879")
    if extra.get("screenshot"):
        shot(d, extra["screenshot"])
    by_id(d, "longitude").send_keys(Keys.ENTER)           # Enter submits
    until(d, lambda: by_id(d, "case-number").text.strip() != "", "the case number")
    number = by_id(d, "case-number").text.strip()
    assert number.startswith("31001-"), number
    return number


def do_action(d, action, variant="", **fields):
    """Open the action's form from its generated button, fill what it requires, confirm."""
    before = state(d)
    sel = f'#actions button[data-action="{action}"][data-variant="{variant}"]'
    buttons = css(d, sel)
    assert buttons, f"no button for {action} {variant}; have " + str(
        [(b.get_attribute("data-action"), b.get_attribute("data-variant")) for b in css(d, "#actions button[data-action]")])
    buttons[0].click()
    form = css(d, f'#actions form[data-action="{action}"]')[0]
    for name, value in fields.items():
        target = "note" if name == "note" else f"args.{name}"
        form.find_element("css selector", f'[name="{target}"]').send_keys(value)
    form.find_element("css selector", "button[type=submit]").click()
    until(d, lambda: state(d) != before, f"{action} to change the state from {before}")


# ----------------------------------------------------------------- tests

def test_officer_takes_a_report_and_works_it_to_informed(console, browser):
    d = browser
    d.get(console.url + "/cases.html")
    until(d, lambda: "/index.html" in d.current_url, "an anonymous visit to go to the login page")
    shot(d, "login")
    log_in(d, console, "lan", "mat-khau-cua-lan-1")
    assert "lan" in by_id(d, "who").text

    number = take_report(d, console, "Nước thải màu đen, mùi hôi chảy ra kênh từ sáng nay",
                         urgent=True, screenshot="intake")
    shot(d, "intake-done")
    # the number is the stored case's
    assert console.node.show(number)["report"]["description"].startswith("Nước thải màu đen")

    by_id(d, "open-case").click()
    loaded(d)
    until(d, lambda: state(d) == "routed_ward", "routing to the ward")
    d.refresh()
    loaded(d)
    assert "KHẨN" in d.find_element("css selector", ".case-head").text.upper()
    assert "0916 588 826" in by_id(d, "reporter").text
    assert deadlines(d).get("verify") == "running"
    shot(d, "case-new")

    do_action(d, "assign", to="division:lan", note="Giao chị Lan xác minh")
    assert state(d) == "verifying"
    do_action(d, "verify", "accurate", note="Đã kiểm tra: đúng phản ánh")
    until(d, lambda: deadlines(d).get("verify") == "met" and deadlines(d).get("contain") == "running",
          "verify met and contain running")
    do_action(d, "contain", note="Đã yêu cầu cơ sở dừng xả")
    until(d, lambda: deadlines(d).get("contain") == "met", "contain met")
    do_action(d, "resolve", note="Cơ sở đã khắc phục")
    until(d, lambda: deadlines(d).get("inform") == "running", "inform running")
    shot(d, "case-resolved")
    do_action(d, "inform", note="Đã gọi báo người phản ánh")
    assert state(d) == "reporter_informed"
    until(d, lambda: deadlines(d).get("inform") == "met", "inform met")
    assert "Đã thông tin lại cho người phản ánh" in by_id(d, "state").text
    history = by_id(d, "history").text
    for note in ("Giao chị Lan xác minh", "Đã kiểm tra: đúng phản ánh", "Cơ sở đã khắc phục"):
        assert note in history
    d.refresh()                     # the page as an officer opens it (no toast)
    loaded(d)
    shot(d, "case")
    shown = console.node.show(number)
    assert shown["state"] == "reporter_informed"
    assert any(e.get("actor") == "officer:lan" and e["action"] == "inform" for e in shown["history"])

    # a few more, as a day at the ward looks
    console.node.submit(type="noise", location="Xưởng cơ khí, đường Tô Hiệu", urgent=True,
                        description="Tiếng ồn lớn ban đêm")
    console.node.submit(type="air_emissions", location="Lò đốt rác tổ 3, khu phố 2",
                        description="Khói đen, mùi khét")
    console.node.submit(type="solid_waste", location="Bãi đất trống cạnh chợ An Biên",
                        description="Đổ trộm rác thải xây dựng")
    d.get(console.url + "/cases.html")
    loaded(d)
    assert number in by_id(d, "results").text
    until(d, lambda: len(css(d, "#results tbody tr")) == 4, "four cases listed")
    assert css(d, "#results .badge.urgent"), "urgent cases are marked KHẨN"
    time.sleep(1.2)                 # a countdown tick
    shot(d, "cases")
    d.get(console.url + "/report.html")
    loaded(d)
    assert by_id(d, "figures").is_displayed() and by_id(d, "focal").is_displayed()
    # the rule for "Còn tồn" in words, not the rule's data
    assert by_id(d, "open-rule").text.startswith("Còn tồn:"), by_id(d, "open-rule").text
    # the prose of 2.1 is written on the page, saved for the period, and there after a reload
    by_id(d, "text-practice").send_keys("Cán bộ trực đường dây nóng tiếp nhận và ghi sổ nhật ký.")
    by_id(d, "save-text").click()
    until(d, lambda: css(d, "#doc .notice"), "the text saved")
    d.refresh()
    loaded(d)
    assert by_id(d, "text-practice").get_attribute("value") == "Cán bộ trực đường dây nóng tiếp nhận và ghi sổ nhật ký."
    shot(d, "report")
    assert not csp_violations(d), csp_violations(d)

    by_id(d, "logout").click()
    until(d, lambda: "/index.html" in d.current_url, "the login page after logging out")
    d.get(console.url + "/cases.html")
    until(d, lambda: "/index.html" in d.current_url, "the list to need a login again")


def test_viewer_sees_no_phone_number(console, browser):
    number = console.node.submit(phone="0916 588 826", name="Nguyễn Thị Hằng",
                                 description="Khói đen từ lò đốt rác")
    d = browser
    log_in(d, console, "xem", "mat-khau-cua-xem-1")
    d.get(console.url + f"/case.html?id={number}")
    loaded(d)
    page = d.find_element("css selector", "main").text
    assert "Khói đen từ lò đốt rác" in page
    assert "0916" not in page and "588 826" not in page and "Nguyễn Thị Hằng" not in page
    assert by_id(d, "reporter-redacted").is_displayed()
    assert not css(d, "#actions button[data-action]"), "a viewer gets no action buttons"
    assert "0916" not in d.page_source and "588 826" not in d.page_source
    shot(d, "case-viewer")
    d.get(console.url + "/cases.html")
    loaded(d)
    assert "0916" not in d.page_source


def test_hostile_description_is_text(console, browser):
    hostile = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned2 = 1">'
               '<b onmouseover="window.__pwned3=1">đậm</b>')
    d = browser
    log_in(d, console, "lan", "mat-khau-cua-lan-1")
    number = take_report(d, console, hostile)
    by_id(d, "open-case").click()
    loaded(d)
    time.sleep(0.5)
    shown = by_id(d, "description")
    assert shown.text == hostile                        # literally, as typed
    assert not shown.find_elements("css selector", "*"), "the description made elements"
    assert d.execute_script("return [window.__pwned, window.__pwned2, window.__pwned3]") == [None, None, None]
    # and through the list's search and the API too (a submit through the CLI)
    other = console.node.submit(description='"><svg onload="window.__pwned4=1">', location="<img src=y onerror=window.__pwned5=1>")
    d.get(console.url + "/cases.html")
    loaded(d)
    assert "<img src=y onerror=window.__pwned5=1>" in by_id(d, "results").text
    d.get(console.url + f"/case.html?id={other}")
    loaded(d)
    assert d.execute_script("return [window.__pwned4, window.__pwned5]") == [None, None]
    shot(d, "case-hostile")
    assert number != other


def test_pages_fit_360px(console, browser):
    d = browser
    console.node.submit(description="Tiếng ồn từ xưởng cơ khí ban đêm", type="noise", urgent=True)
    log_in(d, console, "lan", "mat-khau-cua-lan-1")
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    for page, name in (("/cases.html", "cases-360"), ("/intake.html", "intake-360")):
        d.get(console.url + page)
        loaded(d)
        time.sleep(0.3)
        width = d.execute_script("return window.innerWidth")
        scroll = d.execute_script("return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        assert width <= 400, width
        assert scroll <= width, f"{page}: {scroll}px wide in a {width}px window"
        shot(d, name)
    d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
