"""The synthetic crime chain: who is who, who posted whom, who paid whom.

:func:`build_world` draws a complete, self-consistent case from a seed and a
:class:`Scale`; :mod:`crimegraph.synth.case` then writes it in the real
export formats. Everything is drawn from one ``random.Random(seed)`` in a
fixed order, so the same seed gives the same world.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import dataclass, field
from decimal import Decimal

from ..identifiers import id_check_digit, luhn_check_digit

__all__ = ["Scale", "SCALES", "Person", "Victim", "Message", "Group", "Transfer", "BankTxn",
           "World", "build_world"]

TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Scale:
    """Size of a synthetic case.

    Attributes
    ----------
    name : str
        ``small``, ``medium`` or ``dingtao``.
    n_resale, n_merchants : int
        Number of resale nodes and number merchants.
    pushers_per_merchant, victims_per_pusher : tuple of int
        Inclusive ranges.
    days : int
        Length of the operation in days.
    chat_copies : int
        On how many members' phones each group chat was extracted.
    second_phones : int
        Suspects seized with a second phone.
    otp_fraction : float
        Share of victims whose SMS codes were also forwarded to the group.
    noise : float
        Multiplier of noise (chit-chat, shops, family) per person.
    """

    name: str
    n_resale: int
    n_merchants: int
    pushers_per_merchant: tuple[int, int]
    victims_per_pusher: tuple[int, int]
    days: int
    chat_copies: int
    second_phones: int
    otp_fraction: float = 1.0
    noise: float = 1.0


SCALES: dict[str, Scale] = {
    "small": Scale("small", 2, 3, (3, 5), (5, 10), 14, 99, 1),
    "medium": Scale("medium", 4, 8, (4, 8), (10, 30), 30, 3, 4),
    "dingtao": Scale("dingtao", 12, 45, (19, 21), (720, 880), 90, 2, 43, otp_fraction=0.3, noise=0.5),
}

# --------------------------------------------------------------------- name pools
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红梅玉珍凤翠云海林斌宇浩凯鹏飞鑫波辉婷雪琳晨阳宁健春秋德福寿喜荣贵"
_ELDER_GIVEN = "秀英桂兰玉珍凤英桂英淑珍秀兰玉兰桂芳德福寿山长顺有才金生福生玉梅翠花春花建国振华"
_NICK_PUSH = ["阿强", "小李", "老王", "阿杰", "小东", "阿明", "小峰", "阿龙", "小勇", "阿辉", "大军",
              "小涛", "阿坤", "小飞", "阿彬", "小鹏", "阿华", "小斌", "阿伟", "小凯"]
_NICK_MERCH = ["鑫源收号", "A-老周", "诚信推广", "老K工作室", "顺发科技", "金牌地推", "红星拉新",
               "大鹏推广", "东哥项目", "天天拉新"]
_NICK_RESALE = ["诚信收号-王总", "全网收号", "高价收号", "号多多", "速收各平台号", "收号专线"]
_SHOPS = ["兴旺超市", "美团外卖", "中国石化", "拼多多平台商户", "万家福便利店", "滴滴出行", "农家乐饭店",
          "移动话费充值", "老乡鸡", "华联超市"]
_PLATFORMS = ["拼多多", "淘宝", "美团", "抖音", "京东", "快手"]
_PLATFORM_BONUS = {"拼多多": Decimal(0), "淘宝": Decimal(2), "美团": Decimal(5), "抖音": Decimal(3),
                   "京东": Decimal(8), "快手": Decimal(0)}
_VILLAGES = ["石埠村", "那洪村", "坛洛村", "金陵村", "双定村", "三塘村", "伶俐村", "五塘村", "六景村",
             "长塘村", "那马村", "苏圩村", "延安村", "百济村", "新江村"]
_AREAS = ["450103", "450105", "450107", "450108", "450109", "450110", "450122", "450123", "450124",
          "450125", "450126", "450127", "450202", "450203", "450221", "450222", "450223", "450224"]
_BANKS = [("中国农业银行", "622848"), ("中国工商银行", "622202"), ("中国建设银行", "621700"),
          ("中国邮政储蓄银行", "621799"), ("广西农村信用社", "623166")]
_CHIT = ["今天去哪个村", "大家注意安全", "明天早上八点集合", "收到", "好的", "这个村老人多", "下雨了今天休息",
         "车在村口等", "[图片]", "吃饭了没", "人太多排队了", "大家辛苦了", "有人跟我一起去吗"]
_FAMILY = ["妈妈", "老婆", "爸", "哥", "表弟"]


# ------------------------------------------------------------------------ records
@dataclass
class Person:
    """A person of the synthetic world (suspect or bystander; not a victim)."""

    pid: str
    name: str
    role: str                      # pusher, merchant, resale, other
    crew: str | None               # merchant pid of the crew, or None
    phone: str
    wxid: str
    nickname: str
    alipay: str
    bank: str
    bank_card: str
    id_number: str
    devices: list[str] = field(default_factory=list)
    contacts: dict[str, str] = field(default_factory=dict)   # pid -> remark


@dataclass
class Victim:
    """An elderly villager whose identity was leaked."""

    vid: str
    name: str
    id_number: str
    phone: str
    village: str
    pusher: str
    merchant: str
    group: str
    time: int
    platforms: tuple[str, ...]


@dataclass
class Message:
    """A chat message: ``sender`` is a pid, or None for a system message."""

    time: int
    sender: str | None
    type: int
    subtype: int
    content: str
    svrid: int


@dataclass
class Group:
    """A WeChat conversation (group, or 1:1 when ``private``)."""

    room_id: str
    name: str
    owner: str
    members: list[str]
    messages: list[Message] = field(default_factory=list)
    private: bool = False


@dataclass
class Transfer:
    """A payment on WeChat Pay or Alipay; ``payee``/``payer`` may be ``org:<name>``."""

    channel: str                   # wechat, alipay
    time: int
    payer: str
    payee: str
    amount: Decimal
    kind: str
    product: str
    tid: str
    status: str = "支付成功"
    note: str = "/"
    purpose: str = "noise"         # commission, sale, red_packet, family, shop, withdraw, noise


@dataclass
class BankTxn:
    """One leg of a bank transfer as seen on ``card``'s statement."""

    card_owner: str
    time: int
    amount: Decimal
    direction: str                 # 进 / 出
    cp_owner: str | None           # pid, or None for an organisation
    cp_name: str
    cp_card: str
    summary: str
    serial: str
    purpose: str


