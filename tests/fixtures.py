"""Hand-written fixtures of every supported export layout (invented data).

Each entry: relative path -> bytes. XLSX fixtures are built with openpyxl from
literal cell values. Expected results are asserted in ``test_io.py``.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from crimegraph.synth.formats import deterministic_xlsx_bytes

ID_A = "450103195502141219"      # valid
ID_B = "11010519491231002X"      # valid, X check digit
CARD_A = "6222021234567890128"   # Luhn-valid
CARD_B = "6217001234567890122"   # Luhn-valid (see test)

WECHAT_PRE = """微信支付账单明细,,,,,,,,,,
微信昵称：[阿强],,,,,,,,,,
起始时间：[2024-03-01 00:00:00] 终止时间：[2024-03-31 23:59:59],,,,,,,,,,
导出类型：[全部],,,,,,,,,,
导出时间：[2024-04-02 10:11:12],,,,,,,,,,
,,,,,,,,,,
共6笔记录,,,,,,,,,,
收入：3笔 1235.00元,,,,,,,,,,
支出：2笔 40.00元,,,,,,,,,,
中性交易：1笔 100.00元,,,,,,,,,,
注：,,,,,,,,,,
1. 充值/提现/理财通购买/零钱通存取/信用卡还款等交易，将计入中性交易,,,,,,,,,,
2. 说明二,,,,,,,,,,
3. 说明三,,,,,,,,,,
,,,,,,,,,,
----------------------微信支付账单明细列表--------------------,,,,,,,,,,
交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注
"""
# lines 18-24: 5 good rows, 1 bad time, 1 truncated
WECHAT_ROWS = """2024-03-05 14:22:10,转账,鑫源收号,/,收入,¥15.00,/,已收钱,100005000120240305000000000001\t,/,佣金
2024-03-05 15:00:00,转账,鑫源收号,/,收入,"¥1,200.00",/,已收钱,100005000120240305000000000002\t,/,"/"
2024-03-06 09:00:01,商户消费,兴旺超市,商品,支出,¥28.16,零钱,支付成功,420000000120240306000000000003\t,M0003\t,/
2024-03-07 11:00:00,零钱提现,招商银行(1234),/,/,¥100.00,零钱,提现已到账,100005000120240307000000000004\t,/,/
2024-03-08 20:00:00,微信红包（群红包）,地推拉新3群,/,支出,¥11.84,零钱,支付成功,100005000120240308000000000005\t,/,/
2024-03-3x 10:00:00,转账,小李,/,收入,¥20.00,/,已收钱,100005000120240309000000000006\t,/,/
2024-03-10 10:00:00,转账,小李,/,收
"""

WECHAT_CSV_BOM = ("\ufeff" + WECHAT_PRE + WECHAT_ROWS).encode("utf-8")
WECHAT_CSV_FULLWIDTH = (WECHAT_PRE + WECHAT_ROWS.replace("¥", "￥")).encode("utf-8")

ALIPAY_WEB = """支付宝交易记录明细查询
账号:[20880012345678900156]
起始日期:[2020-03-01 00:00:00]    终止日期:[2020-05-31 23:59:59]
---------------------------------交易记录明细列表------------------------------------
交易号  ,商家订单号,交易创建时间,付款时间,最近修改时间,交易来源地,类型    ,交易对方,商品名称,金额（元）,收/支,交易状态,服务费（元）,成功退款（元）,备注,资金状态,
2020030522001456780000000001\t,\t,2020-03-05 14:22:10 ,2020-03-05 14:22:11 ,2020-03-05 14:22:11 ,其他（包括阿里巴巴和外部商家）,即时到账交易    ,王建国      ,转账            ,     500.00 ,支出  ,交易成功  ,0.00      ,0.00      ,      ,已支出,
2020030622001456780000000002\t,T200306\t,2020-03-06 10:00:00 ,2020-03-06 10:00:01 ,2020-03-06 10:00:01 ,其他（包括阿里巴巴和外部商家）,即时到账交易    ,华联超市      ,商品            ,      32.50 ,支出  ,交易关闭  ,0.00      ,0.00      ,      ,,
2020030722001456780000000003\t,\t,2020-03-07 09:00:00 ,2020-03-07 09:00:00 ,2020-03-07 09:00:00 ,其他（包括阿里巴巴和外部商家）,即时到账交易    ,周建明      ,收款            ,    1800.00 ,收入  ,交易成功  ,0.00      ,0.00      ,      ,已收入,
------------------------------------------------------------------------------------
共3笔记录
已收入:1笔,1800.00元
待收入:0笔,0.00元
已支出:2笔,532.50元
待支出:0笔,0.00元
导出时间:[2020-06-01 10:00:00]    用户:赵国栋
""".encode("gbk")

ALIPAY_2021 = """------------------------支付宝（中国）网络技术有限公司  电子客户回单------------------------
收/支,交易对方,对方账号,商品说明,收/付款方式,金额,交易状态,交易分类,交易订单号,商家订单号,交易时间,
支出,王建国,138******00,转账,余额,66.00,交易成功,转账红包,2021051722001456780000000011\t,,2021-05-17 10:00:00,
收入,周建明,zj***@qq.com,收款,,1200.00,交易成功,转账红包,2021051822001456780000000012\t,,2021-05-18 11:00:00,
其他,余额宝,/,余额宝-自动转入,,100.00,交易成功,投资理财,2021051922001456780000000013\t,,2021-05-19 12:00:00,

