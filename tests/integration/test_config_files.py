"""Every configuration file the project ships parses with the parser the
services use (czmq's zconfig, through the CLI's -c), so a comment indented
one step too far cannot stop a node at start-up: ZPL refuses a line that
goes more than one level deeper than the line before it, comment lines
included ("indent 4 spaces at once").

The CLI reads the node's file first and says "cannot parse configuration
file" before it does anything else; `nodes` then fails for want of
var/nodes.cfg, which is not what is tested here.
"""
import glob
import os
import subprocess

import pytest

from conftest import BUILD, ROOT

FILES = sorted(glob.glob(os.path.join(ROOT, "deploy", "config", "*.cfg"))
               + glob.glob(os.path.join(ROOT, "deploy", "k8s", "**", "*.cfg"), recursive=True))


def parse_error(path, cwd):
    done = subprocess.run([os.path.join(BUILD, "hotline"), "-c", path, "nodes"], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    return [line for line in done.stderr.splitlines() if "cannot parse configuration" in line]


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_shipped_config_parses(path, tmp_path):
    assert parse_error(path, str(tmp_path)) == []


def test_a_comment_indented_too_deep_is_refused(tmp_path):
    """The check above can fail: the shape that once stopped make run."""
    bad = tmp_path / "bad.cfg"
    bad.write_text("federation\n"
                   "    #   rate = 0                 #   a comment that goes on:\n"
                   "                                 #   one level too deep\n")
    assert parse_error(str(bad), str(tmp_path)) != []
