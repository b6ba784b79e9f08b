"""The case list the web console and `hotline list` page through.

Pagination (offset/limit, --page/--per-page), free-text search (case number,
location, description, polluter; never the reporter), order=due (cases with
a running deadline by next due time, overdue first, then the rest newest
first) and each row's next deadline (next_deadline, next_due_ms).
"""
import json
import sqlite3

MINUTE = 60 * 1000


def _ids(rows):
    return [row["case_id"] for row in rows]


def test_pages_do_not_overlap_and_the_total_is_right(ward):
    cases = [ward.submit(description=f"Khói bụi số {i}") for i in range(7)]
    # two cases without a running deadline (a duplicate is final): order=due
    # puts them after the others, and a page straddles the two parts
    ward.cli("duplicate", cases[5], "--of", cases[0], actor="leader:minh")
    ward.cli("duplicate", cases[6], "--of", cases[0], actor="leader:minh")
    ward.wait_archived(cases[6], "duplicate")
    for order in ("newest", "due"):
        seen = []
        for page in (1, 2, 3, 4):
            result = ward.cli("list", "--json", "--order", order, "--page", str(page), "--per-page", "3")
            rows = json.loads(result.stdout)
            assert len(rows) == [3, 3, 1, 0][page - 1], (order, page, rows)
            seen += _ids(rows)
        assert sorted(seen) == sorted(cases), order        # every case once, none twice
        text = ward.cli("list", "--order", order, "--page", "2", "--per-page", "3")
        assert "trang 2/3: 3 case(s) of 7" in text.stderr, text.stderr
    due = _ids(ward.list("--order", "due"))
    assert due[-2:] == [cases[6], cases[5]]                 # no deadline: last, newest first
    assert all("next_due_ms" in row for row in ward.list("--order", "due")[:5])
    assert ward.cli("list", "--count").stdout.strip() == "7"
    assert ward.cli("list", "--page", "0", check=False).returncode == 2
    assert ward.cli("list", "--order", "sideways", check=False).returncode == 2


def test_order_due_puts_the_overdue_case_first(ward):
    # the first deadline of a new case: tell the leaders within 15 minutes
    early = ward.submit(description="Nước thải đen")
    ward.advance(10 * MINUTE)
    later = ward.submit(description="Tiếng ồn ban đêm")        # due 10 minutes after the first's
    done = ward.submit(description="Trùng")
    ward.cli("duplicate", done, "--of", early, actor="leader:minh")
    ward.wait_archived(done, "duplicate")
    ward.advance(10 * MINUTE)                                # the first is overdue, the second not
    newest = ward.list()
    assert _ids(newest) == [done, later, early]
    rows = ward.list("--order", "due")
    assert _ids(rows) == [early, later, done]
    assert rows[0]["overdue"] is True and rows[1]["overdue"] is False
    assert rows[0]["next_deadline"] == "inform_leaders" and rows[0]["next_due_ms"] < rows[1]["next_due_ms"]
    assert "next_due_ms" not in rows[2] and "next_deadline" not in rows[2]
    # the console's --overdue filter reads the same column
    assert _ids(ward.list("--overdue")) == [early]
    # the row's next deadline is the earliest running one in the case view
    shown = ward.show(early)
    running = [d["due_ms"] for d in shown["deadlines"] if d["met_ms"] is None]
    assert rows[0]["next_due_ms"] == min(running)
    # routing the case stops its route deadline: the next one is verify
    ward.cli("inform_leaders", early, actor="officer:an")
    ward.cli("route", early, "--to", "ward", actor="leader:minh")
    ward.wait_archived(early, "routed_ward")
    row = [r for r in ward.list("--order", "due") if r["case_id"] == early][0]
    assert row["next_deadline"] == "verify" and row["overdue"] is False


def test_search_finds_text_but_never_the_reporter(ward):
    water = ward.submit(description="Nước thải màu đen chảy ra kênh Xáng", name="Nguyễn Thị Hằng",
                        phone="0916588826", address="12 Lê Lợi")
    smoke = ward.submit(type="air_emissions", description="Khói từ lò gạch", polluter="Công ty Gạch Tân Phát",
                        location="Tổ 7, ĐƯỜNG Số 3")
    ward.wait_archived(smoke)

    def found(*words):
        return sorted(_ids(ward.list("--search", " ".join(words))))
    assert found("nước") == [water]                 # "Nước thải": diacritics as typed
    assert found("NƯỚC", "thải") == [water]         # case-insensitive for Vietnamese letters too
    assert found("đường") == [smoke]                # ĐƯỜNG in the location
    assert found("tân", "phát") == [smoke]          # the polluter
    assert found("gạ") == [smoke]                   # a word's beginning (prefix)
    assert found(water) == [water]                  # the case number
    assert found(water.split("-")[-1]) == [water]
    assert found("nuoc") == []                      # diacritics are not dropped
    # the reporter's identity is not searchable
    assert found("Hằng") == [] and found("0916588826") == [] and found("Lê", "Lợi") == []
    # no FTS syntax gets through: words are quoted, signs alone are no filter
    assert found('"', "*", "(") == sorted([water, smoke])
    assert found("NEAR(nước", 'thải"') == [] and found("nước", "OR", "khói") == []
    assert ward.cli("list", "--count", "--search", "nước").stdout.strip() == "1"
    assert ward.cli("list", "--search", "x" * 201, check=False).returncode == 2


def test_an_archive_from_before_the_list_columns_is_upgraded(node_factory):
    node = node_factory(services=("archive", "intake")).start()
    case = node.submit(description="Nước thải cũ")
    node.wait_archived(case)
    node.kill("archive")
    # take the store back to the schema before the due order and the search
    # index: version 1, the steps that add them not applied yet
    path = f"{node.data}/archive.db"
    conn = sqlite3.connect(path)
    conn.executescript("DROP INDEX cases_due; DROP TABLE cases_fts;"
                       " ALTER TABLE cases DROP COLUMN next_due_ms;"
                       " ALTER TABLE cases DROP COLUMN next_deadline; PRAGMA user_version = 1;")
    conn.close()
    node.start("archive")
    rows = node.list("--search", "nước", "--order", "due")
    assert _ids(rows) == [case] and rows[0]["next_deadline"] == "inform_leaders"
