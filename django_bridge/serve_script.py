"""The project's ``serve.py``: find it, run it, or read its mounts without serving.

A Django project served by Skitai keeps ``serve.py`` beside ``manage.py``.
:func:`run_serve_script` runs it exactly as ``python3 serve.py ...`` would
(``manage.py runskitai``); :func:`collect_mounts` runs it with an engine
that records the mounts and the ``skitai.run`` options instead of serving
(the pytest plugin's live engine serves those mounts in-process).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skitai
from skitai.engine import Engine

__all__ = ["ServeScript", "collect_mounts", "find_serve_script", "run_serve_script"]

SCRIPT_NAME = "serve.py"


def find_serve_script(base_dir: str | os.PathLike[str] | None = None) -> Path:
    """``serve.py`` in ``base_dir``, else beside Django's ``settings.BASE_DIR``, else in the cwd."""
    candidates: list[Path] = []
    if base_dir is not None:
        candidates.append(Path(base_dir))
    else:
        from django.conf import settings

        if settings.configured and getattr(settings, "BASE_DIR", None):
            candidates.append(Path(settings.BASE_DIR))
        candidates.append(Path.cwd())
    for directory in candidates:
        script = directory / SCRIPT_NAME
        if script.is_file():
            return script.resolve()
    where = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no {SCRIPT_NAME} found in {where}")


@contextmanager
def _as_main(script: Path, argv: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python3 script *argv`` would have them."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *argv]
    if str(script.parent) not in sys.path:
        sys.path.insert(0, str(script.parent))
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path + [p for p in sys.path if p not in saved_path]


def run_serve_script(script: str | os.PathLike[str], argv: Sequence[str] = ()) -> int:
    """Run ``script`` as ``__main__`` with command line ``argv``; return its exit status."""
    path = Path(script).resolve()
    with _as_main(path, argv):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as exc:
            return _exit_status(exc)
    return 0


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


class _RecordingEngine(Engine):
    """An engine whose ``run`` records its options instead of serving."""

    def __init__(self) -> None:
        super().__init__()
        self.options: dict[str, Any] | None = None

    def run(self, **options: Any) -> int:
        self.options = options
        return 0


@dataclass
class ServeScript:
    """What a ``serve.py`` set up: its engine (with the mounts) and its ``skitai.run`` options."""

    path: Path
    engine: Engine
    options: dict[str, Any] = field(default_factory=dict)


def collect_mounts(script: str | os.PathLike[str]) -> ServeScript:
    """Run ``script`` as ``__main__`` with a recording engine; return what it mounted.

    Raises ``RuntimeError`` when the script never calls ``skitai.run``.
    """
    path = Path(script).resolve()
    recorder = _RecordingEngine()
    saved = skitai.engine
    skitai.engine = recorder
    try:
        status = run_serve_script(path)
    finally:
        skitai.engine = saved
    if recorder.options is None:
        raise RuntimeError(f"{path} did not call skitai.run()")
    if status:
        raise RuntimeError(f"{path} exited with status {status}")
    return ServeScript(path, recorder, recorder.options)
