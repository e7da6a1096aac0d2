"""Archives of parcel files: tell them by their first bytes and pick the parcel file inside.

A zip is recognised whatever its name (``PK`` header) and read in place through GDAL's
``/vsizip/{archive}/member`` (GeoParquet members through pyarrow). The parcel file may sit
anywhere in the zip's tree; several candidates are refused with their list unless ``layer``
names one of them. A 7z archive (also multi-volume ``.7z.001``, ``.7z.002``...) has its parcel
file (and the files beside it, e.g. a shapefile's parts) extracted to a temporary directory.
Rar archives are refused: unpack them first.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import multivolumefile
import py7zr

from backend.errors import InvalidInput

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or an empty zip
VECTOR_SUFFIXES = (".gpkg", ".shp", ".fgb", ".geojson", ".gml", ".parquet", ".geoparquet")
_REFUSED_MAGIC = {
    b"Rar!\x1a\x07": "rar is not supported: unpack it first",
}
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"


def _head(path: Path) -> bytes:
    """The first bytes of ``path``, enough for every magic number here."""
    with path.open("rb") as f:
        return f.read(8)


def is_7z(path: Path) -> bool:
    """Whether ``path`` is a 7z archive (or the first volume of one), told by its first bytes."""
    return _head(path).startswith(SEVEN_ZIP_MAGIC)


@contextlib.contextmanager
def extracted_7z(path: Path, layer: str | None) -> Iterator[tuple[Path, str | None]]:
    """Extract the parcel file of the 7z ``path`` to a temporary directory (removed on exit).

    Yields:
        The extracted file and the layer left to choose in it.

    Raises:
        InvalidInput: corrupt or incomplete archive, or several candidates and ``layer`` names none.
    """
    with tempfile.TemporaryDirectory(prefix="cbm-7z-") as tmp:
        try:
            with contextlib.ExitStack() as stack:
                archive = stack.enter_context(_open_7z(path, stack))
                names = [n for n in archive.getnames() if not archive.getinfo(n).is_directory]
                member, layer = _pick(path, names, layer)
                if member is None:
                    raise InvalidInput(f"{path.name} holds no parcel file (none of "
                                       f"{', '.join(VECTOR_SUFFIXES)}): check the archive")
                stem = str(PurePosixPath(member).with_suffix(""))
                archive.extract(tmp, targets=[n for n in names if n.startswith(stem + ".")])
        except (py7zr.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError, OSError) as exc:
            raise InvalidInput(f"cannot unpack {path.name} ({type(exc).__name__}: {exc}): all "
                               "volumes (.7z.001, .7z.002, ...) must sit beside it, complete") from None
        yield Path(tmp) / member, layer


def _open_7z(path: Path, stack: contextlib.ExitStack) -> py7zr.SevenZipFile:
    if path.suffix[1:].isdigit():  # .7z.001 as 7-Zip writes them (the volumes beside it)
        # a file object over all volumes, closed by the caller's stack (py7zr leaves it open)
        volumes: Any = stack.enter_context(multivolumefile.open(path.with_suffix(""), mode="rb"))
        return py7zr.SevenZipFile(volumes)
    return py7zr.SevenZipFile(path)


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a zip archive, told by its first bytes (whatever its name)."""
    return _head(path)[:4] in ZIP_MAGIC


def refuse_archive(path: Path) -> None:
    """Refuse archive formats that cannot be read (rar), told by their first bytes."""
    head = _head(path)
    for magic, reason in _REFUSED_MAGIC.items():
        if head.startswith(magic):
            raise InvalidInput(f"{path.name}: {reason}, then import the parcel file inside")


def zip_member(path: Path, layer: str | None) -> tuple[str | None, str | None]:
    """The parcel file inside the zip ``path`` and the layer left to choose in it.

    Returns:
        ``(member, layer)``: ``member`` is ``None`` when the zip holds no file with a known
        vector suffix (GDAL then opens the archive itself); ``layer`` is ``None`` when it
        named the member.

    Raises:
        InvalidInput: the zip is corrupt, or holds several candidates and ``layer`` names none.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path.name} is not a readable zip ({exc}): download it again") from None
    return _pick(path, names, layer)


def _pick(path: Path, names: list[str], layer: str | None) -> tuple[str | None, str | None]:
    candidates = sorted(n for n in names if PurePosixPath(n).suffix.lower() in VECTOR_SUFFIXES)
    if len(candidates) == 1:
        named = layer is not None and _names(candidates[0], layer)
        return candidates[0], None if named else layer
    if not candidates:
        return None, layer
    chosen = [n for n in candidates if layer is not None and _names(n, layer)]
    if len(chosen) == 1:
        return chosen[0], None
    raise InvalidInput(f"{path.name} holds {len(candidates)} parcel files: {', '.join(candidates)}; "
                       "choose one with --layer NAME (or layer: in the mapping file)")


def _names(member: str, layer: str) -> bool:
    p = PurePosixPath(member)
    return layer in (member, p.name, p.stem)
