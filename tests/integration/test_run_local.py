"""`make run` on a fresh clone: deploy/run-local.sh starts a ward, a new case
is reported, and the leaders' e-mail lands in the demo's Maildir
(var/mail/new/); SIGTERM then stops the script and every process it
started.

The script runs in a temporary copy of the tree (deploy/ copied, services/
linked for the web's pages), so it has its own var/ — as on a fresh clone,
no var/mail yet — and the copy's configs are moved to free ports, so the
test never meets a developer's running `make run` (7000+, SMTP 2525).
"""
import email
import email.policy
import glob
import os
import re
import shutil
import signal
import subprocess

from conftest import BUILD, ROOT, free_base, stretch, wait_for

LEADERS = ("chutich.anbien@example.vn", "phochutich.anbien@example.vn")


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _copy_tree(tmp):
    """tmp/deploy (script and configs, on free ports) and tmp/services."""
    root = os.path.join(str(tmp), "clone")
    shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(root, "deploy"),
                    ignore=shutil.ignore_patterns("k8s", "docker*", "systemd"))
    os.symlink(os.path.join(ROOT, "services"), os.path.join(root, "services"))
    base = free_base()
    shift = base - 7100             # ward-31001's base_port becomes base
    smtp = _free_port()
    for cfg in glob.glob(os.path.join(root, "deploy", "config", "*.cfg")):
        with open(cfg, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("smtp://127.0.0.1:2525", f"smtp://127.0.0.1:{smtp}")
        text = re.sub(r"127\.0\.0\.1:(7\d\d\d)\b", lambda m: f"127.0.0.1:{int(m[1]) + shift}", text)
        text = re.sub(r"(base_port\s*=\s*)(\d+)", lambda m: f"{m[1]}{int(m[2]) + shift}", text)
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
    return root, base


def _mails(root):
    out = []
    for path in glob.glob(os.path.join(root, "var", "mail", "new", "*")):
        with open(path, "rb") as f:
            out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
    return out


def test_make_run_mails_the_leaders_and_stops_on_sigterm(tmp_path):
    root, base = _copy_tree(tmp_path)
    assert not os.path.exists(os.path.join(root, "var"))        # a fresh clone
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(BUILD=BUILD, HOTLINE_NODES_LIST="ward-31001")
    out = open(os.path.join(str(tmp_path), "run.out"), "w")
    script = subprocess.Popen([os.path.join(root, "deploy", "run-local.sh")], cwd=root, env=env,
                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "Ctrl-C stops everything" in open(out.name).read(), timeout=30,
                 what="run-local.sh to start the node")
        submit = subprocess.run(
            [os.path.join(BUILD, "hotline"), "--endpoint", f"tcp://127.0.0.1:{base + 1}",
             "--tries", "5", "--timeout", "2000", "submit", "--phone", "0912345678",
             "--type", "waste_water", "--location", "Kênh Xáng, tổ 5",
             "--description", "Nước thải đen chảy ra kênh"],
            cwd=root, env=env, capture_output=True, text=True, timeout=stretch(60))
        assert submit.returncode == 0, submit.stderr
        case = submit.stdout.strip()
        assert case.startswith("31001-")

        def leaders_mail():
            to = set()
            for m in _mails(root):
                if case in m["Subject"] + m.get_content():
                    to |= {a.strip() for h in ("To", "X-RcptTo") for a in (m[h] or "").split(",")}
            return set(LEADERS) <= to
        wait_for(leaders_mail, timeout=30, what=f"the leaders' e-mail for {case} in var/mail/new/")
        smtp_log = open(os.path.join(root, "var", "log", "smtp.log")).read()
        assert "Error" not in smtp_log, smtp_log
        # Ctrl-C / SIGTERM: the script stops every process it started
        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=stretch(30)) == 0
        wait_for(lambda: _group_gone(script.pid), timeout=15, what="every process of make run to exit")
    finally:
        if script.poll() is None or not _group_gone(script.pid):
            try:
                os.killpg(script.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            script.wait(timeout=15)
        out.close()


def _group_gone(pgid):
    try:
        os.killpg(pgid, 0)
        return False
    except ProcessLookupError:
        return True
