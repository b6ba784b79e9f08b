"""A forwarded case's evidence files go to the city over the federation
(services/archive/evidence_link.h): the copy that may leave the ward (a
JPEG without its Exif) arrives byte for byte, is served to the Department,
and survives a crash of the city's archive mid-transfer exactly once; a
ward-handled case's files never reach the city. The other way, a file
filed with a report at the city's form survives a crash of the ward's
archive mid-transfer exactly once, and leaves the city, but not while an
upload of it again waits to be queued. Real wards and a city over
CurveZMQ, real uploads through the ward's web."""
import hashlib
import os
import uuid

from conftest import wait_for
from federation_util import make_keys, make_city, ward_extra, wait_converged
from test_federation import _metric
from test_web_api import Web
from test_web_public import JPEG, REPORT, evidence_files, multipart, post

CODE = "31002"


def _files(node):
    """Every file under the node's data directory, as {path: bytes}."""
    found = {}
    for folder, _, names in os.walk(node.data):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[path] = f.read()
    return found


def _stored(node, sha):
    return os.path.join(node.data, "evidence", sha[:2], sha[2:])


def _pieces(node):
    tmp = os.path.join(node.data, "evidence", "tmp")
    return [n for n in os.listdir(tmp) if n.endswith(".piece")] if os.path.isdir(tmp) else []


def _report(ward, filename, data, phone):
    fields = [(k, phone if k == "phone" else v) for k, v in REPORT]
    body, ctype = multipart(fields, [("evidence", filename, data)])
    resp = post(ward, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    ward.wait_archived(resp.json["case_id"])
    return resp.json["case_id"]


def _forward(ward, case):
    ward.cli("inform_leaders", case)
    ward.cli("route", case, "--to", "department")


def _evidence_sent(city, ward):
    """The city applied every piece the ward queued."""
    queued = ward.query("archive", "SELECT coalesce(max(seq), 0) FROM evidence_outbox")[0][0]
    got = city.query("archive", "SELECT seq FROM hop_cursor WHERE stream = ?", f"evidence:{CODE}")
    return queued > 0 and got and got[0][0] == queued


def test_forwarded_case_evidence_reaches_the_city_ward_handled_never(node_factory, tmp_path):
    keys = make_keys(tmp_path, [CODE])
    city = make_city(node_factory, keys, services=("archive", "intake", "routing", "web")).start()
    ward = node_factory(name=f"ward-{CODE}", ward_code=CODE, ward_name="Phường Lê Chân",
                        services=("archive", "intake", "web"),
                        extra=ward_extra(city, keys, CODE)).start()
    # A ward-handled case's photo, unlike any other bytes
    kept = b"\x89PNG\r\n\x1a\n" + b"ward-only-" + os.urandom(64)
    kept_case = _report(ward, "giu.png", kept, "0912 000 001")
    # A forwarded case's photo (with GPS in its Exif), and a recording
    # attached after the forward
    case = _report(ward, "anh.jpg", JPEG, "0912 000 002")
    _forward(ward, case)
    recording = b"OggS" + os.urandom(5000)
    officer = Web(ward)
    officer.login("lan", ward.web_user("lan", "officer"))
    body, ctype = multipart([("note", "Ghi âm cuộc gọi")], [("evidence", "goi.ogg", recording)])
    attached = officer.request("POST", f"/api/v1/cases/{case}/evidence", raw=body,
                               headers={"Content-Type": ctype})
    assert attached.status == 200, attached.body
    body, ctype = multipart([], [("evidence", "them.png", kept + b"2")])
    attached = officer.request("POST", f"/api/v1/cases/{kept_case}/evidence", raw=body,
                               headers={"Content-Type": ctype})
    assert attached.status == 200, attached.body

    # What the ward shows beyond it: the photo without its metadata
    viewer = Web(ward)
    viewer.login("xem", ward.web_user("xem", "viewer"))
    photo = hashlib.sha256(JPEG).hexdigest()
    outside = viewer.get(f"/api/v1/cases/{case}/evidence/{photo}").body
    assert outside.startswith(b"\xff\xd8") and b"Exif" not in outside and outside != JPEG
    copy = hashlib.sha256(outside).hexdigest()

    # The Department's case at the city serves both files, byte for byte
    dept = wait_for(lambda: (city.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?", case)
                             or [[None]])[0][0], what="the Department case")
    hoa = Web(city)
    hoa.login("hoa", city.web_user("hoa", "department"))
    got = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
        hoa.get(f"/api/v1/cases/{dept}/evidence/{photo}")), what="the photo at the city")
    assert got.body == outside and hashlib.sha256(got.body).hexdigest() == copy
    assert got.getheader("Content-Type") == "image/jpeg"
    sound = hashlib.sha256(recording).hexdigest()
    got = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
        hoa.get(f"/api/v1/cases/{dept}/evidence/{sound}")), what="the recording at the city")
    assert got.body == recording
    # ... stored under their own SHA-256, the copy only: the original
    # photo's bytes never left the ward
    with open(_stored(city, copy), "rb") as f:
        assert f.read() == outside
    with open(_stored(city, sound), "rb") as f:
        assert f.read() == recording
    assert not os.path.exists(_stored(city, photo))
    # The case page's data lists them
    shown = hoa.get(f"/api/v1/cases/{dept}").json
    listed = {(f["ref"], f["sha256"]) for f in shown["evidence_files"]}
    assert listed == {(f"sha256:{photo}", f"sha256:{copy}"), (f"sha256:{sound}", f"sha256:{sound}")}
    # Only the Department: a viewer at the city is not served
    city_viewer = Web(city)
    city_viewer.login("xem", city.web_user("xem", "viewer"))
    assert city_viewer.get(f"/api/v1/cases/{dept}/evidence/{photo}").status in (403, 404)

    # The ward-handled case: once the city holds all of the ward's log and
    # evidence streams, neither of its files is on the city's disk
    wait_converged(city, {CODE: ward})
    wait_for(lambda: _evidence_sent(city, ward), what="the evidence stream caught up")
    on_disk = _files(city)
    for data in (kept, kept + b"2"):
        sha = hashlib.sha256(data).hexdigest()
        assert not os.path.exists(_stored(city, sha))
        assert not any(data in content for content in on_disk.values())
    assert hoa.get(f"/api/v1/cases/{kept_case}/evidence/{hashlib.sha256(kept).hexdigest()}").status == 404
    assert not _pieces(city)


