"""Notifications, through real processes, a real SMTP server (aiosmtpd) and a
real HTTP webhook receiver.

- A new report: the leaders and the division head get the intake mail (and
  an SMS to a leader's phone), with the report but never the reporter; the
  case reaches the state after inform_leaders, recorded by
  system:notification.
- The result goes back to the reporter, by e-mail and SMS, with nothing
  about anyone else.
- A failing SMTP server (5xx) or a port with nothing listening: the
  messages are retried, then dead, and the dead letters are visible through
  the notification service's query endpoint (base port + 6).
- kill -9 of hotline-notification during a burst of reports: after restart
  every (event, recipient) was delivered, none twice (counted by
  X-Hotline-Key at the SMTP server).
"""
import asyncio
import email
import email.policy
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import zmq
from aiosmtpd.controller import Controller

import hotline_pb as pb
from conftest import BUILD, ROOT, wait_for

NODE = ("archive", "intake", "notification")
LEADERS = ["chutich@example.vn", "phochutich@example.vn"]
LEADER_PHONE = "0916588826"
DIVISION_HEAD = "kinhte@example.vn"
REPORTER = {"name": "Nguyễn Văn Dân", "email": "dan.nguyen@example.org", "phone": "0912345678",
            "address": "Số 7 ngõ 9, An Biên"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------- receivers

class Recorder:
    """aiosmtpd handler: records every accepted message; replies `code` to
    the end of DATA; can hold message number `gate_at` until released."""

    def __init__(self, code="250 OK"):
        self.code = code
        self.messages = []          # email.message.EmailMessage
        self.attempts = 0           # DATA commands seen (accepted or not)
        self.lock = threading.Lock()
        self.gate_at = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            number = self.attempts
        if number == self.gate_at:
            # Hold this message at the server: not accepted yet
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "451 4.3.0 try again later"
        if not self.code.startswith("2"):
            return self.code
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return self.code

    def keys(self):
        with self.lock:
            return Counter(m["X-Hotline-Key"] for m in self.messages)

    def to(self, address, case=None):
        with self.lock:
            return [m for m in self.messages if address in m.envelope_to
                    and (case is None or m["X-Hotline-Case"] == case)]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    recorder.release.set()
    controller.stop()


class Webhook:
    def __init__(self):
        self.posts = []
        self.headers = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.append(json.loads(body))
                outer.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


def notify_config(smtp_url, webhook_url="", max_attempts=5, retry_ms=50):
    return (
        "contacts\n"
        f"    leaders = \"{', '.join(LEADERS)}, {LEADER_PHONE}\"\n"
        f"    division_head = {DIVISION_HEAD}\n"
        "    department = snnmt@example.vn\n"
        "    staff\n"
        "        lan = lan.tran@example.vn\n"
        "notify\n"
        f"    smtp_url = {smtp_url}\n"
        "    from = \"Đường dây nóng phường An Biên <duongdaynong@example.vn>\"\n"
        f"    webhook_url = \"{webhook_url}\"\n"
        f"    max_attempts = {max_attempts}\n"
        f"    retry_ms = {retry_ms}\n"
        "    retry_max_ms = 400\n"
        "    tick_ms = 50\n")


def start_node(node_factory, extra, services=NODE):
    node = node_factory(services=services, extra=extra)
    # Services started together race to create the data directory
    # (hl_service_new: "cannot create data directory ...: File exists")
    os.makedirs(node.data, exist_ok=True)
    return node.start()


def make_node(node_factory, smtp_url, webhook_url="", **kwargs):
    return start_node(node_factory, notify_config(smtp_url, webhook_url, **kwargs))


# ------------------------------------------------------------- helpers

def query(node, kind, request_id="q", status="", case="", limit=0, timeout_ms=3000):
    """Request{query{kind}} to the notification service; (code, error, rows)."""
    q = pb.field_bytes(1, kind)
    if case:
        q += pb.field_bytes(2, case)
    if status:
        q += pb.field_bytes(3, status)
    if limit:
        q += pb.field_varint(9, limit)
    request = pb.field_bytes(1, request_id) + pb.field_bytes(2, "officer:test") + pb.field_bytes(4, q)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{node.port('notification')}")
    try:
        sock.send(pb.envelope(10, request))
        if not sock.poll(timeout_ms):
            return None
        frame = sock.recv()
    finally:
        sock.close()
    code, error, _ = pb.decode_reply(frame)
    reply = pb.parse(pb.parse(frame)[11][0])
    rows = json.loads(reply[8][0].decode()) if 8 in reply else None
    return code, error, rows


def state(node, case):
    result = node.cli("show", case, "--json", check=False)
    return json.loads(result.stdout)["state"] if result.returncode == 0 else None


def history(node, case):
    return node.show(case)["history"]


def outbox(node, where="1"):
    """The outbox's rows. A failed query raises (node.query already waits
    out a file or table still being created): swallowing it would read as
    an empty outbox, i.e. "drained", and pass a test that saw nothing."""
    return node.query("notification", f"SELECT idempotency_key, channel, status, attempts, "
                                      f"last_error FROM outbox WHERE {where}")


def text_of(message):
    return message["Subject"] + "\n" + message.get_content()


def personal(text):
    """Any of the reporter's personal data in text?"""
    return [v for v in REPORTER.values() if v in text] + (["345678"] if "345678" in text else [])


# ------------------------------------------------------------- tests

def test_leaders_get_the_intake_mail_and_the_case_moves_on(node_factory, smtp, webhook):
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}", webhook.url)
    case = node.submit(description="Nước thải đen chảy ra kênh Xáng", location="Kênh Xáng, tổ 5",
                       **REPORTER)
    for address in LEADERS + [DIVISION_HEAD]:
        wait_for(lambda: smtp.to(address, case), what=f"intake mail to {address}")
    wait_for(lambda: [p for p in webhook.posts if p["case_id"] == case], what="SMS to the leader")
    wait_for(lambda: state(node, case) == "leaders_informed", what="leaders_informed")

    # The case moved on once, by the notification service
    moves = [e for e in history(node, case) if e["action"] == "inform_leaders"]
    assert len(moves) == 1
    assert moves[0]["actor"] == "system:notification"

    for address in LEADERS + [DIVISION_HEAD]:
        [message] = smtp.to(address, case)
        # RFC 2047 round trip of a long Vietnamese subject
        assert message["Subject"] == f"[Đường dây nóng] Phản ánh mới {case} (Thường): " \
                                     "Nước thải tại Kênh Xáng, tổ 5"
        assert "Nước thải đen chảy ra kênh Xáng" in message.get_content()
        assert "Kênh Xáng, tổ 5" in message.get_content()
        assert message.get_content_type() == "text/plain"
        assert message.get_content_charset().lower() == "utf-8"
        key = message["X-Hotline-Key"]
        assert key and key in message["Message-ID"]
        assert key.split("|")[2] == "email"
        # Confidential: the reporter is never in a staff message
        assert personal(text_of(message)) == [], text_of(message)
    # The raw subject is RFC 2047 encoded (Vietnamese)
    raw = smtp.to(LEADERS[0], case)[0].as_bytes()
    assert b"Subject: =?UTF-8?B?" in raw
    assert smtp.to(LEADERS[0], case)[0]["From"].addresses[0].addr_spec == "duongdaynong@example.vn"

    [post] = [p for p in webhook.posts if p["case_id"] == case]
    assert post["to"] == LEADER_PHONE
    assert set(post) == {"to", "text", "case_id", "event_id", "idempotency_key"}
    assert post["idempotency_key"].endswith("|sms") and post["event_id"] in post["idempotency_key"]
    assert case in post["text"] and personal(post["text"]) == []

    # notify.log: one JSON line per (event, recipient), with the keys
    wait_for(lambda: not outbox(node, "status = 'pending'"), what="outbox drained")
    with open(os.path.join(node.data, "notify.log"), encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    mine = [line for line in lines if line["case_id"] == case]
    assert sorted(line["recipient"] for line in mine) == ["division_head", "leaders"]
    assert all(personal(json.dumps(line, ensure_ascii=False)) == [] for line in mine)
    # Each message once
    assert all(count == 1 for count in smtp.keys().values())


def test_result_goes_back_to_the_reporter_only_with_their_own_case(node_factory, smtp, webhook):
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}", webhook.url)
    case = node.submit(description="Khói đen từ lò đốt rác", type="air_emissions", **REPORTER)
    wait_for(lambda: state(node, case) == "leaders_informed", what="leaders_informed")
    node.cli("route", case, "--to", "ward")
    node.cli("assign", case, "--to", "division:lan")
    node.cli("verify", case, "--result", "accurate", "--note", "Có khói đen, lò đốt không phép")
    node.cli("contain", case, "--note", "Đã yêu cầu dừng đốt")
    node.cli("resolve", case, "--note", "Đã tháo dỡ lò đốt")
    node.cli("inform", case, "--note", "Lò đốt rác đã được tháo dỡ, không còn khói")

    wait_for(lambda: smtp.to(REPORTER["email"], case), what="result mail to the reporter")
    wait_for(lambda: [p for p in webhook.posts if p["to"] == REPORTER["phone"]], what="result SMS")
    [message] = smtp.to(REPORTER["email"], case)
    body = message.get_content()
    assert "Lò đốt rác đã được tháo dỡ, không còn khói" in body
    assert case in message["Subject"]
    # Nothing about anyone else: staff, other notes, the description
    for other in ["lan.tran", "division:lan", "lò đốt không phép", "Đã yêu cầu dừng đốt"] + LEADERS:
        assert other not in text_of(message)
    [sms] = [p for p in webhook.posts if p["to"] == REPORTER["phone"]]
    assert "Lò đốt rác đã được tháo dỡ" in sms["text"] and sms["case_id"] == case
    assert sms["idempotency_key"].endswith("|reporter|sms")
    # verify:accurate told the leaders, with the verification note
    wait_for(lambda: len([m for m in smtp.to(LEADERS[0], case) if "Xác minh" in m["Subject"]]) == 1,
             what="verified mail")


