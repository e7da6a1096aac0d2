"""Result types of a catalogue import."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

COUNTS = ("added", "updated", "unchanged", "skipped", "rejected")


@dataclass(frozen=True)
class Rejection:
    """An item (or file) that was not catalogued, and why."""

    item_id: str
    reason: str
    profile: str = ""  # the profile that refused it, '' when none fitted

    def __str__(self) -> str:
        return f"{self.item_id}: {self.reason}"


@dataclass
class AddResult:
    """Counts of one :func:`backend.catalogue.add_source` run.

    Attributes:
        added: new images.
        updated: images whose item JSON changed (``item_hash`` differs).
        unchanged: items already catalogued with the same hash (nothing written).
        skipped: items outside the filters (bbox, dates, cloud cover, collection).
        rejected: items not catalogued, with the reason.
        duplicates: images recorded as another copy of an acquisition (no jobs of their own).
        jobs_created: new extraction jobs (image x parcel set of its season).
        jobs_reset: done/failed jobs set back to pending because band hrefs changed.
        by_profile: profile name ('' for none) -> counts of ``COUNTS``.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0
    jobs_created: int = 0
    jobs_reset: int = 0
    by_profile: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COUNTS, 0)))

    def count(self, profile: str, what: str) -> None:
        """Count one item of ``profile`` as ``what`` (one of ``COUNTS``)."""
        if what in ("added", "updated", "unchanged", "skipped"):
            setattr(self, what, getattr(self, what) + 1)
        self.by_profile[profile][what] += 1

    def merge(self, other: AddResult) -> None:
        """Add the counts (and rejections) of ``other``, e.g. one batch's, to these."""
        for name in ("added", "updated", "unchanged", "skipped", "duplicates", "jobs_created",
                     "jobs_reset"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)
        for profile, counts in other.by_profile.items():
            for what, n in counts.items():
                self.by_profile[profile][what] += n

    @property
    def seen(self) -> int:
        """Every item read from the source (kept, skipped by filters or rejected)."""
        return self.added + self.updated + self.unchanged + self.skipped + len(self.rejected)

    @property
    def kept(self) -> int:
        """Items catalogued (added, updated or unchanged)."""
        return self.added + self.updated + self.unchanged

    def profile_lines(self) -> list[str]:
        """One line per profile: ``profile: N added, N unchanged, ...``."""
        return [f"{name or '(no profile)'}: " + ", ".join(f"{c[n]} {n}" for n in COUNTS)
                for name, c in sorted(self.by_profile.items())]

    def __str__(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.skipped} skipped by filters, {len(self.rejected)} rejected, "
                f"{self.duplicates} duplicates; {self.jobs_created} extraction jobs created, "
                f"{self.jobs_reset} reset")
