"""Open311 GeoReport v2 under /open311/v2/ (services/web/API.md, "Open311"),
written from the specification (http://wiki.open311.org/GeoReport_v2): every
method in .json and .xml, the XML read by a real parser (xml.etree), every
error as the spec's [{code, description}], and a case's whole life mapped to
open/closed. Real processes: archive + intake + hotline-web; the CLI acts
as the officers."""
import http.client
import json
import os
import re
import subprocess
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import BUILD, SLOW, wait_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
CODES = ["waste_water", "air_emissions", "solid_waste", "noise", "odour", "soil", "other"]


@pytest.fixture(scope="class")
def o311(class_node_factory):
    """One ward (archive, intake, web) for the class TestAtAWard: its tests
    use their own API keys and cases and compare before and after."""
    return class_node_factory(services=("archive", "intake", "web"),
                              extra="open311\n    rate_per_min = 40\n").start()


def intake_cases(node):
    return node.query("intake", "SELECT count(*) FROM cases")[0][0]


def listed(node, query=""):
    """The ids GET requests.json answers, once every case intake took is in
    the archive (none of an earlier test still on its way)."""
    wait_for(lambda: intake_cases(node) == node.query("archive", "SELECT count(*) FROM cases")[0][0],
             what="the archive has every case")
    resp = call(node, "GET", "requests.json" + ("?" + query if query else ""))
    assert resp.status == 200, resp.body
    return {r["service_request_id"] for r in resp.doc}


def apikey(node, name):
    result = subprocess.run([os.path.join(BUILD, "hotline"), "-c", node.config, "apikey", "add", name],
                            env=node.env, capture_output=True, text=True, timeout=60 * SLOW)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    return key


