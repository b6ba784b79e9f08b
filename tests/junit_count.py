"""tests/junit_count.py JUNIT_XML — tests/run's count of one pytest stage.

Counts each test case once, from the XML pytest wrote: failed if it has a
failure or an error (a test that passed and then failed its teardown, e.g.
on a valgrind report, counts once, as failed: pytest's own line counts it
twice, passed and error), else skipped if skipped (xfail included), else
passed. Prints "FAILED <node id>" per failure, "skipped <node id>: <why>
(<kind>)" per skip, then "N passed, N failed, N skipped".

A skip is honest only if it is expected. Two kinds are:
  - by design: the test cannot run in this pass on any machine (a load that
    takes hours under valgrind);
  - environment: the machine lacks something the test needs (root for
    mount, chromium, openssl). Fine on a developer's machine; CI runs as
    root with every package of deploy/deps.sh, so there it is a failure.
Any other skip is unexpected: a failure on CI, flagged everywhere.
CI is "CI=true" in the environment (what CI systems set; .ci/run sets it).
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

BY_DESIGN = [
    r"hours under valgrind",
]
ENVIRONMENT = [
    r"^cannot mount here",              # test_disk.py: not root
    r"^cannot make an ext4 image",      # test_disk.py: no mkfs.ext4
    r"^no /sys/fs/ext4/.*/trigger_fs_error",    # test_disk.py: kernel without the trigger
    r"^no chromium at ",                # test_web_browser.py
    r"^no chromedriver at ",
    r"^no python3-selenium",
    r"^no .*/hotline-web: build it first",
    r"^openssl is not installed",       # test_web_api.py (TLS)
]


def nodeid(case):
    """tests.integration.test_x + test_y[a] -> tests/integration/test_x.py::test_y[a]"""
    cls, name = case.get("classname", ""), case.get("name", "")
    parts = cls.split(".") if cls else []
    for i in range(len(parts), 0, -1):
        path = "/".join(parts[:i]) + ".py"
        if os.path.isfile(path):
            return "::".join([path] + parts[i:] + [name])
    return "::".join(x for x in (cls, name) if x)


def kind(reason):
    if any(re.search(p, reason) for p in BY_DESIGN):
        return "by design"
    if any(re.search(p, reason) for p in ENVIRONMENT):
        return "environment"
    return "unexpected"


def main(path, ci):
    try:
        root = ET.parse(path).getroot()
    except Exception as e:
        print(f"FAILED (no junit XML: pytest did not finish: {e})")
        print("0 passed, 1 failed, 0 skipped")
        return
    p = f = sk = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            f += 1
            print(f"FAILED {nodeid(case)}")
            continue
        skipped = case.find("skipped")
        if skipped is None:
            p += 1
            continue
        reason = skipped.get("message", "")
        how = kind(reason)
        if ci and how != "by design":
            f += 1
            print(f"FAILED {nodeid(case)} (skipped on CI, {how}: {reason})")
        else:
            sk += 1
            print(f"skipped {nodeid(case)}: {reason} ({how})")
    print(f"{p} passed, {f} failed, {sk} skipped")


if __name__ == "__main__":
    main(sys.argv[1], os.environ.get("CI", "").lower() in ("true", "1", "yes"))
