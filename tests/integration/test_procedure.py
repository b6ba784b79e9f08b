"""The procedure end to end, and the procedure as data.

- A Department case through the real services of a ward and the city: the
  ward's leaders and the Department's hotline unit get their mail, the
  Department works the case at the city, the reporter gets the result by
  e-mail and by the SMS webhook, and the ward sees it all.
- A changed procedure file takes effect on restart, without a rebuild; an
  invalid one is refused with a message naming the line.
- The forward meaning, declared once in the procedure, is what the ward's
  federation and the city's routing both act on.
"""
import os
import shutil
import subprocess

from conftest import BUILD, PROCEDURE, wait_for
from federation_util import make_keys, city_extra, ward_extra, wait_converged
from test_notification import Recorder, Webhook, smtp, webhook   # noqa: F401 (fixtures)

REPORTER = {"name": "Trần Thị Mai", "email": "mai.tran@example.org", "phone": "0987654321"}


def _contacts(prefix, webhook_url, smtp_port):
    return (f"contacts\n    leaders = lanhdao.{prefix}@example.vn\n"
            f"    division_head = chuyenvien.{prefix}@example.vn\n"
            "    department = duongdaynong.snnmt@example.vn\n"
            f"notify\n    smtp_url = smtp://127.0.0.1:{smtp_port}\n"
            f"    webhook_url = \"{webhook_url}\"\n    retry_ms = 100\n    tick_ms = 50\n")


def test_department_case_full_lifecycle(node_factory, tmp_path, smtp, webhook):
    keys = make_keys(tmp_path, ["31001"])
    city = node_factory(name="city", role="city", ward_code="0", ward_name="Sở NN&MT",
                        node_extra="    city_code = 31\n",
                        extra=city_extra(keys) + _contacts("so", webhook.url, smtp.port))
    os.makedirs(city.data, exist_ok=True)
    city.start()
    ward = node_factory(extra=ward_extra(city, keys, "31001") + _contacts("anbien", webhook.url, smtp.port))
    os.makedirs(ward.data, exist_ok=True)
    ward.start()

    case = ward.submit(name=REPORTER["name"], email=REPORTER["email"], phone=REPORTER["phone"],
                       type="waste_water", polluter="KCN Nam Đình Vũ",
                       polluter_category="industrial_zone",
                       description="Dầu loang trên sông Bạch Đằng, cá chết")
    # The ward's leaders are told, the case is forwarded, the Department's unit is told
    wait_for(lambda: smtp.to("lanhdao.anbien@example.vn", case), what="ward leaders' mail")
    ward.wait_archived(case, "forwarded")
    wait_for(lambda: smtp.to("duongdaynong.snnmt@example.vn", case), what="the Department unit's mail")
    staff_mail = smtp.to("lanhdao.anbien@example.vn", case)[0].get_body().get_content()
    assert REPORTER["name"] not in staff_mail and REPORTER["phone"] not in staff_mail

    # The city opens the Department case and routes it to its own unit
    dept = wait_for(lambda: (city.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?", case)
                             or [[None]])[0][0], what="Department case")
    city.wait_archived(dept, "forwarded")
    wait_for(lambda: smtp.to("lanhdao.so@example.vn", dept), what="the Department leaders' mail")
    view = city.show(dept)
    assert view["origin_case"] == case and view["report"]["reporter"]["phone"] == REPORTER["phone"]

    dept_officer = "department:hoa"
    steps = [("assign", "--to", "chicuc.bvmt@example.vn"),
             ("verify", "--result", "accurate", "--note", "Kiểm tra hiện trường: đúng"),
             ("consult", "--with", "Sở Xây dựng", "--note", "Phối hợp xử lý cống xả"),
             ("contain", "--note", "Đã quây phao ngăn dầu loang"),
             ("resolve", "--note", "Đã xử lý xong, xử phạt cơ sở"),
             ("inform", "--channel", "email", "--note", "Đã thông tin lại cho người phản ánh"),
             ("close",)]
    for action, *args in steps:
        city.cli(action, dept, *args, actor=dept_officer)
    city.wait_archived(dept, "closed")

    # The reporter gets the result, by e-mail and by the SMS gateway
    wait_for(lambda: smtp.to(REPORTER["email"], dept), what="the reporter's result mail")
    wait_for(lambda: [p for p in webhook.posts if p.get("case_id") == dept
                      and REPORTER["phone"] in p.get("to", "")], what="the reporter's SMS")
    result_mail = smtp.to(REPORTER["email"], dept)[0].get_body().get_content()
    assert "lanhdao" not in result_mail

    # The ward sees the Department's work on its own case
    wait_for(lambda: ward.show(case).get("department_state") == "closed", what="ward sees closed")
    history = ward.show(case)["history"]
    city_actions = [h["action"] for h in history if h.get("origin") == "city"]
    for action, *_ in steps:
        assert action in city_actions
    assert "Đã xử lý xong, xử phạt cơ sở" in ward.cli("show", case).stdout


def _copy_procedure(tmp_path, edit):
    path = os.path.join(str(tmp_path), "procedure.conf")
    with open(PROCEDURE) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(edit(text))
    shutil.copy(os.path.join(os.path.dirname(PROCEDURE), "routing.conf"),
                os.path.join(str(tmp_path), "routing.conf"))
    return path