@dataclass
class World:
    """Everything drawn for one synthetic case."""

    seed: int
    scale: Scale
    start: dt.datetime
    persons: dict[str, Person]
    victims: list[Victim]
    groups: list[Group]
    transfers: list[Transfer]
    bank: list[BankTxn]
    buyers: dict[str, list[str]] = field(default_factory=dict)

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.persons.values() if p.role == role]


# ------------------------------------------------------------------------ drawing
class _Drawer:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.phones: set[str] = set()
        self.ids: set[str] = set()
        self.wxids: set[str] = set()
        self.counter = 0

    def mobile(self) -> str:
        while True:
            p = f"1{self.r.choice('3456789')}{self.r.randrange(10**9):09d}"
            if p not in self.phones:
                self.phones.add(p)
                return p

    def id_number(self, y0: int, y1: int) -> str:
        while True:
            d = dt.date(self.r.randint(y0, y1), 1, 1) + dt.timedelta(days=self.r.randrange(365))
            body = f"{self.r.choice(_AREAS)}{d:%Y%m%d}{self.r.randrange(1000):03d}"
            full = body + id_check_digit(body)
            if full not in self.ids:
                self.ids.add(full)
                return full

    def name(self, elder: bool = False) -> str:
        if elder and self.r.random() < 0.6:
            g = self.r.choice(_ELDER_GIVEN[::2]) + self.r.choice(_ELDER_GIVEN[1::2])
            return self.r.choice(_SURNAMES) + g
        n = self.r.choice((1, 2))
        return self.r.choice(_SURNAMES) + "".join(self.r.choice(_GIVEN) for _ in range(n))

    def wxid(self) -> str:
        while True:
            if self.r.random() < 0.7:
                w = "wxid_" + "".join(self.r.choice(string.ascii_lowercase + string.digits)
                                      for _ in range(14))
            else:
                w = "".join(self.r.choice(string.ascii_lowercase) for _ in range(self.r.randint(3, 6)))
                w += f"{self.r.randrange(10000)}"
            if w not in self.wxids:
                self.wxids.add(w)
                return w

    def card(self, bin_: str) -> str:
        body = bin_ + "".join(str(self.r.randrange(10)) for _ in range(18 - len(bin_)))
        return body + luhn_check_digit(body)

    def serial(self, prefix: str, t: int) -> str:
        self.counter += 1
        day = dt.datetime.fromtimestamp(t, TZ).strftime("%Y%m%d")
        return f"{prefix}{day}{self.counter:012d}"


