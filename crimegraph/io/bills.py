"""WeChat Pay and Alipay bills (``FORMATS.md``: 微信支付账单明细, 支付宝交易明细).

WeChat Pay: CSV (2018 to mid-2025; UTF-8 with or without BOM, ``¥``/``￥``,
quoted thousands separators, ``/`` as empty, TAB after ids) and XLSX (2025
layout with the header on row 17; 2026 layout with a UTC note, header on row
18 and numeric amounts).

Alipay: the old web export (header ``交易号,...`` with a footer), the 2021-22
app layout (``收/支,交易对方,...`` with an 导出信息 block after the data) and the
2023+ app layout (header on line 25). GBK/GB18030, space padding, trailing
comma. Masked counterparty accounts (``139******01``) are kept as written and
never taken for phones. Closed orders (交易关闭 / 不计收支) are loaded with
``completed=False``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np

from ..exceptions import FormatError
from ._common import (
    FileReport,
    Loaded,
    PathOrBuffer,
    Source,
    clean,
    csv_records,
    decode_text,
    map_unique,
    read_csv_text,
    read_source,
    xlsx_sheets,
)
from ._tables import finish_transfers

__all__ = ["read_wechat_pay", "read_alipay", "WECHAT_HEADER", "ALIPAY_LAYOUTS"]

WECHAT_HEADER = ("交易时间", "交易类型", "交易对方", "商品", "收/支", "金额(元)", "支付方式", "当前状态",
                 "交易单号", "商户单号", "备注")
_WECHAT_DIRECTION = {"收入": "in", "支出": "out", "/": "neutral", "": "neutral"}
_NOT_COMPLETED = ("失败", "关闭", "已撤销", "未支付", "等待")

ALIPAY_LAYOUTS: dict[str, tuple[str, ...]] = {
    "alipay_2023": ("交易时间", "交易分类", "交易对方", "对方账号", "商品说明", "收/支", "金额",
                    "收/付款方式", "交易状态", "交易订单号", "商家订单号", "备注"),
    "alipay_2021": ("收/支", "交易对方", "对方账号", "商品说明", "收/付款方式", "金额", "交易状态",
                    "交易分类", "交易订单号", "商家订单号", "交易时间"),
    "alipay_web": ("交易号", "商家订单号", "交易创建时间", "付款时间", "最近修改时间", "交易来源地", "类型",
                   "交易对方", "商品名称", "金额（元）", "收/支", "交易状态", "服务费（元）", "成功退款（元）",
                   "备注", "资金状态"),
}
_ALIPAY_DIRECTION = {"收入": "in", "支出": "out", "不计收支": "neutral", "其他": "neutral", "": "neutral"}


def _name(src: Source, source_name: str | None) -> str:
    return source_name or src.name


def _completed(status: str | None, direction_raw: str | None) -> bool:
    s = status or ""
    if any(k in s for k in _NOT_COMPLETED):
        return False
    return (direction_raw or "") != "不计收支"


# ----------------------------------------------------------------------- WeChat
def _wechat_frame(rows: list[Sequence[Any]], lines: list[int], nickname: str | None, *, csv_fields: bool
                  ) -> tuple[dict[str, Sequence[Any]], Callable[[int], str]]:
    """Parsed WeChat Pay rows as columns for :func:`finish_transfers`, and the raw text
    of row ``i`` for the rejects report. ``csv_fields``: every row is 11 or
    more strings (CSV), else XLSX cells (None for blanks, numbers, short rows)."""
    if csv_fields:
        col = list(zip(*rows, strict=False))[:11] if rows else [()] * 11   # (the 12th field: ignored)
        amount_raw: Sequence[Any] = col[5]

        def raw_of(i: int) -> str:
            return ",".join(rows[i][:11])
    else:
        cells = [r if len(r) == 11 else (*r[:11], *[None] * (11 - len(r))) for r in rows]
        raw = list(zip(*cells, strict=True)) if cells else [()] * 11
        amount_raw = raw[5]
        col = [c if set(map(type, c)) == {str} else [("" if v is None else str(v)) for v in c] for c in raw]

        def raw_of(i: int) -> str:
            return ",".join(("" if v is None else str(v)) for v in cells[i])
    status = list(col[7])
    return ({
        "time_raw": col[0], "kind": col[1], "counterparty": col[2], "product": col[3],
        "direction": map_unique(col[4], lambda v: _WECHAT_DIRECTION.get(clean(v) or "/", "neutral")),
        "amount_raw": amount_raw, "status": status, "tid": col[8],
        "note": col[10], "completed": map_unique(status, lambda v: _completed(clean(v), None)),
        "owner_nickname": [nickname] * len(rows), "source_line": lines,
    }, raw_of)


def _filled_rows(rows: list[Sequence[Any]]) -> bool:
    """Whether every XLSX row (a tuple of cells, trailing blanks dropped) is a record as it
    is: a text cell first that is not blank, and 9 cells or more filled (checked in C-level
    passes; otherwise the rows are taken one by one)."""
    if not rows or set(map(type, rows)) != {tuple} or min(map(len, rows)) < 9:
        return False
    firsts = list(map(itemgetter(0), rows))
    if set(map(type, firsts)) != {str} or not all(map(str.strip, firsts)):
        return False
    n = len(rows)
    filled = np.fromiter(map(len, rows), dtype=np.int64, count=n)
    filled -= np.fromiter(map(tuple.count, rows, repeat(None)), dtype=np.int64, count=n)
    return bool(filled.min() >= 9)


def read_wechat_pay(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                    device: str | None = None) -> Loaded:
    """Read a WeChat Pay bill (CSV or XLSX, any layout since 2018).

    Parameters
    ----------
    path_or_buffer : str, path-like or binary file object
    source_name : str, optional
        Name recorded as provenance (default: the path as given).
    device : str, optional
        Seized-device folder the bill came from.

    Returns
    -------
    Loaded
        ``table == "transfers"``; ``owner["wechat_nicknames"]`` from the header.

    Raises
    ------
    FormatError
        Not a WeChat Pay bill, or its column header is missing.

    Examples
    --------
    >>> from crimegraph.io import read_wechat_pay
    >>> res = read_wechat_pay("data/samples/small/case/S008_何伟云_手机/微信支付账单(20251103-20251116).csv")
    >>> res.report.rows_read == res.report.accepted + res.report.rejected + res.report.skipped
    True
    >>> res.frame[["direction", "amount"]].head(1).to_dict("records")
    [{'direction': 'in', 'amount': Decimal('28.00')}]
    """
    src = read_source(path_or_buffer)
    name = _name(src, source_name)
    report = FileReport(name, "wechat_pay_xlsx" if src.is_zip else "wechat_pay_csv", device=device,
                        table="transfers")
    if src.is_zip:
        sheets = xlsx_sheets(src)
        rows = sheets[0][1] if sheets else ()
        first = next((str(v[0]) for _, v in rows if v and v[0]), "")
        if "微信支付账单" not in first:
            raise FormatError("not a WeChat Pay bill (cell A1 does not say 微信支付账单明细)", path=name)
        nickname = _nickname(" ".join(str(v[0]) for _, v in rows[:20] if v and v[0]))
        hdr = next((i for i, (_, v) in enumerate(rows)
                    if v and str(v[0] or "").strip() == "交易时间" and "交易单号" in [str(x) for x in v]), None)
        if hdr is None:
            raise FormatError("WeChat Pay bill without the column header row (交易时间,...,交易单号)",
                              path=name)
        good: list[Sequence[Any]] = []
        good_lines: list[int] = []
        body = rows[hdr + 1:]
        sheet_rows = [values for _, values in body]
        if _filled_rows(sheet_rows):   # the usual sheet: every row a record
            report.rows_read += len(body)
            good, good_lines, body = sheet_rows, [line for line, _ in body], ()
        for line, values in body:
            report.rows_read += 1
            first = values[0] if values else None
            if not (isinstance(first, str) and first.strip()) and \
                    not any(v is not None and str(v).strip() != "" for v in values):
                report.skip("blank row")
                continue
            cells = len(values) - values.count(None)
            if cells < 9:
                report.reject(line, f"truncated row: {cells} of 11 cells filled", repr(list(values)))
                continue
            good.append(values)
            good_lines.append(line)
        frame, raw_of = _wechat_frame(good, good_lines, nickname, csv_fields=False)
        report.format = "wechat_pay_xlsx_2026" if rows[hdr][0] >= 18 else "wechat_pay_xlsx_2025"
    else:
        text, _enc = decode_text(src)
        lines = text.splitlines()
        if not lines or not lines[0].lstrip("\ufeff").strip(", ").startswith("微信支付账单明细"):
            raise FormatError("not a WeChat Pay bill (first line is not 微信支付账单明细)", path=name)
        nickname = _nickname("\n".join(lines[:20]))
        hdr = next((i for i, s in enumerate(lines) if s.startswith("交易时间,交易类型")), None)
        if hdr is None:
            raise FormatError("WeChat Pay bill without the column header line (交易时间,交易类型,...)",
                              path=name)
        body = "\n".join(lines[hdr + 1:])
        rec_lines, recs = read_csv_text(body, start_line=hdr + 2)
        report.rows_read += len(recs)
        good, good_lines = [], []
        if recs and set(map(len, recs)) == {11} and all(map(str.strip, map(itemgetter(0), recs))):
            good, good_lines, rec_lines, recs = recs, rec_lines, [], []   # the usual bill: every record whole
        for line, fields in zip(rec_lines, recs, strict=True):
            n = len(fields)
            if not (fields and fields[0].strip()) and not any(x.strip() for x in fields):
                report.skip("blank line")
            elif n == 11 or (n == 12 and not fields[11].strip()):
                good.append(fields)
                good_lines.append(line)
            elif n < 11:
                report.reject(line, f"truncated row: {n} of 11 fields", ",".join(fields))
            else:
                report.reject(line, f"malformed row: {n} fields, expected 11", ",".join(fields))
        frame, raw_of = _wechat_frame(good, good_lines, nickname, csv_fields=True)
    frame = finish_transfers(frame, report, channel="wechat", source_file=name, device=device,
                             raw_of=raw_of)
    return Loaded("transfers", frame, report, {"wechat_nicknames": [nickname]} if nickname else {})


def _nickname(text: str) -> str | None:
    m = re.search(r"微信昵称：\[(.*?)\]", text)
    return m.group(1).strip() if m and m.group(1).strip() else None


# ----------------------------------------------------------------------- Alipay
def _alipay_layout(fields: list[str]) -> str | None:
    names = tuple(f.strip() for f in fields if f.strip())
    for layout, cols in ALIPAY_LAYOUTS.items():
        if names[: len(cols)] == cols:
            return layout
    return None


def read_alipay(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                device: str | None = None) -> Loaded:
    """Read an Alipay bill in any of the three layouts (GBK/GB18030 or UTF-8).

    Returns
    -------
    Loaded
        ``table == "transfers"``; ``owner`` holds ``names`` and ``alipay_accounts``
        from the header or footer.

    Raises
    ------
    FormatError
        No Alipay column header found.
    """
    src = read_source(path_or_buffer)
    name = _name(src, source_name)
    text, _enc = decode_text(src)
    lines = text.splitlines()
    layout = hdr = None
    for i, s in enumerate(lines[:60]):
        if "," in s:
            layout = _alipay_layout(next(csv_records(s))[1])
            if layout:
                hdr = i
                break
    if layout is None or hdr is None:
        raise FormatError("not an Alipay bill: no known column header (交易时间,交易分类,... / "
                          "收/支,交易对方,... / 交易号,商家订单号,...) in the first 60 lines", path=name)
    cols = ALIPAY_LAYOUTS[layout]
    owner = _alipay_owner(text)
    report = FileReport(name, layout, device=device, table="transfers")
    records: list[dict[str, Any]] = []
    in_footer = False
    for line, fields in csv_records("\n".join(lines[hdr + 1:]), start_line=hdr + 2):
        report.rows_read += 1
        joined = ",".join(fields).strip()
        if in_footer:
            report.skip("footer / export-info block")
            continue
        if not joined.strip(","):
            report.skip("blank line")
            if layout == "alipay_2021":
                in_footer = True
            continue
        if set(joined.strip(",")) <= {"-"}:
            report.skip("footer / export-info block")
            in_footer = True
            continue
        vals = [v.strip() for v in fields]
        while len(vals) > len(cols) and vals[-1] == "":
            vals.pop()
        if len(vals) != len(cols):
            if len(vals) == 1 and layout != "alipay_2023" and len(records) > 0:
                report.skip("footer / export-info block")
                in_footer = True
                continue
            report.reject(line, f"malformed row: {len(vals)} fields, expected {len(cols)}", joined)
            continue
        r = dict(zip(cols, vals, strict=True))
        direction_raw = r.get("收/支", "")
        if layout == "alipay_web":
            rec = {"time_raw": r["付款时间"] or r["交易创建时间"], "kind": r["类型"], "tid": r["交易号"],
                   "product": r["商品名称"], "amount_raw": r["金额（元）"], "counterparty_account": None,
                   "note": r["备注"]}
        else:
            rec = {"time_raw": r["交易时间"], "kind": r["交易分类"], "tid": r["交易订单号"],
                   "product": r["商品说明"], "amount_raw": r["金额"], "counterparty_account": r["对方账号"],
                   "note": r.get("备注")}
        status = r["交易状态"]
        rec.update({
            "counterparty": r["交易对方"], "status": status,
            "direction": _ALIPAY_DIRECTION.get(direction_raw, "neutral"),
            "completed": _completed(status, direction_raw),
            "owner_name": owner.get("names"), "owner_account": owner.get("alipay_accounts"),
            "source_line": line, "raw": joined,
        })
        records.append(rec)
    frame = finish_transfers(records, report, channel="alipay", source_file=name, device=device)
    return Loaded("transfers", frame, report, owner)


def _alipay_owner(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    m = re.search(r"姓名[：:]\s*([^\s,]+)", text) or re.search(r"用户[：:]\s*([^\s,\]]+)", text)
    if m:
        out["names"] = m.group(1).strip()
    m = re.search(r"支付宝账户[：:]\s*([^\s,]+)", text) or re.search(r"账号[：:]\s*\[([^\]]+)\]", text)
    if m:
        out["alipay_accounts"] = m.group(1).strip()
    return out