导出信息：
姓名：赵国栋
支付宝账户：13800138000
共3笔记录
""".encode("gbk")

_TIPS = "".join(f"{i}. 提示第{i}条。\n" for i in range(1, 10))
ALIPAY_2023 = ("-" * 84 + "\n" + """导出信息：
姓名：赵国栋
支付宝账户：zhaogd@163.com
起始时间：[2024-01-01 00:00:00]    终止时间：[2024-03-31 23:59:59]
导出交易类型：[全部]
导出时间：[2024-04-01 09:00:00]
共5笔记录
收入：1笔 3000.00元
支出：2笔 188.00元
不计收支：2笔 59.90元

特别提示：
""" + _TIPS + """
------------------------支付宝（中国）网络技术有限公司  电子客户回单------------------------
交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,
2024-03-01 10:00:00,转账红包,周建明,139******01,转账,收入,3000.00,,交易成功,2024030122001456780000000021\t,,,
2024-03-02 11:00:00,日用百货,兴旺超市,/,商品,支出,88.00,余额,交易成功,2024030222001456780000000022\t,T0022\t,,
2024-03-03 12:00:00,转账红包,王建国,13912345678,转账,支出,100.00,余额,交易成功,2024030322001456780000000023\t,,,
2024-03-04 13:00:00,日用百货,华联超市,/,商品,不计收支,29.90,,交易关闭,2024030422001456780000000024\t,T0024\t,,
2024-03-05 14:00:00,投资理财,余额宝,/,余额宝-转入,不计收支,30.00,余额,交易成功,2024030522001456780000000025\t,,,
2024-03-06 15:00:00,转账红包,王建国,13912345678,转账,支出
""").encode("gb18030")

_JZ_HEAD = ("交易卡号,交易账号,交易方户名,交易方证件号码,交易时间,交易金额,交易余额,收付标志,交易对手账卡号,现金标志,"
            "对手户名,对手身份证号,对手开户银行,摘要说明,交易币种,交易网点名称,交易发生地,交易是否成功,传票号,IP地址,"
            "MAC地址,对手交易余额,交易流水号,日志号,凭证种类,凭证号,交易柜员号,备注,查询反馈结果原因")


def _jz(card: str, time: str, amount: str, flag: str, cp_card: str, cp_name: str, cp_id: str,
        serial: str, ok: str = "成功") -> str:
    return (f"{card}\t,{card}\t,赵国栋,{ID_A}\t,{time},{amount},5000.00,{flag},{cp_card}\t,转账,{cp_name},"
            f"{cp_id},中国工商银行,转账,人民币,南宁分行,\\N,{ok},\\N,\\N,\\N,\\N,{serial},\\N,\\N,\\N,\\N,\\N,查询成功")


BANK_JZ = ("\r\n".join([
    _JZ_HEAD,
    _jz(CARD_A, "2024-03-05 14:22:10", "3000.00", "进", CARD_B, "周建明", ID_B, "S0001"),
    _jz(CARD_A, "2024-03-06 09:00:00", "1200.50", "出", CARD_B, "周建明", ID_B, "S0002"),
    _jz(CARD_A, "2024-03-06 09:00:00", "1200.50", "出", CARD_B, "周建明", ID_B, "S0002"),   # repeated serial
    _jz(CARD_A, "2024-03-07 21:00:00", "800.00", "进", "243300133", "财付通支付科技有限公司", "\\N", "S0003"),
    _jz(CARD_A, "2024-03-08 10:00:00", "12,3a.0", "出", CARD_B, "周建明", ID_B, "S0004"),       # bad amount
    _jz(CARD_A, "2024-03-09 10:00:00", "50.00", "出", "-", "-", "-", "S0005", ok="失败"),
]) + "\r\n").encode("gb18030")

BANK_SPLIT_UTF8 = ("\ufeff" + "\n".join([
    "账号,户名,交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,对方开户行,摘要,流水号",
    f"{CARD_B},周建明,20240305,142210,,3000.00,9000.00,{CARD_A},赵国栋,中国农业银行,货款,T9001",
    f"{CARD_B},周建明,20240306,090000,1200.50,,7799.50,{CARD_A},赵国栋,中国农业银行,退款,T9002",
    f"{CARD_B},周建明,20240307,100000,,,7799.50,-,-,-,查询,T9003",
]) + "\n").encode("utf-8")


def bank_br40_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["查询账号", "查询卡号", "交易类型", "借贷标志", "币种", "交易金额", "交易余额", "交易时间",
               "交易流水号", "交易网点名称", "现金标志", "交易是否成功", "交易对方名称", "交易对方账卡号",
               "交易对方帐卡号类型", "交易对方证件号码", "交易对方账号开户行", "交易摘要", "日志号", "备注"])
    ws.append([CARD_A, CARD_A, "转账", "进", "156", 3000.0, 5000.0, "20240305142210", "X1", "-", "00", "01",
               "周建明", CARD_B, "1", ID_B, "中国工商银行", "转账", "-", "-"])
    ws.append([CARD_A, CARD_A, "转账", "出", "156", 25.5, 4974.5, "20240306080000", "X2", "-", "00", "02",
               "王建国", "-", "2", "-", "-", "转账", "-", "-"])
    ws.append([CARD_A, CARD_A, "转账", "??", "156", 10.0, 4964.5, "20240306090000", "X3", "-", "00", "01",
               "王建国", "-", "2", "-", "-", "转账", "-", "-"])
    return deterministic_xlsx_bytes(wb)


def wechat_xlsx(layout: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    pre = [line.rstrip(",") for line in WECHAT_PRE.splitlines()[:-1]]
    if layout >= 2026:
        pre.insert(14, "4. 本账单中所有时间均为UTC+08:00时间")
    for line in pre:
        ws.append([line or None])
    ws.append(["交易时间", "交易类型", "交易对方", "商品", "收/支", "金额(元)", "支付方式", "当前状态", "交易单号",
               "商户单号", "备注"])
    amt = (lambda x: x) if layout >= 2026 else (lambda x: f"¥{x:,.2f}")
    ws.append(["2024-03-05 14:22:10", "转账", "鑫源收号", "/", "收入", amt(15.0), "/", "已收钱",
               "100005000120240305000000000001", "/", "佣金"])
    ws.append(["2024-03-05 15:00:00", "转账", "鑫源收号", "/", "收入", amt(1200.0), "/", "已收钱",
               "100005000120240305000000000002", "/", "/"])
    ws.append(["2024-03-06 09:00:01", "商户消费", "兴旺超市", "商品", "支出", amt(28.16), "零钱", "支付成功",
               "420000000120240306000000000003", "M0003", "/"])
    ws.append(["2024-03-10 10:00:00", "转账", "小李"])   # truncated
    return deterministic_xlsx_bytes(wb)


# ---------------------------------------------------------------------- contacts
def _qp(s: str, enc: str = "utf-8") -> str:
    return "".join(f"={b:02X}" for b in s.encode(enc))


_ZS = _qp("张三丰")            # 9 bytes -> 27 chars; split inside the 2nd character below
VCARD_21 = ("BEGIN:VCARD\r\nVERSION:2.1\r\n"
            f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;{_ZS[:15]}=\r\n{_ZS[15:]};;;\r\n"
            f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_ZS}\r\n"
            "TEL;CELL:+86 138-0013-8000\r\nTEL;HOME:0771-2000303\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:2.1\r\n"
            f"FN;CHARSET=GB2312;ENCODING=QUOTED-PRINTABLE:{_qp('李四', 'gb2312')}\r\n"
            "TEL;CELL:139******01\r\nTEL;CELL:13912345678\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:2.1\r\nEND:VCARD\r\n"
            "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:王五\r\nTEL;CELL:13700000000\r\n").encode()

VCARD_30 = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:赵;国栋;;;\r\nFN:赵国栋\r\n"
            "item1.TEL;type=pref:+86 186 0000 1111\r\nitem1.X-ABLabel:手机\r\n"
            "item2.TEL:0086-13500001111\r\nitem2.X-ABLabel:工作\r\nNOTE:上线\\, 鑫源\r\nEND:VCARD\r\n").encode()

VCARD_40 = ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:周建明\r\n"
            "TEL;VALUE=uri;TYPE=cell:tel:+86-150-0000-2222\r\nEMAIL:zjm@example.com\r\nEND:VCARD\r\n").encode()

CONTACT_SHEET_CSV = ("\ufeff姓名,电话,微信号,备注\n"
                     "阿强,13800138000,wxid_aq123,地推\n"
                     "老板,13900001111;13900002222,boss88,\n"
                     ",,,\n"
                     "空号,139******01,,\n").encode("utf-8")


def contact_sheet_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "手机号", "微信", "备注"])
    ws.append(["阿强", "+86 138 0013 8000", "wxid_aq123", None])
    ws.append(["小李", 13700001111, None, "组员"])
    return deterministic_xlsx_bytes(wb)


def cellebrite_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["IMEI", "860000000000001"])
    ct = wb.create_sheet("Contacts")
    ct.append(["Contacts (3)"])
    ct.append(["#", "Name", "Interaction Statuses", "Entries", "Source", "Account"])
    ct.append([1, "阿强", None, "Phone-Mobile: +86 138 0013 8000\nUser ID-WeChat ID: wxid_aq123", "WeChat",
               "wxid_owner"])
    ct.append([2, "老板", None, "Phone-Mobile: 13900001111\nPhone-Home: 0771-2000303\nUser ID-QQ: 12345",
               "Phone", None])
    ct.append([None, None, None, None, None, None])
    return deterministic_xlsx_bytes(wb)


# ------------------------------------------------------------------------- chats
MEMOTRACE_GROUP = ("\ufeff" + "\r\n".join([
    "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender",
    '1,7,10000,0,0,1709600000,2,"""鑫源收号""邀请""阿强""加入了群聊",2024-03-05 08:53:20,,,',
    f"2,7,1,0,1,1709613730,2,王秀英 {ID_A} 13912345678,2024-03-05 12:42:10,阿强,阿强,wxid_aq123",
    '3,7,1,0,0,1709613850,2,收到,2024-03-05 12:44:10,老板,鑫源收号,wxid_boss',
    "4,7,1,0,1,1709613970,2,【拼多多】验证码482913，5分钟内有效，请勿泄露。,2024-03-05 12:46:10,阿强,阿强,wxid_aq123",
    f'5,7,1,0,1,1709614090,2,"姓名：李桂兰\n身份证：{ID_B.lower()}\n手机：13700001111",2024-03-05 12:48:10,阿强,阿强,wxid_aq123',
    "6,7,1,0,0,abc,2,坏时间,2024-13-45 99:99:99,老板,鑫源收号,wxid_boss",
    "7,7,1,0,0,1709614200",
    "8,7,1,0,0,1709614300,2,<script>alert(1)</script>,2024-03-05 12:51:40,,<img src=x onerror=alert(1)>,wxid_evil",
]) + "\r\n").encode("utf-8")
MEMOTRACE_GROUP_PATH = "S1_阿强_手机/聊天记录/地推拉新3群(12345678901@chatroom)/地推拉新3群_utf8.csv"
MEMOTRACE_DM_PATH = "S1_阿强_手机/聊天记录/老板(wxid_boss)/老板_utf8.csv"
MEMOTRACE_DM = ("\ufeff" + "\r\n".join([
    "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender",
    "1,9,1,0,0,1709700000,2,今天结算12个,2024-03-06 12:40:00,老板,鑫源收号,wxid_boss",
    "2,9,1,0,1,1709700100,2,好的老板,2024-03-06 12:41:40,阿强,阿强,wxid_aq123",
]) + "\r\n").encode("utf-8")

