"""The user guide (``mkdocs.yml``, pages under ``docs/``) builds in strict mode, and its
code comes from files the tests run.

* ``mkdocs build --strict``: a broken link, a missing page in the nav, an anchor that
  is not there or a ``--8<--`` include whose file is gone fails the build, so it fails
  here (and in CI, which runs this suite).
* The guide's own pages (tutorial, how-to guides, explanations) hold no Python written
  inline: every Python block is an include of a file under ``docs/examples/`` or of
  the demo project, and every such file is named by a test (``tests/docs/`` and
  ``tests/django_bridge/test_docs_*.py`` run the examples; ``tests/demo/`` the demo).
  An example that drifts from the code fails its test.
* Every name in the ``__all__`` of ``skitai``, ``skitai.testing``, ``atila`` and
  ``django_bridge`` has an entry in the reference (docs/reference/).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: The sections written for users; the design notes (docs/*.md) are prose about choices.
GUIDE_SECTIONS = ("tutorial", "howto", "explanation")
#: ```python ... ``` blocks (any attributes after the language name).
_PYTHON_BLOCK = re.compile(r"^```(?:python|py)\b[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: a pymdownx.snippets include line: --8<-- "path[:section or lines]"
_SNIPPET = re.compile(r'^--8<--\s+"([^":]+)(?::[^"]*)?"\s*$')
#: tests that run the included files: the examples' tests (those needing Django settings
#: live with the django_bridge tests) and the demo's
_TESTS_OF_INCLUDES = tuple(ROOT / "tests" / name for name in ("docs", "django_bridge", "demo"))


def guide_pages() -> list[Path]:
    """The Markdown pages of the tutorial, the how-to guides and the explanations."""
    return sorted(page for section in GUIDE_SECTIONS for page in (DOCS / section).glob("*.md"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict``; the test fails with its log."""
    site = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's banner about MkDocs 2
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def test_site_builds_in_strict_mode(site: Path) -> None:
    for page in ("index.html", "tutorial/index.html", "howto/index.html", "reference/index.html"):
        assert (site / page).is_file(), page
    # an included file is in the page, not the include line
    tutorial = (site / "tutorial" / "photos-api" / "index.html").read_text(encoding="utf-8")
    assert "--8&lt;--" not in tutorial and "permission_required" in tutorial


@pytest.mark.parametrize(
    ("module", "page"),
    [
        ("skitai", "skitai"),
        ("atila", "atila"),
        ("django_bridge", "django_bridge"),
        ("skitai.testing", "testing"),
    ],
)
def test_every_exported_name_has_a_reference_entry(site: Path, module: str, page: str) -> None:
    """Each name in the package's ``__all__``: an entry generated from its docstring
    (an anchor ``id="module.name"``) or a row written by hand (``<code>name</code>``)."""
    html = (site / "reference" / page / "index.html").read_text(encoding="utf-8")
    exported = importlib.import_module(module).__all__
    missing = [
        name
        for name in exported
        if f'id="{module}.{name}"' not in html and f"<code>{name}</code>" not in html
    ]
    assert not missing, f"reference/{page}.md documents none of {missing}"


@pytest.mark.parametrize("page", guide_pages(), ids=lambda page: page.relative_to(DOCS).as_posix())
def test_python_in_the_guide_is_included_from_tested_files(page: Path) -> None:
    tested = "\n".join(
        test.read_text(encoding="utf-8")
        for folder in _TESTS_OF_INCLUDES
        for test in folder.rglob("*.py")
    )
    for block in _PYTHON_BLOCK.findall(page.read_text(encoding="utf-8")):
        lines = [line for line in block.splitlines() if line.strip()]
        assert lines, f"{page.name}: an empty python block"
        for line in lines:
            match = _SNIPPET.match(line.strip())
            assert match, f"{page.name}: inline Python (include it from docs/examples/): {line!r}"
            path = match.group(1)
            assert (ROOT / path).is_file(), f"{page.name}: {path} does not exist"
            if path.startswith("docs/examples/"):
                name = path.removeprefix("docs/examples/")
                # an example in a folder is run through its folder's serve.py or test file
                unit = name.rsplit("/", 1)[0] + "/" if "/" in name else name
                assert unit in tested, f"{page.name}: no test names {unit}"
            else:
                assert path.startswith("demo_project/"), f"{page.name}: {path} is not tested"
