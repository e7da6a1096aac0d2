"""A folder of photos from a field campaign into one parcel set, with a per-file report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.db import connect
from backend.errors import AlreadyExists, CbmError, NotFound
from backend.photos.link import Target
from backend.photos.service import add_photo
from backend.settings import Settings


@dataclass
class ImportReport:
    """What happened to each file: ``stored`` (with the photo), ``already`` stored, or ``refused``."""

    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (file, outcome, detail)

    def count(self, outcome: str) -> int:
        """Files with this outcome."""
        return sum(1 for _, o, _ in self.lines if o == outcome)


def photo_files(folder: Path) -> list[Path]:
    """Every regular, non-hidden file of a folder (not recursive), by name.

    Raises:
        NotFound: the folder does not exist or holds no files.
    """
    if not folder.is_dir():
        raise NotFound(f"{folder} is not a folder: give the folder that holds the photos")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise NotFound(f"{folder} holds no files")
    return files


def import_folder(settings: Settings, folder: Path, *, aoi: str, year: int, uploader: str,
                  condition: str | None = None, on_file: Callable[[str, str, str], None] | None = None
                  ) -> ImportReport:
    """Store each photo of ``folder`` in the set ``aoi`` ``year``, linked by its GPS position.

    A file named ``<pid>__<anything>.jpg`` declares its parcel (``pid`` may not contain ``__``).
    Every file is handled on its own: one refused file does not stop the others.
    """
    report = ImportReport()
    with connect(settings, autocommit=True) as conn:
        for path in photo_files(folder):
            pid = path.stem.split("__", 1)[0] if "__" in path.stem else None
            target = Target(aoi, year, pid, condition)
            try:
                photo = add_photo(conn, settings, path.read_bytes(), target, uploader=uploader,
                                  can_read=lambda _aoi: True)
            except AlreadyExists as exc:
                line = (path.name, "already", str(exc))
            except CbmError as exc:
                line = (path.name, "refused", str(exc))
            else:
                failed = ", ".join(photo["failed"]) or "none"
                line = (path.name, "stored", f"photo {photo['id']} of parcel {photo['pid']}; failed checks: "
                        f"{failed}")
            report.lines.append(line)
            if on_file is not None:
                on_file(*line)
    return report