def call(node, method, path, form=None, content_type="application/x-www-form-urlencoded"):
    conn = http.client.HTTPConnection("127.0.0.1", node.base + 10, timeout=30 * SLOW)
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Content-Type": content_type} if body is not None else {}
    conn.request(method, "/open311/v2/" + path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.body = resp.read()
    conn.close()
    if path.split("?")[0].endswith(".xml"):
        assert resp.getheader("Content-Type").startswith("text/xml"), resp.getheader("Content-Type")
        assert resp.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        resp.doc = ET.fromstring(resp.body)
    else:
        assert resp.getheader("Content-Type").startswith("application/json")
        resp.doc = json.loads(resp.body)
    return resp


def both(node, method, path, form=None, **kw):
    """The same call in JSON and in XML: (json answer, xml answer)."""
    return call(node, method, path + ".json", form, **kw), call(node, method, path + ".xml", form, **kw)


def xml_items(doc, item):
    return [{child.tag: child.text for child in element} for element in doc.findall(item)]


def assert_error(node, method, path, code, form=None, **kw):
    j, x = both(node, method, path, form, **kw)
    assert j.status == code and x.status == code, (j.status, j.body, x.status)
    assert isinstance(j.doc, list) and j.doc[0]["code"] == code and j.doc[0]["description"]
    assert x.doc.tag == "errors"
    errors = xml_items(x.doc, "error")
    assert errors[0]["code"] == str(code) and errors[0]["description"]
    return j.doc[0]["description"]


def report(key, **extra):
    form = {"api_key": key, "service_code": "waste_water", "lat": "20.86", "long": "106.68",
            "description": "Nước thải màu đen chảy ra kênh", "phone": "0916 588 826",
            "first_name": "Hằng", "last_name": "Nguyễn Thị", "email": "hang@example.vn"}
    form.update(extra)
    return {k: v for k, v in form.items() if v is not None}


def post(node, form, fmt="json"):
    resp = call(node, "POST", "requests." + fmt, form)
    assert resp.status == 200, resp.body
    if fmt == "json":
        return resp.doc[0]["service_request_id"]
    assert resp.doc.tag == "service_requests"
    return xml_items(resp.doc, "request")[0]["service_request_id"]


def get_request(node, case_id, fmt="json"):
    def found():
        resp = call(node, "GET", f"requests/{case_id}.{fmt}")
        return resp if resp.status == 200 else None
    resp = wait_for(found, what=f"{case_id} in the archive")
    if fmt == "json":
        assert len(resp.doc) == 1
        return resp.doc[0]
    assert resp.doc.tag == "service_requests"
    return xml_items(resp.doc, "request")[0]


class TestAtAWard:
    """Tests that need a ward but not a fresh one: they share it."""

    def test_discovery_services_and_definitions(self, o311):
        j, x = both(o311, "GET", "services")
        assert j.status == 200 and x.status == 200
        assert [s["service_code"] for s in j.doc] == CODES
        for s in j.doc:
            assert s["metadata"] is True and s["type"] == "realtime"
            assert s["service_name"] and s["description"] and s["keywords"] and s["group"]
        assert x.doc.tag == "services"
        rows = xml_items(x.doc, "service")
        assert [r["service_code"] for r in rows] == CODES
        assert rows[0]["metadata"] == "true" and rows[0]["service_name"] == j.doc[0]["service_name"]

        j, x = both(o311, "GET", "services/noise")
        assert j.status == 200 and j.doc["service_code"] == "noise"
        attrs = {a["code"]: a for a in j.doc["attributes"]}
        assert set(attrs) == {"urgent", "scope", "polluter", "occurred"}
        assert attrs["scope"]["datatype"] == "singlevaluelist"
        assert [v["key"] for v in attrs["scope"]["values"]] == ["within_ward", "several_wards", "beyond_city"]
        assert attrs["polluter"]["datatype"] == "string" and attrs["occurred"]["datatype"] == "datetime"
        assert [a["order"] for a in j.doc["attributes"]] == [1, 2, 3, 4]
        assert x.doc.tag == "service_definition" and x.doc.findtext("service_code") == "noise"
        xattrs = x.doc.findall("attributes/attribute")
        assert [a.findtext("code") for a in xattrs] == ["urgent", "scope", "polluter", "occurred"]
        assert [v.findtext("key") for v in xattrs[1].findall("values/value")] == [
            "within_ward", "several_wards", "beyond_city"]
        assert_error(o311, "GET", "services/asbestos", 404)

        j, x = both(o311, "GET", "discovery")
        assert j.doc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert j.doc["endpoints"][0]["url"].endswith("/open311/v2")
        assert x.doc.tag == "discovery"
        assert [f.text for f in x.doc.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


    def test_post_and_get_in_both_formats(self, o311):
        key = apikey(o311, "fixmystreet")
        # what the shared ward lists already (other tests' cases): the lists
        # below must be exactly these plus ours
        before, noise_before, closed_before = (listed(o311, q) for q in ("", "service_code=noise",
                                                                          "status=closed"))
        # Vietnamese decomposed (NFD): combining marks must come back byte for byte
        nfd = unicodedata.normalize("NFD", "Nước thải đen ngòm, mùi hôi thối <b>&</b> ")
        assert nfd != unicodedata.normalize("NFC", nfd)
        long_text = (nfd * 200)[:4000]
        assert len(long_text) == 4000
        first = post(o311, report(key, description=long_text, media_url="https://anh.example.vn/1.jpg",
                                  **{"attribute[urgent]": "true", "attribute[polluter]": "Cơ sở X",
                                     "attribute[occurred]": "2026-01-05T08:30:00+07:00"}))
        second = post(o311, report(key, service_code="noise", lat=None, long=None,
                                   address_string=unicodedata.normalize("NFD", "Tổ 5, phường An Biên"),
                                   phone=None, email=None, first_name=None, last_name=None), fmt="xml")
        assert re.fullmatch(r"31001-\d{4}-\d{6}", first) and first != second

        for fmt in ("json", "xml"):
            r = get_request(o311, first, fmt)
            assert r["service_request_id"] == first and r["status"] == "open"
            assert r["service_code"] == "waste_water" and r["description"] == long_text
            assert r["agency_responsible"] == "Phường An Biên"
            assert r["media_url"] == "https://anh.example.vn/1.jpg"
            assert float(r["lat"]) == pytest.approx(20.86) and float(r["long"]) == pytest.approx(106.68)
            assert ISO.match(r["requested_datetime"]) and ISO.match(r["updated_datetime"])
            assert r["address"] == "20.860000, 106.680000"
        # JSON prints a coordinate with at most 7 decimals, trailing zeros
        # trimmed: 20.86, not the double's 20.859999999999999
        raw = call(o311, "GET", f"requests/{first}.json").body.decode()
        assert re.search(r'"lat":20\.86[,}]', raw) and re.search(r'"long":106\.68[,}]', raw), raw[-300:]
        r = get_request(o311, second, "xml")
        assert r["address"] == unicodedata.normalize("NFD", "Tổ 5, phường An Biên") and r["lat"] is None

        # Tokens map to the id
        j, x = both(o311, "GET", f"tokens/{first}")
        assert j.doc == [{"service_request_id": first, "token": first}]
        assert xml_items(x.doc, "request") == [{"service_request_id": first, "token": first}]

        # The list: by ids, by service_code, by dates, paging
        assert first not in before and second not in before
        j, x = both(o311, "GET", f"requests", None)
        assert {r["service_request_id"] for r in j.doc} == before | {first, second}
        assert {r["service_request_id"] for r in xml_items(x.doc, "request")} == before | {first, second}
        j = call(o311, "GET", f"requests.json?service_request_id={second},{first}")
        assert [r["service_request_id"] for r in j.doc] == [second, first]
        j = call(o311, "GET", "requests.json?service_code=noise")
        assert {r["service_request_id"] for r in j.doc} == noise_before | {second}
        assert {r["service_code"] for r in j.doc} == {"noise"}
        j = call(o311, "GET", "requests.json?start_date=2001-01-01T00:00:00Z&end_date=2001-02-01T00:00:00Z")
        assert j.doc == []
        j = call(o311, "GET", "requests.json?page_size=1&page=2")
        assert len(j.doc) == 1
        j = call(o311, "GET", "requests.json?status=closed")
        assert {r["service_request_id"] for r in j.doc} == closed_before
        j = call(o311, "GET", "requests.json?status=open&page_size=1")
        assert len(j.doc) == 1

        # No reporter identity in any GET
        for path in ("requests.json", "requests.xml", f"requests/{first}.json", f"requests/{first}.xml"):
            body = call(o311, "GET", path).body.decode()
            for secret in ("0916", "588", "hang@example", "Hằng", "Nguyễn Thị", "phone", "email"):
                assert secret not in body, (path, secret)
        # ... and 8 decimals typed come back as 7
        third = post(o311, report(key, lat="20.86123456", long="106.68000001"))
        get_request(o311, third)
        raw = call(o311, "GET", f"requests/{third}.json").body.decode()
        assert re.search(r'"lat":20\.8612346[,}]', raw) and re.search(r'"long":106\.68[,}]', raw), raw[-300:]


    def test_every_error(self, o311):
        key = apikey(o311, "errors")
        cases_before, listed_before = intake_cases(o311), listed(o311)
        assert_error(o311, "POST", "requests", 403, report(None))
        assert_error(o311, "POST", "requests", 403, report("0" * 64))
        revoked = apikey(o311, "revoked")
        subprocess.run([os.path.join(BUILD, "hotline"), "-c", o311.config, "apikey", "revoke", "revoked"],
                       env=o311.env, check=True, capture_output=True)
        assert_error(o311, "POST", "requests", 403, report(revoked))
        for bad in ({"service_code": None}, {"service_code": "asbestos"}, {"lat": None},
                    {"lat": None, "long": None}, {"lat": "91"}, {"long": "abc"},
                    {"description": None}, {"description": "x" * 4001},
                    {"attribute[urgent]": "maybe"}, {"attribute[scope]": "planet"},
                    {"attribute[occurred]": "2026-02-30"}, {"attribute[colour]": "red"},
                    {"media_url": "file:///etc/passwd"}, {"phone": "12ab"},
                    {"phone": None, "email": None}, {"jurisdiction_id": "99999"}):
            description = assert_error(o311, "POST", "requests", 400 if "jurisdiction_id" not in bad else 404,
                                       report(key, **bad))
            assert description
        assert_error(o311, "POST", "requests", 400, report(key), content_type="application/json")
        assert_error(o311, "GET", "requests/31001-2026-999999", 404)
        assert_error(o311, "GET", "requests/not-a-case", 404)
        assert_error(o311, "GET", "tokens/nope", 404)
        for query in ("start_date=yesterday", "end_date=2026-13-01", "status=pending", "page_size=1001",
                      "page=0", "service_code=asbestos", "service_request_id=x,y",
                      "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"):
            j = call(o311, "GET", "requests.json?" + query)
            assert j.status == 400 and j.doc[0]["code"] == 400, (query, j.body)
            x = call(o311, "GET", "requests.xml?" + query)
            assert x.status == 400 and x.doc.find("error/code").text == "400"
        assert_error(o311, "DELETE", "requests", 405)
        assert_error(o311, "GET", "nothing", 404)
        resp = call(o311, "GET", "services.html")
        assert resp.status == 404 and resp.doc[0]["code"] == 404
        # Nothing was stored by any of them
        assert intake_cases(o311) == cases_before and listed(o311) == listed_before

        # The per-key limit (40 a minute here), counted before the fields are
        # read: a 429 within 81 tries (a new minute can only reset the count
        # once), and another key unaffected
        flood = apikey(o311, "flood")
        statuses = [call(o311, "POST", "requests.json", report(flood, service_code=None)).status
                    for _ in range(81)]
        assert 429 in statuses and statuses.index(429) >= 40 and set(statuses) == {400, 429}
        other = apikey(o311, "other")
        assert call(o311, "POST", "requests.json", report(other)).status == 200


    def test_status_along_a_case_life(self, o311):
        key = apikey(o311, "lifecycle")
        case = post(o311, report(key))
        r = get_request(o311, case)
        assert r["status"] == "open" and r["status_notes"] is None and ISO.match(r["expected_datetime"])

        def status_after(*args, closed=False, **kw):
            o311.cli(*args, **kw)
            want = "closed" if closed else "open"
            wait_for(lambda: get_request(o311, case)["status"] == want
                     and get_request(o311, case, "xml")["status"] == want, what=f"{args[0]} -> {want}")

        status_after("inform_leaders", case)
        status_after("route", case, "--to", "ward")
        status_after("assign", case, "--to", "division:lan")
        status_after("verify", case, "--result", "accurate", "--note", "Đúng phản ánh")
        status_after("contain", case, "--note", "Đã yêu cầu dừng xả")
        status_after("resolve", case, "--note", "Cơ sở đã khắc phục", closed=True)
        status_after("inform", case, "--channel", "phone", "--note", "Đã xử lý xong: cơ sở đã khắc phục",
                     closed=True)
        # The case was already closed after resolve: wait for the inform itself
        # to reach the archive (intake acks before the archive applies it)
        wait_for(lambda: get_request(o311, case)["status_notes"] is not None, what="inform archived")
        for fmt in ("json", "xml"):
            r = get_request(o311, case, fmt)
            assert r["status_notes"] == "Đã xử lý xong: cơ sở đã khắc phục"
            assert r["service_notice"]
        status_after("close", case, closed=True)
        closed = call(o311, "GET", f"requests.json?status=closed").doc
        assert case in {r["service_request_id"] for r in closed} and {r["status"] for r in closed} == {"closed"}
        opened = call(o311, "GET", f"requests.json?status=open").doc
        assert case not in {r["service_request_id"] for r in opened}
        assert {r["status"] for r in opened} <= {"open"}
        status_after("reopen", case, "--note", "Người dân báo chưa khắc phục")


    def test_idempotency_key_at_a_ward(self, o311):
        key = apikey(o311, "retrying-app")
        cases_before = intake_cases(o311)
        form = report(key, idempotency_key="k-1")
        first = post(o311, form)
        assert post(o311, form) == first
        # The header is the same key
        resp = city_post(o311, report(key), key="k-1")
        assert resp.status == 200 and resp.doc[0]["service_request_id"] == first
        assert post(o311, report(key, idempotency_key="k-2")) != first
        assert_error(o311, "POST", "requests", 400, report(key, idempotency_key=""))
        assert_error(o311, "POST", "requests", 400, report(key, idempotency_key="x" * 129))
        assert intake_cases(o311) == cases_before + 2


# ----------------------------------------------------------------- at the city

#   A triangle far from the demo wards: a report there can only be placed by
#   the file web/ward_areas names
AREAS = ("# test wards\n"
         "31001 | Phường An Biên | 20.8700 106.6700, 20.8700 106.6900, 20.8520 106.6900, 20.8520 106.6700\n"
         "31002 | Phường Thử Nghiệm | 10.0 100.0, 10.0 101.0, 11.0 100.5\n")


def city_post(city, form, fmt="json", key=None):
    conn = http.client.HTTPConnection("127.0.0.1", city.base + 10, timeout=30 * SLOW)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key:
        headers["Idempotency-Key"] = key
    conn.request("POST", "/open311/v2/requests." + fmt, body=urllib.parse.urlencode(form).encode(),
                 headers=headers)
    resp = conn.getresponse()
    resp.body = resp.read()
    conn.close()
    resp.doc = json.loads(resp.body) if fmt == "json" else ET.fromstring(resp.body)
    return resp


def test_city_files_at_the_ward_and_the_token_gives_its_case(node_factory, tmp_path):
    from federation_util import make_filing_city, filing_case
    city, wards = make_filing_city(node_factory, tmp_path, areas=AREAS)
    key = apikey(city, "city-app")
    filings = lambda: city.query("archive", "SELECT count(*) FROM filings")[0][0]

    # Refused, each in the spec's shape, and nothing filed: an unknown ward,
    # no ward and no place, a place in no ward's area, a bad report
    assert_error(city, "POST", "requests", 404, report(key, jurisdiction_id="99999"))
    assert_error(city, "POST", "requests", 404, report(key, jurisdiction_id="abc"))
    assert_error(city, "POST", "requests", 400, report(key, lat=None, long=None, address_string="Tổ 5"))
    assert_error(city, "POST", "requests", 400, report(key, lat="21.03", long="105.85"))
    assert_error(city, "POST", "requests", 400, report(key, jurisdiction_id="31002", description=None))
    assert filings() == 0

    # By jurisdiction_id, with an Idempotency-Key: the answer is a token; the
    # client's retry gets the same token and files nothing more
    resp = city_post(city, report(key, jurisdiction_id="31002"), key="retry-1")
    assert resp.status == 200, resp.body
    token = resp.doc[0]["token"]
    assert re.fullmatch(r"file-[0-9a-f]{32}", token) and "service_request_id" not in resp.doc[0]
    again = city_post(city, report(key, jurisdiction_id="31002"), fmt="xml", key="retry-1")
    assert again.status == 200 and xml_items(again.doc, "request")[0]["token"] == token
    # The same key for another report is refused, not filed
    other = city_post(city, report(key, jurisdiction_id="31002", description="Khác hẳn"), key="retry-1")
    assert other.status == 422 and other.doc[0]["code"] == 422

    # The ward files it; the token gives its case, which lives at the ward
    case = filing_case(city, token)
    assert case.startswith("31002-")
    j, x = both(city, "GET", f"tokens/{token}")
    assert j.doc == [{"token": token, "service_request_id": case}]
    assert xml_items(x.doc, "request") == [{"token": token, "service_request_id": case}]
    ward = wards["31002"]
    shown = ward.show(case)
    assert shown["report"]["reporter"]["phone"] == "0916 588 826"     # the ward can answer them
    assert ward.query("intake", "SELECT count(*) FROM requests WHERE request_id = ?", token) == [(1,)]
    assert city.query("intake", "SELECT count(*) FROM cases") == [(0,)]       # no case at the city
    # The city's copy came back in the ward's redacted stream
    city.wait_archived(case)
    assert city.query("archive", "SELECT redacted FROM cases WHERE case_id = ?", case) == [(1,)]
    r = get_request(city, case)
    assert r["service_request_id"] == case and r["agency_responsible"] == "Phường Thử Nghiệm"     # its name in web/ward_areas

    # By coordinates in the area of the file's ward: filed there
    resp = city_post(city, report(key, lat="10.2", long="100.5"))
    assert resp.status == 200, resp.body
    placed = filing_case(city, resp.doc[0]["token"])
    assert placed.startswith("31002-") and placed != case
    assert wards["31001"].query("archive", "SELECT count(*) FROM cases") == [(0,)]

    # GET requests at the city for the ward: both, in one list
    city.wait_archived(placed)
    j = call(city, "GET", "requests.json?jurisdiction_id=31002")
    assert {r["service_request_id"] for r in j.doc} == {case, placed}
    j = call(city, "GET", f"requests.json?service_request_id={case},{placed}")
    assert [r["service_request_id"] for r in j.doc] == [case, placed]
    # Nothing of the reporter in the city's answers, nor in the token's
    for path in (f"requests/{case}.json", "requests.xml?jurisdiction_id=31002", f"tokens/{token}.json"):
        body = call(city, "GET", path).body.decode()
        for secret in ("0916", "hang@example", "Hằng", "Nguyễn Thị"):
            assert secret not in body, (path, secret)
    assert_error(city, "GET", "tokens/file-" + "0" * 32, 404)


def test_city_filing_survives_kill_of_the_ward_intake_and_archive(node_factory, tmp_path):
    """The city->ward filing is done exactly once: the ward's intake killed
    (-9) while the filing waits, then its archive killed (-9) and its cursor
    of the city's return stream put back before the filing (the window of a
    crash after intake filed it and before the archive's commit), so the
    filing is delivered and given to intake again."""
    import sqlite3
    from federation_util import make_filing_city, filing_case
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",))
    ward = wards["31001"]
    key = apikey(city, "crash-app")
    ward.kill("intake")
    resp = city_post(city, report(key, jurisdiction_id="31001"))
    assert resp.status == 200, resp.body
    token = resp.doc[0]["token"]
    # The ward's archive has the filing and cannot give it to intake yet
    wait_for(lambda: f"request {token}" in ward.log("archive"), what="the ward tried its intake")
    assert ward.query("archive", "SELECT count(*) FROM cases") == [(0,)]
    ward.start("intake")
    case = filing_case(city, token)
    assert case.startswith("31001-")
    assert ward.query("intake", "SELECT count(*) FROM cases") == [(1,)]

    ward.kill("archive")
    with sqlite3.connect(os.path.join(ward.data, "archive.db")) as db:
        assert db.execute("SELECT seq FROM hop_cursor WHERE stream = 'city'").fetchone()[0] >= 1
        db.execute("UPDATE hop_cursor SET seq = 0 WHERE stream = 'city'")
    ward.start("archive")
    wait_for(lambda: ward.query("archive", "SELECT seq FROM hop_cursor WHERE stream = 'city'") == [(1,)],
             what="the filing delivered again")
    # Given to intake again, answered from its memory: still one case
    assert f"the city's filing {token} was done before" in ward.log("archive")
    assert ward.query("intake", "SELECT count(*) FROM cases") == [(1,)]
    assert ward.query("intake", "SELECT count(*) FROM requests WHERE request_id = ?", token) == [(1,)]
    ward.wait_archived(case)
    assert ward.query("archive", "SELECT count(*) FROM cases") == [(1,)]
    assert city.query("archive", "SELECT case_id FROM filings WHERE filing_id = ?", token) == [(case,)]


def test_city_filing_the_ward_refuses_is_answered_with_the_refusal(node_factory, tmp_path):
    """The ward's intake refuses the city's filing (its procedure lets no
    system role submit): the refusal comes back in the ward's stream once,
    and the token answers it; a redelivery refuses nothing twice."""
    import sqlite3
    from federation_util import make_filing_city, ward_refusing_reports, filing_refused
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",), areas=AREAS,
                                   ward_procedure=ward_refusing_reports(tmp_path))
    ward = wards["31001"]
    key = apikey(city, "refused-app")
    resp = city_post(city, report(key, jurisdiction_id="31001"))
    assert resp.status == 200, resp.body
    token = resp.doc[0]["token"]
    code, reason = filing_refused(city, token)
    assert code == 403 and "may not submit" in reason
    j, x = both(city, "GET", f"tokens/{token}")
    assert j.status == 422 and j.doc[0]["code"] == 422
    assert "Phường An Biên không tiếp nhận" in j.doc[0]["description"] and "may not submit" in j.doc[0]["description"]
    assert x.status == 422
    refusals = lambda: ward.query("archive", "SELECT count(*) FROM log WHERE action = 'filing_refused'")[0][0]
    assert refusals() == 1 and ward.query("intake", "SELECT count(*) FROM cases") == [(0,)]

    # Delivered again (the archive's cursor put back): intake answers from
    # its memory, no second refusal
    ward.kill("archive")
    with sqlite3.connect(os.path.join(ward.data, "archive.db")) as db:
        db.execute("UPDATE hop_cursor SET seq = 0 WHERE stream = 'city'")
    ward.start("archive")
    wait_for(lambda: ward.query("archive", "SELECT seq FROM hop_cursor WHERE stream = 'city'") == [(1,)],
             what="the filing delivered again")
    assert "before: not again" in ward.log("archive")
    assert refusals() == 1
    assert city.query("archive", "SELECT count(*) FROM log WHERE action = 'filing_refused'") == [(1,)]
    assert city.query("archive", "SELECT case_id FROM filings WHERE filing_id = ?", token) == [("",)]


def test_city_filing_delivered_late_keeps_the_city_received_time(node_factory, tmp_path):
    """The legal clock of a filed report starts when the city took it: a
    filing the ward's intake gets two hours later (its clock moved) has
    the city's time as the case's received time and its deadlines'
    anchor; one eight days late is taken as at most seven days old."""
    from federation_util import make_filing_city, filing_case
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",))
    ward = wards["31001"]
    key = apikey(city, "late-app")
    hour = 3600 * 1000

    def late(advance_ms):
        ward.kill("intake")
        resp = city_post(city, report(key, jurisdiction_id="31001"))
        assert resp.status == 200, resp.body
        token = resp.doc[0]["token"]
        wait_for(lambda: f"request {token}" in ward.log("archive"), what="the ward tried its intake")
        ward.advance(advance_ms)
        ward.start("intake")
        case = filing_case(city, token)
        at_ms = city.query("archive", "SELECT at_ms FROM filings WHERE filing_id = ?", token)[0][0]
        received = ward.query("intake", "SELECT received_ms FROM cases WHERE case_id = ?", case)[0][0]
        filed = ward.query("intake", "SELECT min(at_ms) FROM log WHERE case_id = ?", case)[0][0]
        due = ward.query("intake", "SELECT due_ms FROM deadlines WHERE case_id = ? AND name = 'inform_leaders'",
                         case)[0][0]
        return at_ms, received, filed, due

    at_ms, received, filed, due = late(2 * hour)
    assert filed >= at_ms + 2 * hour
    assert received == at_ms and due == at_ms + 15 * 60 * 1000     # normal=15m from received
    at_ms, received, filed, due = late(8 * 24 * hour)
    assert received == filed - 7 * 24 * hour and due == received + 15 * 60 * 1000
