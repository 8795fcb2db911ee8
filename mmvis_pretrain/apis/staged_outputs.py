"""Outputs that appear only on success.

* :func:`check_output_file` / :func:`check_output_folder`: output paths
  checked before any work (:class:`OutputPathError` naming the option);
* :class:`StagedOutputs`: outputs written to temporaries next to their
  destinations and moved into place only on success, so a failed run leaves
  neither a partial output nor a damaged earlier one.

Used by the video demo (``docs/video_demo.md``).
"""
from __future__ import annotations

import os
import os.path as osp
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from .video_sources import PathLike


class OutputPathError(ValueError):
    """An output path that cannot be used; the message starts with the
    option (``--out``, ...) and the path."""


#: Names of the files :class:`IdPngWriter` writes (``000000.png``, ...).
ID_PNG_NAME = re.compile(r'\d{6,}\.png')


def _check_parent(path: Path, where: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder
    (missing folders below it are created when the output is staged)."""
    ancestor = Path(osp.abspath(path)).parent
    while not osp.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f'{where}: cannot be written: {ancestor} is a '
                              'file, not a folder')
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f'{where}: cannot be written: the folder '
                              f'{ancestor} is not writable')


def check_output_file(path: PathLike, option: str,
                      extensions: Optional[Sequence[str]] = None) -> Path:
    """Check an output file path before any work is done.

    The path must not be a folder (an existing file is fine: it is replaced
    on success), its extension one of ``extensions`` (any case), and its
    nearest existing ancestor a writable folder (missing folders are made
    when the output is staged).

    Args:
        path (str | Path): The output file.
        option (str): The option it came from, for messages (``--json``).
        extensions (Sequence[str], optional): Allowed extensions with the
            dot (``('.mp4', )``). Defaults to any.

    Returns:
        Path: ``path``.

    Raises:
        OutputPathError: ``"<option> <path>: <reason>"``.
    """
    path = Path(path)
    where = f'{option} {path}'
    if extensions is not None and \
            path.suffix.lower() not in [e.lower() for e in extensions]:
        raise OutputPathError(
            f'{where}: unsupported extension {path.suffix or "(none)"} '
            f'(use {" or ".join(extensions)})')
    if path.is_dir():
        raise OutputPathError(f'{where}: is a folder')
    if osp.lexists(path) and not path.is_file():
        raise OutputPathError(f'{where}: is not a regular file')
    _check_parent(path, where)
    return path


def check_output_folder(
        path: PathLike, option: str,
        is_own_file: Callable[[str], bool] = lambda name: bool(
            ID_PNG_NAME.fullmatch(name))) -> Path:
    """Check an output folder path before any work is done.

    The path must not be a file. An existing folder must be empty or hold
    only files of an earlier run (``is_own_file(name)``, by default id PNGs
    ``000000.png``, ...): it is replaced as a whole on success; anything
    else in it (other files, subfolders) is refused rather than deleted.
    Its nearest existing ancestor must be a writable folder.

    Args:
        path (str | Path): The output folder.
        option (str): The option it came from, for messages (``--png-dir``).
        is_own_file (Callable[[str], bool]): Whether a file name is one an
            earlier run wrote.

    Returns:
        Path: ``path``.

    Raises:
        OutputPathError: ``"<option> <path>: <reason>"``.
    """
    path = Path(path)
    where = f'{option} {path}'
    if osp.lexists(path) and not path.is_dir():
        raise OutputPathError(f'{where}: is a file')
    if path.is_dir():
        foreign = sorted(
            entry.name for entry in os.scandir(path)
            if not (entry.is_file(follow_symlinks=False)
                    and is_own_file(entry.name)))
        if foreign:
            shown = ', '.join(foreign[:5]) + (', ...' if len(foreign) > 5
                                              else '')
            raise OutputPathError(
                f'{where}: holds files that are not id PNGs of an earlier '
                f'run ({shown}); give an empty or a new folder')
    _check_parent(path, where)
    return path


def _umask() -> int:
    """The process umask (read without changing it where Linux allows)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class StagedOutputs:
    """Outputs written to temporaries and moved into place only on success.

    :meth:`file` / :meth:`folder` give a hidden temporary next to the
    destination (``.<name>.<random>.tmp<ext>``, in the same folder so that
    the final move is a rename on the same file system); missing parent
    folders are made. :meth:`commit` moves every temporary onto its
    destination (``os.replace`` for files: atomic, an existing file is
    replaced; an existing folder is renamed aside, the new one renamed in,
    then the old one deleted) and gives them the permissions of a normally
    created file / folder. :meth:`discard` deletes the temporaries and the
    folders made for them, leaving existing outputs untouched. As a context
    manager, whatever is not committed is discarded on exit (also on an
    exception or ``KeyboardInterrupt``).
    """

    def __init__(self) -> None:
        self._files: List[Tuple[Path, Path]] = []
        self._folders: List[Tuple[Path, Path]] = []
        self._made: List[Path] = []  # in the order they were made

    def _make_parents(self, dest: Path) -> None:
        missing = []
        parent = Path(osp.abspath(dest)).parent
        while not osp.lexists(parent):
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            self._made.append(folder)

    def file(self, dest: PathLike) -> Path:
        """A new empty temporary file for ``dest`` (same extension)."""
        dest = Path(dest)
        self._make_parents(dest)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{dest.stem}.', suffix=f'.tmp{dest.suffix}',
            dir=Path(osp.abspath(dest)).parent)
        os.close(fd)
        self._files.append((Path(tmp), dest))
        return Path(tmp)

    def folder(self, dest: PathLike) -> Path:
        """A new empty temporary folder for ``dest``."""
        dest = Path(dest)
        self._make_parents(dest)
        tmp = Path(
            tempfile.mkdtemp(prefix=f'.{dest.name}.', suffix='.tmp',
                             dir=Path(osp.abspath(dest)).parent))
        self._folders.append((tmp, dest))
        return tmp

    def commit(self) -> None:
        """Move every temporary onto its destination."""
        umask = _umask()
        for tmp, dest in self._folders:
            os.chmod(tmp, 0o777 & ~umask)
            if osp.lexists(dest):
                old = dest.parent / f'.{dest.name}.{uuid.uuid4().hex}.old'
                os.rename(dest, old)
                try:
                    os.rename(tmp, dest)
                except BaseException:
                    os.rename(old, dest)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, dest)
        self._folders = []
        for tmp, dest in self._files:
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, dest)
        self._files = []
        self._made = []

    def discard(self) -> None:
        """Delete the temporaries and the folders made for them."""
        for tmp, _ in self._files:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        for tmp, _ in self._folders:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(self._made):
            try:
                folder.rmdir()  # only if empty: never anything else's
            except OSError:
                pass
        self._files, self._folders, self._made = [], [], []

    def __enter__(self) -> 'StagedOutputs':
        return self

    def __exit__(self, *exc) -> None:
        self.discard()
