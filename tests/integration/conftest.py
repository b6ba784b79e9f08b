"""Shared fixtures: real Hotline nodes as real processes on real sockets.

    def test_x(ward):                 # a ward node with all services running
        case = ward.submit(phone="0912345678", type="noise", ...)
        ward.cli("show", case)

Node(tmp_path, ...) builds a config file, a data directory and a test clock
file, picks free ports, and starts the services from $HOTLINE_BUILD (default
build/). Every process is killed at teardown.
"""
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("HOTLINE_BUILD", "build"))
SERVICES = ("archive", "intake", "routing", "deadline-watcher", "notification")
PROCEDURE = os.path.join(ROOT, "deploy", "config", "procedure.conf")
VALGRIND = os.environ.get("HOTLINE_VALGRIND") == "1"
#   Under valgrind (or a sanitizer build) everything is slower: waits stretch
SLOW = 6 if VALGRIND else (2 if "asan" in BUILD else 1)
#   ... but never past WAIT_CAP seconds for a wait that asked for less: a
#   hung test must fail in bounded time (20 s x 6 is already 2 minutes; a
#   60 s wait stretched 6 times would hold a stuck pass for 6). A wait that
#   asks for more than the cap itself gets what it asked for, unstretched.
WAIT_CAP = 120.0


def stretch(seconds):
    """seconds, stretched by SLOW, capped at WAIT_CAP (or seconds if more)."""
    return max(seconds, min(seconds * SLOW, WAIT_CAP))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real headless Chromium (selenium)")


def free_base(count=20):
    """A base port such that base+1 .. base+count are free on 127.0.0.1."""
    for _ in range(200):
        # below the kernel's range for outgoing connections (32768-60999),
        # so a restarted service never finds its port taken by a client
        base = random.randrange(10000, 32000, 20)
        ok = True
        for port in range(base + 1, base + count + 1):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free ports")


#   The nodes' time zone (node/timezone's default): what an officer sees and
#   types, whatever the machine's TZ
NODE_ZONE = "Asia/Ho_Chi_Minh"


