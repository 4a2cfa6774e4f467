"""Baselines survive inserted rules, still fail on new findings, report stale entries
(issue 6, item 4) — and FW004, which needs a baseline file, is shown here."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import active, require_parser, suppressed

OPTIONS = ("--isolated", "--policy", "none", "--select", "FW3,FW101")

BEFORE = """\
*filter
:INPUT ACCEPT [0:0]
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
"""

INSERTED = """\
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 443 -j ACCEPT
-A INPUT -p udp --dport 53 -j ACCEPT
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
"""


def create(fwlint, tmp_path: Path, *paths: str):
    run = fwlint("baseline", "create", "baseline.json", *paths, *OPTIONS, cwd=tmp_path)
    assert run.code == 0, run.err
    return json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))


def check(fwlint, tmp_path: Path, *paths: str, baseline: str = "baseline.json"):
    return fwlint("check", *OPTIONS, "--output-format", "json", "--baseline", baseline,
                  *paths, cwd=tmp_path)


def test_baseline_matches_after_rules_are_inserted_above(fwlint, tmp_path):
    require_parser("iptables")
    rules = tmp_path / "rules.v4"
    rules.write_text(BEFORE, encoding="utf-8")
    before = fwlint("check", *OPTIONS, "--output-format", "json", "rules.v4", cwd=tmp_path)
    assert before.code == 1 and len(active(before.findings())) >= 3
    document = create(fwlint, tmp_path, "rules.v4")
    assert document["version"] == 1
    assert {(e["path"], e["code"]) for e in document["entries"]} == \
        {("rules.v4", f["code"]) for f in before.findings()}
    assert all(set(e) == {"path", "code", "fingerprint", "message"} for e in document["entries"])

    rules.write_text(INSERTED, encoding="utf-8")
    run = check(fwlint, tmp_path, "rules.v4")
    assert run.code == 0, run.out
    assert active(run.findings()) == []
    moved = suppressed(run.findings())
    assert len(moved) == len(document["entries"])
    assert {kind for _code, _line, kind in moved} == {"baseline"}
    assert ("FW303", 8, "baseline") in moved, "the duplicate moved from line 5 to 8"


def test_new_finding_still_fails_the_run(fwlint, tmp_path):
    require_parser("iptables")
    rules = tmp_path / "rules.v4"
    rules.write_text(BEFORE, encoding="utf-8")
    create(fwlint, tmp_path, "rules.v4")
    rules.write_text(INSERTED.replace("COMMIT", "-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT"),
                     encoding="utf-8")
    run = check(fwlint, tmp_path, "rules.v4")
    assert run.code == 1
    assert active(run.findings()) == [("FW303", 9)]


def test_stale_entries_are_reported_for_checked_files_only(fwlint, tmp_path):
    require_parser("iptables")
    (tmp_path / "rules.v4").write_text(BEFORE, encoding="utf-8")
    (tmp_path / "other.v4").write_text(BEFORE, encoding="utf-8")
    document = create(fwlint, tmp_path, "rules.v4", "other.v4")
    fixed = BEFORE.replace("-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT", "COMMIT")
    (tmp_path / "rules.v4").write_text(fixed, encoding="utf-8")
    run = check(fwlint, tmp_path, "rules.v4", "--select", "FW3,FW101,FW004")
    stale = [f for f in run.findings() if f["code"] == "FW004"]
    assert len(stale) == 1
    assert stale[0]["location"]["path"] == "baseline.json"
    entry_lines = (tmp_path / "baseline.json").read_text(encoding="utf-8").splitlines()
    written = entry_lines[stale[0]["location"]["line"] - 1]
    assert '"path": "rules.v4"' in written and '"code": "FW303"' in written
    assert "other.v4" not in json.dumps(stale), "other.v4 was not checked: its entries stay"
    assert len(document["entries"]) > 2


def test_baseline_from_configuration_and_from_another_folder(fwlint, tmp_path):
    require_parser("iptables")
    repo = tmp_path / "repo"
    (repo / "etc").mkdir(parents=True)
    (repo / "etc" / "rules.v4").write_text(BEFORE, encoding="utf-8")
    run = fwlint("baseline", "create", "repo/.fwlint-baseline.json", "repo/etc/rules.v4",
                 *OPTIONS, cwd=tmp_path)
    assert run.code == 0
    entries = json.loads((repo / ".fwlint-baseline.json").read_text())["entries"]
    assert {e["path"] for e in entries} == {"etc/rules.v4"}, "paths relative to the baseline"
    (repo / "pyproject.toml").write_text('[tool.fwlint]\nbaseline = ".fwlint-baseline.json"\n'
                                         'policy = "none"\nselect = ["FW3", "FW101"]\n')
    (repo / "etc" / "rules.v4").write_text(INSERTED, encoding="utf-8")
    run = fwlint("check", "--output-format", "json", "etc/rules.v4", cwd=repo)
    assert run.code == 0
    assert active(run.findings()) == []


def test_bad_baseline_file_is_exit_2(fwlint, tmp_path):
    require_parser("iptables")
    (tmp_path / "rules.v4").write_text(BEFORE, encoding="utf-8")
    (tmp_path / "baseline.json").write_text('{"version": 1, "entries": [\n', encoding="utf-8")
    run = check(fwlint, tmp_path, "rules.v4")
    assert run.code == 2 and "baseline.json:2" in run.err
    assert check(fwlint, tmp_path, "rules.v4", baseline="missing.json").code == 2


def test_every_check_fingerprint_ignores_line_numbers(fwlint, tmp_path):
    """Shift real files down by a few comment lines: every baselined finding still matches."""
    require_parser("iptables")
    require_parser("nft")
    import os
    import shutil

    from netns import CORPUS, corpus_inventory

    rows = [r for r in corpus_inventory() if r["format"] in ("iptables-save", "nft")
            and r.get("real_tool") == "ok"]
    picked = []
    for row in rows[::15]:
        source = os.path.join(CORPUS, row["path"])
        if os.path.isfile(source) and os.path.getsize(source) < 8_000:
            target = tmp_path / f"{len(picked)}-{os.path.basename(source)}"
            shutil.copyfile(source, target)
            picked.append(target.name)
    assert len(picked) >= 5
    everything = ("--isolated", "--select", "ALL")
    assert fwlint("baseline", "create", "baseline.json", *picked, *everything,
                  cwd=tmp_path).code == 0
    document = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))
    assert len({e["code"] for e in document["entries"]}) >= 3, "several checks take part"
    for name in picked:
        path = tmp_path / name
        path.write_text("# moved down\n#\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    run = fwlint("check", *everything, "--output-format", "json", "--baseline",
                 "baseline.json", *picked, cwd=tmp_path)
    leftovers = [f"{f['code']} {f['location']['path']}:{f['location']['line']} {f['message']}"
                 for f in run.findings() if "suppressed" not in f]
    assert leftovers == []
    assert run.code == 0
