"""Scoring an analysis against a synthetic case's ground truth.

Predicted persons are matched to true persons through shared identifiers
(WeChat id, phone, bank card, ID number, Alipay account). A true suspect may be
split into several predicted persons (a bank card nobody declared): the one
holding a seized device speaks for it. A predicted pusher, merchant or resale
node that matches no true suspect counts as a false positive.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from os import PathLike
from pathlib import Path
from typing import Any

from .analysis import Analysis

__all__ = ["macro_f1", "adjusted_rand_index", "evaluate_against_truth", "CHAIN_ROLES"]

CHAIN_ROLES = ("pusher", "merchant", "resale")


def macro_f1(truth: list[str], pred: list[str], labels: tuple[str, ...] = CHAIN_ROLES) -> float:
    """Unweighted mean of per-label F1 over ``labels``.

    Examples
    --------
    >>> macro_f1(["a", "b", "b"], ["a", "b", "a"], ("a", "b"))
    0.6666666666666666
    """
    scores = []
    for lab in labels:
        tp = sum(t == lab and p == lab for t, p in zip(truth, pred, strict=True))
        fp = sum(t != lab and p == lab for t, p in zip(truth, pred, strict=True))
        fn = sum(t == lab and p != lab for t, p in zip(truth, pred, strict=True))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def adjusted_rand_index(a: list[Any], b: list[Any]) -> float:
    """Adjusted Rand index of two labelings (Hubert & Arabie 1985).

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7])
    1.0
    """
    n = len(a)
    if n != len(b):
        raise ValueError("labelings differ in length")
    if n < 2:
        return 1.0

    def c2(x: int) -> float:
        return x * (x - 1) / 2

    pairs = Counter(zip(a, b, strict=True))
    sum_ij = sum(c2(v) for v in pairs.values())
    sum_a = sum(c2(v) for v in Counter(a).values())
    sum_b = sum(c2(v) for v in Counter(b).values())
    expected = sum_a * sum_b / c2(n)
    maximum = (sum_a + sum_b) / 2
    if math.isclose(maximum, expected):
        return 1.0
    return (sum_ij - expected) / (maximum - expected)


def _truth_keys(p: dict[str, Any]) -> list[str]:
    keys = [f"wx:{p['wechat_id']}", f"phone:{p['phone']}", f"card:{p['bank_card']}",
            f"idn:{p['id_number']}", f"alipay:{p['alipay']}"]
    return [k for k in keys if not k.endswith(":")]


def evaluate_against_truth(analysis: Analysis, truth: dict[str, Any] | str | PathLike[str]) -> dict[str, Any]:
    """Role macro-F1 and crew ARI of ``analysis`` against a ground-truth file.

    Returns
    -------
    dict
        ``role_macro_f1`` (over pusher/merchant/resale, false positives included),
        ``crew_ari`` (pushers and merchants, crews = merchant), ``community_ari``
        (Louvain communities vs crews, same persons), ``confusion`` and counts.
    """
    if not isinstance(truth, dict):
        truth = json.loads(Path(truth).read_text(encoding="utf-8"))
    k2p = analysis.graph.resolution.key_to_person
    persons = analysis.graph.persons.set_index("person_id")
    roles = analysis.roles.table.set_index("person_id")
    matched: dict[str, str] = {}        # truth pid -> predicted pid
    claimed: set[str] = set()
    for p in truth["persons"]:
        cands = sorted({k2p[k] for k in _truth_keys(p) if k in k2p})
        if not cands:
            continue
        claimed.update(cands)
        owners = [c for c in cands if persons.at[c, "kind"] == "device_owner"]
        matched[p["person_id"]] = (owners or cands)[0]
    y_true, y_pred = [], []
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    for p in truth["persons"]:
        t = p["role"] if p["role"] in CHAIN_ROLES else "other"
        pred_pid = matched.get(p["person_id"])
        pr = roles.at[pred_pid, "role"] if pred_pid else "unknown"
        if t == "other" and pr not in CHAIN_ROLES:
            continue   # bystanders correctly left out of the chain
        y_true.append(t)
        y_pred.append(pr)
        confusion[(t, pr)] += 1
    for pid, r in roles["role"].items():   # chain roles given to persons that are no true suspect
        if r in CHAIN_ROLES and pid not in claimed:
            y_true.append("other")
            y_pred.append(r)
            confusion[("other", r)] += 1
    crew_true, crew_pred, comm_pred = [], [], []
    membership = analysis.partition.membership
    for p in truth["persons"]:
        if p["role"] not in ("pusher", "merchant"):
            continue
        pred_pid = matched.get(p["person_id"])
        crew_true.append(p["crew"])
        crew_pred.append(roles.at[pred_pid, "crew"] or f"none:{pred_pid}" if pred_pid else f"none:{p['person_id']}")
        comm_pred.append(membership.get(f"person:{pred_pid}", -1) if pred_pid else -1)
    return {
        "role_macro_f1": macro_f1(y_true, y_pred),
        "crew_ari": adjusted_rand_index(crew_true, crew_pred),
        "community_ari": adjusted_rand_index(crew_true, comm_pred),
        "suspects": sum(p["role"] in CHAIN_ROLES for p in truth["persons"]),
        "matched": sum(1 for p in truth["persons"] if p["role"] in CHAIN_ROLES and p["person_id"] in matched),
        "confusion": {f"{t}->{p}": n for (t, p), n in sorted(confusion.items())},
    }
