"""Columns of the normalised evidence tables.

Every table carries provenance: ``device`` (the seized-device folder, empty
for bank statements), ``source_file`` (path relative to the case folder, or as
given) and ``source_line`` (1-based physical line, or spreadsheet row, where
the record starts).

Times are timezone-aware (+08:00); amounts are exact ``decimal.Decimal`` in yuan.
"""

from __future__ import annotations

__all__ = ["TRANSFER_COLUMNS", "MESSAGE_COLUMNS", "CONTACT_COLUMNS", "MEMBERSHIP_COLUMNS",
           "DEVICE_COLUMNS", "PROVENANCE"]

PROVENANCE = ("device", "source_file", "source_line")

#: One row per observation of a payment in one party's records. The same
#: payment seen from both sides has the same ``transfer_id``.
TRANSFER_COLUMNS = (
    "transfer_id",         # "<channel>:<transaction id>"
    "channel",             # wechat, alipay, bank
    "time",
    "amount",              # Decimal, yuan, positive
    "direction",           # out, in, neutral (seen from the owner of the record)
    "completed",           # False for closed / failed / 不计收支 orders
    "kind",                # 交易类型 / 交易分类 / 摘要
    "status",
    "product",
    "note",
    "owner_name",          # account holder's real name (Alipay header, bank 户名)
    "owner_nickname",      # WeChat nickname from the bill header
    "owner_account",       # Alipay account, bank card
    "owner_id_number",
    "counterparty",        # 交易对方 / 对手户名 as written
    "counterparty_account",  # as written (may be masked)
    "counterparty_phone",  # normalised phone if the account is an unmasked phone
    "counterparty_card",   # normalised bank card if any
    "counterparty_id_number",
    "counterparty_bank",
) + PROVENANCE

#: One row per chat message (deduplicated across phones).
MESSAGE_COLUMNS = (
    "message_id",          # stable hash of chat, time, type and content
    "chat_id",             # "...@chatroom" for groups, the peer's wxid for 1:1 chats
    "chat_name",
    "is_group",
    "time",
    "msg_type",            # text, image, voice, system, app, ...
    "from_owner",          # sent by the device owner
    "sender_wxid",         # empty for system messages (and owner messages in PyWxDump)
    "sender_name",         # nickname as shown
    "sender_remark",       # the device owner's remark for the sender
    "content",
    "id_numbers",          # ;-joined, extracted from content (valid only)
    "invalid_id_numbers",
    "phones",
    "bank_cards",
    "otp_codes",
    "copies",              # how many exports held this message
) + PROVENANCE

#: One row per address-book entry.
CONTACT_COLUMNS = ("name", "phones", "wechat_ids", "emails", "note") + PROVENANCE

#: Who was seen in which chat (speakers, participants).
MEMBERSHIP_COLUMNS = ("chat_id", "chat_name", "is_group", "member_wxid", "member_name",
                      "messages") + PROVENANCE

#: What is known of each device's owner, and from where.
DEVICE_COLUMNS = ("device", "owner_name", "phones", "wechat_ids", "wechat_nicknames",
                  "alipay_accounts", "id_number", "bank_cards", "seized_on", "seized_at", "evidence")
