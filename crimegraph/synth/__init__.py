"""Synthetic 'village push' cases in the real export formats.

:func:`generate_case` draws a crime chain (pushers posting victims' ID
numbers, phones and SMS codes into number merchants' WeChat groups; a
commission of 5-50 yuan per account registered; merchants selling accounts to resale nodes), adds
realistic noise (family, shops, red packets, chit-chat, the same group exported
from several phones, a duplicated bill, a few damaged rows, an unrecognisable
file) and writes it as a case folder plus a ground-truth file.

All names and numbers are invented; ID numbers and bank cards are
checksum-valid. The same ``seed`` and ``scale`` give byte-identical folders.

Examples
--------
>>> import tempfile, json, pathlib
>>> from crimegraph.synth import generate_case
>>> out = pathlib.Path(tempfile.mkdtemp()) / "demo"
>>> summary = generate_case(out, scale="small", seed=1)
>>> sorted(p.name for p in out.iterdir())
['case', 'ground_truth.json', 'ground_truth_victims.csv']
>>> summary.counts["victims"] > 50
True
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._validation import check_choice, check_seed_int
from .case import write_case
from .world import SCALES, Scale, World, build_world

__all__ = ["generate_case", "SynthSummary", "SCALES", "Scale", "World", "build_world"]


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`generate_case` wrote.

    Attributes
    ----------
    out : pathlib.Path
        The output folder; the case folder is ``out / "case"``.
    case_dir : pathlib.Path
        The case folder to give to the loaders.
    truth_path : pathlib.Path
        ``ground_truth.json``.
    scale : str
    seed : int
    counts : dict
        Persons, victims, accounts, devices, messages, transfers.
    """

    out: Path
    case_dir: Path
    truth_path: Path
    scale: str
    seed: int
    counts: dict[str, Any]


def generate_case(out: str | Path, *, scale: str | Scale = "small", seed: int = 0,
                  overwrite: bool = False) -> SynthSummary:
    """Generate a synthetic case folder and its ground truth.

    Parameters
    ----------
    out : str or path-like
        Output folder. It must not exist or be empty, unless ``overwrite``.
    scale : {"small", "medium", "dingtao"} or Scale, default "small"
        ``small``: tens of people (tests, the bundled sample); ``medium``: a
        few hundred; ``dingtao``: 1,000 phones, ~600,000 leaked identities.
    seed : int, default 0
        Seed of the generator.
    overwrite : bool, default False
        Replace an existing non-empty ``out``.

    Returns
    -------
    SynthSummary

    Raises
    ------
    ValueError
        Unknown ``scale``, negative ``seed``, or ``out`` not empty.
    """
    if isinstance(scale, str):
        check_choice("scale", scale, sorted(SCALES))
        sc = SCALES[scale]
    elif isinstance(scale, Scale):
        sc = scale
    else:
        raise TypeError(f"scale must be a name {sorted(SCALES)} or a Scale, got {type(scale).__name__}")
    check_seed_int("seed", seed)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"output folder {out} is not empty; choose another --out or pass "
                                  "overwrite=True (--overwrite) to replace it")
        shutil.rmtree(out)
    world = build_world(sc, seed)
    truth = write_case(world, out)
    return SynthSummary(out, out / "case", out / "ground_truth.json", sc.name, seed,
                        dict(truth["counts"]))  # type: ignore[arg-type]