def test_anonymous_reporter_is_never_contacted(node_factory, smtp, webhook):
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}", webhook.url)
    case = node.submit(anonymous=True, phone=None, email=None)
    wait_for(lambda: state(node, case) == "leaders_informed", what="leaders_informed")
    node.cli("reject", case, "--reason", "Không phải ô nhiễm môi trường")
    node.cli("inform", case, "--note", "Không thụ lý")
    wait_for(lambda: [r for r in outbox(node) if r[0].endswith("|reporter|log")],
             what="the reporter log line")
    assert not [r for r in outbox(node) if "|reporter|" in r[0] and r[1] != "log"]
    assert not [p for p in webhook.posts if p["case_id"] == case and p["to"] != LEADER_PHONE]


@pytest.mark.parametrize("mode", ["5xx", "nothing-listening"])
def test_failing_smtp_retries_then_dead_letters(node_factory, smtp, mode):
    if mode == "5xx":
        smtp.code = "554 5.7.1 rejected by policy"
        url = f"smtp://127.0.0.1:{smtp.port}"
    else:
        url = f"smtp://127.0.0.1:{free_port()}"
    node = make_node(node_factory, url, max_attempts=3, retry_ms=20)
    case = node.submit()
    # Delivery failing does not hold the case back
    wait_for(lambda: state(node, case) == "leaders_informed", what="leaders_informed")

    def dead():
        result = query(node, "deadletter")
        return result and result[0] == 0 and len(result[2]) == 3 and result[2]
    rows = wait_for(dead, what="three dead letters")
    assert sorted(row["address"] for row in rows) == sorted(LEADERS + [DIVISION_HEAD])
    for row in rows:
        assert row["status"] == "dead" and row["attempts"] == 3
        assert row["case_id"] == case and row["channel"] == "email"
        assert ("554" in row["last_error"]) if mode == "5xx" else ("connect" in row["last_error"].lower())
        assert row["key"].startswith(row["event_id"] + "|") and row["sent_ms"] is None
    if mode == "5xx":
        assert smtp.attempts == 9 and smtp.messages == []
    # ... and the CLI command shows them
    shown = node.cli("deadletter", "--json")
    assert sorted(r["address"] for r in json.loads(shown.stdout)) == sorted(LEADERS + [DIVISION_HEAD])
    text = node.cli("deadletter")
    assert case in text.stdout and "dead" in text.stdout

    # outbox: everything, filtered by status; the log channel was written
    code, _, sent = query(node, "outbox", status="sent")
    assert code == 0 and sorted(row["channel"] for row in sent) == ["log", "log"]
    code, _, everything = query(node, "outbox", case=case)
    assert code == 0 and len(everything) == 5
    code, error, _ = query(node, "nope")
    assert code == 400 and "kind" in error
    code, error, _ = query(node, "outbox", status="bogus")
    assert code == 400


