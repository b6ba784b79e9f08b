"""Building a city and its wards for tests: keys, configs, links."""
import os
import subprocess

from conftest import BUILD, ROOT, wait_for

CITY_RULES = os.path.join(ROOT, "deploy", "config", "routing-city.conf")


def make_keys(tmp, wards):
    keys = os.path.join(str(tmp), "keys")
    subprocess.run([os.path.join(BUILD, "hotline"), "keys", "init", "--dir", keys,
                    "--wards", " ".join(wards)], check=True, capture_output=True)
    return keys


def city_extra(keys=None, plaintext=False):
    if plaintext:
        fed = "federation\n    plaintext = 1\n"
    else:
        fed = (f"federation\n    cert = {keys}/city.cert\n    allow = {keys}/allow\n")
    return fed + f"routing\n    rules = {CITY_RULES}\n"


def ward_extra(city, keys=None, code=None, plaintext=False, port=None, return_port=None,
               cert=None, smtp_port=None):
    port = port or city.port("federation")
    return_port = return_port or city.port("federation_return")
    text = ("endpoints\n"
            f"    city = tcp://127.0.0.1:{port}\n"
            f"    city_return = tcp://127.0.0.1:{return_port}\n")
    if plaintext:
        text += "federation\n    plaintext = 1\n"
    else:
        text += (f"federation\n    cert = {cert or f'{keys}/ward-{code}.cert'}\n"
                 f"    city_cert = {keys}/city.cert\n")
    if smtp_port:
        text += f"notify\n    smtp_url = smtp://127.0.0.1:{smtp_port}\n    retry_ms = 200\n"
    return text


def make_city(node_factory, keys=None, plaintext=False, services=None, extra="", env=None):
    kwargs = {}
    if services:
        kwargs["services"] = services
    if env:
        kwargs["env"] = env
    return node_factory(name="city", role="city", ward_code="0",
                        ward_name="Sở Nông nghiệp và Môi trường",
                        node_extra="    city_code = 31\n",
                        extra=city_extra(keys, plaintext) + extra, **kwargs)


def ward_events(ward):
    """The ward's own events as (seq, case, action), as the city should hold them."""
    return set(ward.query("archive",
                          "SELECT origin_seq, case_id, action FROM log WHERE origin = ?",
                          ward.name))


def city_events(city, code):
    return set(city.query("archive",
                          "SELECT origin_seq, case_id, action FROM log WHERE origin = ?",
                          f"ward:{code}"))


def converged(city, ward, code):
    return ward_events(ward) == city_events(city, code)


def ward_settled(ward):
    """The ward's archive holds everything its intake acknowledged."""
    written = ward.query("intake", "SELECT count(*) FROM log")[0][0]
    return ward.query("archive", "SELECT count(*) FROM log WHERE origin = ?", ward.name)[0][0] == written


def wait_converged(city, wards, timeout=60):
    for code, ward in wards.items():
        wait_for(lambda: ward_settled(ward), timeout=timeout, what=f"ward {code} archive caught up")
        wait_for(lambda: converged(city, ward, code), timeout=timeout,
                 what=f"city converged with ward {code}")


def make_filing_city(node_factory, tmp_path, codes=("31001", "31002"), areas=None,
                     city_services=("archive", "intake", "web"), ward_services=("archive", "intake"),
                     ward_procedure=None, city_env=None):
    """A city whose web files at its wards (the public form, Open311) and
    the wards, linked over CurveZMQ: (city, {code: ward}). areas: the text
    of a web/ward_areas file (None: the demo wards built in);
    ward_procedure: the wards' procedure.conf (None: the deployed one);
    city_env: the city's services' extra environment."""
    keys = make_keys(tmp_path, codes)
    extra = ""
    if areas is not None:
        path = os.path.join(str(tmp_path), "wards.areas")
        with open(path, "w", encoding="utf-8") as f:
            f.write(areas)
        extra = f"web\n    ward_areas = {path}\n"
    city = make_city(node_factory, keys, services=city_services, extra=extra, env=city_env).start()
    more = {"procedure": ward_procedure} if ward_procedure else {}
    wards = {code: node_factory(name=f"ward-{code}", ward_code=code, ward_name=f"Phường {code}",
                                services=ward_services, extra=ward_extra(city, keys, code),
                                **more).start()
             for code in codes}
    if "archive" in ward_services:
        for code in codes:
            wait_takes_filings(city, code)
    return city, wards


def takes_filings(city, code):
    """The city has recorded that ward code takes filings (its archive
    pulled its evidence stream: federation.h, "Filing", Upgrades)."""
    return city.query("archive", "SELECT count(*) FROM filing_wards WHERE ward = ?", code) == [(1,)]


def wait_takes_filings(city, code, timeout=30):
    """Until the city files at ward code: before, its web refuses (503)."""
    wait_for(lambda: takes_filings(city, code), timeout=timeout, what=f"the city knows ward {code} takes filings")


def filing_case(city, token, timeout=30):
    """The ward's case number of a filing, once the city has it (waits)."""
    def filed():
        rows = city.query("archive", "SELECT case_id FROM filings WHERE filing_id = ?", token)
        return rows and rows[0][0]
    return wait_for(filed, timeout=timeout, what=f"filing {token} filed at its ward")


def ward_refusing_reports(tmp_path):
    """A ward's procedure.conf in which the city's filing roles (system)
    may not submit: the ward's intake refuses every report the city files."""
    from conftest import PROCEDURE
    with open(PROCEDURE, encoding="utf-8") as f:
        text = f.read()
    old = "received            officer,system,department"
    assert text.count(old) == 1
    path = os.path.join(str(tmp_path), "ward-procedure.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, "received            officer,department       "))
    return path


def filing_refused(city, token, timeout=30):
    """The ward's refusal of a filing, once the city has it (waits):
    (code, reason)."""
    def refused():
        rows = city.query("archive", "SELECT refused_code, refused_reason FROM filings"
                                     " WHERE filing_id = ? AND refused_ms > 0", token)
        return rows and rows[0]
    return wait_for(refused, timeout=timeout, what=f"filing {token} refused at its ward")