def node_time(fmt, ms=None):
    """Now (or ms since the epoch) in the nodes' zone, as strftime(fmt)."""
    import datetime
    import zoneinfo
    when = time.time() if ms is None else ms / 1000
    return datetime.datetime.fromtimestamp(when, zoneinfo.ZoneInfo(NODE_ZONE)).strftime(fmt)


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    timeout = stretch(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Node:
    def __init__(self, tmp, name="ward-31001", role="ward", ward_code="31001",
                 ward_name="Phường An Biên", extra="", procedure=PROCEDURE,
                 services=SERVICES, env=None, base=None, node_extra=""):
        self.dir = os.path.join(str(tmp), name)
        os.makedirs(self.dir, exist_ok=True)
        self.name, self.role, self.ward_code = name, role, ward_code
        self.base = base or free_base()
        self.services = services
        self.data = os.path.join(self.dir, "data")
        self.clock = os.path.join(self.dir, "clock")
        with open(self.clock, "w") as f:
            f.write("0\n")
        self.config = os.path.join(self.dir, "node.cfg")
        self.procedure = procedure
        with open(self.config, "w") as f:
            f.write(self.config_text(ward_name, extra, node_extra))
        self.env = dict(os.environ)
        self.env.update({"HOTLINE_CLOCK_FILE": self.clock, "HOTLINE_CONFIG": self.config,
                         "HOTLINE_ACTOR": "officer:test"})
        self.env.pop("HOTLINE_ENDPOINT", None)
        if env:
            self.env.update(env)
        self.procs = {}
        self.logs = {}

    def config_text(self, ward_name, extra, node_extra=""):
        return (
            "node\n"
            f"    role = {self.role}\n"
            f"    name = {self.name}\n"
            f"    ward_code = {self.ward_code}\n"
            f"    ward_name = \"{ward_name}\"\n"
            "    city = \"Hải Phòng\"\n"
            f"    data_dir = {self.data}\n"
            f"    procedure = {self.procedure}\n"
            f"    base_port = {self.base}\n"
            + node_extra +
            "focal_points\n"
            "    main\n"
            f"        unit = \"UBND {ward_name}\"\n"
            "        receiving_phone = 0916588826\n"
            "        receiving_email = ubnd@example.vn\n"
            "        handling_phone = 0989135250\n"
            "        handling_email = xuly@example.vn\n"
            "        note = \"Ghi chú\"\n"
            "deadlines\n"
            "    tick_ms = 50\n"
            + extra)

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.base + 1}"

    def port(self, key):
        keys = ["intake", "intake_feed", "archive", "archive_feed", "federation",
                "notification", "federation_return", "monitor", "snapshot", "web"]
        return self.base + 1 + keys.index(key)

    @property
    def web(self):
        """The web console's base URL (http://127.0.0.1:<base+10>)."""
        return f"http://127.0.0.1:{self.base + 10}"

    def web_user(self, name, role, password=None):
        """Add a web console user to this node's web.db with `hotline user
        add` (the CLI opens web.db itself); returns the password."""
        password = password or f"pw-{name}-0123456789"
        cmd = [os.path.join(BUILD, "hotline"), "-c", self.config, "user", "add", name,
               "--role", role, "--password-stdin"]
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                input=password + "\n", timeout=stretch(60))
        if result.returncode != 0:
            raise AssertionError(f"hotline user add {name} -> {result.returncode}: {result.stderr}")
        return password

    def start(self, *services):
        for service in services or self.services:
            assert service not in self.procs or self.procs[service].poll() is not None
            log = open(os.path.join(self.dir, f"{service}.log"), "ab")
            self.logs[service] = log
            cmd = [os.path.join(BUILD, f"hotline-{service}"), "-c", self.config]
            if VALGRIND:
                cmd = ["valgrind", "--quiet", "--leak-check=full", "--error-exitcode=99",
                       "--errors-for-leak-kinds=definite,indirect",
                       "--show-leak-kinds=definite,indirect",
                       f"--suppressions={ROOT}/tests/valgrind.supp",
                       f"--log-file={self.dir}/{service}.valgrind.%p"] + cmd
            self.procs[service] = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if "intake" in (services or self.services):
            def up():
                for service, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise AssertionError(f"{self.name} {service} exited {proc.returncode}:\n"
                                             + self.log(service)[-2000:])
                return self.cli("ping", check=False, tries=1, timeout=500).returncode == 0
            wait_for(up, what=f"{self.name} intake up")
        if "web" in (services or self.services):
            def web_up():
                proc = self.procs["web"]
                if proc.poll() is not None:
                    raise AssertionError(f"{self.name} web exited {proc.returncode}:\n"
                                         + self.log("web")[-2000:])
                try:
                    with socket.create_connection(("127.0.0.1", self.base + 10), timeout=1):
                        return True
                except OSError:
                    return False
            wait_for(web_up, what=f"{self.name} web up")
        return self

    def kill(self, service, sig=signal.SIGKILL):
        proc = self.procs.pop(service)
        proc.send_signal(sig)
        rc = proc.wait(timeout=15)
        self.logs.pop(service).close()
        return rc

    def stop(self):
        """SIGTERM every service (a clean exit lets LeakSanitizer and valgrind
        report), SIGKILL what does not stop. Returns problems found: a
        sanitizer or valgrind report, or a service that did not exit 0."""
        problems = []
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + (60 if VALGRIND else 15)
        for service, proc in list(self.procs.items()):
            try:
                rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                rc = proc.wait(timeout=15)
                problems.append(f"{self.name} {service} did not stop on SIGTERM")
            self.logs[service].close()
            if rc not in (0, -signal.SIGKILL, -signal.SIGTERM):   # -TERM: stopped before its handler was in
                problems.append(f"{self.name} {service} exited {rc}")
        self.procs.clear()
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if name.endswith(".log") or ".valgrind." in name:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                               "definitely lost", "Invalid read", "Invalid write",
                               "uninitialised", "Assertion", "SUMMARY: UndefinedBehavior"):
                    if marker in text:
                        at = text.index(marker)
                        problems.append(f"{self.name} {name}: {text[max(0, at - 200):at + 1500]}")
                        break
        return problems

    def log(self, service):
        with open(os.path.join(self.dir, f"{service}.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self, service):
        return service in self.procs and self.procs[service].poll() is None

    def advance(self, ms):
        """Move this node's clock forward by ms (every service reads it)."""
        with open(self.clock) as f:
            offset = int(f.read().strip() or 0)
        with open(self.clock + ".tmp", "w") as f:
            f.write(f"{offset + int(ms)}\n")
        os.replace(self.clock + ".tmp", self.clock)

    def cli(self, *args, check=True, tries=3, timeout=3000, actor=None, input=None):
        cmd = [os.path.join(BUILD, "hotline"), "--endpoint", self.endpoint,
               "--tries", str(tries), "--timeout", str(timeout * SLOW)]
        if actor:
            cmd += ["--as", actor]
        cmd += list(args)
        #   Bounded: the CLI's own retry budget, or the capped minute
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                timeout=max(stretch(60), tries * timeout * SLOW / 1000 + 5),
                                input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"hotline {' '.join(args)} -> {result.returncode}\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def submit(self, **fields):
        args = ["submit"]
        defaults = {"phone": "0912345678", "type": "waste_water",
                    "location": "Kênh Xáng, tổ 5", "description": "Nước thải đen chảy ra kênh"}
        for key, value in {**defaults, **fields}.items():
            if value is None:
                continue
            key = key.replace("_", "-")
            if value is True:
                args.append(f"--{key}")
            elif isinstance(value, (list, tuple)):
                for item in value:
                    args += [f"--{key}", str(item)]
            else:
                args += [f"--{key}", str(value)]
        return self.cli(*args).stdout.strip()

    def show(self, case):
        return json.loads(self.cli("show", case, "--json").stdout)

    def list(self, *args):
        return json.loads(self.cli("list", "--json", *args).stdout)

    def db(self, service):
        """A read-only connection to a service's SQLite file."""
        name = {"deadline-watcher": "deadline", "notification": "notify"}.get(service, service)
        path = os.path.join(self.data, f"{name}.db")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        return conn

    def query(self, service, sql, *params):
        for attempt in range(50):
            try:
                conn = self.db(service)
                try:
                    return conn.execute(sql, params).fetchall()
                finally:
                    conn.close()
            except sqlite3.OperationalError as e:
                # the service may still be creating its file or tables
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def wait_archived(self, case, state=None, timeout=20):
        def check():
            rows = self.query("archive", "SELECT state FROM cases WHERE case_id = ?", case)
            return rows and (state is None or rows[0][0] == state)
        wait_for(check, timeout=timeout, what=f"{case} archived in state {state}")


@pytest.fixture
def node_factory(tmp_path):
    nodes = []

    def make(**kwargs):
        node = Node(tmp_path, **kwargs)
        nodes.append(node)
        return node
    yield make
    problems = []
    for node in nodes:
        problems += node.stop()
    assert not problems, "\n\n".join(problems)


@pytest.fixture(scope="class")
def class_node_factory(tmp_path_factory):
    """node_factory for a class of independent tests that share one node:
    starting a node's services costs 10-14 s under valgrind. Each test must
    use its own data (unique names, keys, phones) and prove what it did by
    counts before and after, never by "empty"; the node is stopped, and a
    sanitizer or valgrind report fails (the last test's teardown), once
    the class ends."""
    nodes = []
    tmp = tmp_path_factory.mktemp("shared")

    def make(**kwargs):
        node = Node(tmp, **kwargs)
        nodes.append(node)
        return node
    yield make
    problems = []
    for node in nodes:
        problems += node.stop()
    assert not problems, "\n\n".join(problems)


@pytest.fixture
def ward(node_factory):
    """A ward node with intake and archive (the write path and the record)."""
    return node_factory(services=("archive", "intake")).start()


@pytest.fixture
def full_ward(node_factory):
    """A ward node with all five services."""
    return node_factory().start()


@pytest.fixture
def web_ward(node_factory):
    """A ward node with archive, intake and the web console (web/timeout_s
    short, so that a test can see an idle connection dropped)."""
    return node_factory(services=("archive", "intake", "web"),
                        extra="web\n    timeout_s = 2\n").start()


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on a free port that keeps every message."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Handler()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()
