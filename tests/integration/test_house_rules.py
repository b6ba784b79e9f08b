"""House rules that the compiler does not check, read from the sources
under services/ (HACKING.md):

- one allocation policy: no raw malloc / calloc / realloc / strdup /
  strndup outside services/lib/hl_alloc.c (zmalloc, hl_strdup, hl_strndup
  and hl_realloc abort when out of memory, so no caller checks for NULL);
  a call or a use as a function pointer counts, a mention in a comment or
  a string literal does not;
- no C file under services/ is over 1,500 lines (one class per file);
- no "issue N" reference in code or tests (services/, tests/): a comment
  says why, not which ticket asked; the history has the tickets.

Each scanner is also run on made-up sources, so these tests can fail.
Reads the sources only: no process runs, so it is the same under every
build (plain, sanitizers, valgrind).
"""
import glob
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALLOCATOR = os.path.join("services", "lib", "hl_alloc.c")
MAX_LINES = 1500

#   The name alone, not a member (x.malloc, x->malloc) nor part of a longer
#   name (hl_strdup, sqlite3_malloc, zmalloc)
RAW = re.compile(r'(?<![\w.>])(malloc|calloc|realloc|strdup|strndup)\b')


def strip_c(text):
    """text with its comments and the insides of its string and character
    literals blanked out; newlines are kept, so line numbers stay right"""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            end = min(j + 1, n)
            out.append(c + " " * (end - i - 2) + c if end - i >= 2 else text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def raw_allocations(text):
    """[(line, name)] of the raw allocations in C source text"""
    code = strip_c(text)
    return [(code.count("\n", 0, m.start()) + 1, m.group(1)) for m in RAW.finditer(code)]


def sources(root, patterns=("*.c", "*.h")):
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, "services", "**", pattern), recursive=True)):
            yield path, os.path.relpath(path, root)


def allocation_offenders(root):
    found = []
    for path, name in sources(root):
        if name == ALLOCATOR:
            continue
        with open(path, encoding="utf-8", errors="replace") as file:
            for line, what in raw_allocations(file.read()):
                found.append(f"{name}:{line}: raw {what}")
    return found


def long_files(root):
    found = []
    for path, name in sources(root, ("*.c",)):
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = sum(1 for _ in file)
        if lines > MAX_LINES:
            found.append(f"{name}: {lines} lines")
    return found


#   "issue 12", "Issue 15 item 4", "issues 11 and 12", "issue #7"
ISSUE = re.compile(r'\bissues?\s+#?\d+', re.I)
CODE = ("*.c", "*.h", "*.py", "*.js", "*.sh", "*.html", "*.css", "run")
SELF = os.path.join("tests", "integration", "test_house_rules.py")


def issue_references(root):
    found = []
    for top in ("services", "tests"):
        for pattern in CODE:
            for path in sorted(glob.glob(os.path.join(root, top, "**", pattern), recursive=True)):
                if not os.path.isfile(path):
                    continue
                name = os.path.relpath(path, root)
                if name == SELF:
                    continue            #   its own examples
                with open(path, encoding="utf-8", errors="replace") as file:
                    for number, line in enumerate(file, 1):
                        if ISSUE.search(line):
                            found.append(f"{name}:{number}: {line.strip()[:80]}")
    return found


def test_no_raw_allocation_outside_hl_alloc():
    assert len(list(sources(ROOT))) > 50, "the sources were not found"
    offenders = allocation_offenders(ROOT)
    assert not offenders, ("allocate through services/lib/hl_alloc.h (zmalloc, hl_strdup, "
                           "hl_strndup, hl_realloc):\n" + "\n".join(offenders))


def test_no_c_file_over_the_line_limit():
    offenders = long_files(ROOT)
    assert not offenders, f"split these (at most {MAX_LINES} lines a file):\n" + "\n".join(offenders)


def test_no_issue_references_in_code_or_tests():
    offenders = issue_references(ROOT)
    assert not offenders, "say why instead of naming the issue:\n" + "\n".join(offenders)


def test_the_allocation_scanner_finds_what_it_must():
    text = (
        '#include "hotline.h"\n'
        "char *a = strdup (name);\n"
        "void *b = malloc(16);\n"
        "zlistx_set_duplicator (list, (zlistx_duplicator_fn *) strndup);\n"
        "p = realloc (p, 2 * n);  q = calloc (n, 4);\n"
    )
    assert raw_allocations(text) == [(2, "strdup"), (3, "malloc"), (4, "strndup"),
                                     (5, "realloc"), (5, "calloc")]


def test_the_allocation_scanner_ignores_comments_strings_and_the_policy():
    text = (
        "//  a plain realloc's NULL lost the rules: hl_realloc aborts\n"
        "/* malloc (n) in a\n   block comment, strdup (x) */\n"
        'hl_error ("strdup (%s) failed", "malloc");  char c = \'"\';\n'
        'const char *s = "a \\" malloc (1)";\n'
        "char *a = hl_strdup (name);  void *b = zmalloc (8);  p = hl_realloc (p, 4);\n"
        "char *t = hl_strndup (x, 3);  void *m = sqlite3_malloc (8);  api->malloc (1);\n"
    )
    assert raw_allocations(text) == []
    #   Line numbers survive the blanked comments
    assert raw_allocations("/*\n\n*/\n// x\nx = malloc (1);\n") == [(5, "malloc")]


def test_the_scanners_fail_on_a_tree_that_breaks_the_rules(tmp_path):
    lib = tmp_path / "services" / "lib"
    lib.mkdir(parents=True)
    (lib / "hl_alloc.c").write_text("char *hl_strdup (const char *s) { return strdup (s); }\n")
    (lib / "hl_fine.c").write_text("//  strdup (s) here is prose\nchar *x = hl_strdup (s);\n")
    assert allocation_offenders(str(tmp_path)) == []
    assert long_files(str(tmp_path)) == []

    web = tmp_path / "services" / "web"
    web.mkdir()
    (web / "web_bad.h").write_text("#define COPY(s) strdup (s)\n")
    (web / "web_long.c").write_text("int x;\n" * (MAX_LINES + 1))
    (web / "web_limit.c").write_text("int x;\n" * MAX_LINES)
    assert allocation_offenders(str(tmp_path)) == ["services/web/web_bad.h:1: raw strdup"]
    assert long_files(str(tmp_path)) == [f"services/web/web_long.c: {MAX_LINES + 1} lines"]

    assert issue_references(str(tmp_path)) == []
    tests = tmp_path / "tests" / "integration"
    tests.mkdir(parents=True)
    (tests / "test_x.py").write_text('"""Issue 15 item 4: dead letters"""\n# tissue 3 is no ticket\n')
    (web / "web_x.js").write_text("// the city dashboard (issues 11 and 12)\n")
    (tmp_path / "tests" / "README.md").write_text("issue 9 in prose is fine\n")
    assert issue_references(str(tmp_path)) == [
        "services/web/web_x.js:1: // the city dashboard (issues 11 and 12)",
        'tests/integration/test_x.py:1: """Issue 15 item 4: dead letters"""']
