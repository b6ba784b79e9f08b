"""Dead letters re-sent once an SMTP server appears, once;
the start-up says loudly that mail will not leave; metrics, /readyz and
`hotline status` show the dead letters."""
import asyncio
import json
import os
import re
import socket
import subprocess
import threading
import urllib.request

from conftest import BUILD, wait_for
from test_notification import notify_config, start_node, LEADERS, DIVISION_HEAD


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(node, service_offset, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.base + 11 + service_offset}{path}",
                                    timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(node, name):
    code, text = http(node, 4, "/metrics")
    match = re.search(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def resend(node, *args):
    return subprocess.run([os.path.join(BUILD, "hotline"), "--endpoint", node.endpoint,
                           "deadletter", "resend", *args],
                          env=node.env, capture_output=True, text=True, timeout=60)


def test_resend_empties_the_dead_letters_once_smtp_appears(node_factory):
    from aiosmtpd.controller import Controller
    port = free_port()
    node = start_node(node_factory, notify_config(f"smtp://127.0.0.1:{port}", max_attempts=2, retry_ms=20)
                      + "    smtp_check_ms = 200\n")
    # Loud at start-up: the service's log at warn, the gauge, hotline status
    wait_for(lambda: "MAIL WILL NOT LEAVE" in node.log("notification"), what="the warning")
    assert re.search(r"level=warn .*MAIL WILL NOT LEAVE: no SMTP server answers", node.log("notification"))
    wait_for(lambda: metric(node, "hotline_smtp_reachable") == 0, what="smtp gauge 0")
    status = subprocess.run([os.path.join(BUILD, "hotline"), "--endpoint", node.endpoint, "status"],
                            env=node.env, capture_output=True, text=True, timeout=60)
    assert "smtp_reachable=0" in status.stdout

    case = node.submit()
    wait_for(lambda: metric(node, "hotline_notifications_dead") == 3, what="three dead letters")
    code, body = http(node, 4, "/readyz")
    assert code == 200 and "3 dead letter(s)" in body

    # Bad input changes nothing
    assert resend(node).returncode == 2
    assert resend(node, "--all", "--case", case).returncode == 2
    assert node.query("notification", "SELECT count(*) FROM outbox WHERE status = 'dead'")[0][0] == 3

    messages, release = [], threading.Event()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            # Held until the second resend is done: the messages are
            # pending (one in flight) while it runs, not sent yet
            while not release.is_set():
                await asyncio.sleep(0.02)
            messages.append(envelope)
            return "250 OK"
    server = Controller(Handler(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        wait_for(lambda: metric(node, "hotline_smtp_reachable") == 1, what="smtp gauge 1")
        first = resend(node, "--case", case)
        assert first.returncode == 0 and first.stdout.startswith("3 dead letter(s)"), first
        # Again while they are pending (one in flight): nothing moves
        wait_for(lambda: node.query("notification", "SELECT count(*) FROM outbox"
                                    " WHERE status = 'pending' AND channel = 'email'")[0][0] == 3,
                 what="pending")
        second = resend(node, "--all", "--json")
        release.set()
        assert second.returncode == 0 and json.loads(second.stdout) == {"resent": 0}
        wait_for(lambda: len(messages) == 3, what="three e-mails")
        wait_for(lambda: node.query("notification", "SELECT count(*) FROM outbox"
                                    " WHERE channel = 'email' AND status = 'sent'")[0][0] == 3,
                 what="marked sent")
        assert sorted(m.rcpt_tos[0] for m in messages) == sorted(LEADERS + [DIVISION_HEAD])
        # Recorded: on each row, in the counter, in the log
        assert node.query("notification", "SELECT resends, resent_ms IS NOT NULL FROM outbox"
                          " WHERE channel = 'email'") == [(1, 1)] * 3
        assert metric(node, "hotline_notifications_resent_total") == 3
        assert "re-sending 3 dead letter(s)" in node.log("notification")
        wait_for(lambda: metric(node, "hotline_notifications_dead") == 0, what="no dead letters")
        assert json.loads(node.cli("deadletter", "--json").stdout) == []
        assert len(messages) == 3                   # nothing sent twice
    finally:
        release.set()
        server.stop()
