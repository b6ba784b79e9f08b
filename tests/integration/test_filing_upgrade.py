"""A rolling upgrade loses no report filed at the city (federation.h,
"Filing", Upgrades): a ward on the previous release would skip the city's
"file" event, so the city files only at a ward whose archive has shown it
takes filings (it pulls its evidence stream from the city), and refuses
the others, storing nothing. Real city and ward, over CurveZMQ."""
import uuid

from conftest import wait_for
from federation_util import make_filing_city, filing_case, takes_filings, wait_takes_filings
from test_open311 import apikey, city_post, report
from test_web_api import Web
from test_web_public import JPEG, REPORT, evidence_files, multipart, post


def test_city_files_only_at_a_ward_that_has_shown_it_takes_filings(node_factory, tmp_path):
    """A ward whose archive does not run (an old release shows nothing
    either): the city's form and Open311 answer 503 with Retry-After,
    naming the ward, and the city stores nothing (no file, no filing, no
    return stream item). Once the ward's archive has started and the city
    has recorded it, the same report is filed there. The form's config
    marks the ward not ready up front, then ready (from a cache of a few
    seconds: waited for, not assumed)."""
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",), ward_services=("intake",))
    ward = wards["31001"]
    fields = [f for f in REPORT if f[0] not in ("latitude", "longitude")]
    fields += [("ward", "31001"), ("request_id", uuid.uuid4().hex)]
    body, ctype = multipart(fields, [("evidence", "anh.jpg", JPEG)])
    key = apikey(city, "city-app")

    def stored():
        return (city.query("archive", "SELECT count(*) FROM filings")[0][0]
                + city.query("archive", "SELECT count(*) FROM return_outbox")[0][0]
                + len(evidence_files(city)))

    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 503 and resp.json["field"] == "ward", resp.body
    assert "31001" in resp.json["error"] and "nothing was stored" in resp.json["error"]
    assert resp.getheader("Retry-After") == "600"
    o311 = city_post(city, report(key, jurisdiction_id="31001"))
    assert o311.status == 503 and o311.doc[0]["code"] == 503, o311.body
    assert "31001" in o311.doc[0]["description"] and o311.getheader("Retry-After") == "600"
    assert stored() == 0 and not takes_filings(city, "31001")
    web = Web(city)

    def ready():
        cfg = web.get("/api/v1/public/config").json
        return {w["code"]: w["ready"] for w in cfg["wards"]}["31001"]
    assert ready() is False

    ward.start("archive")
    wait_takes_filings(city, "31001")
    wait_for(ready, what="the config marks ward 31001 ready")
    assert "ward 31001 takes filings" in city.log("archive")
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201 and resp.json["ward"] == "31001", resp.body
    filing = city.query("archive", "SELECT filing_id FROM filings")[0][0]
    case = filing_case(city, filing)
    assert case.startswith("31001-") and len(ward.show(case)["report"]["evidence"]) == 1
