"""The three configuration languages (procedure.conf, the routing rules, the
notification templates) are read by one lexer, and every error in any of
them takes one form, "path:line: message": a service given a bad file
refuses to start and names the file and the line, whether the lexer found
the error (a line that is not UTF-8) or the language's own grammar did
(an unknown keyword).
"""
import os
import subprocess

import pytest

from conftest import BUILD, ROOT

# language: (service, how the file is given, a valid first line, the
# grammar's message for an unknown keyword)
LANGUAGES = {
    "procedure": ("intake", "procedure", b"procedure test 1\n", "unknown keyword 'bogus'"),
    "rules": ("routing", "HOTLINE_ROUTING_RULES", b"default ward\n", "expected 'rule' or 'default'"),
    "templates": ("notification", "HOTLINE_NOTIFY_TEMPLATES", "label regime.urgent Khẩn\n".encode(),
                  "unknown keyword 'bogus'"),
}


def _refused(node_factory, tmp_path, language, text):
    service, given, _, _ = LANGUAGES[language]
    path = tmp_path / f"{language}.conf"
    path.write_bytes(text)
    if given == "procedure":
        node = node_factory(name=f"n-{language}", services=(service,), procedure=str(path))
        env = node.env
    else:
        node = node_factory(name=f"n-{language}", services=(service,))
        env = dict(node.env, **{given: str(path)})
    result = subprocess.run([os.path.join(BUILD, f"hotline-{service}"), "-c", node.config],
                            env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode != 0, (language, result.stderr)
    assert "Sanitizer" not in result.stderr, result.stderr      # the refusal leaks nothing
    return str(path), result.stderr


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_names_the_file_and_line_one_way(node_factory, tmp_path, language):
    _, _, first, unknown = LANGUAGES[language]
    # The lexer's error: line 3 is not UTF-8
    path, stderr = _refused(node_factory, tmp_path, language, first + b"\n# caf\xc3\x28\n")
    assert f"{path}:3: invalid UTF-8" in stderr, stderr
    # The grammar's error, through the same function
    path, stderr = _refused(node_factory, tmp_path, language, first + b"# comment\n\nbogus x\n")
    assert f"{path}:4: {unknown}" in stderr, stderr
