"""The case briefing (``briefing.html``): one self-contained page for a commander.

Sections: the chain at a glance (pushers -> merchants -> resale), key counts,
top targets with reasons, crews, money flow per crew, leaks per day, and the
load report. Charts are matplotlib SVG embedded in the page (no files, no
network); the template is Jinja2 with autoescape, so names from seized data
are always text. Victims' ID numbers and phones are masked unless
``mask=False``. The same analysis gives the same bytes (no timestamps).
"""

from __future__ import annotations

import io
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from .._fileio import atomic_write_text
from ..analysis import Analysis
from ..identifiers import mask_id_number, mask_phone

__all__ = ["briefing_html", "save_briefing", "figure_svg", "money_chart", "leaks_chart"]


def figure_svg(fig: Any) -> str:
    """An SVG string of a matplotlib figure, deterministic (fixed ids, no date)."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "crimegraph", "svg.fonttype": "none"}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "crimegraph"}, bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig


def money_chart(per_crew: pd.DataFrame) -> str:
    """Bars per crew: commissions paid to pushers and account sales received (yuan)."""
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    crews = per_crew["crew"].tolist()
    x = range(len(crews))
    comm = [float(v) for v in per_crew["commissions_paid"]]
    sales = [float(v) for v in per_crew["sales_received"]]
    ax.bar([i - 0.2 for i in x], comm, width=0.4, label="commissions paid to pushers", color="#ff8c1a")
    ax.bar([i + 0.2 for i in x], sales, width=0.4, label="account sales received", color="#7b3fa0")
    ax.set_xticks(list(x), [f"crew {c}" for c in crews], rotation=0, fontsize=8)
    ax.set_ylabel("yuan")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def leaks_chart(victims: pd.DataFrame) -> str:
    """Leaked identities first seen per day."""
    return _per_day_chart(_leaks_per_day(victims))


def _leaks_per_day(victims: pd.DataFrame) -> pd.Series:
    """Identities of the victims table first seen on each day (China time), by day."""
    if victims.empty:
        return pd.Series(dtype="int64")
    days = pd.to_datetime(victims["first_seen"]).dt.tz_convert("+08:00").dt.date
    return days.value_counts().sort_index()


def _per_day_chart(counts: pd.Series) -> str:
    """:func:`leaks_chart` of the counts per day (:func:`_leaks_per_day`)."""
    fig = _figure(7.5, 2.6)
    ax = fig.add_subplot()
    if len(counts):
        ax.bar([str(d) for d in counts.index], counts.values, color="#5b8db8")
        step = max(1, len(counts) // 10)
        ax.set_xticks(range(0, len(counts), step), [str(d)[5:] for d in counts.index[::step]], fontsize=8)
    ax.set_ylabel("identities")
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig)


def _yuan(v: Any) -> str:
    return f"{Decimal(str(v)):,.2f}"


def briefing_html(analysis: Analysis, ranking: Any = None, *, mask: bool = True, top: int = 10) -> str:
    """The briefing as one HTML document (pure: writes nothing).

    Parameters
    ----------
    analysis : Analysis
    ranking : Ranking, optional
        From :func:`crimegraph.rank_targets`; computed when not given.
    mask : bool, default True
        Mask victims' ID numbers and phones.
    top : int, default 10
        Targets listed.

    Examples
    --------
    >>> import crimegraph
    >>> from crimegraph.viz.briefing import briefing_html
    >>> doc = briefing_html(crimegraph.analyse(crimegraph.read_case("data/samples/small/case")))
    >>> import re
    >>> "<svg" in doc and re.search(r"(src|href)=.?https?:", doc) is None
    True
    """
    return _render_briefing(_briefing_parts(analysis, ranking, mask=mask, top=top),
                            _leak_summary(analysis._victims(), mask=mask))


def _briefing_parts(analysis: Analysis, ranking: Any = None, *, mask: bool = True, top: int = 10) -> dict[str, Any]:
    """What :func:`briefing_html` shows but the leaked identities (:func:`_leak_summary`) and
    the charts: small values (``write_report`` takes them while a child makes the victims
    table)."""
    from ..roles import decimal_sums
    from ..targeting import rank_targets

    ranking = ranking if ranking is not None else rank_targets(analysis, k=top)
    case = analysis.case
    roles = analysis.roles.table
    counts = roles["role"].value_counts()
    per_crew = analysis.money_per_crew
    tr = analysis.graph.resolution.transfers
    chain_ids = set(roles.loc[roles["role"].isin(["pusher", "merchant", "resale"]), "person_id"])
    chain = tr[tr["completed"] & tr["payer"].isin(chain_ids) & tr["payee"].isin(chain_ids)]
    chain_money = sum(decimal_sums(chain.assign(all=0), ["all"]).values(), Decimal("0"))
    times = case.messages["time"]
    period = f"{times.min():%Y-%m-%d} – {times.max():%Y-%m-%d}" if len(times) else ""
    labels = dict(zip(roles["person_id"].tolist(), roles["label"].tolist(), strict=True))
    crews = [{"crew": r.crew, "merchant": labels.get(r.crew, r.crew), "pushers": r.pushers, "victims": r.victims,
              "commissions": _yuan(r.commissions_paid), "sales": _yuan(r.sales_received)}
             for r in per_crew.itertuples(index=False)]
    resale = roles[roles["role"] == "resale"]
    t = case.report.totals
    rejects = case.report.rejects().head(20).to_dict("records")
    unrec = case.report.to_frame()
    unrec = unrec[unrec["status"] != "loaded"][["file", "status", "reason"]].to_dict("records")
    return dict(
        title=case.title, period=period, masked=mask,
        n_pushers=int(counts.get("pusher", 0)), n_merchants=int(counts.get("merchant", 0)),
        n_resale=int(counts.get("resale", 0)),
        n_codes=int((case.messages["otp_codes"] != "").sum()), chain_money=_yuan(chain_money),
        n_devices=len(case.devices), n_communities=len(analysis.partition.communities),
        modularity=f"{analysis.partition.modularity:.3f}",
        targets=ranking.table.head(top).to_dict("records"), crews=crews,
        resale=[{"name": r.label, "id": r.person_id, "evidence": r.evidence} for r in resale.itertuples(index=False)],
        totals=t, unexplained=case.report.unexplained_rows, rejects=rejects, unrecognised=unrec,
        per_crew=per_crew,
        baseline_ids=f"{ranking.baseline.get('identities', 0):.0f}",
        baseline_money=_yuan(ranking.baseline.get("money", 0)),
    )


def _leak_summary(victims: pd.DataFrame, *, mask: bool = True) -> dict[str, Any]:
    """What the briefing shows of the victims table (:meth:`Analysis.victims`): how many
    identities, the ten latest (masked unless ``mask=False``), and how many per day."""
    latest = victims["first_seen"].sort_values().index[-10:][::-1]   # (as sort_values on the table)
    recent = victims.loc[latest]
    leaks = [{"id": mask_id_number(r.id_number) if mask else r.id_number,
              "phone": (mask_phone(r.phone) if mask else r.phone) if r.phone else "",
              "by": r.leaked_by_name, "merchant": r.merchant, "when": f"{r.first_seen:%Y-%m-%d %H:%M}",
              "where": r.chat_name} for r in recent.itertuples(index=False)]
    return {"n_victims": len(victims), "leaks": leaks, "per_day": _leaks_per_day(victims)}


def _render_briefing(parts: dict[str, Any], leaks: dict[str, Any]) -> str:
    """The briefing's HTML from :func:`_briefing_parts` and :func:`_leak_summary`."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    values = dict(parts)
    per_crew = values.pop("per_crew")
    env = Environment(loader=PackageLoader("crimegraph", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("briefing.html").render(
        **values, n_victims=leaks["n_victims"], leaks=leaks["leaks"],
        money_svg=Markup(money_chart(per_crew)) if len(per_crew) else "",
        leaks_svg=Markup(_per_day_chart(leaks["per_day"])),
    )


def save_briefing(analysis: Analysis, path: str | PathLike[str], ranking: Any = None, **kwargs: Any) -> Path:
    """Write :func:`briefing_html` to ``path`` (UTF-8, atomic)."""
    return atomic_write_text(path, briefing_html(analysis, ranking, **kwargs))
