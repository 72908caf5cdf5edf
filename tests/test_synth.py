"""Synthetic case generator (issue #2): determinism, realism, ground truth, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from crimegraph.cli import main
from crimegraph.identifiers import extract_identifiers, is_valid_id_number, normalize_bank_card
from crimegraph.synth import SCALES, build_world, generate_case

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "small"


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "s1"
    generate_case(out, scale="small", seed=1)
    return out


def test_same_seed_byte_identical_via_cli(small, tmp_path):
    assert main(["synth", "--scale", "small", "--seed", "1", "--out", str(tmp_path / "x"), "--quiet"]) == 0
    assert _tree_digest(tmp_path / "x") == _tree_digest(small)


def test_committed_sample_is_generator_output(small):
    """data/samples/small must be exactly `crimegraph synth --scale small --seed 1`."""
    assert _tree_digest(SAMPLE) == _tree_digest(small)


def test_other_seed_differs(small, tmp_path):
    generate_case(tmp_path / "s2", scale="small", seed=2)
    assert _tree_digest(tmp_path / "s2") != _tree_digest(small)


def test_ground_truth_is_consistent(small):
    truth = json.loads((small / "ground_truth.json").read_text(encoding="utf-8"))
    roles = {p["person_id"]: p["role"] for p in truth["persons"]}
    assert {"pusher", "merchant", "resale", "other"} <= set(roles.values())
    for merchant, crew in truth["crews"].items():
        assert roles[merchant] == "merchant"
        assert crew and all(roles[p] == "pusher" for p in crew)
    for buyers in truth["buyers"].values():
        assert all(roles[b] == "resale" for b in buyers)
    for p in truth["persons"]:
        assert is_valid_id_number(p["id_number"])
        assert normalize_bank_card(p["bank_card"]) == p["bank_card"]
    # "tens of people" at small scale
    suspects = [r for r in roles.values() if r != "other"]
    assert 10 <= len(suspects) <= 60
    # every listed file exists; faults point into real files
    for f in truth["files"]:
        assert (small / "case" / f).is_file(), f
    assert {m["reason"] for m in truth["malformed_rows"]} == {
        "truncated row", "bad amount", "unparseable CreateTime/StrTime"}
    assert len(truth["duplicate_files"]) == 1
    assert truth["unrecognised_files"]


def test_every_victim_posted_in_a_chat_and_ids_valid(small):
    with open(small / "ground_truth_victims.csv", encoding="utf-8") as fh:
        victims = list(csv.DictReader(fh))
    assert len(victims) > 50
    posted: set[str] = set()
    for f in (small / "case").rglob("*.csv"):
        if "聊天记录" in f.as_posix():
            posted |= set(extract_identifiers(f.read_text(encoding="utf-8-sig")).id_numbers)
    for v in victims:
        assert is_valid_id_number(v["id_number"])
        assert v["id_number"] in posted


def test_commissions_between_5_and_50_yuan():
    world = build_world(SCALES["small"], seed=3)
    commissions = [t for t in world.transfers if t.purpose == "commission"]
    assert commissions
    assert all(Decimal(5) <= t.amount <= Decimal(50) for t in commissions)
    for t in commissions:
        assert world.persons[t.payer].role == "merchant"
        assert world.persons[t.payee].role == "pusher"
        assert world.persons[t.payee].crew == t.payer
    sales = [t for t in world.transfers if t.purpose == "sale"] + \
            [b for b in world.bank if b.purpose == "sale" and b.direction == "出"]
    assert sales


def test_case_toml_names_some_owners(small):
    doc = tomllib.loads((small / "case" / "case.toml").read_text(encoding="utf-8"))
    assert doc["case"]["title"]
    folders = {d.name for d in (small / "case").iterdir() if d.is_dir()}
    declared = [d["folder"] for d in doc["device"]]
    assert declared and set(declared) <= folders
    assert len(declared) < len(folders)   # some owners left to inference


def test_hostile_nickname_present(small):
    text = "".join(p.read_text(encoding="utf-8-sig", errors="replace")
                   for p in (small / "case").rglob("*.csv"))
    assert "<img src=x onerror=alert(1)>" in text


def test_scales_known():
    assert set(SCALES) == {"small", "medium", "dingtao"}
    d = SCALES["dingtao"]
    pushers = d.n_merchants * sum(d.pushers_per_merchant) / 2
    assert 900 <= pushers + d.n_merchants + d.n_resale + d.second_phones <= 1100   # ~1,000 phones
    # ~600k identities: the mean draw, less days off (15%)
    assert 500_000 <= pushers * sum(d.victims_per_pusher) / 2 * 0.85 <= 700_000


def test_refuses_non_empty_out(small, capsys):
    assert main(["synth", "--out", str(small), "--quiet"]) == 1
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [{"scale": "huge"}, {"seed": -1}])
def test_bad_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_case(tmp_path / "x", **bad)


def test_help_is_readable(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "synth" in out and "offline" in out
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    assert "--scale" in capsys.readouterr().out
    assert main([]) == 2


def test_cli_load_writes_tables(tmp_path, capsys):
    assert main(["load", str(SAMPLE / "case"), "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "unexplained: 0" in out and "rejected" in out
    for name in ("load_report.csv", "rejects.csv", "transfers.csv", "messages.csv", "contacts.csv",
                 "devices.csv"):
        assert (tmp_path / "t" / name).is_file()
    with open(tmp_path / "t" / "rejects.csv", encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    assert main(["load", str(tmp_path / "nope")]) == 1
    assert "not a case folder" in capsys.readouterr().err


def test_cli_report_writes_outputs(tmp_path, capsys):
    assert main(["report", str(SAMPLE / "case"), "--out", str(tmp_path / "r")]) == 0
    assert "first targets" in capsys.readouterr().out
    for name in ("people.csv", "targets.csv", "victims.csv", "transfers.csv", "messages.csv",
                 "rejects.csv", "load_report.csv"):
        assert (tmp_path / "r" / name).is_file(), name
    with open(tmp_path / "r" / "targets.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:7] == ["rank", "person_id", "name", "role", "score", "victims_cut", "reason"]
    assert rows[0]["role"] in ("merchant", "resale")