PYWXDUMP = "\n".join([
    "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime",
    f"1,1001,文本,1,我,12345678901@chatroom,王秀英 {ID_A} 13912345678,,2024-03-05 12:42:10",
    "2,1002,文本,0,wxid_boss,12345678901@chatroom,收到,,2024-03-05 12:44:10",
    "3,1003,系统通知,0,未知,12345678901@chatroom,你已添加了鑫源收号,,2024-03-05 12:45:00",
    "4,1004,文本,0,未知,12345678901@chatroom,谁发的,,2024-03-05 12:45:30",
    "5,1005,文本,0,wxid_boss,,没有群,,2024-03-05 12:46:00",
    "6,1006,文本,0,wxid_boss,12345678901@chatroom,少一列,2024-03-05 12:47:00",
]).encode("utf-8") + b"\n"

UFDR_XML = f"""<?xml version="1.0" encoding="utf-8"?>
<project id="p1" xmlns="http://pa.cellebrite.com/report/2.0">
  <metadata section="Device Info"><item name="IMEI"><![CDATA[860000000000001]]></item></metadata>
  <decodedData>
    <modelType type="Chat">
      <model type="Chat" id="c1">
        <field name="Source" type="String"><value type="String"><![CDATA[WeChat]]></value></field>
        <field name="Id" type="String"><value type="String"><![CDATA[12345678901@chatroom]]></value></field>
        <field name="Name" type="String"><value type="String"><![CDATA[地推拉新3群]]></value></field>
        <multiModelField name="Participants" type="Party">
          <model type="Party" id="p-a">
            <field name="Identifier" type="String"><value type="String"><![CDATA[wxid_aq123]]></value></field>
            <field name="Name" type="String"><value type="String"><![CDATA[阿强]]></value></field>
            <field name="IsPhoneOwner" type="Boolean"><value type="Boolean"><![CDATA[True]]></value></field>
          </model>
          <model type="Party" id="p-b">
            <field name="Identifier" type="String"><value type="String"><![CDATA[wxid_boss]]></value></field>
            <field name="Name" type="String"><value type="String"><![CDATA[鑫源收号]]></value></field>
          </model>
        </multiModelField>
        <multiModelField name="Messages" type="InstantMessage">
          <model type="InstantMessage" id="m1">
            <field name="Body" type="String"><value type="String"><![CDATA[王秀英 {ID_A} 13912345678]]></value></field>
            <field name="TimeStamp" type="TimeStamp"><value type="TimeStamp" formattedTimestamp="05/03/2024 12:42:10(UTC+8)"><![CDATA[2024-03-05T12:42:10.000+08:00]]></value></field>
            <modelField name="From" type="Party"><model type="Party" id="f1">
              <field name="Identifier" type="String"><value type="String"><![CDATA[wxid_aq123]]></value></field>
            </model></modelField>
          </model>
          <model type="InstantMessage" id="m2">
            <field name="Body" type="String"><value type="String"><![CDATA[收到]]></value></field>
            <field name="TimeStamp" type="TimeStamp"><value type="TimeStamp"><![CDATA[2024-03-05T04:44:10.000+00:00]]></value></field>
            <modelField name="From" type="Party"><model type="Party" id="f2">
              <field name="Identifier" type="String"><value type="String"><![CDATA[wxid_boss]]></value></field>
              <field name="Name" type="String"><value type="String"><![CDATA[鑫源收号]]></value></field>
            </model></modelField>
          </model>
          <model type="InstantMessage" id="m3">
            <field name="Body" type="String"><value type="String"><![CDATA[no time]]></value></field>
          </model>
        </multiModelField>
      </model>
    </modelType>
    <modelType type="Contact">
      <model type="Contact" id="k1">
        <field name="Name" type="String"><value type="String"><![CDATA[老板]]></value></field>
        <multiModelField name="Entries" type="ContactEntry">
          <model type="PhoneNumber" id="e1">
            <field name="Category" type="String"><value type="String"><![CDATA[Mobile]]></value></field>
            <field name="Value" type="String"><value type="String"><![CDATA[+86 139 0000 1111]]></value></field>
          </model>
          <model type="UserID" id="e2">
            <field name="Category" type="String"><value type="String"><![CDATA[WeChat ID]]></value></field>
            <field name="Value" type="String"><value type="String"><![CDATA[wxid_boss]]></value></field>
          </model>
        </multiModelField>
      </model>
      <model type="Contact" id="k2"></model>
    </modelType>
  </decodedData>
</project>
""".encode()


