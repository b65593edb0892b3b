"""The code blocks of a Markdown page: what `test_docs_examples` (and the README's test)
run to show that the documented examples work as written.

* `python_blocks`: the body of every ```python fence, in page order;
* `eisfit_commands`: every ``eisfit ...`` command line of the ```sh fences, split into
  arguments as a POSIX shell would (quotes; ``#`` comments and trailing backslashes
  continuing a line are handled; glob patterns are expanded by `expand_globs`).  Other
  shell lines (``make``, ``pip``, ``python``) are not commands of eisfit and are left out.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

__all__ = ["eisfit_commands", "expand_globs", "python_blocks"]

_FENCE = r"```{lang}\n(.*?)```"


def _fences(text: str, lang: str) -> list[str]:
    return re.findall(_FENCE.format(lang=lang), text, flags=re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fences of ``text``, in order."""
    return _fences(text, "python")


def eisfit_commands(text: str) -> list[list[str]]:
    """The arguments after ``eisfit`` of every ``eisfit`` command line in the ```sh fences."""
    commands = []
    for block in _fences(text, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "eisfit":
                commands.append(words[1:])
    return commands


def expand_globs(words: list[str], cwd: Path) -> list[str]:
    """``words`` with each glob pattern replaced by its sorted matches under ``cwd``, as a
    shell would (a pattern matching nothing stays as it is)."""
    out: list[str] = []
    for word in words:
        matches = sorted(glob.glob(word, root_dir=cwd)) if any(c in word for c in "*?[") else []
        out.extend(matches or [word])
    return out