def _person(d: _Drawer, pid: str, role: str, crew: str | None, nickname: str) -> Person:
    bank, bin_ = d.r.choice(_BANKS)
    phone = d.mobile()
    alipay = phone if d.r.random() < 0.7 else f"{d.r.choice(['ab', 'lucky', 'hz', 'gx'])}{d.r.randrange(9999)}@qq.com"
    return Person(pid, d.name(), role, crew, phone, d.wxid(), nickname, alipay, bank, d.card(bin_),
                  d.id_number(1968, 2002))


def build_world(scale: Scale, seed: int) -> World:
    """Draw a complete synthetic case.

    Parameters
    ----------
    scale : Scale
        How big (see :data:`SCALES`).
    seed : int
        Seed of the one random stream everything is drawn from.

    Returns
    -------
    World
    """
    d = _Drawer(seed)
    r = d.r
    start = dt.datetime(2025, 11, 3, tzinfo=TZ)
    t0 = int(start.timestamp())
    persons: dict[str, Person] = {}
    counter = iter(range(1, 10**9))

    def new(role: str, crew: str | None, nickname: str) -> Person:
        p = _person(d, f"P{next(counter):05d}", role, crew, nickname)
        persons[p.pid] = p
        return p

    resale = [new("resale", None, _pick_nick(r, _NICK_RESALE, i)) for i in range(scale.n_resale)]
    merchants = [new("merchant", None, _pick_nick(r, _NICK_MERCH, i)) for i in range(scale.n_merchants)]
    for m in merchants:
        m.crew = m.pid
    pushers: list[Person] = []
    crews: dict[str, list[Person]] = {}
    for m in merchants:
        n = r.randint(*scale.pushers_per_merchant)
        crews[m.pid] = [new("pusher", m.pid, _pick_nick(r, _NICK_PUSH, len(pushers) + i))
                        for i in range(n)]
        pushers += crews[m.pid]
    # each merchant sells to one or two resale nodes; every resale node buys from someone
    buyers: dict[str, list[str]] = {}
    for i, m in enumerate(merchants):
        first = resale[i % len(resale)].pid
        extra = [x.pid for x in resale if x.pid != first]
        more = r.sample(extra, k=1) if extra and r.random() < 0.3 else []
        buyers[m.pid] = [first] + more

    # bystanders: family of every suspect; one shares a pusher's nickname (a resolution trap)
    suspects = resale + merchants + pushers
    for s in suspects:
        for _ in range(r.randint(1, 2) if r.random() < scale.noise else 0):
            rel = r.choice(_FAMILY)
            f = new("other", None, d.name()[1:] if r.random() < 0.5 else rel + "的号")
            s.contacts[f.pid] = rel
            f.contacts[s.pid] = s.name
    others = [p for p in persons.values() if p.role == "other"]
    if others and pushers:
        others[0].nickname = pushers[0].nickname
    if len(others) > 1:
        others[1].nickname = "<img src=x onerror=alert(1)>"   # hostile nickname

    # contacts between suspects
    for m in merchants:
        for p in crews[m.pid]:
            m.contacts[p.pid] = f"{p.nickname}地推"
            p.contacts[m.pid] = r.choice(["老板", "上线", m.nickname, f"{m.name[0]}总"])
            for q in crews[m.pid]:
                if q is not p and r.random() < 0.6:
                    p.contacts[q.pid] = q.nickname
        for b in buyers[m.pid]:
            m.contacts[b] = "收号" + persons[b].name[0] + "总"
            persons[b].contacts[m.pid] = m.nickname

    groups: list[Group] = []
    transfers: list[Transfer] = []
    bank: list[BankTxn] = []
    victims: list[Victim] = []
    svr = iter(range(10**15, 10**16))

    def msg(g: Group, t: int, sender: str | None, content: str, typ: int = 1, sub: int = 0) -> None:
        g.messages.append(Message(t, sender, typ, sub, content, next(svr)))

    def wechat(t: int, payer: str, payee: str, amount: Decimal, kind: str, purpose: str,
               note: str = "/", product: str = "/") -> None:
        transfers.append(Transfer("wechat", t, payer, payee, amount, kind, product,
                                  d.serial("1000050001", t), note=note, purpose=purpose))

    group_no = 0
    for m in merchants:
        crew = crews[m.pid]
        group_no += 1
        name = r.choice(["地推拉新{}群", "医保电子凭证推广{}群", "拉新项目{}群", "农村推广{}队"]).format(group_no)
        g = Group(f"{r.randrange(10**10, 10**11)}@chatroom", name, m.pid, [m.pid] + [p.pid for p in crew])
        groups.append(g)
        msg(g, t0 - 86400, None, f'"{m.nickname}"邀请' + "、".join(f'"{p.nickname}"' for p in crew) + "加入了群聊",
            10000)
        rate = Decimal(r.choice([8, 10, 12, 15, 18, 20, 25, 30]))
        price = Decimal(r.choice([40, 50, 60, 80, 100, 120]))
        sold: list[tuple[int, int]] = []            # (time, accounts) sold to buyers
        for day in range(scale.days):
            day0 = t0 + day * 86400
            if r.random() < 0.6 * scale.noise:
                msg(g, day0 + 7 * 3600 + r.randrange(3600), m.pid,
                    f"今天去{r.choice(_VILLAGES)}，{r.choice(['八点', '九点'])}村口集合")
            if r.random() < 0.3 * scale.noise:
                amount = Decimal(r.randrange(50, 800)) / 100
                tt = day0 + 12 * 3600 + r.randrange(3600)
                msg(g, tt, m.pid, "[红包]大家辛苦了", 49, 2001)
                for p in r.sample(crew, k=min(len(crew), 3)):
                    wechat(tt + r.randrange(60), m.pid, p.pid, amount, "微信红包", "red_packet",
                           product="/")
            day_accounts = 0
            for p in crew:
                if r.random() < 0.15:   # day off
                    continue
                lo, hi = scale.victims_per_pusher
                n_today = max(0, round(r.randint(lo, hi) / scale.days * r.uniform(0.6, 1.4)))
                village = r.choice(_VILLAGES)
                t = day0 + 9 * 3600 + r.randrange(2 * 3600)
                for _ in range(n_today):
                    t += r.randrange(120, 900)
                    v = Victim(f"V{len(victims) + 1:07d}", d.name(elder=True), d.id_number(1938, 1962),
                               d.mobile(), village, p.pid, m.pid, g.room_id, t,
                               tuple(r.sample(_PLATFORMS, k=r.choice((1, 1, 1, 2, 2, 3)))))
                    victims.append(v)
                    msg(g, t, p.pid, _posting(r, v))
                    tt = t
                    if r.random() < 0.4 * scale.noise:
                        tt += r.randrange(20, 120)
                        msg(g, tt, m.pid, r.choice(["收到", "发码", "等一下", "好"]))
                    if r.random() < scale.otp_fraction:
                        for plat in v.platforms:
                            tt += r.randrange(60, 300)
                            code = f"{r.randrange(10**5, 10**6)}" if r.random() < 0.7 else f"{r.randrange(1000, 10000)}"
                            msg(g, tt, p.pid, _otp(r, plat, code))
                    day_accounts += len(v.platforms)
                    for plat in v.platforms:   # one commission per account registered
                        tt += r.randrange(60, 600)
                        amount = min(max(rate + _PLATFORM_BONUS[plat], Decimal(5)), Decimal(50))
                        wechat(tt, m.pid, p.pid, amount, "转账", "commission",
                               note=r.choice(["佣金", "/", "拉新", plat]))
                if n_today and r.random() < 0.3 * scale.noise:
                    msg(g, t + 600, p.pid, r.choice(_CHIT))
            if day_accounts:
                sold.append((day0 + 20 * 3600, day_accounts))
        # weekly sales of accounts to the merchant's buyers
        week: list[tuple[int, int]] = []
        n_sales = 0
        for i, item in enumerate(sold):
            week.append(item)
            if len(week) == 7 or i == len(sold) - 1:
                t = week[-1][0] + r.randrange(3600)
                n_acc = sum(a for _, a in week)
                b = persons[buyers[m.pid][n_sales % len(buyers[m.pid])]]
                n_sales += 1
                amount = price * n_acc
                chat = _private(groups, m, b)
                msg(chat, t - 1800, m.pid, f"这周{n_acc}个号，{price}一个，一共{amount}")
                msg(chat, t - 600, b.pid, "收到，马上打款")
                if r.random() < 0.6:
                    serial = d.serial("B", t)
                    bank.append(BankTxn(b.pid, t, amount, "出", m.pid, m.name, m.bank_card, "转账",
                                        serial, "sale"))
                    bank.append(BankTxn(m.pid, t, amount, "进", b.pid, b.name, b.bank_card, "转账",
                                        serial, "sale"))
                else:
                    transfers.append(Transfer("alipay", t, b.pid, m.pid, amount, "转账",
                                              "转账", d.serial("2025", t), "交易成功", "",
                                              "sale"))
                week = []
        # merchants cash out WeChat balance to their card
        for day in range(6, scale.days, 7):
            t = t0 + day * 86400 + 21 * 3600
            amount = Decimal(r.randrange(500, 3000))
            wechat(t, m.pid, "org:财付通支付科技有限公司", amount, "零钱提现", "withdraw")
            bank.append(BankTxn(m.pid, t + 3600, amount, "进", None, "财付通支付科技有限公司",
                                "243300133", "微信零钱提现", d.serial("B", t), "withdraw"))

    # noise: shops and family transfers for everybody with a phone that will be seized
    for s in suspects:
        for day in range(0, scale.days, max(1, round(3 / scale.noise))):
            t = t0 + day * 86400 + r.randrange(8 * 3600, 22 * 3600)
            wechat(t, s.pid, "org:" + r.choice(_SHOPS), Decimal(r.randrange(300, 20000)) / 100,
                   "商户消费", "shop", product=r.choice(["商品", "外卖订单", "加油", "话费"]))
        for f in s.contacts:
            if persons[f].role == "other" and r.random() < 0.7:
                t = t0 + r.randrange(scale.days) * 86400 + r.randrange(8 * 3600, 22 * 3600)
                payer, payee = (s.pid, f) if r.random() < 0.5 else (f, s.pid)
                wechat(t, payer, payee, Decimal(r.choice([100, 200, 500, 1000, 2000])), "转账", "family")
        if s.role in ("merchant", "resale"):
            for _ in range(2):
                t = t0 + r.randrange(scale.days) * 86400 + r.randrange(9 * 3600, 18 * 3600)
                shop = r.choice(_SHOPS)
                status = r.choice(["交易关闭", "交易成功"])
                transfers.append(Transfer("alipay", t, s.pid, "org:" + shop,
                                          Decimal(r.randrange(1000, 30000)) / 100, "日用百货", "商品",
                                          d.serial("2025", t), status, "", "shop"))
    transfers.sort(key=lambda x: (x.time, x.tid))
    bank.sort(key=lambda x: (x.time, x.serial, x.direction))
    for g in groups:
        g.messages.sort(key=lambda m_: (m_.time, m_.svrid))
    return World(seed, scale, start, persons, victims, groups, transfers, bank, buyers)


