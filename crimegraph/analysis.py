"""One call from evidence to "who is who": resolve, build, detect communities,
infer roles, summarise money; and the ``people.csv`` / ``victims.csv`` tables.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal

import networkx as nx
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

    def people(self) -> pd.DataFrame:
        """``people.csv``: one row per resolved person (multi-values ``;``-joined)."""
        persons = self.graph.persons.set_index("person_id")
        roles = self.roles.table.set_index("person_id")
        money = self.money_per_person.set_index("person_id")
        victims = self._victims_count()
        rows = []
        for pid in roles.index:
            p = persons.loc[pid]
            r = roles.loc[pid]
            community = self.partition.membership.get(f"person:{pid}")
            rows.append({
                "person_id": pid, "name": r["label"], "role": r["role"],
                "role_confidence": r["confidence"], "community": "" if community is None else community,
                "phones": p["phones"], "wechat_ids": p["wechat_ids"], "alipay_accounts": p["alipay_accounts"],
                "bank_cards": p["bank_cards"], "id_number": p["id_numbers"], "victims": victims.get(pid, 0),
                "money_in": money.at[pid, "money_in"], "money_out": money.at[pid, "money_out"],
                "evidence": r["evidence"],
            })
        return pd.DataFrame(rows, columns=list(PEOPLE_COLUMNS))

    def _victims_count(self) -> dict[str, int]:
        t = self.roles.table
        out = dict(zip(t["person_id"], t["ids_posted"].astype(int), strict=True))
        crews = t[t["crew"] != ""].groupby("crew")["ids_posted"].sum()
        for m, n in crews.items():
            out[m] = int(n)
        return out

    def victims(self) -> pd.DataFrame:
        """``victims.csv``: each leaked ID number, who leaked it, when and where (for
        notification and account freezing)."""
        msgs = self.case.messages
        posted = msgs[(msgs["id_numbers"] != "") & msgs["sender_wxid"].notna()]
        k2p = self.graph.resolution.key_to_person
        roles = self.roles.table.set_index("person_id")
        rows = []
        seen: set[str] = set()
        for r in posted.sort_values(["time", "message_id"]).itertuples(index=False):
            ids = r.id_numbers.split(";")
            for idn in ids:
                if idn in seen:
                    continue
                seen.add(idn)
                pid = k2p.get(f"wx:{r.sender_wxid}", "")
                phones = r.phones.split(";") if r.phones else []
                crew = roles.at[pid, "crew"] if pid in roles.index else ""
                rows.append({
                    "id_number": idn, "name": _guess_name(r.content) if len(ids) == 1 else "",
                    "phone": phones[0] if len(ids) == 1 and len(phones) == 1 else "",
                    "leaked_by": pid, "leaked_by_name": roles.at[pid, "label"] if pid in roles.index else "",
                    "merchant": roles.at[crew, "label"] if crew in roles.index else "",
                    "first_seen": r.time, "chat_id": r.chat_id, "chat_name": r.chat_name or "",
                    "copies": r.copies, "device": r.device, "source_file": r.source_file,
                    "source_line": r.source_line,
                })
        return pd.DataFrame(rows, columns=list(VICTIM_COLUMNS))

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


def _guess_name(text: str) -> str:
    for m in _CJK_RUN.finditer(text):
        if m.group(0) not in _NAME_STOP and not any(s in m.group(0) for s in _NAME_STOP):
            return m.group(0)
    return ""


def analyse(case: Case, *, seed: int = 0, resolution: float = 1.0, backend: str = "networkx",
            commission_max: float = 100.0, sale_min: float = 200.0) -> Analysis:
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
    cg = build_graph(case)
    proj = suspect_projection(cg)
    part = detect_communities(proj, seed=seed, resolution=resolution, backend=backend)
    roles = infer_roles(cg, commission_max=commission_max, sale_min=sale_min)
    per_person, per_crew = money_flows(cg, roles)
    return Analysis(case, cg, proj, part, roles, per_person, per_crew)
