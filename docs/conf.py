"""Sphinx configuration of eisfit's documentation (``make docs``).

Markdown pages (MyST), an API reference from the docstrings (autodoc + autosummary,
napoleon for the few docstrings with sections), the command-line reference from the
argparse parser (sphinx-argparse) and a gallery of examples executed at build time on
the bundled sample spectra (sphinx-gallery).  Built with warnings as errors.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))  # the local directives (formats and models tables)
os.environ.setdefault("MPLBACKEND", "Agg")  # examples draw without a display

import eisfit  # noqa: E402  (after the path set-up)

project = "eisfit"
author = "the eisfit contributors"
copyright = "2026, the eisfit contributors"
release = eisfit.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "eisfit_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "**/*.pickle"]  # fmt: skip
templates_path = ["_templates"]

# The docstrings are plain prose in which `name` marks a Python name: resolve it as a
# cross-reference where the name is documented, and show it as code where it is not
# (nitpicky is off, so an unresolved name is not a warning).
default_role = "py:obj"
nitpicky = False

# literal blocks without a language (docstring examples of file formats, argparse usage
# lines) are shown as plain text, not coloured as if they were Python
highlight_language = "none"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autoclass_content = "class"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",  # every plot_*.py runs at build time
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # no sg_execution_times.rst in the source folder
    "capture_repr": (),  # show what the scripts print, not the repr of their last line
}

html_theme = "furo"
html_title = f"eisfit {release}"
html_static_path: list[str] = []
html_show_sourcelink = False


def _public_api() -> dict[str, list[str]]:
    """``eisfit.__all__`` by kind, for the public-API page (template eisfit-package.rst)."""
    groups: dict[str, list[str]] = {"functions": [], "classes": [], "exceptions": []}
    for name in eisfit.__all__:
        if name.startswith("_"):
            continue
        obj = getattr(eisfit, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            groups["exceptions"].append(name)
        elif isinstance(obj, type):
            groups["classes"].append(name)
        else:
            groups["functions"].append(name)
    return groups


def _public_names() -> list[str]:
    return [name for names in _public_api().values() for name in names]


def _public_homes() -> dict[str, list[str]]:
    """Module where each public name is defined -> the names: their module pages point to
    the public-API page instead of describing them again."""
    homes: dict[str, list[str]] = {}
    for name in _public_names():
        homes.setdefault(getattr(eisfit, name).__module__, []).append(name)
    return homes


def _public_members() -> dict[str, list[str]]:
    """Module -> the public names it holds (defined or re-exported): left out of its page,
    so every object is described once (on the public-API page)."""
    members: dict[str, list[str]] = {}
    for info in pkgutil.walk_packages(eisfit.__path__, "eisfit."):
        if info.name.rpartition(".")[2].startswith("_"):
            continue  # private modules, and __main__ (importing it runs the CLI)
        module = importlib.import_module(info.name)
        held = [n for n in _public_names() if getattr(module, n, None) is getattr(eisfit, n)]
        if held:
            members[info.name] = held
    return members


autosummary_context = {f"public_{kind}": names for kind, names in _public_api().items()}
autosummary_context["public_homes"] = _public_homes()
autosummary_context["public_members"] = _public_members()
