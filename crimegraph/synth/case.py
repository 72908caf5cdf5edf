"""Write a :class:`~crimegraph.synth.world.World` as a case folder (DESIGN.md §1).

Layout of ``out``::

    out/
      ground_truth.json          roles, crews, buyers, injected faults (never read by loaders)
      ground_truth_victims.csv   every leaked identity and who leaked it
      case/
        case.toml                owners of some devices (the rest must be inferred)
        S001_<name>_手机/         one folder per seized phone: contacts, chats, bills
        银行反馈/                  bank feedback statements
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from . import formats as F
from .world import TZ, BankTxn, Group, Person, Transfer, World

__all__ = ["write_case"]


def _dt(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, TZ).replace(tzinfo=None)


def _mask_account(acct: str) -> str:
    if "@" in acct:
        user, dom = acct.split("@", 1)
        return f"{user[:2]}***@{dom}"
    return f"{acct[:3]}******{acct[-2:]}"


def _record_lines(path: Path, encoding: str, skip_lines: int = 0) -> list[int]:
    """Physical line (1-based) where each CSV data record starts, after the header."""
    text = path.read_bytes().decode(encoding)
    lines = text.splitlines(keepends=True)[skip_lines:]
    reader = csv.reader(io.StringIO("".join(lines)))
    starts: list[int] = []
    prev = 0
    for _ in reader:
        starts.append(skip_lines + prev + 1)
        prev = reader.line_num
    return starts[1:]   # drop the header record


class _CaseWriter:
    def __init__(self, world: World, out: Path) -> None:
        self.w = world
        self.out = out
        self.case = out / "case"
        self.r = random.Random(world.seed * 7919 + 17)   # format choices: separate stream
        self.faults: list[dict[str, object]] = []
        self.duplicates: list[list[str]] = []
        self.unrecognised: list[dict[str, str]] = []
        self.devices: list[tuple[str, Person, bool]] = []   # folder, owner, primary phone?
        self.files: list[str] = []
        self.local_id = 0
        # payments by party, so each device's bill is built from its own rows only
        self.by_party: dict[tuple[str, str], list[Transfer]] = defaultdict(list)
        for t in world.transfers:
            self.by_party[(t.channel, t.payer)].append(t)
            if t.payee != t.payer:
                self.by_party[(t.channel, t.payee)].append(t)
        self.group_index = {id(g): i for i, g in enumerate(world.groups)}

    # ---------------------------------------------------------------- helpers
    def rel(self, p: Path) -> str:
        return p.relative_to(self.case).as_posix()

    def name_of(self, pid: str) -> str:
        return pid[4:] if pid.startswith("org:") else self.w.persons[pid].name

    def nick_of(self, pid: str) -> str:
        return pid[4:] if pid.startswith("org:") else self.w.persons[pid].nickname

    # ----------------------------------------------------------------- devices
    def assign_devices(self) -> None:
        suspects = [p for p in self.w.persons.values() if p.role != "other"]
        pushers = [p for p in suspects if p.role == "pusher"]
        second = set(p.pid for p in pushers[: self.w.scale.second_phones])
        i = 0
        for p in suspects:
            i += 1
            folder = f"S{i:03d}_{p.name}_手机"
            self.devices.append((folder, p, True))
            p.devices.append(folder)
            if p.pid in second:
                i += 1
                folder2 = f"S{i:03d}_{p.name}_手机2"
                self.devices.append((folder2, p, False))
                p.devices.append(folder2)

    # ---------------------------------------------------------------- contacts
    def write_contacts(self, folder: Path, owner: Person) -> None:
        contacts = []
        for pid, remark in sorted(owner.contacts.items()):
            other = self.w.persons[pid]
            wx = other.wxid if self.r.random() < 0.3 else ""
            contacts.append(F.Contact(remark, (other.phone,), wx))
        fmt = self.r.choices(["2.1", "3.0", "4.0", "csv"], weights=[50, 25, 10, 15])[0]
        if fmt == "csv":
            path = F.write_contacts_csv(folder / "通讯录.csv", contacts)
        else:
            path = F.write_vcard(folder / "contacts.vcf", contacts, version=fmt)
        self.files.append(self.rel(path))

    # ------------------------------------------------------------------- chats
    def chat_rows(self, g: Group, owner: Person) -> list[F.ChatRow]:
        rows = []
        for m in g.messages:
            self.local_id += 1
            if m.sender is None:
                rows.append(F.ChatRow(self.local_id, m.type, m.subtype, 0, m.time, m.content, "", "", "",
                                      m.svrid))
                continue
            sp = self.w.persons[m.sender]
            remark = owner.contacts.get(sp.pid, "") if sp.pid != owner.pid else ""
            rows.append(F.ChatRow(self.local_id, m.type, m.subtype, int(sp.pid == owner.pid), m.time,
                                  m.content, remark or sp.nickname, sp.nickname, sp.wxid, m.svrid))
        return rows

    def write_chats(self, folder: Path, owner: Person, groups: list[Group],
                    bad_time: bool) -> bool:
        """Write the owner's chats; return True if a bad-time row was injected."""
        injected = False
        tool = "pywxdump" if self.r.random() < 0.2 else "memotrace"
        for g in groups:
            if g.private:
                other = next(self.w.persons[x] for x in g.members if x != owner.pid)
                title, room = owner.contacts.get(other.pid, other.nickname), other.wxid
            else:
                title, room = g.name, g.room_id
            rows = self.chat_rows(g, owner)
            if tool == "memotrace":
                path = folder / "聊天记录" / f"{title}({room})" / f"{title}_utf8.csv"
                bad = (1,) if bad_time and not g.private and len(rows) > 2 else ()
                F.write_memotrace_csv(path, rows, talker_id=1000 + self.group_index[id(g)], bad_time_rows=bad)
                if bad:
                    line = _record_lines(path, "utf-8-sig")[1]
                    self.faults.append({"file": self.rel(path), "line": line,
                                        "reason": "unparseable CreateTime/StrTime"})
                    bad_time, injected = False, True
            else:
                a, b = _dt(g.messages[0].time), _dt(g.messages[-1].time)
                path = folder / "微信聊天记录" / f"{room}_{a:%Y%m%d}_{b:%Y%m%d}.csv"
                F.write_pywxdump_csv(path, rows, room_name=room)
            self.files.append(self.rel(path))
        return injected

    # ------------------------------------------------------------------- bills
    def wechat_rows(self, owner: Person) -> list[F.WeChatPayRow]:
        rows = []
        for t in self.by_party.get(("wechat", owner.pid), []):
            out = t.payer == owner.pid
            cp = t.payee if out else t.payer
            direction = "支出" if out else "收入"
            status = {"转账": "对方已收钱" if out else "已收钱", "商户消费": "支付成功",
                      "零钱提现": "提现已到账"}.get(t.kind, "支付成功" if out else "已存入零钱")
            kind = t.kind
            if kind == "零钱提现":
                direction = "/"
            if kind == "微信红包":
                kind = "微信红包（群红包）" if out else "微信红包"
            method = "零钱" if out else "/"
            mid = "/" if t.kind != "商户消费" else f"M{t.tid[-16:]}"
            rows.append(F.WeChatPayRow(_dt(t.time), kind, self.nick_of(cp), t.product, direction,
                                       t.amount, method, status, t.tid, mid, t.note))
        rows.sort(key=lambda x: (x.time, x.tid), reverse=True)   # newest first, like the app
        return rows

    def write_wechat_bill(self, folder: Path, owner: Person, *, fmt: str, truncate: bool) -> list[Path]:
        rows = self.wechat_rows(owner)
        if not rows:
            return []
        start = self.w.start.replace(tzinfo=None)
        end = start + dt.timedelta(days=self.w.scale.days, seconds=-1)
        exported = end + dt.timedelta(days=3, hours=10)
        stem = f"微信支付账单({start:%Y%m%d}-{end:%Y%m%d})"
        kw = dict(nickname=owner.nickname, rows=rows, start=start, end=end, exported=exported)
        paths = []
        if fmt in ("csv", "both"):
            bom = self.r.random() < 0.5
            yen = "¥" if self.r.random() < 0.7 else "￥"
            p = F.write_wechat_pay_csv(folder / f"{stem}.csv", bom=bom, yen=yen, truncate_last=truncate, **kw)
            if truncate:
                self.faults.append({"file": self.rel(p), "line": 17 + len(rows),
                                    "reason": "truncated row"})
            paths.append(p)
        if fmt in ("xlsx2025", "xlsx2026", "both"):
            layout = 2026 if fmt == "xlsx2026" else 2025
            paths.append(F.write_wechat_pay_xlsx(folder / f"{stem}.xlsx", layout=layout, **kw))
        if fmt == "both":
            self.duplicates.append([self.rel(p) for p in paths])
        self.files += [self.rel(p) for p in paths]
        return paths

    def alipay_rows(self, owner: Person) -> list[F.AlipayRow]:
        rows = []
        for t in self.by_party.get(("alipay", owner.pid), []):
            out = t.payer == owner.pid
            cp = t.payee if out else t.payer
            acct = "/" if cp.startswith("org:") else _mask_account(self.w.persons[cp].alipay)
            closed = t.status == "交易关闭"
            direction = "不计收支" if closed else ("支出" if out else "收入")
            rows.append(F.AlipayRow(_dt(t.time), t.kind, self.name_of(cp), acct, t.product, direction,
                                    t.amount, "余额" if out else "", t.status, t.tid,
                                    "" if t.kind == "转账" else f"T{t.tid[-14:]}", ""))
        rows.sort(key=lambda x: (x.time, x.tid), reverse=True)
        return rows

    def write_alipay_bill(self, folder: Path, owner: Person) -> None:
        rows = self.alipay_rows(owner)
        if not rows:
            return
        layout = self.r.choices([2023, 2021, 2020], weights=[70, 15, 15])[0]
        start = self.w.start.replace(tzinfo=None)
        end = start + dt.timedelta(days=self.w.scale.days, seconds=-1)
        name = {2023: "支付宝交易明细", 2021: "支付宝电子客户回单", 2020: "alipay_record"}[layout]
        p = F.write_alipay_csv(folder / f"{name}({start:%Y%m%d}-{end:%Y%m%d}).csv", name=owner.name,
                               account=owner.alipay, rows=rows, start=start, end=end,
                               exported=end + dt.timedelta(days=2), layout=layout)
        self.files.append(self.rel(p))

    # -------------------------------------------------------------------- bank
    def write_bank(self) -> None:
        persons = self.w.persons
        by_bank: dict[str, list[BankTxn]] = defaultdict(list)
        for b in self.w.bank:
            by_bank[persons[b.card_owner].bank].append(b)
        balances: dict[str, Decimal] = {}
        folder = self.case / "银行反馈"
        for i, bank in enumerate(sorted(by_bank)):
            rows = []
            for b in by_bank[bank]:
                o = persons[b.card_owner]
                bal = balances.setdefault(o.pid, Decimal(self.r.randrange(1000, 50000)))
                bal = bal + b.amount if b.direction == "进" else bal - b.amount
                balances[o.pid] = bal
                cp = persons[b.cp_owner] if b.cp_owner else None
                rows.append(F.BankRow(
                    card=o.bank_card, account=o.bank_card, holder=o.name, holder_id=o.id_number,
                    time=_dt(b.time), amount=b.amount, balance=bal, direction=b.direction,
                    cp_card=cp.bank_card if cp else b.cp_card, cp_name=b.cp_name,
                    cp_id=cp.id_number if cp else "", cp_bank=cp.bank if cp else "财付通支付科技有限公司",
                    summary=b.summary, serial=b.serial, branch=f"{bank}南宁分行"))
            if i == 0 and len(by_bank) > 1:
                p = F.write_bank_xlsx(folder / f"{bank}_资金查询反馈.xlsx", rows)
            else:
                bad = (0,) if i == 1 else ()
                enc = "utf-8-sig" if i % 3 == 2 else "gb18030"
                p = F.write_bank_csv(folder / f"{bank}交易明细信息.csv", rows, encoding=enc,
                                     null="\\N" if i % 2 else "-", bad_amount_rows=bad)
                if bad:
                    line = _record_lines(p, "utf-8-sig" if enc == "utf-8-sig" else "gb18030")[0]
                    self.faults.append({"file": self.rel(p), "line": line, "reason": "bad amount"})
            self.files.append(self.rel(p))

    # --------------------------------------------------------------- case.toml
    def write_case_toml(self) -> None:
        def q(s: str) -> str:
            return json.dumps(s, ensure_ascii=False)

        lines = ["# Case file: device owners as recorded at seizure (synthetic).",
                 "[case]", f"title = {q('地推个人信息窃取案（合成数据，seed ' + str(self.w.seed) + '）')}",
                 "synthetic = true", ""]
        for k, (folder, p, primary) in enumerate(self.devices):
            if self.r.random() < 0.4:
                continue   # owners of the rest must be inferred from the files
            lines += ["[[device]]", f"folder = {q(folder)}", f"owner = {q(p.name)}",
                      f"phones = [{q(p.phone)}]", f"wechat_ids = [{q(p.wxid)}]"]
            if primary:
                lines += [f"id_number = {q(p.id_number)}", f"bank_cards = [{q(p.bank_card)}]"]
            day = self.w.start + dt.timedelta(days=self.w.scale.days + 5 + k % 3)
            lines += [f"seized_on = {day:%Y-%m-%d}", f"seized_at = {q(self.r.choice(['南宁市西乡塘区', '南宁市武鸣区', '宾阳县']))}", ""]
        (self.case / "case.toml").write_text("\n".join(lines), encoding="utf-8")

    # -------------------------------------------------------------------- main
    def write(self) -> dict[str, object]:
        self.case.mkdir(parents=True, exist_ok=True)
        self.assign_devices()
        copies: dict[int, set[str]] = {}
        for i, g in enumerate(self.w.groups):
            keep = g.members if g.private else g.members[: self.w.scale.chat_copies]
            copies[i] = set(keep)
        truncated = bad_time = False
        both_done = False
        for folder_name, owner, primary in self.devices:
            folder = self.case / folder_name
            folder.mkdir(parents=True, exist_ok=True)
            self.write_contacts(folder, owner)
            groups = [g for i, g in enumerate(self.w.groups) if owner.pid in copies[i]]
            if not primary:
                self.write_chats(folder, owner, [g for g in groups if not g.private][:1], False)
                continue
            want_bad = not bad_time and owner.role == "pusher"
            bad_time = self.write_chats(folder, owner, groups, want_bad) or bad_time
            fmt = self.r.choices(["csv", "xlsx2025", "xlsx2026"], weights=[50, 25, 25])[0]
            if owner.role == "pusher" and not both_done and fmt == "xlsx2025":
                fmt, both_done = "both", True
            trunc = fmt == "csv" and owner.role == "pusher" and not truncated
            if self.write_wechat_bill(folder, owner, fmt=fmt, truncate=trunc) and trunc:
                truncated = True
            if owner.role in ("merchant", "resale"):
                self.write_alipay_bill(folder, owner)
        if len(self.devices) > 1:
            note = self.case / self.devices[1][0] / "提取说明.txt"
            note.write_text("本机由取证工具提取，含通讯录、微信聊天记录、微信支付账单。\n", encoding="utf-8")
            self.unrecognised.append({"file": self.rel(note), "reason": "free text note"})
        self.write_bank()
        self.write_case_toml()
        return self.truth()

    def truth(self) -> dict[str, object]:
        w = self.w
        persons = [{
            "person_id": p.pid, "name": p.name, "role": p.role, "crew": p.crew, "phone": p.phone,
            "wechat_id": p.wxid, "nickname": p.nickname, "alipay": p.alipay, "bank_card": p.bank_card,
            "bank": p.bank, "id_number": p.id_number, "devices": p.devices,
        } for p in w.persons.values()]
        crews: dict[str, list[str]] = defaultdict(list)
        for p in w.persons.values():
            if p.role == "pusher" and p.crew:
                crews[p.crew].append(p.pid)
        purposes: dict[str, int] = defaultdict(int)
        for t in w.transfers:
            purposes[f"{t.channel}:{t.purpose}"] += 1
        for b in w.bank:
            purposes[f"bank:{b.purpose}"] += 1
        return {
            "about": "Synthetic ground truth written by crimegraph.synth. Loaders never read it.",
            "seed": w.seed, "scale": w.scale.name,
            "start": w.start.isoformat(), "days": w.scale.days,
            "persons": persons,
            "crews": dict(sorted(crews.items())),
            "buyers": w.buyers,
            "groups": [{"room_id": g.room_id, "name": g.name, "owner": g.owner, "members": g.members,
                        "private": g.private, "messages": len(g.messages)} for g in w.groups],
            "devices": [{"folder": f, "owner": p.pid, "primary": pr} for f, p, pr in self.devices],
            "counts": {"persons": len(w.persons), "victims": len(w.victims),
                       "accounts": sum(len(v.platforms) for v in w.victims),
                       "devices": len(self.devices),
                       "messages": sum(len(g.messages) for g in w.groups),
                       "transfers": len(w.transfers), "bank_legs": len(w.bank),
                       "transfers_by_purpose": dict(sorted(purposes.items()))},
            "files": sorted(self.files),
            "malformed_rows": self.faults,
            "duplicate_files": self.duplicates,
            "unrecognised_files": self.unrecognised,
        }


def write_case(world: World, out: str | Path) -> dict[str, object]:
    """Write ``world`` under ``out`` (see module docstring) and return the ground truth."""
    out = Path(out)
    truth = _CaseWriter(world, out).write()
    (out / "ground_truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    with open(out / "ground_truth_victims.csv", "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["victim_id", "name", "id_number", "phone", "village", "pusher", "merchant",
                     "group", "time", "platforms"])
        for v in world.victims:
            wr.writerow([v.vid, v.name, v.id_number, v.phone, v.village, v.pusher, v.merchant, v.group,
                         dt.datetime.fromtimestamp(v.time, TZ).isoformat(), ";".join(v.platforms)])
    return truth

