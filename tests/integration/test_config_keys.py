"""Every configuration key the code reads is in the table of keys
(services/lib/hl_config_keys.c) and documented for an operator in
deploy/config/ward-31001.cfg or city.cfg, as `key = ...` or a commented
`#   key = ...` under its section.

The keys read are found in the C sources under services/: every
hl_config_get / hl_config_int / hl_config_file / hl_config_locate whose key
is a literal (the web reads through the same calls), and every
hl_service_endpoint / hl_service_bind_endpoint NAME (endpoints/NAME,
bind/NAME). Keys built at run time (contacts/RECIPIENT, endpoints/http_*)
are covered by the table's families (a path ending in "/*"), whose section
must be documented. Selftest sections (from `*_test (bool verbose)` on)
are not service code and are skipped. The other way, every key in the
table is still named by some source, so the table keeps no key that is
gone.

Reads the sources only: no process runs, so it is the same under every
build (plain, sanitizers, valgrind).
"""
import ast
import glob
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TABLE = os.path.join(ROOT, "services", "lib", "hl_config_keys.c")
CONFIGS = [os.path.join(ROOT, "deploy", "config", name) for name in ("ward-31001.cfg", "city.cfg")]

#   hl_config_get (config, "section/key", default): the first argument may
#   hold one level of parentheses (hl_service_config (self->service)), the
#   call may span lines
ARG = r'(?:[^,();"]|\([^()]*\))*?'
READ = re.compile(r'\bhl_config_(get|int|file|locate)\s*\(\s*' + ARG + r',\s*"([^"]+)"\s*'
                  r'(?:,\s*((?:[^;()]|\([^()]*\))*?))?\)', re.S)
ENDPOINT = re.compile(r'\bhl_service_(bind_)?endpoint\s*\(\s*' + ARG + r',\s*"([^"]+)"', re.S)
SELFTEST = re.compile(r'^\w+_test \(bool verbose\)', re.M)
ENTRY = re.compile(r'\{\s*"([^"]+)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\}')


def table():
    text = open(TABLE, encoding="utf-8").read()
    entries = {}
    for path, default, doc in ENTRY.findall(text):
        assert path not in entries, f"{path} twice in the table"
        entries[path] = (ast.literal_eval(f'"{default}"'), doc)
    assert len(entries) > 50, "the table did not parse"
    return entries


def entry_for(entries, path):
    """The table's entry for path: its own, else its family's"""
    if path in entries:
        return path
    for name in entries:
        if name.endswith("/*") and path.startswith(name[:-1]) and len(path) > len(name) - 1:
            return name
    return None


def literal(default):
    """A call site's default as the table writes it, or None if not a literal"""
    default = default.strip()
    if default in ("NULL", '""'):
        return ""
    if re.fullmatch(r'"(?:[^"\\]|\\.)*"', default):
        return ast.literal_eval(default)
    if re.fullmatch(r'[\d\s*]+', default):
        return str(eval(default))        # "1024 * 1024": digits and '*' only
    return None


def reads():
    """{path: [(file:line, default or None)]} of every literal key the code reads"""
    found = {}
    for source in sorted(glob.glob(os.path.join(ROOT, "services", "**", "*.c"), recursive=True)):
        text = open(source, encoding="utf-8").read()
        selftest = SELFTEST.search(text)
        if selftest:
            text = text[:selftest.start()]
        where = lambda m: "%s:%d" % (os.path.relpath(source, ROOT), text.count("\n", 0, m.start()) + 1)
        for m in READ.finditer(text):
            default = literal(m.group(3)) if m.group(3) is not None else None
            found.setdefault(m.group(2), []).append((where(m), default))
        for m in ENDPOINT.finditer(text):
            path = ("bind/" if m.group(1) else "endpoints/") + m.group(2)
            found.setdefault(path, []).append((where(m), None))
    assert len(found) > 50, "the sources did not parse"
    return found


def documented():
    """(keys, sections) documented in the .cfg files, commented or not"""
    keys, sections = set(), set()
    for config in CONFIGS:
        section = None
        for line in open(config, encoding="utf-8"):
            line = line.rstrip("\n")
            header = re.fullmatch(r'#?([a-z][a-z0-9_]*)\s*(#.*)?', line)
            if header:
                section = header.group(1)
                sections.add(section)
                continue
            key = re.match(r'\s*#?\s+([a-z][a-z0-9_]*)\s*=', line)
            if key and section:
                keys.add(f"{section}/{key.group(1)}")
    return keys, sections


def test_every_key_read_is_in_the_table():
    entries = table()
    missing = sorted(f"{path} ({sites[0][0]})" for path, sites in reads().items()
                     if entry_for(entries, path) is None)
    assert not missing, ("read by the code but not in services/lib/hl_config_keys.c: "
                         + ", ".join(missing))


def test_every_key_read_is_documented():
    entries = table()
    keys, sections = documented()
    missing = []
    for path, sites in sorted(reads().items()):
        name = entry_for(entries, path)
        if name is None:
            continue                     # the test above says so
        if name.endswith("/*") or "/" not in name:
            ok = name.split("/")[0] in sections
        else:
            ok = name in keys
        if not ok:
            missing.append(f"{path} ({sites[0][0]})")
    assert not missing, ("read by the code but not documented in deploy/config/ward-31001.cfg"
                         " or city.cfg: " + ", ".join(missing))


def test_the_table_says_the_default_the_code_uses():
    """Where the code's default is a literal, one call site uses the table's"""
    entries = table()
    wrong = []
    for path, sites in sorted(reads().items()):
        name = entry_for(entries, path)
        literals = {default for _, default in sites if default is not None}
        if name and not name.endswith("/*") and literals and entries[name][0] not in literals:
            wrong.append(f"{path}: table {entries[name][0]!r}, code {sorted(literals)} "
                         f"({sites[0][0]})")
    assert not wrong, "defaults differ: " + "; ".join(wrong)


def test_every_key_in_the_table_is_read():
    """A key no code names any more (a meaning moved to procedure.conf, a
    feature gone) leaves the table too, so the table stays the truth"""
    sources = ""
    for source in glob.glob(os.path.join(ROOT, "services", "**", "*.c"), recursive=True):
        if os.path.abspath(source) != TABLE:
            sources += open(source, encoding="utf-8").read()
    stale = sorted(path for path in table()
                   if not path.endswith("/*") and f'"{path}"' not in sources)
    assert not stale, "in services/lib/hl_config_keys.c but read nowhere: " + ", ".join(stale)