def test_intake_down_delays_the_follow_up_and_nothing_is_lost_or_doubled(node_factory, smtp):
    node = start_node(node_factory, notify_config(f"smtp://127.0.0.1:{smtp.port}"),
                      services=("archive", "intake"))
    case = node.submit()
    node.wait_archived(case, "received")
    node.kill("intake")
    node.start("notification")
    wait_for(lambda: "will retry" in node.log("notification"), timeout=30,
             what="notification noticing intake is down")
    assert node.query("archive", "SELECT state FROM cases WHERE case_id = ?", case) == [("received",)]
    node.start("intake")
    node.wait_archived(case, "leaders_informed", timeout=30)
    for address in LEADERS + [DIVISION_HEAD]:
        wait_for(lambda: smtp.to(address, case), what=f"intake mail to {address}")
    wait_for(lambda: not outbox(node, "status = 'pending'"), what="outbox drained")
    assert len([e for e in history(node, case) if e["action"] == "inform_leaders"]) == 1
    assert all(n == 1 for n in smtp.keys().values()) and len(smtp.keys()) == 3
    assert node.alive("notification")


def test_kill_9_during_a_burst_delivers_everything_once(node_factory, smtp):
    """Deterministic: the SMTP server holds one message (not accepted) while
    hotline-notification is killed; reports keep coming while it is down."""
    cases_total = 16
    smtp.gate_at = 7
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}")
    cases = []
    burst = threading.Thread(target=lambda: cases.extend(
        node.submit(location=f"Tổ {i}") for i in range(cases_total)))
    burst.start()
    assert smtp.arrived.wait(30), "the gated message never arrived"
    node.kill("notification")
    smtp.release.set()
    burst.join(60)
    assert len(cases) == cases_total
    node.start("notification")
    expected = 3 * cases_total
    wait_for(lambda: sum(smtp.keys().values()) >= expected and not outbox(node, "status = 'pending'"),
             timeout=60, what="every message delivered")
    keys = smtp.keys()
    assert len(keys) == expected
    assert [k for k, n in keys.items() if n != 1] == []
    for case in cases:
        for address in LEADERS + [DIVISION_HEAD]:
            assert len(smtp.to(address, case)) == 1, (case, address)
        wait_for(lambda: state(node, case) == "leaders_informed", what=f"{case} leaders_informed")


