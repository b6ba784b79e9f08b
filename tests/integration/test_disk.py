"""A full disk, a data directory gone read-only, a database locked
by another process. Intake refuses new cases with a clear error and the
client sees exit 3; nothing is acknowledged without being persisted (an
acknowledged case survives kill -9, a refused one left nothing behind);
the service recovers when the disk does, and a retry of a refused request
then creates its case exactly once.

The full disk is a small tmpfs mounted over the node's data directory; the
read-only disk is an ext4 image on a loop device mounted errors=remount-ro,
made read-only under the running services by an ext4 error (what a failing
disk does; `mount -o remount,ro` is refused while files are open for
writing). Both need root (mount); the tests skip where mounting is not
allowed. The lock is a plain sqlite3 connection holding BEGIN EXCLUSIVE.
"""
import errno
import os
import sqlite3
import subprocess
import threading

import pytest

from conftest import wait_for


def _run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


@pytest.fixture
def mounts():
    """mount(kind, path, ...) -> path; everything is unmounted at the end
    (after the node's processes are gone: request this fixture first)."""
    done = []

    def mount(path, *options):
        os.makedirs(path, exist_ok=True)
        result = _run("mount", *options, path)
        if result.returncode != 0:
            pytest.skip(f"cannot mount here ({' '.join(options)}): {result.stderr.strip()}")
        done.append(path)
        return path
    yield mount
    for path in reversed(done):
        _run("umount", "-l", path)


def _settled(node):
    wait_for(lambda: node.query("archive", "SELECT count(*) FROM log")[0][0]
             == node.query("intake", "SELECT count(*) FROM log")[0][0], what="archive caught up")


