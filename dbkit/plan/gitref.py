"""What git knows about a project's files: the files at a ref, and the files changed since one.

Used by ``dbkit lint --changed`` (lint only what a branch adds or edits), ``dbkit lint --fix``
(never rewrite the files of a migration the base ref already holds) and ``dbkit rebase
--onto REF`` (the migrations the other branch already has stay where they are). Runs the
``git`` executable; a project outside a git work tree, an unknown ref or a missing git is a
:class:`~dbkit.errors.UsageError` naming what to do.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dbkit.errors import UsageError


def _git(project: Path, *args: str) -> str:
    exe = shutil.which("git")
    if exe is None:
        raise UsageError("git is not installed, so dbkit cannot compare with a git ref")
    done = subprocess.run(
        [exe, "-C", str(project), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split()) or f"exit {done.returncode}"
        raise UsageError(f"git {' '.join(args[:2])} failed in {project}: {detail}")
    return done.stdout


def is_work_tree(project: Path) -> bool:
    exe = shutil.which("git")
    if exe is None:
        return False
    done = subprocess.run(
        [exe, "-C", str(project), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == "true"


def check_ref(project: Path, ref: str) -> str:
    """The commit ``ref`` names, or a UsageError saying it is unknown."""
    if not is_work_tree(project):
        raise UsageError(
            f"{project} is not in a git work tree, so there is no ref {ref!r} to compare with"
        )
    exe = shutil.which("git") or "git"
    done = subprocess.run(
        [exe, "-C", str(project), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise UsageError(
            f"unknown git ref {ref!r}",
            hint="name a branch, tag or commit, e.g. --base origin/main",
        )
    return done.stdout.strip()


def _prefix(project: Path) -> str:
    """The project's path inside the repository (``""`` at the top), with a trailing slash."""
    return _git(project, "rev-parse", "--show-prefix").strip()


def files_at(project: Path, ref: str) -> set[str]:
    """Project-relative paths of every file the commit ``ref`` holds under the project."""
    check_ref(project, ref)
    prefix = _prefix(project)
    out = _git(project, "ls-tree", "-r", "--name-only", "--full-tree", ref, "--", prefix or ".")
    return {line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)}


def changed_since(project: Path, ref: str) -> set[str]:
    """Project-relative paths added, modified or renamed since ``ref`` (its merge base with
    the work tree: committed, staged, unstaged and untracked changes all count)."""
    check_ref(project, ref)
    base = _git(project, "merge-base", ref, "HEAD").strip() or ref
    changed = _git(
        project, "diff", "--name-only", "--diff-filter=ACMR", "--relative", base, "--", "."
    ).splitlines()
    untracked = _git(project, "ls-files", "--others", "--exclude-standard", "--", ".").splitlines()
    return {line.strip() for line in [*changed, *untracked] if line.strip()}
