"""Result types of a catalogue import."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rejection:
    """An item (or file) that was not catalogued, and why."""

    item_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item_id}: {self.reason}"


@dataclass
class AddResult:
    """Counts of one :func:`backend.catalogue.add_source` run.

    Attributes:
        added: new images.
        updated: images whose item JSON changed (``item_hash`` differs).
        unchanged: items already catalogued with the same hash (nothing written).
        rejected: items not catalogued, with the reason.
        jobs_created: new extraction jobs (image x overlapping parcel set).
        jobs_reset: done/failed jobs set back to pending because band hrefs changed.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    jobs_created: int = 0
    jobs_reset: int = 0

    @property
    def seen(self) -> int:
        """Every item read from the source (kept or rejected)."""
        return self.added + self.updated + self.unchanged + len(self.rejected)

    def __str__(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.rejected)} rejected; {self.jobs_created} extraction jobs created, "
                f"{self.jobs_reset} reset")
