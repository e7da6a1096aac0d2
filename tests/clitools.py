"""``cbm`` run in-process on the test database, and the refusal checks of the ancillary imports.

``cbm import weather`` and ``cbm import terrain`` refuse the same way: a bad file exits 65
with a one-line message and leaves the set's data as it was; existing data without
``--replace`` exits 73; an unknown parcel set exits 66. The checks live here once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from backend.cli import main
from backend.db import database_url
from backend.settings import Settings, get_settings


def run(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``cbm ARGS`` in this process; its exit code and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return int(exit_info.value.code or 0), capsys.readouterr().err


@contextlib.contextmanager
def cli_on(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the in-process ``cbm`` (its cached settings) at the database of ``settings``."""
    monkeypatch.setenv("CBM_DATABASE_URL", database_url(settings))
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()


def _args(command: Sequence[str], path: Path | str, aoi: str, year: int, *extra: str) -> list[str]:
    return [*command, str(path), "--aoi", aoi, "--year", str(year), *extra]


def assert_refused_unchanged(command: Sequence[str], aoi: str, year: int,
                             cases: Mapping[str, tuple[Path, str]], state: Callable[[], Any],
                             capsys: pytest.CaptureFixture[str]) -> None:
    """Each bad input (case -> (path, words of the message)) exits 65 with one line; ``state()`` unchanged."""
    before = state()
    for case, (path, message) in cases.items():
        code, err = run(_args(command, path, aoi, year, "--replace"), capsys)
        assert code == 65, (case, err)
        assert message in err and err.startswith("error: "), (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        assert state() == before, case


def assert_needs_replace_and_a_known_set(command: Sequence[str], path: Path, aoi: str, year: int,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A set that has the data refuses a second import without --replace (73); an unknown set is 66."""
    code, err = run(_args(command, path, aoi, year), capsys)
    assert code == 73 and "--replace" in err, err
    code, err = run(_args(command, path, "zz", year), capsys)
    assert code == 66 and f"no parcel set zz {year}" in err, err