def _pick_nick(r: random.Random, pool: list[str], i: int) -> str:
    base = pool[i % len(pool)]
    return base if i < len(pool) else f"{base}{i // len(pool) + 1}"


def _posting(r: random.Random, v: Victim) -> str:
    style = r.randrange(5)
    if style == 0:
        return f"{v.name} {v.id_number} {v.phone}"
    if style == 1:
        return f"姓名：{v.name}\n身份证：{v.id_number}\n手机：{v.phone}"
    if style == 2:
        return f"{v.name}，{v.id_number}，{v.phone}，{'/'.join(v.platforms)}"
    if style == 3:
        idn = v.id_number[:17] + v.id_number[17].lower()
        return f"{v.village}{v.name} {idn} 电话{v.phone[:3]} {v.phone[3:7]} {v.phone[7:]}"
    return f"{v.name}\n{v.id_number}\n{v.phone}\n{v.village}"


def _otp(r: random.Random, platform: str, code: str) -> str:
    style = r.randrange(3)
    if style == 0:
        return f"【{platform}】验证码{code}，5分钟内有效，请勿泄露。"
    if style == 1:
        return f"{platform}验证码 {code}"
    return f"【{platform}】{code}（登录验证码），请勿告诉他人。"


def _private(groups: list[Group], a: Person, b: Person) -> Group:
    for g in groups:
        if g.private and set(g.members) == {a.pid, b.pid}:
            return g
    g = Group(b.wxid, b.nickname, a.pid, [a.pid, b.pid], private=True)
    groups.append(g)
    return g
