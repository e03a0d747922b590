"""Results of reading a project's files, kept between runs and keyed by the files' content.

Parsing SQL needs pglast (about 100 ms to import, then a few milliseconds per file) and
``dbkit lint`` needs sqlfluff (about a quarter of a second per file). Neither result can change
unless the file, the tool or dbkit changes, so each is stored under a key made of:

* the file's content (SHA-256) and its path (messages name the path);
* what produced the result: the *salt*, i.e. the cache format, dbkit's version and the size and
  modification time of the dbkit modules doing the parsing, plus the tools' versions and the
  hash of their configuration for lint.

A changed file, tool, configuration or dbkit gives another key, so an entry is never stale, only
unused; entries that a run did not use are dropped when the cache grows past :data:`MAX_ENTRIES`.

The cache lives in the project, ``<project>/.dbkit/cache/<name>.json`` (``.dbkit/`` is where the
embedded server keeps its data and is git-ignored), written atomically (a temporary file, then
``os.replace``). A cache that cannot be read is ignored, one that cannot be written (a read-only
checkout) is skipped: the cache only ever saves time, it never changes a result.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = 1
MAX_ENTRIES = 20_000
CACHE_DIR = Path(".dbkit") / "cache"


def code_stamp(*modules: str) -> str:
    """Size and modification time of the source files of ``modules`` (dotted names under
    ``dbkit``), and dbkit's version: changing the code that produced a result invalidates it."""
    from dbkit import __version__

    root = Path(__file__).resolve().parent.parent
    parts = [f"dbkit {__version__}", f"format {FORMAT}"]
    for module in modules:
        path = root.joinpath(*module.split(".")[1:]).with_suffix(".py")
        try:
            stat = path.stat()
            parts.append(f"{module} {stat.st_size} {stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{module} ?")
    return "|".join(parts)


def package_stamp(name: str) -> str:
    """The installed package ``name``'s location, size and time of its ``__init__``, without
    importing it (importing pglast is what the cache is there to avoid)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return f"{name} missing"
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return f"{name} {spec.origin}"
    return f"{name} {spec.origin} {stat.st_size} {stat.st_mtime_ns}"


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class ResultCache:
    """One named cache file of a project: ``key -> JSON value``, all under one salt.

    ``get_or_compute(key, compute)`` returns the stored value or computes, stores and returns
    it; :meth:`save` writes the file if anything was added. With ``project_dir=None`` nothing
    is read or written (every value is computed).
    """

    def __init__(self, project_dir: Path | None, name: str, salt: str) -> None:
        self.path = None if project_dir is None else Path(project_dir) / CACHE_DIR / f"{name}.json"
        self.salt = salt
        self._stored: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("salt") == salt:
                    entries = data.get("entries")
                    if isinstance(entries, dict):
                        self._stored = entries
            except (OSError, ValueError):
                pass

    def get(self, key: str) -> Any | None:
        if key in self._used:
            return self._used[key]
        if key in self._stored:
            self.hits += 1
            self._used[key] = self._stored[key]
            return self._used[key]
        return None

    def put(self, key: str, value: Any) -> None:
        self.misses += 1
        self._used[key] = value
        self._dirty = True

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        entries = dict(self._used)
        for key, value in self._stored.items():
            if len(entries) >= MAX_ENTRIES:
                break
            entries.setdefault(key, value)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError:
            return  # a read-only project: no cache, same results
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"salt": self.salt, "entries": entries}, out, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return
        self._stored, self._dirty = entries, False


#: A file whose modification or status change is more recent than this (before the moment it
#: is looked at) is not recorded in the :class:`FileIndex`: a change made within the same tick
#: of the file system's clock could leave its size and times as they were ("racy git").
RACY_NS = 2_000_000_000
FILE_INDEX_FORMAT = 1


def text_digest(text: str) -> str:
    """The digest the :class:`FileIndex` keeps for a file: SHA-256 of its text as read."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class FileIndex:
    """Digests of a project's files, trusted by their stat as git's index trusts it.

    A file whose size, modification time, status-change time and inode (all in
    nanoseconds where the file system keeps them) are those recorded with its digest is not
    read again: the digest stands for its text. Any write changes the status-change time
    (which no program can set back), and a rename or a copy changes the inode. A file changed
    in the last :data:`RACY_NS` is never recorded, so a write within one tick of the file
    system's clock after its recording cannot go unseen. Values derived from digests (a
    migration's checksum over its SQL pair) are kept by digest, so they are never stale either.

    Stored in ``<project>/.dbkit/cache/files.json``, like the :class:`ResultCache`: an index that
    cannot be read is ignored, one that cannot be written is skipped.
    """

    def __init__(self, project_dir: Path | None) -> None:
        self.root = None if project_dir is None else Path(project_dir)
        self.path = None if self.root is None else self.root / CACHE_DIR / "files.json"
        self._prefix = "\0" if self.root is None else f"{self.root}{os.sep}"
        self._files: dict[str, list] = {}
        self._derived: dict[str, str] = {}
        self._seen: set[str] = set()
        self._dirty = False
        self.reads = 0  # files this index had to read (tests count them)
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == FILE_INDEX_FORMAT:
                    files, derived = data.get("files"), data.get("derived")
                    if isinstance(files, dict) and isinstance(derived, dict):
                        self._files, self._derived = files, derived
            except (OSError, ValueError):
                pass

    def digest(self, path: Path, read: Callable[[], str]) -> tuple[str, str | None]:
        """``(digest, text)`` of ``path``: ``text`` is None when the recorded digest was
        trusted, else what ``read()`` returned (its errors propagate: a missing or unreadable
        file is the caller's to report)."""
        try:
            stat = os.stat(path)
        except OSError:
            stat = None
        key = str(path)
        if key.startswith(self._prefix):
            key = key[len(self._prefix) :]  # project-relative: a smaller index
        self._seen.add(key)
        if stat is not None:
            stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
            stored = self._files.get(key)
            if stored is not None and stored[:4] == stamp:
                return stored[4], None
        # stat before reading: a write after the stat changes the stamp, so it is seen next time
        text = read()
        self.reads += 1
        value = text_digest(text)
        if stat is not None and max(stat.st_mtime_ns, stat.st_ctime_ns) < time.time_ns() - RACY_NS:
            self._files[key] = [*stamp, value]
            self._dirty = True
        elif self._files.pop(key, None) is not None:
            self._dirty = True
        return value, text

    def derived(self, key: str, compute: Callable[[], str]) -> str:
        """A value that depends only on the digests in ``key`` (computed once per key)."""
        value = self._derived.get(key)
        if value is None:
            value = self._derived[key] = compute()
            self._dirty = True
        return value

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        if len(self._files) > MAX_ENTRIES:  # files gone or renamed: keep this run's
            self._files = {k: v for k, v in self._files.items() if k in self._seen}
        if len(self._derived) > MAX_ENTRIES:
            self._derived = dict(list(self._derived.items())[-MAX_ENTRIES // 2 :])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError:
            return
        data = {"format": FILE_INDEX_FORMAT, "files": self._files, "derived": self._derived}
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return
        self._dirty = False