def _fill(directory):
    """Write a file until the filesystem is full; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            block = b"\0" * size
            while True:
                try:
                    written = os.write(fd, block)
                except OSError as e:
                    assert e.errno in (errno.ENOSPC, errno.EDQUOT), e
                    break
                if written < size:
                    break
    finally:
        os.close(fd)
    return path


def _submit(node, request_id, **kw):
    args = ["submit", "--request-id", request_id, "--phone", "0912345678", "--type", "noise",
            "--location", "Chợ An Biên", "--description", "Tiếng ồn từ xưởng cơ khí"]
    return node.cli(*args, check=False, tries=kw.get("tries", 1), timeout=kw.get("timeout", 20000))


def _request_count(node, request_id):
    return node.query("intake", "SELECT count(*) FROM requests WHERE request_id = ?", request_id)[0][0]


def _check_acks(node, outcomes):
    """Every exit 0 is on disk (its request and its case); every exit 3 left
    no request behind. outcomes: {request_id: (returncode, case or '')}"""
    cases = {r[0] for r in node.query("intake", "SELECT case_id FROM cases")}
    for request_id, (code, case) in outcomes.items():
        assert code in (0, 3), (request_id, code)
        if code == 0:
            assert _request_count(node, request_id) == 1, f"{request_id} acknowledged, not stored"
            assert case in cases, f"{request_id}: case {case} acknowledged, not stored"
        else:
            assert _request_count(node, request_id) == 0, f"{request_id} refused, yet stored"


def test_full_disk_refuses_with_exit_3_and_recovers(mounts, node_factory):
    node = node_factory(services=("archive", "intake"))
    mounts(node.data, "-t", "tmpfs", "-o", "size=4m", "tmpfs")
    node.start()
    first = node.submit(request_id="before-full")
    node.wait_archived(first)
    _settled(node)
    filler = _fill(node.data)
    # Submit until intake has to grow its files (the WAL may still have
    # room left by earlier transactions): then it must refuse, clearly
    outcomes = {}
    refused = None
    for i in range(60):
        request_id = f"full-{i}"
        result = _submit(node, request_id)
        outcomes[request_id] = (result.returncode, result.stdout.strip())
        if result.returncode != 0:
            refused = request_id
            assert result.returncode == 3, result
            assert "nothing was saved" in result.stderr, result.stderr
            assert result.stdout == ""
            break
    assert refused, "intake never noticed the disk was full"
    assert node.alive("intake"), node.log("intake")[-2000:]
    assert "not stored" in node.log("intake")
    # Tried again while still full: refused again, nothing half-written; or,
    # if the background checkpointer has meanwhile copied the whole WAL into
    # the database (the WAL is then written again from its start, in space
    # it already has), stored, once
    again = _submit(node, refused)
    if again.returncode == 0:
        outcomes[refused] = (0, again.stdout.strip())
    else:
        assert again.returncode == 3, again
        assert "nothing was saved" in again.stderr and again.stdout == "", again
    _check_acks(node, outcomes)

    # Space returns: the same request now creates its case (or gives the
    # one it created), once
    os.unlink(filler)
    result = _submit(node, refused)
    assert result.returncode == 0, result
    case = result.stdout.strip()
    if again.returncode == 0:
        assert case == again.stdout.strip()
    assert _submit(node, refused).stdout.strip() == case        # a retry: same case
    outcomes[refused] = (0, case)
    # Every acknowledged case survives a crash
    node.kill("intake")
    node.start("intake")
    _check_acks(node, outcomes)
    assert node.query("intake", "SELECT count(*) FROM requests WHERE request_id = ?", refused)[0][0] == 1
    node.wait_archived(case)
    _settled(node)
    assert node.alive("archive")


def _loop_image(tmp_path, mounts, path):
    image = str(tmp_path / "disk.img")
    with open(image, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    result = _run("mkfs.ext4", "-q", "-F", image)
    if result.returncode != 0:
        pytest.skip(f"cannot make an ext4 image: {result.stderr.strip()}")
    mounts(path, "-o", "loop,errors=remount-ro", image)
    return image


def test_read_only_data_directory_refuses_with_exit_3_and_recovers(mounts, node_factory, tmp_path):
    node = node_factory(services=("archive", "intake"))
    image = _loop_image(tmp_path, mounts, node.data)
    node.start()
    first = node.submit(request_id="before-ro")
    node.wait_archived(first)
    _settled(node)
    # The disk fails under the running services: ext4 goes read-only
    device = os.path.basename(_run("findmnt", "-n", "-o", "SOURCE", node.data).stdout.strip())
    trigger = f"/sys/fs/ext4/{device}/trigger_fs_error"
    if not os.path.exists(trigger):
        pytest.skip(f"no {trigger}")
    with open(trigger, "w") as f:
        f.write("hotline test: disk gone read-only\n")
    wait_for(lambda: {"ro", "emergency_ro"} & set(_run("findmnt", "-n", "-o", "OPTIONS",
                                                      node.data).stdout.strip().split(",")),
             what="the filesystem read-only")
    outcomes = {}
    for i in range(3):
        result = _submit(node, f"ro-{i}")
        outcomes[f"ro-{i}"] = (result.returncode, result.stdout.strip())
        assert result.returncode == 3, result
        assert "nothing was saved" in result.stderr, result.stderr
        assert result.stdout == ""
    assert node.alive("intake"), node.log("intake")[-2000:]
    assert "not stored" in node.log("intake")
    outcomes["before-ro"] = (0, first)
    # Recovery: an operator stops the node, checks the disk, mounts it again
    node.stop()
    assert _run("umount", node.data).returncode == 0
    _run("e2fsck", "-f", "-y", image)
    assert _run("mount", "-o", "loop,errors=remount-ro", image, node.data).returncode == 0
    # Read-only from the start: intake refuses to start, saying why (SQLite
    # would open the file read-only and stay so after the disk is writable)
    assert _run("mount", "-o", "remount,ro", node.data).returncode == 0
    with pytest.raises(AssertionError, match="exited"):
        node.start("intake")
    assert "data directory is read-only" in node.log("intake")
    assert node.cli("ping", check=False, tries=1, timeout=500).returncode == 3
    node.procs.pop("intake")
    node.logs.pop("intake").close()
    assert _run("mount", "-o", "remount,rw", node.data).returncode == 0
    node.start()
    _check_acks(node, outcomes)
    # The refused requests, retried, create their cases once each
    for request_id in ("ro-0", "ro-1", "ro-2"):
        result = _submit(node, request_id)
        assert result.returncode == 0, result
        assert _submit(node, request_id).stdout.strip() == result.stdout.strip()
        node.wait_archived(result.stdout.strip())
    assert node.query("intake", "SELECT count(*) FROM cases")[0][0] == 4


def test_locked_database_answers_503_or_waits_and_never_acks_unstored(node_factory):
    node = node_factory(services=("archive", "intake")).start()
    path = os.path.join(node.data, "intake.db")
    # Another process holds the write lock for longer than busy_timeout:
    # intake answers 503, the client exits 3, nothing is stored
    lock = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        result = _submit(node, "busy-long", timeout=30000)
        assert result.returncode == 3, result
        assert "nothing was saved" in result.stderr, result.stderr
        assert node.alive("intake")
    finally:
        lock.execute("ROLLBACK")
    assert _request_count(node, "busy-long") == 0
    assert "not stored" in node.log("intake")
    # Released: the retry creates the case, once
    case = _submit(node, "busy-long").stdout.strip()
    assert case and _submit(node, "busy-long").stdout.strip() == case
    # Short locks, released while intake may be waiting: it either waits
    # (exit 0, stored) or answers 503 (exit 3, not stored) - never in between
    outcomes = {"busy-long": (0, case)}
    for i, hold in enumerate((0.2, 1.0, 3.0, 7.0)):
        lock.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(hold, lambda: lock.execute("ROLLBACK"))
        release.start()
        result = _submit(node, f"busy-{i}", timeout=30000)
        release.join()
        outcomes[f"busy-{i}"] = (result.returncode, result.stdout.strip())
    lock.close()
    _check_acks(node, outcomes)
    # Everything refused goes through on retry; the archive catches up
    for request_id, (code, _) in outcomes.items():
        result = _submit(node, request_id)
        assert result.returncode == 0, result
        node.wait_archived(result.stdout.strip())
    assert node.query("intake", "SELECT count(*) FROM cases")[0][0] == len(outcomes)
    assert node.alive("intake") and node.alive("archive")