def notification_ready(node):
    """Is the notification service's /readyz answering 200 (base+15)?"""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.base + 15}/readyz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_stops_at_random_moments(node_factory, smtp, sig):
    """Stops at random moments of a burst. After kill -9, delivery is at
    least once: a message the server accepted just before the kill, and not
    yet marked sent, is sent again (same X-Hotline-Key), so at most one
    repeat per kill (the one e-mail in flight). A graceful stop (SIGTERM)
    waits for the sends in flight and records them (notification_destroy),
    so it never re-sends anything: exactly once, checked in every pass."""
    rng = random.Random(int(os.environ.get("HOTLINE_SEED", "174")))
    cases_total = 30
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}")
    cases = []
    burst = threading.Thread(target=lambda: cases.extend(
        node.submit(location=f"Tổ {i}") for i in range(cases_total)))
    burst.start()
    stops = 0
    while burst.is_alive() and stops < 4:
        time.sleep(rng.uniform(0.1, 0.5))
        rc = node.kill("notification", sig)
        if sig == signal.SIGTERM:
            assert rc == 0, f"hotline-notification exited {rc} on SIGTERM"
        stops += 1
        node.start("notification")
        if sig == signal.SIGTERM:
            # A graceful stop needs the service's handler in place: wait
            # until it serves (slow to start under valgrind), else the
            # SIGTERM finds a process still loading and ends it as -15
            wait_for(lambda: notification_ready(node), what="notification serving")
    burst.join(60)
    assert stops > 0 and len(cases) == cases_total
    expected = 3 * cases_total
    wait_for(lambda: len(smtp.keys()) >= expected and not outbox(node, "status = 'pending'"),
             timeout=60, what="every message delivered")
    keys = smtp.keys()
    assert len(keys) == expected
    repeats = sum(n - 1 for n in keys.values())
    if sig == signal.SIGTERM:
        assert repeats == 0, f"{repeats} message(s) re-sent after {stops} graceful stops"
    else:
        assert repeats <= stops and max(keys.values()) <= 2, (stops, keys.most_common(3))


def test_graceful_stop_and_bad_templates(node_factory, smtp, tmp_path):
    node = make_node(node_factory, f"smtp://127.0.0.1:{smtp.port}")
    case = node.submit()
    wait_for(lambda: len(smtp.to(DIVISION_HEAD, case)) == 1, what="mail")
    assert node.kill("notification", signal.SIGTERM) == 0
    # A template for reporters that leaks another placeholder is refused
    bad = tmp_path / "templates.conf"
    with open(os.path.join(ROOT, "deploy", "config", "templates.conf"), encoding="utf-8") as f:
        text = f.read()
    leaky = text.replace("Kết quả:       {note}\n\nNếu", "Mô tả: {description}\n\nNếu")
    assert leaky != text
    bad.write_text(leaky, encoding="utf-8")
    env = dict(node.env, HOTLINE_NOTIFY_TEMPLATES=str(bad))
    result = subprocess.run([os.path.join(BUILD, "hotline-notification"), "-c", node.config],
                            env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 1
    assert "{description}" in result.stderr and "result" in result.stderr
    # A typo names the file and line
    bad.write_text("template intake\nsubject {case_idd}\n", encoding="utf-8")
    result = subprocess.run([os.path.join(BUILD, "hotline-notification"), "-c", node.config],
                            env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 1
    assert f"{bad}:2: unknown placeholder {{case_idd}}" in result.stderr


def test_notification_selftest():
    result = subprocess.run([os.path.join(BUILD, "hotline-notification"), "--selftest"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("OK") == 4     # templates, sender, outbox, notification
