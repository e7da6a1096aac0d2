"""``cbm qa`` as a real subprocess against the test database (issue 25): exit codes and the whole flow."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from test_cli import run_cbm
from test_qa_sampling import make_set

from backend.db import database_url
from backend.settings import Settings


def test_sample_import_measure_report(settings: Settings, conn: psycopg.Connection, tmp_path: Path) -> None:
    key = make_set(conn, 200, ("mown",))
    conn.commit()
    env = {"CBM_DATABASE_URL": database_url(settings)}
    where = ("--aoi", key.aoi, "--year", "2025")

    bad = run_cbm("qa", "sample", *where, "--condition", "mown", "--size", "201", env=env)
    assert bad.returncode == 65 and "larger than the 200 decisions" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    bad = run_cbm("qa", "sample", *where, "--condition", "soil", "--size", "5", env=env)
    assert bad.returncode == 66 and "known: mown" in bad.stderr
    bad = run_cbm("qa", "sample", *where, "--condition", "mown", "--size", "5", "--precision", "0.1", env=env)
    assert bad.returncode == 65 and "either" in bad.stderr
    bad = run_cbm("qa", "sample", *where, "--condition", "mown", "--precision", "0.001", env=env)
    assert bad.returncode == 65 and "cannot be met" in bad.stderr

    ok = run_cbm("qa", "sample", *where, "--condition", "mown", "--size", "12", "--strata", "colour",
                 "--seed", "3", env=env)
    assert ok.returncode == 0, ok.stderr
    sample = re.match(r"QA sample (\d+): 12 units", ok.stdout)
    assert sample, ok.stdout
    sid = sample.group(1)
    pids = [r["pid"] for r in conn.execute(
        "SELECT p.pid FROM qa_units u JOIN parcels p ON p.set_id = u.set_id AND p.id = u.parcel_id "
        "WHERE u.sample_id = %s ORDER BY p.pid", (int(sid),))]
    head = "pid,condition,truth,method,inspector,date,comment\n"
    broken = tmp_path / "broken.csv"
    broken.write_text(head + f"{pids[0]},mown,compliant,field_visit,Ann,2025-07-01,\n"
                      "P9999999,mown,compliant,field_visit,Ann,2025-07-01,\n"
                      f"{pids[1]},mown,green,field_visit,Ann,2025-07-01,\n")
    res = run_cbm("qa", "import", *where, "--sample", sid, str(broken), env=env)
    assert res.returncode == 65 and "line 3" in res.stderr and "line 4" in res.stderr, res.stderr
    good = tmp_path / "good.csv"
    good.write_text(head + "".join(f"{p},mown,{'not_compliant' if i == 0 else 'compliant'},vhr_image,Ann,"
                                   f"2025-07-0{1 + i % 9},\n" for i, p in enumerate(pids)))
    res = run_cbm("qa", "import", *where, "--sample", sid, str(good), env=env)
    assert res.returncode == 0 and "12 inspections imported" in res.stdout, res.stderr

    res = run_cbm("qa", "measure", *where, "--sample", sid, env=env)
    assert res.returncode == 0 and "12/12 inspected" in res.stdout and "wrong_green" in res.stdout, res.stderr
    html, pdf = tmp_path / "qa.html", tmp_path / "qa.pdf"
    res = run_cbm("qa", "report", *where, "--sample", sid, "--out", str(html), "--pdf", str(pdf), env=env)
    assert res.returncode == 0, res.stderr
    assert "Confusion table" in html.read_text() and pdf.read_bytes().startswith(b"%PDF")
    listed = run_cbm("qa", "list", *where, env=env)
    assert f"{sid}\t" in listed.stdout and "12/12 inspected" in listed.stdout
