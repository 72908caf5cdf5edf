"""One call from evidence to "who is who": resolve, build, detect communities,
infer roles, summarise money; and the ``people.csv`` / ``victims.csv`` tables.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .community import Partition, detect_communities
from .graph import CaseGraph, build_graph, suspect_projection
from .io.case import Case
from .roles import RoleResult, infer_roles, money_flows

__all__ = ["Analysis", "analyse", "PEOPLE_COLUMNS", "VICTIM_COLUMNS"]

PEOPLE_COLUMNS = ("person_id", "name", "role", "role_confidence", "community", "phones", "wechat_ids",
                  "alipay_accounts", "bank_cards", "id_number", "victims", "money_in", "money_out",
                  "evidence")
VICTIM_COLUMNS = ("id_number", "name", "phone", "leaked_by", "leaked_by_name", "merchant", "first_seen",
                  "chat_id", "chat_name", "copies", "device", "source_file", "source_line")
_NAME_STOP = {"姓名", "身份证", "手机", "电话", "号码", "验证码", "地址"}
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,4}")
_NAME_STOP_RE = re.compile("|".join(sorted(_NAME_STOP)))


@dataclass
class Analysis:
    """Everything computed for a case (see :func:`analyse`).

    Attributes
    ----------
    case : Case
    graph : CaseGraph
    projection : networkx.Graph
        Person-only graph the analytics run on.
    partition : Partition
    roles : RoleResult
    money_per_person, money_per_crew : pandas.DataFrame
    """

    case: Case
    graph: CaseGraph
    projection: nx.Graph
    partition: Partition
    roles: RoleResult
    money_per_person: pd.DataFrame
    money_per_crew: pd.DataFrame
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False, compare=False)

    def people(self) -> pd.DataFrame:
        """``people.csv``: one row per resolved person (multi-values ``;``-joined)."""
        r = self.roles.table
        pid = r["person_id"]
        persons = self.graph.persons.set_index("person_id").reindex(pid)
        money = self.money_per_person.set_index("person_id").reindex(pid)
        victims = self._victims_count()
        membership = self.partition.membership
        out = pd.DataFrame({
            "person_id": pid.to_numpy(), "name": r["label"].to_numpy(), "role": r["role"].to_numpy(),
            "role_confidence": r["confidence"].to_numpy(),
            "community": [membership.get(f"person:{p}", "") for p in pid.tolist()],
            "phones": persons["phones"].to_numpy(), "wechat_ids": persons["wechat_ids"].to_numpy(),
            "alipay_accounts": persons["alipay_accounts"].to_numpy(), "bank_cards": persons["bank_cards"].to_numpy(),
            "id_number": persons["id_numbers"].to_numpy(), "victims": [victims.get(p, 0) for p in pid.tolist()],
            "money_in": money["money_in"].to_numpy(), "money_out": money["money_out"].to_numpy(),
            "evidence": r["evidence"].to_numpy(),
        })
        return out[list(PEOPLE_COLUMNS)]

    def _victims_count(self) -> dict[str, int]:
        t = self.roles.table
        out = dict(zip(t["person_id"].tolist(), t["ids_posted"].astype(int).tolist(), strict=True))
        crews = t[t["crew"] != ""].groupby("crew")["ids_posted"].sum()
        for m, n in crews.items():
            out[m] = int(n)
        return out

    def victims(self) -> pd.DataFrame:
        """``victims.csv``: each leaked ID number, who leaked it, when and where (for
        notification and account freezing)."""
        return self._victims().copy()

    def _victims(self) -> pd.DataFrame:
        """:meth:`victims`, the cached table itself (callers here only read it)."""
        if "victims" in self._cache:
            return self._cache["victims"]
        msgs = self.case.messages
        rows = np.flatnonzero(((msgs["id_numbers"] != "") & msgs["sender_wxid"].notna()).to_numpy())
        if len(rows) == 0:
            return pd.DataFrame(columns=list(VICTIM_COLUMNS))
        rows = rows[_time_then_id_order(msgs["time"].array[rows], msgs["message_id"].to_numpy(dtype=object)[rows])]

        def col(name: str) -> np.ndarray:
            return msgs[name].to_numpy(dtype=object)[rows]
        # one row per ID number, first posting first (most messages carry one)
        ids = col("id_numbers")
        n_ids = np.ones(len(rows), dtype=np.int64)
        many = np.flatnonzero([";" in s for s in ids.tolist()])
        at = np.arange(len(rows))
        if len(many):
            split = {i: s.split(";") for i, s in zip(many.tolist(), ids[many].tolist(), strict=True)}
            n_ids[many] = [len(s) for s in split.values()]
            at = np.repeat(at, n_ids)
            ids = np.array([x for i, s in enumerate(ids.tolist()) for x in split.get(i, (s,))], dtype=object)
        first = ~pd.Series(ids).duplicated(keep="first").to_numpy()
        at, ids = at[first], ids[first]
        k2p = self.graph.resolution.key_to_person
        sender = col("sender_wxid")[at]
        wx = {w: k2p.get(f"wx:{w}", "") for w in pd.unique(sender).tolist()}
        leaked_by = [wx[w] for w in sender.tolist()]
        roles = self.roles.table   # (only the posters and their merchants are looked up)
        posters = roles[roles["person_id"].isin(set(leaked_by))]
        crew = dict(zip(posters["person_id"].tolist(), posters["crew"].tolist(), strict=True))
        named = roles[roles["person_id"].isin(set(leaked_by) | set(crew.values()))]
        label = dict(zip(named["person_id"].tolist(), named["label"].tolist(), strict=True))
        one = (n_ids[at] == 1).tolist()
        out = pd.DataFrame({
            "id_number": ids,
            "name": [_guess_name(c) if o else "" for c, o in zip(col("content")[at].tolist(), one, strict=True)],
            "phone": [ph if o and ph and ";" not in ph else "" for ph, o in zip(col("phones")[at].tolist(), one,
                                                                                 strict=True)],
            "leaked_by": leaked_by, "leaked_by_name": [label.get(p, "") for p in leaked_by],
            "merchant": [label.get(crew.get(p, ""), "") for p in leaked_by],
            "first_seen": msgs["time"].array[rows[at]], "chat_id": col("chat_id")[at],
            "chat_name": pd.Series(col("chat_name")[at]).fillna("").to_numpy(), "copies": msgs["copies"].to_numpy()[rows[at]],
            "device": col("device")[at], "source_file": col("source_file")[at],
            "source_line": msgs["source_line"].to_numpy()[rows[at]],
        }, columns=list(VICTIM_COLUMNS))
        self._cache["victims"] = out
        return out

    def summary(self) -> dict[str, object]:
        t = self.roles.table
        counts = t["role"].value_counts()
        completed = self.graph.resolution.transfers
        completed = completed[completed["completed"]]
        return {"persons": int((t["role"] != "victim").sum()), "victims": int(counts.get("victim", 0)),
                "pushers": int(counts.get("pusher", 0)), "merchants": int(counts.get("merchant", 0)),
                "resale": int(counts.get("resale", 0)), "communities": len(self.partition.communities),
                "money_completed": sum(completed["amount"], Decimal("0"))}

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in self.summary().items())
        return f"<div><b>Analysis</b> {html.escape(self.case.title)}<table>{rows}</table></div>"


def _time_then_id_order(times: Any, message_ids: np.ndarray) -> np.ndarray:
    """Positions sorting by time (missing last), then message id: what
    ``sort_values(["time", "message_id"], kind="stable")`` gives, with C sorts only."""
    t = times.asi8.copy()
    t[times.isna()] = np.iinfo(np.int64).max
    ids = message_ids.astype(str)   # fixed-width text sorts like Python strings
    return np.lexsort((ids, t))


def _guess_name(text: str) -> str:
    for m in _CJK_RUN.finditer(text):
        if _NAME_STOP_RE.search(m.group(0)) is None:
            return m.group(0)
    return ""


def analyse(case: Case, *, seed: int = 0, resolution: float = 1.0, backend: str = "networkx",
            commission_max: float = 100.0, sale_min: float = 200.0, detail: str = "auto") -> Analysis:
    """Resolve persons, build the graph, detect communities, infer roles, sum money.

    Parameters
    ----------
    case : Case
    seed : int, default 0
        Seed of community detection.
    resolution : float, default 1.0
        Louvain resolution.
    backend : {"networkx", "igraph"}
    commission_max, sale_min : float
        See :func:`crimegraph.infer_roles`.
    detail : {"auto", "full", "compact"}, default "auto"
        Graph detail (see :func:`crimegraph.build_graph`); results are the same.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import crimegraph
    >>> a = crimegraph.analyse(crimegraph.read_case("data/samples/small/case"))
    >>> people = a.people()
    >>> list(people.columns[:5])
    ['person_id', 'name', 'role', 'role_confidence', 'community']
    >>> int((people["role"] == "merchant").sum())
    3
    """
    cg = build_graph(case, detail=detail)
    proj = suspect_projection(cg)
    part = detect_communities(proj, seed=seed, resolution=resolution, backend=backend)
    roles = infer_roles(cg, commission_max=commission_max, sale_min=sale_min)
    per_person, per_crew = money_flows(cg, roles)
    return Analysis(case, cg, proj, part, roles, per_person, per_crew)
