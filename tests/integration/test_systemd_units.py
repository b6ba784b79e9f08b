"""The systemd units are hardened: `systemd-analyze security --offline=true`
(systemd 250 and later; bookworm has 252) scores each unit at most 3.0, and
the directives the score rests on are there."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

UNITS = sorted(glob.glob(os.path.join(ROOT, "deploy", "systemd", "hotline-*@.service")))
LIMIT = 3.0


def test_units_found():
    assert len(UNITS) == 6, UNITS


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=os.path.basename)
def test_security_score(unit):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, f"no score for {unit}: {result.returncode} {result.stdout[-500:]} {result.stderr[-500:]}"
    score = float(match.group(1))
    assert score <= LIMIT, f"{os.path.basename(unit)} scores {score} > {LIMIT}:\n" + "\n".join(
        line for line in result.stdout.splitlines() if line.startswith("✗"))


@pytest.mark.parametrize("unit", UNITS, ids=os.path.basename)
def test_hardening_directives(unit):
    text = open(unit).read()
    for directive in ("SystemCallFilter=@system-service", "CapabilityBoundingSet=\n", "UMask=0077",
                      "ProtectClock=yes", "RestrictNamespaces=yes", "ProtectProc=invisible",
                      "PrivateDevices=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
                      "ProtectKernelLogs=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                      "MemoryDenyWriteExecute=yes", "LockPersonality=yes", "NoNewPrivileges=yes"):
        assert directive in text, f"{os.path.basename(unit)}: no {directive.strip()}"
