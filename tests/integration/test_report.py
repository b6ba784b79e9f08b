"""The ward's periodic report gives the right numbers."""
import csv
import io
import json
import os
import time

from conftest import node_time

TODAY = node_time("%Y-%m-%d")


def _walk(ward, case, *steps):
    for action, *args in steps:
        # the duty officer informs the leaders; a leader directs the rest
        ward.cli(action, case, *args, actor="officer:an" if action == "inform_leaders" else "leader:minh")


def test_report_figures_for_a_known_set_of_cases(ward):
    ww1 = ward.submit(type="waste_water")
    ww2 = ward.submit(type="waste_water")
    ww3 = ward.submit(type="waste_water")
    n1 = ward.submit(type="noise")
    n2 = ward.submit(type="noise")
    o1 = ward.submit(type="odour", anonymous=True, phone=None)
    common = [("inform_leaders",), ("route", "--to", "ward"), ("assign", "--to", "division:lan")]
    _walk(ward, ww1, *common, ("verify", "--result", "accurate", "--note", "Đúng"),
          ("contain", "--note", "Đã ngăn chặn"), ("resolve", "--note", "Xong"),
          ("inform", "--channel", "phone", "--note", "Đã báo"), ("close",))
    _walk(ward, ww2, *common, ("verify", "--result", "inaccurate", "--note", "Không đúng"),
          ("inform", "--channel", "phone", "--note", "Đã báo"))
    _walk(ward, n1, ("inform_leaders",), ("route", "--to", "department", "--reason", "KCN"))
    _walk(ward, n2, ("reject", "--reason", "Không thuộc phạm vi ô nhiễm môi trường"))
    _walk(ward, o1, ("duplicate", "--of", ww1))
    ward.wait_archived(o1, "duplicate")
    ward.wait_archived(ww2, "reporter_informed")
    # ww3 is never verified: a day and more later its verification is late
    ward.advance(25 * 3600 * 1000)

    data = json.loads(ward.cli("report", "--from", TODAY, "--to", TODAY, "--format", "json").stdout)
    rows = {row["type"]: row for row in data["rows"]}
    expect = {
        # open (Còn tồn): ww3 only; ww1 is closed, ww2 informed, n1 forwarded, n2 rejected
        "waste_water": dict(received=3, verified=2, accurate=1, resolved=1, informed=2, forwarded=0,
                            open=1, verified_on_time=2, verified_late=1),
        "noise": dict(received=2, verified=0, accurate=0, resolved=0, informed=0, forwarded=1,
                      open=0, verified_on_time=0, verified_late=0),
        "odour": dict(received=1, verified=0, accurate=0, resolved=0, informed=0, forwarded=0,
                      open=0, verified_on_time=0, verified_late=0),
    }
    for type_, figures in expect.items():
        assert {k: rows[type_][k] for k in figures} == figures, type_
    assert data["totals"]["received"] == 6 and data["totals"]["open"] == 1
    assert data["focal_points"][0]["receiving_phone"] == "0916588826"

    # The same figures in the Vietnamese text and in CSV
    text = ward.cli("report", "--from", TODAY, "--to", TODAY).stdout
    assert "BÁO CÁO" in text and "Phường An Biên" in text and "0916588826" in text
    assert "Nước thải" in text and "Tổng cộng" in text
    table = list(csv.reader(io.StringIO(ward.cli("report", "--from", TODAY, "--to", TODAY,
                                                 "--format", "csv").stdout)))
    header = table[0]
    assert header[1] == "Loại ô nhiễm" and "Tiếp nhận" in header and "Còn tồn" in header
    water = [r for r in table if len(r) > 1 and r[1] == "Nước thải"][0]
    assert water[header.index("Tiếp nhận")] == "3" and water[header.index("Đã xác minh")] == "2"

    # Another period has none of them; bad periods are refused
    empty = json.loads(ward.cli("report", "--from", "2020-01-01", "--to", "2020-12-31",
                                "--format", "json").stdout)
    assert empty["rows"] == [] and empty["totals"]["received"] == 0
    bad = ward.cli("report", "--from", "2026-12-31", "--to", "2026-01-01", check=False)
    assert bad.returncode == 2
    bad = ward.cli("report", "--from", "yesterday", "--to", TODAY, check=False)
    assert bad.returncode == 2 and "--from" in bad.stderr


def _set_clock(node, ms):
    """Put the node's clock at ms since the epoch (an offset from real time)."""
    with open(node.clock + ".tmp", "w") as f:
        f.write(f"{int(ms) - int(time.time() * 1000)}\n")
    os.replace(node.clock + ".tmp", node.clock)


def test_outstanding_is_what_is_not_done_at_the_end_of_the_period(node_factory):
    """Còn tồn: received in the period and, at its end, in none of the states
    the procedure and report/done_actions count as done; a forwarded case is
    in Chuyển Sở, not the ward's outstanding. Stated in the footnote."""
    ward = node_factory(services=("archive", "intake"))
    # 10:00 in Việt Nam (03:00 UTC) on 10 March: the day is the same in either zone
    _set_clock(ward, 1773111600000)
    ward.start()
    informed = ward.submit(description="Nước thải đã xử lý xong")
    forwarded = ward.submit(description="Khí thải khu công nghiệp")
    still_open = ward.submit(description="Nước thải chưa xác minh")
    late = ward.submit(description="Xử lý xong sau kỳ báo cáo")
    path = [("inform_leaders",), ("route", "--to", "ward"), ("assign", "--to", "division:lan"),
            ("verify", "--result", "accurate", "--note", "Đúng"), ("contain", "--note", "Đã ngăn chặn"),
            ("resolve", "--note", "Xong")]
    _walk(ward, informed, *path, ("inform", "--channel", "phone", "--note", "Đã báo"))
    _walk(ward, forwarded, ("inform_leaders",), ("route", "--to", "department", "--reason", "KCN"))
    _walk(ward, late, *path[:4])
    ward.wait_archived(late, "verified_accurate")
    ward.advance(24 * 3600 * 1000)                  # 11 March: the late one is finished
    _walk(ward, late, *path[4:], ("inform", "--channel", "phone", "--note", "Đã báo"))
    ward.wait_archived(late, "reporter_informed")

    def report(to):
        return json.loads(ward.cli("report", "--from", "2026-03-10", "--to", to, "--format", "json").stdout)
    day = report("2026-03-10")
    water = {row["type"]: row for row in day["rows"]}["waste_water"]
    assert day["totals"]["received"] == 4 and day["totals"]["forwarded"] == 1
    # at the end of 10 March: the open case and the one finished the next day
    assert day["totals"]["open"] == 2 and water["open"] == 2, day
    # by the end of 11 March the late one is done too; the forwarded one never counts
    assert report("2026-03-11")["totals"]["open"] == 1
    rule = day["open_rule"]
    assert "reporter_informed" in rule["done_states"] and "resolved" in rule["done_states"]
    assert rule["forwarded_states"] == ["forwarded"] and "forwarded" not in rule["done_states"]
    assert "Còn tồn" in day["footnote"] and "Chuyển Sở" in day["footnote"]
    assert "Đã thông tin lại cho người phản ánh" in day["footnote"]
    text = ward.cli("report", "--from", "2026-03-10", "--to", "2026-03-10").stdout
    assert "Ghi chú: Còn tồn" in text
