"""docs/python.md's example runs as written (from the repository root) and prints what the page
quotes: the first ```python block, and the plain ``` block after "prints"."""
import contextlib
import io
import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_python_md_example():
    page = (ROOT / "docs" / "python.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    quoted = re.search(r"\nprints\n\n```\n(.*?)```", page, re.S).group(1)
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/python.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue() == quoted
