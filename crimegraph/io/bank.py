"""Bank feedback statements (资金查询反馈): CSV (GB18030 or UTF-8 with BOM) and XLSX.

Columns are matched through the aliases used across banks and platforms
(``FORMATS.md``): 借贷标志/借贷方向/收付标志, 对方户名/交易对手名称/..., split
debit/credit columns, split date and time, 14-digit ``yyyyMMddHHmmss`` times;
``\\N``, ``-`` and empty mean null. A repeated 交易流水号 for the same card and
direction is counted once.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import FormatError
from ._common import (
    FileReport,
    Loaded,
    PathOrBuffer,
    clean,
    csv_records,
    decode_text,
    parse_amount,
    read_source,
    xlsx_rows,
)
from ._tables import finish_transfers

__all__ = ["read_bank_statement", "BANK_ALIASES", "match_bank_header"]

#: canonical field -> accepted column titles
BANK_ALIASES: dict[str, tuple[str, ...]] = {
    "card": ("交易卡号", "查询卡号", "卡号", "本方卡号"),
    "account": ("交易账号", "查询账号", "账号", "本方账号"),
    "holder": ("交易方户名", "户名", "账户名称", "客户名称", "账户开户名称", "本方户名"),
    "holder_id": ("交易方证件号码", "证件号码", "开户人证件号码", "本方证件号码"),
    "time": ("交易时间", "交易日期时间", "记账时间"),
    "date": ("交易日期", "记账日期"),
    "amount": ("交易金额", "发生额", "金额"),
    "debit": ("借方发生额", "支出金额", "支出"),
    "credit": ("贷方发生额", "收入金额", "收入"),
    "balance": ("交易余额", "余额", "账户余额"),
    "direction": ("收付标志", "借贷标志", "借贷方向", "收支标志", "资金流向"),
    "cp_card": ("交易对手账卡号", "交易对方账卡号", "对方账号", "交易对手账号", "对方卡号", "对手账号"),
    "cp_name": ("对手户名", "对方户名", "交易对手名称", "对方名称", "交易对方名称"),
    "cp_id": ("对手身份证号", "交易对方证件号码", "对方证件号码", "对手证件号码"),
    "cp_bank": ("对手开户银行", "交易对手行名", "对方开户行", "交易对方账号开户行", "对方行名"),
    "summary": ("摘要说明", "交易摘要", "摘要", "附言", "用途", "交易类型"),
    "serial": ("交易流水号", "流水号", "交易序号"),
    "success": ("交易是否成功",),
    "currency": ("交易币种", "币种"),
}
_IN = {"进", "贷", "收", "入", "C", "c", "收入", "转入", "存入", "1"}
_OUT = {"出", "借", "付", "支", "D", "d", "支出", "转出", "取出", "0"}
_FAIL = {"失败", "02", "否", "N", "n", "2"}


def match_bank_header(cells: list[Any]) -> dict[str, int] | None:
    """Map canonical fields to column indexes if ``cells`` is a bank header row."""
    names = [str(c).strip() if c is not None else "" for c in cells]
    mapping: dict[str, int] = {}
    for field, aliases in BANK_ALIASES.items():
        for alias in aliases:
            if alias in names:
                mapping[field] = names.index(alias)
                break
    has_money = "amount" in mapping or ("debit" in mapping and "credit" in mapping)
    has_who = "card" in mapping or "account" in mapping
    if has_money and has_who and ("time" in mapping or "date" in mapping):
        return mapping
    return None


def _record(cells: list[Any], m: dict[str, int], line: int) -> tuple[dict[str, Any] | None, str]:
    def get(f: str) -> Any:
        i = m.get(f)
        return cells[i] if i is not None and i < len(cells) else None

    card = clean(get("card")) or clean(get("account"))
    if card is None:
        return None, "no card or account number"
    # direction and amount
    amount_raw: Any = get("amount")
    direction_raw = clean(get("direction"))
    if "debit" in m and "credit" in m and clean(amount_raw) is None:
        d, c = parse_amount(get("debit")), parse_amount(get("credit"))
        if d and d > 0:
            amount_raw, direction_raw = d, "出"
        elif c and c > 0:
            amount_raw, direction_raw = c, "进"
        else:
            return None, "neither debit nor credit amount"
    direction = "in" if direction_raw in _IN else "out" if direction_raw in _OUT else None
    if direction is None:
        amt = parse_amount(amount_raw)
        if amt is not None and amt < 0:
            direction, amount_raw = "out", -amt
        elif direction_raw is None and amt is not None:
            return None, "no direction (收付标志/借贷标志) and an unsigned amount"
        else:
            return None, f"unknown direction {direction_raw!r}"
    # time
    t = clean(get("time"))
    d = clean(get("date"))
    if d and t and len(t) <= 8:
        t = f"{d} {t[:2]}:{t[2:4]}:{t[4:6]}" if t.isdigit() else f"{d} {t}"
        t = t.replace("/", "-") if "-" in d or "/" in d else t
        if d.isdigit() and len(d) == 8:
            t = f"{d[:4]}-{d[4:6]}-{d[6:]} {t.split(' ', 1)[1]}"
    elif t is None:
        t = d
    success = clean(get("success"))
    serial = clean(get("serial"))
    rec = {
        "time_raw": t, "amount_raw": amount_raw, "direction": direction,
        "completed": success not in _FAIL, "kind": clean(get("summary")), "status": success,
        "tid": serial, "owner_account": card, "owner_name": clean(get("holder")),
        "owner_id_number": clean(get("holder_id")), "counterparty": clean(get("cp_name")),
        "counterparty_account": clean(get("cp_card")), "counterparty_card": clean(get("cp_card")),
        "counterparty_id_number": clean(get("cp_id")), "counterparty_bank": clean(get("cp_bank")),
        "product": None, "note": clean(get("currency")), "source_line": line,
        "raw": ",".join("" if c is None else str(c) for c in cells),
    }
    return rec, ""


def read_bank_statement(path_or_buffer: PathOrBuffer, *, source_name: str | None = None,
                        device: str | None = None) -> Loaded:
    """Read a bank feedback statement (CSV or XLSX, any bank's column names).

    Returns
    -------
    Loaded
        ``table == "transfers"`` with ``channel == "bank"``; ``transfer_id`` is
        ``bank:<交易流水号>``.

    Raises
    ------
    FormatError
        No header with a card/account, a time and an amount column.

    Examples
    --------
    >>> from crimegraph.io import read_bank_statement
    >>> res = read_bank_statement("data/samples/small/case/银行反馈/中国工商银行交易明细信息.csv")
    >>> [(r.line, r.reason) for r in res.report.rejects]
    [(2, "unparseable amount '12,3a.0'")]
    """
    src = read_source(path_or_buffer)
    name = source_name or src.name
    rows: list[tuple[int, list[Any]]]
    if src.is_zip:
        rows = []
        for _sheet, sheet_rows in xlsx_rows(src):
            if any(match_bank_header(v) for _, v in sheet_rows[:20]):
                rows = sheet_rows
                break
        fmt = "bank_xlsx"
    else:
        text, _enc = decode_text(src)
        rows = list(csv_records(text))
        fmt = "bank_csv"
    hdr = next((i for i, (_, v) in enumerate(rows[:20]) if match_bank_header(v)), None)
    if hdr is None:
        raise FormatError("not a bank statement: no header row with a card/account, a time and an "
                          "amount column (e.g. 交易卡号, 交易时间, 交易金额)", path=name)
    mapping = match_bank_header(rows[hdr][1]) or {}
    width = len(rows[hdr][1])
    report = FileReport(name, fmt, device=device, table="transfers")
    records = []
    for line, cells in rows[hdr + 1:]:
        report.rows_read += 1
        if all(clean(c) is None for c in cells):
            report.skip("blank line")
            continue
        raw = ",".join("" if c is None else str(c) for c in cells)
        if len(cells) < min(width, max(mapping.values()) + 1):
            report.reject(line, f"truncated row: {len(cells)} of {width} fields", raw)
            continue
        extra = [c for c in cells[width:] if clean(c) is not None]
        if extra:
            report.reject(line, f"malformed row: {len(cells)} fields, expected {width}", raw)
            continue
        rec, why = _record(list(cells), mapping, line)
        if rec is None:
            report.reject(line, why, raw)
            continue
        records.append(rec)
    frame = finish_transfers(records, report, channel="bank", source_file=name, device=device)
    return Loaded("transfers", frame, report)