def all_fixtures() -> dict[str, bytes]:
    """Every fixture by relative path inside a case folder."""
    return {
        "S1_阿强_手机/微信支付账单(20240301-20240331).csv": WECHAT_CSV_BOM,
        "S1_阿强_手机/wechat_fullwidth.csv": WECHAT_CSV_FULLWIDTH,
        "S1_阿强_手机/微信支付账单2025.xlsx": wechat_xlsx(2025),
        "S1_阿强_手机/微信支付账单2026.xlsx": wechat_xlsx(2026),
        "S2_赵国栋_手机/alipay_record_20200301_20200531.csv": ALIPAY_WEB,
        "S2_赵国栋_手机/支付宝2021.csv": ALIPAY_2021,
        "S2_赵国栋_手机/支付宝交易明细2023.csv": ALIPAY_2023,
        "银行反馈/中国工商银行交易明细信息.csv": BANK_JZ,
        "银行反馈/某银行流水.csv": BANK_SPLIT_UTF8,
        "银行反馈/中信银行_资金查询反馈.xlsx": bank_br40_xlsx(),
        "S1_阿强_手机/contacts_android.vcf": VCARD_21,
        "S1_阿强_手机/contacts_iphone.vcf": VCARD_30,
        "S2_赵国栋_手机/contacts_v4.vcf": VCARD_40,
        "S1_阿强_手机/通讯录.csv": CONTACT_SHEET_CSV,
        "S2_赵国栋_手机/通讯录.xlsx": contact_sheet_xlsx(),
        "S3_老板_手机/Cellebrite_Contacts.xlsx": cellebrite_xlsx(),
        MEMOTRACE_GROUP_PATH: MEMOTRACE_GROUP,
        MEMOTRACE_DM_PATH: MEMOTRACE_DM,
        "S3_老板_手机/wxid_boss_20240301_20240331.csv": PYWXDUMP,
        "S3_老板_手机/report.xml": UFDR_XML,
        "S3_老板_手机/readme.txt": "这不是导出文件\n".encode(),
    }


def as_buffer(data: bytes, name: str = "<fixture>") -> io.BytesIO:
    b = io.BytesIO(data)
    b.name = name
    return b
