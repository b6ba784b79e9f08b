"""hotline-entrypoint, the container image's entrypoint (the image has no
shell): a service name (or $SERVICE) becomes `hotline-SERVICE -c CONFIG
ARGS...` in the same process; any other command runs as given; a missing or
unknown service exits 64, an unreadable config 78, nothing run.

The services here are stand-ins: small programs named hotline-intake and
hotline-web on PATH that print their pid and arguments, so that the test sees
what the entrypoint ran, and that it replaced itself (same pid: PID 1 in a
container, which docker stop's SIGTERM reaches).
"""
import os
import re
import subprocess

from conftest import BUILD, ROOT

ENTRYPOINT = os.path.join(BUILD, "hotline-entrypoint")


def stand_ins(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for service in ("intake", "web"):
        program = bin_dir / f"hotline-{service}"
        program.write_text("#!/usr/bin/python3\nimport os, sys\n"
                           "print(os.getpid(), *sys.argv, sep='|')\n")
        program.chmod(0o755)
    config = tmp_path / "node.cfg"
    config.write_text("node\n    role = ward\n")
    return str(bin_dir), str(config)


def run(args, bin_dir, **env):
    full = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    full.update(env)
    proc = subprocess.Popen([ENTRYPOINT, *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    return proc.pid, proc.returncode, out, err


def test_a_service_runs_in_the_entrypoints_process_with_the_nodes_config(tmp_path):
    bin_dir, config = stand_ins(tmp_path)
    pid, rc, out, err = run(["intake", "-v", "--x"], bin_dir, HOTLINE_CONFIG_NAME=config)
    assert rc == 0, err
    assert out.strip() == f"{pid}|{bin_dir}/hotline-intake|-c|{config}|-v|--x"
    # from $SERVICE, the arguments being options for it
    pid, rc, out, err = run(["-v"], bin_dir, SERVICE="web", HOTLINE_CONFIG_NAME=config)
    assert rc == 0, err
    assert out.strip() == f"{pid}|{bin_dir}/hotline-web|-c|{config}|-v"
    # any other command runs as given, in the same process too
    pid, rc, out, err = run(["hotline-web", "plain", "-c", "x"], bin_dir, SERVICE="intake")
    assert rc == 0, err
    assert out.strip() == f"{pid}|{bin_dir}/hotline-web|plain|-c|x"


def test_refusals_name_the_problem_and_run_nothing(tmp_path):
    bin_dir, config = stand_ins(tmp_path)
    for args, env, code, words in (
            ([], {}, 64, "no service: set SERVICE"),
            (["-v"], {"SERVICE": ""}, 64, "no service"),
            ([], {"SERVICE": "frobnicate"}, 64, "unknown service 'frobnicate'"),
            (["intake"], {"HOTLINE_CONFIG_NAME": str(tmp_path / "missing.cfg")}, 78,
             f"config '{tmp_path}/missing.cfg' not readable"),
            # a relative name is looked for in /etc/hotline
            (["web"], {"HOTLINE_CONFIG_NAME": "no-such-node-here.cfg"}, 78,
             "config '/etc/hotline/no-such-node-here.cfg' not readable"),
            (["no-such-command-anywhere"], {}, 127, "cannot run 'no-such-command-anywhere'"),
            ([config], {}, 126, f"cannot run '{config}'")):     # not executable
        _, rc, out, err = run(args, bin_dir, **env)
        assert rc == code, (args, env, rc, err)
        assert out == "", (args, out)
        assert err.startswith("hotline-entrypoint: ") and words in err, (args, err)
    # the services it knows are the Makefile's
    _, _, _, err = run([], bin_dir)
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    services = re.search(r"^SERVICES\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert err.strip().endswith(" ".join(services)), err