def test_a_large_file_survives_a_city_crash_mid_transfer(node_factory, tmp_path):
    keys = make_keys(tmp_path, [CODE])
    city = make_city(node_factory, keys, services=("archive", "intake")).start()
    # 1 MiB a second, so a 3 MB file is still on its way when the city's
    # archive is killed
    ward = node_factory(name=f"ward-{CODE}", ward_code=CODE, ward_name="Phường Lê Chân",
                        services=("archive", "intake", "web"), extra=ward_extra(city, keys, CODE),
                        env={"HOTLINE_FEDERATION_EVIDENCE_BYTES_PER_S": str(1024 * 1024)}).start()
    video = b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isommp41" + os.urandom(3 * 1000 * 1000)
    sha = hashlib.sha256(video).hexdigest()
    case = _report(ward, "video.mp4", video, "0912 000 003")
    _forward(ward, case)
    # Mid-transfer: pieces written at the city, the file not yet whole
    wait_for(lambda: _pieces(city), what="the first pieces at the city")
    assert not os.path.exists(_stored(city, sha))
    assert city.kill("archive") == -9
    cursor = city.query("archive", "SELECT seq FROM hop_cursor WHERE stream = ?", f"evidence:{CODE}")
    pieces = ward.query("archive", "SELECT count(*) FROM evidence_outbox")[0][0]
    assert pieces == 12 and (not cursor or cursor[0][0] < pieces)
    city.start("archive")
    wait_for(lambda: os.path.exists(_stored(city, sha)), timeout=60, what="the video at the city")
    with open(_stored(city, sha), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha
    # Exactly once: one file, one record, completed by the restarted
    # archive, nothing left in its temporary folder
    assert city.query("archive", "SELECT case_id, ref, bytes FROM evidence_files") == \
        [(case, f"sha256:{sha}", len(video))]
    wait_for(lambda: _evidence_sent(city, ward), what="the evidence stream caught up")
    assert _metric(city, "hotline_federation_evidence_files_total") == 1
    assert not _pieces(city)
    wait_for(lambda: _metric(ward, "hotline_federation_evidence_backlog") == 0,
             what="the ward's evidence backlog drained")


def test_a_city_filing_file_survives_a_ward_crash_mid_transfer(node_factory, tmp_path):
    from federation_util import make_filing_city, filing_case
    # 512 KiB a second from the city (federation/evidence_bytes_per_s): two
    # pieces at once, then two a second, so a 3 MB photo (12 pieces) is
    # seconds from whole when the test sees the first and kills the ward
    city, wards = make_filing_city(node_factory, tmp_path, codes=(CODE,),
                                   city_env={"HOTLINE_FEDERATION_EVIDENCE_BYTES_PER_S": str(512 * 1024)})
    ward = wards[CODE]
    photo = JPEG + os.urandom(3 * 1000 * 1000)
    sha = hashlib.sha256(photo).hexdigest()
    fields = [f for f in REPORT if f[0] not in ("latitude", "longitude")] + [("ward", CODE)]
    body, ctype = multipart(fields, [("evidence", "anh.jpg", photo)])
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    pieces = 12

    def applied():
        rows = ward.query("archive", "SELECT seq FROM hop_cursor WHERE stream = 'city/evidence'")
        return rows[0][0] if rows else 0

    # Mid-transfer: some pieces applied at the ward (each with its cursor),
    # not all; killed there
    wait_for(lambda: applied() > 0, timeout=30, what="the first pieces at the ward")
    assert ward.kill("archive") == -9
    assert 0 < applied() < pieces and _pieces(ward)
    assert not os.path.exists(_stored(ward, sha))
    assert city.query("archive", "SELECT count(*) FROM evidence_return") == [(pieces,)]
    ward.start("archive")
    filing = city.query("archive", "SELECT filing_id FROM filings")[0][0]
    case = filing_case(city, filing, timeout=60)
    # Exactly once: one case naming the file once, the file byte for byte,
    # completed by the restarted archive, nothing left in its temporary folder
    assert ward.show(case)["report"]["evidence"] == [f"sha256:{sha}"]
    assert ward.query("intake", "SELECT count(*) FROM cases") == [(1,)]
    with open(_stored(ward, sha), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha
    assert applied() == pieces and not _pieces(ward)
    assert _metric(ward, "hotline_federation_filing_evidence_files_total") == 1
    assert _metric(ward, "hotline_federation_filing_evidence_bytes_total") == len(photo)
    # Delivered: the city's copy is gone
    wait_for(lambda: city.query("archive", "SELECT count(*) FROM evidence_return WHERE released = 0")
             == [(0,)], what="the city released the file")
    assert evidence_files(city) == []
    assert _metric(city, "hotline_federation_filing_evidence_sent_total") == 1

    # The same photo uploaded again once the ward has it, before the city's
    # deletion judged it: the city keeps its copy for the filing its
    # archive has not queued yet. The ward's archive down, the city queues
    # photo P (filing A) then Q (B); P is committed again at the city as
    # the web commits an upload (a new file renamed over the content
    # address) and its filing not queued yet, the state an upload again
    # leaves until the archive queues it; the ward gets P and Q, the city
    # deletes Q: the pass that did judged P too, and kept it. Filing C of P
    # then goes with P, and P leaves the city
    def file_at_city(data, name):
        body, ctype = multipart(fields + [("request_id", uuid.uuid4().hex)], [("evidence", name, data)])
        resp = post(city, "/api/v1/public/reports", body, ctype)
        assert resp.status == 201, resp.body
    ward.kill("archive")
    again, other = JPEG + os.urandom(1000), b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
    again_sha = hashlib.sha256(again).hexdigest()
    file_at_city(again, "p.jpg")
    file_at_city(other, "q.png")
    wait_for(lambda: city.query("archive", "SELECT count(DISTINCT sha256) FROM evidence_return") == [(3,)],
             what="P and Q queued for the ward")
    upload = os.path.join(city.data, "evidence", "tmp", "again.part")
    with open(upload, "wb") as f:
        f.write(again)
    os.rename(upload, _stored(city, again_sha))
    before = {row[0] for row in city.query("archive", "SELECT filing_id FROM filings")}
    ward.start("archive")
    wait_for(lambda: _metric(city, "hotline_federation_filing_evidence_sent_total") >= 2,
             timeout=60, what="Q delivered and deleted at the city")
    assert os.path.exists(_stored(city, again_sha))
    file_at_city(again, "p-again.jpg")
    later = wait_for(lambda: {row[0] for row in city.query("archive", "SELECT filing_id FROM filings")}
                     - before, what="filing C at the city's archive")
    case = filing_case(city, later.pop(), timeout=60)
    assert ward.show(case)["report"]["evidence"] == [f"sha256:{again_sha}"]
    assert ward.query("intake", "SELECT count(*) FROM cases") == [(4,)]
    assert "not in the city's store" not in city.log("archive")
    wait_for(lambda: city.query("archive", "SELECT count(*) FROM evidence_return WHERE released = 0")
             == [(0,)], what="the city released P")
    assert evidence_files(city) == []
