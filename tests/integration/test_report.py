"""Issue 2 and 3: the ward's periodic report gives the right numbers."""
import csv
import io
import json
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
        "waste_water": dict(received=3, verified=2, accurate=1, resolved=1, informed=2, forwarded=0,
                            open=2, verified_on_time=2, verified_late=1),
        "noise": dict(received=2, verified=0, accurate=0, resolved=0, informed=0, forwarded=1,
                      open=2, verified_on_time=0, verified_late=0),
        "odour": dict(received=1, verified=0, accurate=0, resolved=0, informed=0, forwarded=0,
                      open=0, verified_on_time=0, verified_late=0),
    }
    for type_, figures in expect.items():
        assert {k: rows[type_][k] for k in figures} == figures, type_
    assert data["totals"]["received"] == 6 and data["totals"]["open"] == 4
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
