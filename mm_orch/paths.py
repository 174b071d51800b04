"""Where mm-orch finds its files: the one home for project-root, package-data and user-directory lookups.

Four kinds of path, four functions:

- :func:`config_path` — settings (``config/*.yaml``, ``config/workflows/``): inside a project, the project's
  file and only that (editing ``config/phase_b.yaml`` takes effect; deleting it turns Phase B off, as the
  migration guide documents); outside any project, the copy bundled inside the installed wheel, found through
  :mod:`importlib.resources`.
- :func:`resource_path` — data mm-orch reads and ships (``data/router/bootstrap.jsonl``): the project's copy
  when it has one, else the bundled copy.
- :func:`writable_path` — files mm-orch *writes* (traces, chat sessions, trained routers): under the project
  when there is one, else under the user data directory (:mod:`platformdirs`, e.g. ``~/.local/share/mm-orch``).
- :func:`cache_dir` — rebuildable caches (converted models, search indexes): ``$MM_ORCH_CACHE_DIR``, else the
  user cache directory (``~/.cache/mm-orch`` on Linux).

The *project* (:func:`project_root`) is ``$MM_ORCH_ROOT`` when set, else the current directory when it holds
``config/workflows``, else the source checkout this package was imported from; an installed wheel used outside
any project has none. Absolute paths are always returned as given.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "PROJECT_ROOT_ENV",
    "bundled_path",
    "cache_dir",
    "config_path",
    "project_root",
    "resource_path",
    "user_data_dir",
    "writable_path",
]

APP_NAME = "mm-orch"
PROJECT_ROOT_ENV = "MM_ORCH_ROOT"
CACHE_DIR_ENV = "MM_ORCH_CACHE_DIR"
DATA_DIR_ENV = "MM_ORCH_DATA_DIR"
_MARKER = Path("config") / "workflows"
#: The package folder that holds the bundled copies; in a checkout it links to the top-level files.
_BUNDLE = "_bundled"


def project_root() -> Path | None:
    """The project folder (see the module docstring), or None for an installed wheel outside any project."""
    env = os.environ.get(PROJECT_ROOT_ENV)
    if env:
        return Path(env).expanduser()
    cwd = Path.cwd()
    if (cwd / _MARKER).is_dir():
        return cwd
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / _MARKER).is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return None


def bundled_path(relative: str | Path) -> Path:
    """The copy of ``relative`` (e.g. ``"config/phase_b.yaml"``) bundled inside the installed package."""
    return Path(str(resources.files("mm_orch").joinpath(_BUNDLE, *Path(relative).parts)))


def config_path(relative: str | Path) -> Path:
    """A settings file or folder: absolute as given, else the project's (existing or not), else the bundled one."""
    path = Path(relative).expanduser()
    if path.is_absolute():
        return path
    root = project_root()
    return root / path if root is not None else bundled_path(path)


def resource_path(relative: str | Path) -> Path:
    """A data file mm-orch reads: absolute as given, else the project's copy, else the bundled one.

    When neither exists the project's path is returned (or the bundled one without a project), so the caller's
    "not found" message names the place a user would put the file.
    """
    path = Path(relative).expanduser()
    if path.is_absolute():
        return path
    root = project_root()
    if root is not None and (root / path).exists():
        return root / path
    bundled = bundled_path(path)
    if bundled.exists() or root is None:
        return bundled
    return root / path


def user_data_dir() -> Path:
    """Where mm-orch writes outside a project: ``$MM_ORCH_DATA_DIR``, else the platform's user data dir."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME))


def writable_path(relative: str | Path) -> Path:
    """A file mm-orch writes: absolute as given, else under the project, else under :func:`user_data_dir`."""
    path = Path(relative).expanduser()
    if path.is_absolute():
        return path
    root = project_root()
    return (root if root is not None else user_data_dir()) / path


def cache_dir() -> Path:
    """The cache root: ``$MM_ORCH_CACHE_DIR``, else the platform's user cache dir (``~/.cache/mm-orch``)."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP_NAME))