def test_changed_procedure_takes_effect_on_restart(node_factory, tmp_path):
    node = node_factory(services=("archive", "intake")).start()
    case = node.submit()
    node.wait_archived(case)
    verify = [d for d in node.show(case)["deadlines"] if d["name"] == "verify"][0]
    assert verify["due_ms"] - verify["started_ms"] == 24 * 3600 * 1000

    # Verification in 12 h and an extra state, from the file alone
    def edit(text):
        lines = []
        for line in text.splitlines():
            if line.startswith("deadline") and " verify " in f" {line} ":
                line = line.replace("normal=24h", "normal=12h")
            lines.append(line)
        lines.append('state   escalated_to_city  open  "Đã báo cáo thành phố"')
        lines.append("action  escalate  -  verifying  escalated_to_city  leader  note")
        lines.append("action  deescalate  -  escalated_to_city  verifying  leader  note")
        return "\n".join(lines) + "\n"
    path = _copy_procedure(tmp_path, edit)
    for service in ("intake", "archive"):
        node.kill(service, sig=15)
    with open(node.config) as f:
        config = f.read()
    with open(node.config, "w") as f:
        f.write(config.replace(f"procedure = {node.procedure}", f"procedure = {path}"))
    node.start("archive", "intake")

    fresh = node.submit()
    node.wait_archived(fresh)
    verify = [d for d in node.show(fresh)["deadlines"] if d["name"] == "verify"][0]
    assert verify["due_ms"] - verify["started_ms"] == 12 * 3600 * 1000
    node.cli("inform_leaders", fresh)
    node.cli("route", fresh, "--to", "ward", actor="leader:minh")
    node.cli("assign", fresh, "--to", "division:lan", actor="leader:minh")
    refused = node.cli("escalate", fresh, "--note", "Phức tạp", check=False)   # officer may not
    assert refused.returncode == 2 and "may not" in refused.stderr
    node.cli("escalate", fresh, "--note", "Phức tạp", actor="leader:minh")
    node.wait_archived(fresh, "escalated_to_city")
    assert node.show(fresh)["state_label"] == "Đã báo cáo thành phố"


def test_invalid_procedure_is_refused_naming_the_line(node_factory, tmp_path):
    def edit(text):
        lines = text.splitlines()
        lines.insert(40, "action  teleport  -  received  nowhere  officer")
        return "\n".join(lines) + "\n"
    path = _copy_procedure(tmp_path, edit)
    for service in ("intake", "archive", "routing", "deadline-watcher", "notification"):
        result = subprocess.run([os.path.join(BUILD, f"hotline-{service}"), "-c", "/dev/null"],
                                env={**os.environ, "HOTLINE_NODE_PROCEDURE": path,
                                     "HOTLINE_NODE_DATA_DIR": str(tmp_path / "data")},
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, (service, result.stderr)
        assert f"{path}:41:" in result.stderr and "nowhere" in result.stderr, result.stderr


def test_forward_meaning_decides_what_leaves_the_ward(node_factory, tmp_path):
    """procedure.conf's `meaning forward` is the one place that says which
    event leaves the ward with the reporter's personal data. With the route
    action renamed (to "send"), the ward's federation still sends the
    forwarding event whole and every other event redacted, and the city's
    routing still opens a Department case from that same event: both read
    the one meaning."""
    def rename(text):
        lines = []
        for line in text.splitlines():
            fields = line.split()
            if fields[:2] in (["action", "route"], ["notify", "route:department"]):
                line = line.replace("route", "send", 1)
            elif fields[:2] == ["meaning", "forward"]:
                line = line.replace("route:department", "send:department")
            elif fields[:3] == ["meaning", "route", "route"]:
                line = "meaning route send"
            lines.append(line)
        return "\n".join(lines) + "\n"
    path = _copy_procedure(tmp_path, rename)
    keys = make_keys(tmp_path, ["31001"])
    services = ("archive", "intake", "routing")
    city = node_factory(name="city", role="city", ward_code="0", ward_name="Sở",
                        node_extra="    city_code = 31\n", extra=city_extra(keys),
                        procedure=path, services=services).start()
    ward = node_factory(extra=ward_extra(city, keys, "31001"), procedure=path,
                        services=services).start()
    secret = {"name": "Phạm Văn Kín Đáo", "phone": "0911222333"}
    forwarded = ward.submit(scope="beyond_city", **secret)
    local = ward.submit(scope="within_ward", **secret)
    for case in (forwarded, local):
        ward.cli("inform_leaders", case)
    ward.wait_archived(forwarded, "forwarded")
    ward.wait_archived(local, "routed_ward")
    assert "send" in [h["action"] for h in ward.show(forwarded)["history"]]

    # The city opened the Department's case from the forwarding event
    wait_for(lambda: city.query("archive", "SELECT count(*) FROM cases WHERE origin_case = ?",
                                forwarded)[0][0] == 1,
             timeout=60, what="a Department case for the forwarded case")
    wait_converged(city, {"31001": ward})

    def carrying(case):
        """The actions of the case's events at the city that carry the reporter."""
        rows = city.query("archive", "SELECT action, event FROM log WHERE origin = ? AND case_id = ?",
                          "ward:31001", case)
        assert rows
        return {action for action, event in rows
                if secret["phone"].encode() in event or secret["name"].encode() in event}
    assert carrying(forwarded) == {"send"}
    assert carrying(local) == set()
