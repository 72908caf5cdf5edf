"""Writers for the real export layouts of ``FORMATS.md``.

These produce files byte-for-byte in the shape the forensic and payment tools
export, from plain records. The synthetic case generator uses them, and so do
the loader tests (with hand-written fixtures beside them, so that a bug shared
by writer and reader cannot hide).

Every writer is deterministic: the same records give the same bytes (XLSX
files get fixed document properties and zip timestamps).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

__all__ = [
    "WeChatPayRow",
    "AlipayRow",
    "BankRow",
    "ChatRow",
    "Contact",
    "WECHAT_PAY_COLUMNS",
    "ALIPAY_2023_COLUMNS",
    "ALIPAY_2021_COLUMNS",
    "ALIPAY_WEB_COLUMNS",
    "BANK_JZ_COLUMNS",
    "BANK_BR40_COLUMNS",
    "MEMOTRACE_COLUMNS",
    "PYWXDUMP_COLUMNS",
    "write_wechat_pay_csv",
    "write_wechat_pay_xlsx",
    "write_alipay_csv",
    "write_bank_csv",
    "write_bank_xlsx",
    "write_memotrace_csv",
    "write_pywxdump_csv",
    "write_vcard",
    "write_contacts_csv",
    "deterministic_xlsx_bytes",
]

_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = dt.datetime(2020, 1, 1)


# ------------------------------------------------------------------------ records
@dataclass(frozen=True, slots=True)
class WeChatPayRow:
    """One line of a WeChat Pay bill (微信支付账单明细)."""

    time: dt.datetime
    kind: str            # 交易类型: 转账, 商户消费, 微信红包, ...
    counterparty: str    # 交易对方 (nickname or merchant name)
    product: str         # 商品
    direction: str       # 收/支: 收入, 支出, /
    amount: Decimal
    method: str          # 支付方式
    status: str          # 当前状态
    tid: str             # 交易单号
    mid: str = "/"       # 商户单号
    note: str = "/"      # 备注


@dataclass(frozen=True, slots=True)
class AlipayRow:
    """One line of an Alipay bill (any of the three layouts)."""

    time: dt.datetime
    category: str        # 交易分类 / 类型
    counterparty: str    # 交易对方
    counter_account: str  # 对方账号 (masked or /)
    product: str         # 商品说明
    direction: str       # 收入, 支出, 不计收支 (old: 收入/支出/"")
    amount: Decimal
    method: str          # 收/付款方式
    status: str          # 交易状态: 交易成功, 交易关闭, ...
    tid: str             # 交易订单号
    mid: str = ""        # 商家订单号
    note: str = ""


@dataclass(frozen=True, slots=True)
class BankRow:
    """One transaction of a bank feedback statement (资金查询反馈)."""

    card: str
    account: str
    holder: str
    holder_id: str
    time: dt.datetime
    amount: Decimal
    balance: Decimal
    direction: str       # 进 / 出
    cp_card: str
    cp_name: str
    cp_id: str
    cp_bank: str
    summary: str
    serial: str
    branch: str = ""


@dataclass(frozen=True, slots=True)
class ChatRow:
    """One message as a chat exporter stores it."""

    local_id: int
    type: int            # 1 text, 3 image, 34 voice, 49 app, 10000 system
    subtype: int
    is_sender: int
    create_time: int     # Unix seconds
    content: str
    remark: str          # device owner's remark for the speaker
    nickname: str        # speaker's nickname
    sender: str          # speaker's wxid ("" for system messages)
    msgsvrid: int = 0    # server message id (PyWxDump exports it)


@dataclass(frozen=True, slots=True)
class Contact:
    """One address-book entry."""

    name: str
    phones: tuple[str, ...] = ()
    wechat_id: str = ""
    note: str = ""


# ------------------------------------------------------------------------ helpers
_TZ = dt.timezone(dt.timedelta(hours=8))


def _fmt_time(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _money(a: Decimal) -> str:
    return f"{a:.2f}"


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _csv_text(rows: Iterable[Sequence[object]], *, lineterminator: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def deterministic_xlsx_bytes(wb: object) -> bytes:
    """Serialise an openpyxl workbook with fixed timestamps (byte-identical output)."""
    props = wb.properties  # type: ignore[attr-defined]
    props.created = _FIXED_DOC_TIME
    props.modified = _FIXED_DOC_TIME
    props.creator = "crimegraph.synth"
    props.lastModifiedBy = None
    raw = io.BytesIO()
    wb.save(raw)  # type: ignore[attr-defined]
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the current time on save
                text = data.decode("utf-8")
                import re

                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              r"\g<1>2020-01-01T00:00:00Z\g<2>", text)
                data = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    return out.getvalue()


# --------------------------------------------------------------------- WeChat Pay
WECHAT_PAY_COLUMNS = ("交易时间", "交易类型", "交易对方", "商品", "收/支", "金额(元)",
                      "支付方式", "当前状态", "交易单号", "商户单号", "备注")


def _wechat_summary(rows: Sequence[WeChatPayRow]) -> tuple[str, str, str, str]:
    inc = [r for r in rows if r.direction == "收入"]
    out = [r for r in rows if r.direction == "支出"]
    neu = [r for r in rows if r.direction not in ("收入", "支出")]

    def tot(rs: Sequence[WeChatPayRow]) -> str:
        return _money(sum((r.amount for r in rs), Decimal("0")))

    return (f"共{len(rows)}笔记录", f"收入：{len(inc)}笔 {tot(inc)}元",
            f"支出：{len(out)}笔 {tot(out)}元", f"中性交易：{len(neu)}笔 {tot(neu)}元")


def _wechat_preamble(nickname: str, start: dt.datetime, end: dt.datetime,
                     exported: dt.datetime, rows: Sequence[WeChatPayRow],
                     *, utc_note: bool) -> list[str]:
    total, inc, out, neu = _wechat_summary(rows)
    lines = [
        "微信支付账单明细",
        f"微信昵称：[{nickname}]",
        f"起始时间：[{_fmt_time(start)}] 终止时间：[{_fmt_time(end)}]",
        "导出类型：[全部]",
        f"导出时间：[{_fmt_time(exported)}]",
        "",
        total, inc, out, neu,
        "注：",
        "1. 充值/提现/理财通购买/零钱通存取/信用卡还款等交易，将计入中性交易",
        "2. 本明细仅展示当前账单中的交易，不包括已删除的记录",
        "3. 本明细仅供个人对账使用",
    ]
    if utc_note:
        lines.append("4. 本账单中所有时间均为UTC+08:00时间")
    lines += ["", "----------------------微信支付账单明细列表--------------------"]
    return lines


def write_wechat_pay_csv(path: str | Path, *, nickname: str, rows: Sequence[WeChatPayRow],
                         start: dt.datetime, end: dt.datetime, exported: dt.datetime,
                         bom: bool = False, yen: str = "¥",
                         truncate_last: bool = False) -> Path:
    """Write a WeChat Pay CSV bill (2018 to mid-2025 layout).

    16 lines precede the header, each padded with commas; amounts carry ``¥``
    (U+00A5) or ``￥`` (U+FFE5); transaction ids are followed by a TAB; empty
    values are ``/``. ``truncate_last`` cuts the last data line in half (a
    damaged export, for loader tests).
    """
    path = Path(path)
    pad = "," * (len(WECHAT_PAY_COLUMNS) - 1)
    text = "".join(line + pad + "\n" for line in
                   _wechat_preamble(nickname, start, end, exported, rows, utc_note=False))
    body = [WECHAT_PAY_COLUMNS]
    for r in rows:
        amount = f"{yen}{_money(r.amount)}"
        if r.amount >= 1000:
            amount = f"{yen}{r.amount:,.2f}"   # csv module quotes it
        body.append((_fmt_time(r.time), r.kind, r.counterparty, r.product, r.direction,
                     amount, r.method, r.status, r.tid + "\t", r.mid + ("\t" if r.mid != "/" else ""),
                     r.note))
    data = _csv_text(body)
    if truncate_last and rows:
        lines = data.splitlines(keepends=True)
        lines[-1] = lines[-1][: len(lines[-1]) // 3] + "\n"
        data = "".join(lines)
    text += data
    _write_bytes(path, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_wechat_pay_xlsx(path: str | Path, *, nickname: str, rows: Sequence[WeChatPayRow],
                          start: dt.datetime, end: dt.datetime, exported: dt.datetime,
                          layout: int = 2025) -> Path:
    """Write a WeChat Pay XLSX bill: ``layout=2025`` (header row 17, amount text)
    or ``layout=2026`` (UTC note, header row 18, numeric amount ``\\¥#,##0.00``)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    path = Path(path)
    wb = Workbook(write_only=True)   # streams rows: fast for large bills
    ws = wb.create_sheet("微信支付账单明细")
    pre = _wechat_preamble(nickname, start, end, exported, rows, utc_note=(layout >= 2026))
    for line in pre:
        ws.append([line if line else None])
    ws.append(list(WECHAT_PAY_COLUMNS))
    for r in rows:
        if layout >= 2026:
            amount: object = WriteOnlyCell(ws, value=float(r.amount))
            amount.number_format = "\\¥#,##0.00"  # type: ignore[attr-defined]
        else:
            amount = f"¥{_money(r.amount)}"
        ws.append([_fmt_time(r.time), r.kind, r.counterparty, r.product, r.direction, amount,
                   r.method, r.status, r.tid, r.mid, r.note])
    _write_bytes(path, deterministic_xlsx_bytes(wb))
    return path


# ------------------------------------------------------------------------- Alipay
ALIPAY_2023_COLUMNS = ("交易时间", "交易分类", "交易对方", "对方账号", "商品说明", "收/支", "金额",
                       "收/付款方式", "交易状态", "交易订单号", "商家订单号", "备注")
ALIPAY_2021_COLUMNS = ("收/支", "交易对方", "对方账号", "商品说明", "收/付款方式", "金额", "交易状态",
                       "交易分类", "交易订单号", "商家订单号", "交易时间")
ALIPAY_WEB_COLUMNS = ("交易号", "商家订单号", "交易创建时间", "付款时间", "最近修改时间", "交易来源地",
                      "类型", "交易对方", "商品名称", "金额（元）", "收/支", "交易状态", "服务费（元）",
                      "成功退款（元）", "备注", "资金状态")


def _alipay_counts(rows: Sequence[AlipayRow]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for key in ("收入", "支出", "不计收支"):
        rs = [r for r in rows if r.direction == key]
        out[key] = (len(rs), _money(sum((r.amount for r in rs), Decimal("0"))))
    return out


def write_alipay_csv(path: str | Path, *, name: str, account: str, rows: Sequence[AlipayRow],
                     start: dt.datetime, end: dt.datetime, exported: dt.datetime,
                     layout: int = 2023, encoding: str = "gb18030") -> Path:
    """Write an Alipay bill in the ``layout`` of 2023+ (app), 2021 (app 电子客户回单)
    or 2020 (old web export with footer). Encoded GB18030 like the real files."""
    path = Path(path)
    c = _alipay_counts(rows)
    lines: list[str] = []
    if layout >= 2023:
        lines += [
            "-" * 84, "导出信息：", f"姓名：{name}", f"支付宝账户：{account}",
            f"起始时间：[{_fmt_time(start)}]    终止时间：[{_fmt_time(end)}]",
            "导出交易类型：[全部]", f"导出时间：[{_fmt_time(exported)}]",
            f"共{len(rows)}笔记录",
            f"收入：{c['收入'][0]}笔 {c['收入'][1]}元", f"支出：{c['支出'][0]}笔 {c['支出'][1]}元",
            f"不计收支：{c['不计收支'][0]}笔 {c['不计收支'][1]}元", "", "特别提示：",
        ]
        lines += [f"{i}. 本回单内容仅供参考（第{i}条提示）。" for i in range(1, 10)]
        lines += ["", "------------------------支付宝（中国）网络技术有限公司  电子客户回单"
                      "------------------------"]
        text = "".join(line + "\n" for line in lines)
        body = [ALIPAY_2023_COLUMNS + ("",)]
        for r in rows:
            body.append((_fmt_time(r.time), r.category, r.counterparty, r.counter_account,
                         r.product, r.direction, _money(r.amount), r.method, r.status,
                         r.tid + "\t", (r.mid + "\t") if r.mid else "", r.note, ""))
        text += _csv_text(body)
    elif layout >= 2021:
        text = ("------------------------支付宝（中国）网络技术有限公司  电子客户回单"
                "------------------------\n")
        body = [ALIPAY_2021_COLUMNS + ("",)]
        for r in rows:
            body.append((r.direction if r.direction != "不计收支" else "其他", r.counterparty,
                         r.counter_account, r.product, r.method, _money(r.amount), r.status,
                         r.category, r.tid + "\t", (r.mid + "\t") if r.mid else "",
                         _fmt_time(r.time), ""))
        text += _csv_text(body)
        text += "".join(line + "\n" for line in [
            "", "导出信息：", f"姓名：{name}", f"支付宝账户：{account}",
            f"起始时间：[{_fmt_time(start)}]    终止时间：[{_fmt_time(end)}]",
            f"导出时间：[{_fmt_time(exported)}]", f"共{len(rows)}笔记录"])
    else:
        text = "".join(line + "\n" for line in [
            "支付宝交易记录明细查询", f"账号:[{account}]",
            f"起始日期:[{_fmt_time(start)}]    终止日期:[{_fmt_time(end)}]",
            "---------------------------------交易记录明细列表------------------------------------"])
        body = [tuple(f"{h:<8}" if h in ("交易号", "类型") else h for h in ALIPAY_WEB_COLUMNS) + ("",)]
        for r in rows:
            t = _fmt_time(r.time)
            direction = "" if r.direction == "不计收支" else r.direction
            body.append((f"{r.tid}\t", f"{r.mid}\t" if r.mid else "", f"{t} ", f"{t} ", f"{t} ",
                         "其他（包括阿里巴巴和外部商家）", f"{r.category:<10}", f"{r.counterparty:<12}",
                         f"{r.product:<16}", f"{_money(r.amount):>10}", f"{direction:<4}",
                         f"{r.status:<8}", "0.00      ", "0.00      ", f"{r.note:<6}",
                         "已支出" if r.direction == "支出" else ("已收入" if r.direction == "收入" else ""),
                         ""))
        text += _csv_text(body)
        text += "".join(line + "\n" for line in [
            "------------------------------------------------------------------------------------",
            f"共{len(rows)}笔记录", f"已收入:{c['收入'][0]}笔,{c['收入'][1]}元", "待收入:0笔,0.00元",
            f"已支出:{c['支出'][0]}笔,{c['支出'][1]}元", "待支出:0笔,0.00元",
            f"导出时间:[{_fmt_time(exported)}]    用户:{name}"])
    _write_bytes(path, text.encode(encoding))
    return path


# --------------------------------------------------------------------------- Bank
BANK_JZ_COLUMNS = (
    "交易卡号", "交易账号", "交易方户名", "交易方证件号码", "交易时间", "交易金额", "交易余额",
    "收付标志", "交易对手账卡号", "现金标志", "对手户名", "对手身份证号", "对手开户银行", "摘要说明",
    "交易币种", "交易网点名称", "交易发生地", "交易是否成功", "传票号", "IP地址", "MAC地址",
    "对手交易余额", "交易流水号", "日志号", "凭证种类", "凭证号", "交易柜员号", "备注",
    "查询反馈结果原因",
)
BANK_BR40_COLUMNS = (
    "查询账号", "查询卡号", "交易类型", "借贷标志", "币种", "交易金额", "交易余额", "交易时间",
    "交易流水号", "交易网点名称", "现金标志", "交易是否成功", "交易对方名称", "交易对方账卡号",
    "交易对方帐卡号类型", "交易对方证件号码", "交易对方账号开户行", "交易摘要", "日志号", "备注",
)


def _nz(v: str, null: str) -> str:
    return v if v else null


def write_bank_csv(path: str | Path, rows: Sequence[BankRow], *, encoding: str = "gb18030",
                   null: str = "\\N", bad_amount_rows: Sequence[int] = ()) -> Path:
    """Write a 经侦-platform ``<银行>交易明细信息.csv`` (29 columns, GB18030).

    Long numbers get a TAB guard; missing values are written as ``null``
    (``\\N`` or ``-``). ``bad_amount_rows`` (0-based) writes a corrupt amount,
    for loader tests.
    """
    path = Path(path)
    body: list[Sequence[object]] = [BANK_JZ_COLUMNS]
    for i, r in enumerate(rows):
        amount = "12,3a.0" if i in bad_amount_rows else _money(r.amount)
        body.append((
            r.card + "\t", r.account + "\t", r.holder, r.holder_id + "\t", _fmt_time(r.time),
            amount, _money(r.balance), r.direction, _nz(r.cp_card, null) + ("\t" if r.cp_card else ""),
            "转账", _nz(r.cp_name, null), _nz(r.cp_id, null), _nz(r.cp_bank, null), r.summary,
            "人民币", _nz(r.branch, null), null, "成功", null, null, null, null, r.serial, null,
            null, null, null, null, "查询成功",
        ))
    bom = b"\xef\xbb\xbf" if encoding.lower().replace("-", "") in ("utf8sig",) else b""
    enc = "utf-8" if bom else encoding
    _write_bytes(path, bom + _csv_text(body, lineterminator="\r\n").encode(enc))
    return path


def write_bank_xlsx(path: str | Path, rows: Sequence[BankRow]) -> Path:
    """Write a bank-side feedback sheet (CITIC ``br40``-like): 借贷标志 进/出,
    14-digit ``yyyyMMddHHmmss`` times, 币种 156."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("交易明细")
    ws.append(list(BANK_BR40_COLUMNS))
    for r in rows:
        ws.append([r.account, r.card, "转账", r.direction, "156", float(r.amount), float(r.balance),
                   r.time.strftime("%Y%m%d%H%M%S"), r.serial, r.branch or "-", "00", "01",
                   r.cp_name or "-", r.cp_card or "-", "1" if r.cp_card else "2", r.cp_id or "-",
                   r.cp_bank or "-", r.summary, "-", "-"])
    _write_bytes(path, deterministic_xlsx_bytes(wb))
    return path


# --------------------------------------------------------------------------- Chats
MEMOTRACE_COLUMNS = ("localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status",
                     "StrContent", "StrTime", "Remark", "NickName", "Sender")
PYWXDUMP_COLUMNS = ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src",
                    "CreateTime")
_PYWX_TYPES = {1: "文本", 3: "图片", 34: "语音", 43: "视频", 47: "动画表情", 49: "转账", 10000: "系统通知"}


def write_memotrace_csv(path: str | Path, rows: Sequence[ChatRow], *, talker_id: int,
                        bad_time_rows: Sequence[int] = ()) -> Path:
    """Write a MemoTrace / WeChatMsg ``<remark>_utf8.csv`` (utf-8-sig, CRLF).

    ``bad_time_rows`` (0-based) writes an unparseable time, for loader tests.
    """
    path = Path(path)
    body: list[Sequence[object]] = [MEMOTRACE_COLUMNS]
    for i, r in enumerate(rows):
        local = dt.datetime.fromtimestamp(r.create_time, _TZ)
        ct: object = r.create_time
        st = _fmt_time(local.replace(tzinfo=None))
        if i in bad_time_rows:
            ct, st = "16x8", "2024-13-45 99:99:99"
        body.append((r.local_id, talker_id, r.type, r.subtype, r.is_sender, ct, 2, r.content, st,
                     r.remark, r.nickname, r.sender))
    _write_bytes(path, b"\xef\xbb\xbf" + _csv_text(body, lineterminator="\r\n").encode("utf-8"))
    return path


def write_pywxdump_csv(path: str | Path, rows: Sequence[ChatRow], *, room_name: str) -> Path:
    """Write a PyWxDump CSV (UTF-8, no BOM): ``talker`` is ``我`` for the owner."""
    path = Path(path)
    body: list[Sequence[object]] = [PYWXDUMP_COLUMNS]
    for r in rows:
        local = dt.datetime.fromtimestamp(r.create_time, _TZ).replace(tzinfo=None)
        talker = "我" if r.is_sender else (r.sender or "未知")
        body.append((r.local_id, r.msgsvrid, _PYWX_TYPES.get(r.type, "其他"), r.is_sender, talker,
                     room_name, r.content, "", _fmt_time(local)))
    _write_bytes(path, _csv_text(body).encode("utf-8"))
    return path


# ------------------------------------------------------------------------ Contacts
def _qp_encode(text: str, prefix_len: int) -> str:
    """Quoted-printable with soft breaks every 75 chars (may split a UTF-8 char)."""
    enc = "".join(f"={b:02X}" for b in text.encode("utf-8"))
    out, line, room = [], "", 75 - prefix_len
    for ch in enc:
        if len(line) + 1 > room:
            out.append(line + "=")
            line, room = "", 75
        line += ch
    out.append(line)
    return "\r\n".join(out)


def write_vcard(path: str | Path, contacts: Sequence[Contact], *, version: str = "2.1") -> Path:
    """Write an address book as vCard ``2.1`` (Android, quoted-printable names),
    ``3.0`` (iPhone, ``item1.TEL`` + ``X-ABLabel``) or ``4.0`` (``tel:`` URIs)."""
    path = Path(path)
    out: list[str] = []
    for c in contacts:
        out.append("BEGIN:VCARD")
        out.append(f"VERSION:{version}")
        if version == "2.1":
            prefix = "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;"
            out.append(prefix + _qp_encode(c.name, len(prefix)) + ";;;")
            out.append("FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + _qp_encode(c.name, 44))
            for p in c.phones:
                out.append(f"TEL;CELL:{p}")
        elif version == "3.0":
            out.append(f"N:;{c.name};;;")
            out.append(f"FN:{c.name}")
            for i, p in enumerate(c.phones, 1):
                out.append(f"item{i}.TEL;type=pref:{p}")
                out.append(f"item{i}.X-ABLabel:手机")
        else:
            out.append(f"FN:{c.name}")
            for p in c.phones:
                out.append(f"TEL;VALUE=uri;TYPE=cell:tel:+86-{p[:3]}-{p[3:7]}-{p[7:]}")
        if c.wechat_id:
            out.append(f"X-WECHAT:{c.wechat_id}")
        if c.note:
            out.append(f"NOTE:{c.note}")
        out.append("END:VCARD")
    _write_bytes(path, ("\r\n".join(out) + "\r\n").encode("utf-8"))
    return path


def write_contacts_csv(path: str | Path, contacts: Sequence[Contact]) -> Path:
    """Write a contact sheet CSV (姓名, 电话, 微信号, 备注), UTF-8 with BOM."""
    path = Path(path)
    body: list[Sequence[object]] = [("姓名", "电话", "微信号", "备注")]
    for c in contacts:
        body.append((c.name, ";".join(c.phones), c.wechat_id, c.note))
    _write_bytes(path, b"\xef\xbb\xbf" + _csv_text(body).encode("utf-8"))
    return path
