"""Generated Telegram updates for fuzzing the bot through the local Bot API server.

Everything comes from one seeded :class:`random.Random`, so a failing run is
reproduced by its seed. Three phases, each a list of raw updates (the JSON Telegram
sends), with what the bot must do with them recorded alongside:

* ``customers(n)``: about 50 users. Customers write in private chats (random Unicode:
  CJK, Traditional, emoji and ZWJ sequences, RTL and bidi controls, zero-width and
  combining marks, control characters, 4,096-character texts, HTML and Markdown
  injection), edit their messages, send stickers, photos, locations and commands;
  strangers talk in groups the bot was not set up for and in a channel; one update in
  200 is poison (PTB cannot parse it).
* ``strangers(n, tickets)``: people who are not staff try every agent and admin
  command and every button, with good and bad arguments, on other people's
  tickets (``rate:<someone else's ticket>:5``, ``rate:1:99``, garbage data). Nothing
  may change.
* ``staff(n, tickets)``: agents and admins with bad arguments (``/claim abc``,
  ``/claim 99999999999999999999``, ``/reply`` without text or with 5,000 characters).

    fuzz = Fuzzer(seed=1)
    updates = fuzz.customers(2400)
    fuzz.customer_updates          # update_ids of customer messages: each logged once, answered

Helpers for the harness (the test and ``bench/fuzz.py``) read the bot's ticket log:
``settled(db, pushed)`` (every update handled, every customer answered, every card current)
and ``snapshot(db)`` (what a stranger could change).
"""

from __future__ import annotations

import itertools
import random
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

BOT_USERNAME = "complaint_desk_bot"
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")

COMPLAINTS = [
    "你们发货太慢了，我非常失望！", "气死我了，东西坏了", "订单号 20261123", "我要投诉，打12315", "这是什么服务态度？",
    "退款怎么还没到账", "冰箱不制冷", "快递被取消了", "你們的客服態度太差了", "我能不生气吗", "收钱倒是很积极",
    "明天就要出差，今晚必须送到", "奶油都化了", "请问什么时候发货", "谢谢，问题解决了", "我要找媒体曝光你们",
    "少送了一件", "多收了我20块", "门关不严", "好啊，推来推去，最后谁都不管是吧",
]
EMOJI = ["😡", "😭", "🙏", "👍", "💢", "🤬", "😤", "❤️", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "👍🏽", "🧑🏿‍💻", "1️⃣", "©️"]
RTL = ["مرحبا بكم", "שלום עולם", "\u202eشكوى\u202c", "\u202dLTR\u202c", "\u200f\u200e", "\u2067עברית\u2069"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\u180e"]
CONTROL = [chr(c) for c in (*range(0, 32), 127)] + ["\x85", "\u2028", "\u2029", "\x1c", "\x1e"]
INJECTION = [
    "<b>加粗</b>", "</b>", "<script>alert(1)</script>", "&amp;", "&lt;", "&", "<", ">", "<a href='javascript:alert(1)'>点我</a>",
    "<tg-spoiler>", "]]>", "<!--", "&#0;", "&#x110000;", "<b><i>x</b></i>", "<br/>", "<pre><code class=x>",
    "*粗体* _斜体_ `代码` [链接](http://例子.中国) ```pre```", "\\*", "~~删~~", "||剧透||", "%s %d {0} {name} {{", "'; drop table tickets; --",
    "' or '1'='1", "\"双引号\"", "${jndi:ldap://x}", "../../etc/passwd",
]
ODD = ["\u3000", "𠀀𠀁𪚥", "𝐀𝐁𝐂", "\ue000\uf8ff", "\ufffd", "\ufffe", "\uffff", "Ａ Ｂ １２３", "①②③", "١٢٣", "¹²³",
       "ﾊﾝｶｸ", "Ω≈ç√∫", "ÅÍÎÏ˝ÓÔ", "Z̴̡̛̪̞͎a̸̧̛̠͈l̴̨̛̛͎g̸͕̮͠o̶̞͝"]


def _clip(text: str, limit: int = 4096) -> str:
    return text[:limit]


@dataclass
class Fuzzer:
    seed: int = 1
    agent_chat: int = -100200300
    agents: tuple[int, ...] = (5001, 5002)
    supervisors: tuple[int, ...] = (6001,)
    admins: tuple[int, ...] = (7001,)
    n_customers: int = 40
    n_strangers: int = 6
    customer_updates: dict[int, int] = field(default_factory=dict)   # update_id -> user_id: logged once, answered
    poison_updates: list[int] = field(default_factory=list)          # unreadable by PTB: kept aside, confirmed
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.customer_ids = [30_000 + i for i in range(self.n_customers)]
        self.stranger_ids = [40_000 + i for i in range(self.n_strangers)]
        self.unknown_groups = [-100900001, -100900002, -4242]
        self.channel = -100800001
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self.users = {uid: self._make_user(uid) for uid in [*self.customer_ids, *self.stranger_ids]}
        for uid in (*self.agents, *self.supervisors, *self.admins):
            self.users[uid] = {"id": uid, "is_bot": False, "first_name": f"客服{uid}"}
        self.sent: dict[int, list[dict]] = {}   # chat_id -> messages sent in it, for edits

    # ------------------------------------------------------------------ people

    def _make_user(self, uid: int) -> dict[str, Any]:
        rng = self.rng
        user: dict[str, Any] = {"id": uid, "is_bot": False,
                                "first_name": rng.choice(["王女士", "李先生", "Zoë", "<b>张</b>", "مريم", "\u202e赵", "😡",
                                                          "a" * 64, "陈\u200b", "", "&amp;"])}
        if rng.random() < 0.3:
            user["last_name"] = rng.choice(["Smith", "欧阳", "<i>", "\u0301"])
        if rng.random() < 0.3:     # most have no username
            user["username"] = f"user_{uid}"
        if rng.random() < 0.5:
            user["language_code"] = rng.choice(["zh-hans", "zh-hant", "en", "ar"])
        return user

    # ------------------------------------------------------------------ texts

    def text(self, limit: int = 4096) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.25:
            text = rng.choice(COMPLAINTS) + rng.choice(["", "！", "？？？", "!!!", rng.choice(EMOJI)])
        elif kind < 0.35:
            text = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(1, 60)))
        elif kind < 0.42:
            text = "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 12)))
        elif kind < 0.48:
            text = rng.choice(RTL) + rng.choice(COMPLAINTS) + rng.choice(RTL)
        elif kind < 0.54:
            base = rng.choice(COMPLAINTS)
            text = "".join(ch + (rng.choice(ZERO_WIDTH) if rng.random() < 0.5 else "") for ch in base)
        elif kind < 0.59:
            base = rng.choice(COMPLAINTS)
            text = "".join(ch + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(0, 6))) for ch in base)
        elif kind < 0.65:
            base = rng.choice(COMPLAINTS)
            text = "".join(ch + (rng.choice(CONTROL) if rng.random() < 0.4 else "") for ch in base)
        elif kind < 0.70:
            unit = rng.choice(["啊", "太慢了！", "😡", "a", "<b>", "&", "\u200b啊", "12315 "])
            text = (unit * (4096 // len(unit) + 1))[:4096]
        elif kind < 0.80:
            text = rng.choice(COMPLAINTS) + rng.choice(INJECTION) + rng.choice(INJECTION)
        elif kind < 0.88:
            text = rng.choice(ODD) + rng.choice(COMPLAINTS)
        elif kind < 0.93:
            text = " ".join(rng.choice(COMPLAINTS + INJECTION + EMOJI + ODD + RTL) for _ in range(rng.randint(2, 30)))
        else:   # random code points from the whole BMP and beyond, skipping surrogates
            points = []
            for _ in range(rng.randint(1, 80)):
                c = rng.randint(1, 0x10FFFF)
                points.append(chr(c if not 0xD800 <= c <= 0xDFFF else 0x4E00))
            text = "".join(points)
        text = _clip(text, limit)
        if not text.strip() or text.startswith("/"):
            text = "我" + text[:limit - 1]
        return text

    # ------------------------------------------------------------------ raw updates

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            user = self.users.get(chat_id, {"first_name": "?"})
            chat = {"id": chat_id, "type": "private", "first_name": user.get("first_name", "")}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        if chat_id == self.channel:
            return {"id": chat_id, "type": "channel", "title": "公告频道"}
        return {"id": chat_id, "type": "supergroup" if chat_id < -100000000 else "group",
                "title": "客服组" if chat_id == self.agent_chat else "<b>随便一个群</b>"}

    def message(self, user_id: int | None, chat_id: int, **content: Any) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": self._chat(chat_id),
                   **content}
        if user_id is not None:
            message["from"] = self.users[user_id]
        text = content.get("text")
        if text:
            found = COMMAND.match(text)
            if found:
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": found.end()}]
        self.sent.setdefault(chat_id, []).append(message)
        return message

    def _update(self, **kind: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **kind}

    def say(self, user_id: int, chat_id: int, text: str) -> dict[str, Any]:
        return self._update(message=self.message(user_id, chat_id, text=text))

    def customer_text(self, user_id: int) -> dict[str, Any]:
        update = self.say(user_id, user_id, self.text())
        self.customer_updates[update["update_id"]] = user_id
        return update

    def customer_edit(self, user_id: int) -> dict[str, Any]:
        earlier = [m for m in self.sent.get(user_id, []) if "text" in m and "entities" not in m]
        if not earlier:
            return self.customer_text(user_id)
        edited = {**self.rng.choice(earlier), "text": self.text(), "edit_date": int(time.time())}
        update = self._update(edited_message=edited)
        self.customer_updates[update["update_id"]] = user_id
        return update

    def customer_media(self, user_id: int) -> dict[str, Any]:
        rng = self.rng
        n = next(self._message_ids)
        choice = rng.choice(["sticker", "photo", "location", "voice", "document", "contact", "dice"])
        content: dict[str, Any] = {
            "sticker": {"sticker": {"file_id": f"s{n}", "file_unique_id": f"s{n}", "type": "regular", "width": 512,
                                    "height": 512, "is_animated": False, "is_video": False,
                                    "emoji": rng.choice(EMOJI)}},
            "photo": {"photo": [{"file_id": f"p{n}", "file_unique_id": f"p{n}", "width": 90, "height": 90}],
                      **({"caption": self.text(1024)} if rng.random() < 0.7 else {})},
            "location": {"location": {"latitude": 31.2, "longitude": 121.5}},
            "voice": {"voice": {"file_id": f"v{n}", "file_unique_id": f"v{n}", "duration": 3}},
            "document": {"document": {"file_id": f"d{n}", "file_unique_id": f"d{n}", "file_name": "<发票>.pdf"},
                         "caption": self.text(1024)},
            "contact": {"contact": {"phone_number": "+8613800000000", "first_name": "<联系人>"}},
            "dice": {"dice": {"emoji": "🎲", "value": 3}},
        }[choice]
        update = self._update(message=self.message(user_id, user_id, **content))
        self.customer_updates[update["update_id"]] = user_id
        return update

    def bad_command(self, user_id: int, chat_id: int, tickets: list[int] = ()) -> dict[str, Any]:
        rng = self.rng
        ticket = str(rng.choice(list(tickets))) if tickets and rng.random() < 0.6 else rng.choice(
            ["abc", "99999999999999999999", "-1", "0", "１２", "١", "¹", "#1", "＃2", "1.5", "1e3", "", "9223372036854775808",
             "-9223372036854775809", "0x10", "\u200b1"])
        verb = rng.choice(["claim", "reply", "resolve", "escalate", "suggest", "tickets", "check", "reload", "stats",
                           "export", "status", "new", "help", "start", "foo"])
        mention = rng.choice(["", "", "", f"@{BOT_USERNAME}", "@some_other_bot"])
        rest = rng.choice(["", self.text(200), "x" * 5000, self.text(), rng.choice(INJECTION), "这是公司的规定"])
        if verb in ("stats", "export"):
            ticket = rng.choice(["", "abc", "99999999999999999999", "-5", "0", "3650", "1"])
            rest = ""
        if verb in ("tickets", "reload", "status", "new", "help", "start"):
            ticket, rest = "", ""
        text = f"/{verb}{mention} {ticket} {rest}".rstrip()[:4096]
        return self.say(user_id, chat_id, text)

    def channel_post(self) -> dict[str, Any]:
        message = self.message(None, self.channel, text=self.text(), sender_chat=self._chat(self.channel))
        if self.rng.random() < 0.3:
            return self._update(edited_channel_post={**message, "edit_date": int(time.time())})
        return self._update(channel_post=message)

    def callback(self, user_id: int, data: str, chat_id: int | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"id": str(next(self._message_ids)), "from": self.users[user_id],
                                 "chat_instance": str(self.rng.randint(1, 10 ** 9)), "data": data}
        if chat_id is None:
            query["inline_message_id"] = "inline-1"
        else:
            query["message"] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                "chat": self._chat(chat_id), "from": {"id": 999000, "is_bot": True,
                                                                      "first_name": "客诉小助手"},
                                "text": "按钮消息"}
        return self._update(callback_query=query)

    def poison(self) -> dict[str, Any]:
        """An update python-telegram-bot cannot parse (a field missing or of the wrong type)."""
        rng = self.rng
        customer = rng.choice(self.customer_ids)
        kind = rng.choice(["no_first_name", "bad_date", "callback_without_date", "bad_entities"])
        if kind == "callback_without_date":
            update = self.callback(customer, f"rate:1:{rng.randint(1, 5)}", customer)
            del update["callback_query"]["message"]["date"]
        else:
            message = self.message(customer, customer, text=self.text(200))
            self.sent[customer].pop()       # never edited later: an edit of it would be poison too
            if kind == "no_first_name":
                message["from"] = {"id": customer, "is_bot": False}
            elif kind == "bad_date":
                message["date"] = "昨天"
            else:
                message["entities"] = [{"type": "bold"}]
            update = self._update(message=message)
        self.poison_updates.append(update["update_id"])
        return update

    def member_update(self) -> dict[str, Any]:
        chat = self._chat(self.rng.choice(self.unknown_groups))
        bot = {"id": 999000, "is_bot": True, "first_name": "客诉小助手", "username": BOT_USERNAME}
        return self._update(my_chat_member={
            "chat": chat, "from": self.users[self.rng.choice(self.stranger_ids)], "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot}})

    # ------------------------------------------------------------------ phases

    def customers(self, n: int) -> list[dict[str, Any]]:
        """Customers writing (text, edits, media, commands) and strangers' noise around them."""
        rng = self.rng
        out = []
        for _ in range(n):
            r = rng.random()
            customer = rng.choice(self.customer_ids)
            if r < 0.62:
                out.append(self.customer_text(customer))
            elif r < 0.70:
                out.append(self.customer_edit(customer))
            elif r < 0.76:
                out.append(self.customer_media(customer))
            elif r < 0.82:
                out.append(self.bad_command(customer, customer))
            elif r < 0.88:
                who = rng.choice(self.stranger_ids + self.customer_ids)
                group = rng.choice(self.unknown_groups)
                out.append(self.bad_command(who, group) if rng.random() < 0.4 else self.say(who, group, self.text()))
            elif r < 0.94:
                out.append(self.channel_post())
            elif r < 0.965:
                out.append(self.member_update())
            elif r < 0.97:
                out.append(self.poison())
            else:
                who = rng.choice(self.stranger_ids)   # a stranger writes in the agent chat
                out.append(self.say(who, self.agent_chat, self.text()))
        return out

    def strangers(self, n: int, owners: dict[int, int], drafts: list[int] = ()) -> list[dict[str, Any]]:
        """Non-staff commands and buttons only; ``owners`` maps ticket id -> its customer."""
        rng = self.rng
        tickets = sorted(owners)
        out = []
        for _ in range(n):
            who = rng.choice(self.stranger_ids + self.customer_ids)
            chat = rng.choice([who, who, self.agent_chat, rng.choice(self.unknown_groups)])
            if rng.random() < 0.5:
                out.append(self.bad_command(who, chat, tickets))
                continue
            foreign = [t for t, owner in owners.items() if owner != who] or [1]
            target = rng.choice(tickets or [1])
            data = rng.choice([
                f"rate:{rng.choice(foreign)}:5", f"rate:{rng.choice(foreign)}:1", "rate:1:99", "rate:1:0", "rate:1:-1",
                "rate:abc:5", "rate:", "rate:1", "rate:99999999999999999999:5", f"claim:{target}", f"resolve:{target}",
                f"escalate:{target}", f"suggest:{target}", f"send:{rng.choice(list(drafts) or [1])}",
                f"cancel:{rng.choice(list(drafts) or [1])}", "claim:99999999999999999999", "claim:abc", "", "x" * 64,
                "送:1", "😡" * 16, "rate:1:5:extra", "claim:-1",
            ])
            out.append(self.callback(who, data, None if rng.random() < 0.1 else chat))
        return out

    def staff(self, n: int, tickets: list[int]) -> list[dict[str, Any]]:
        """Agents and admins with bad arguments, and garbage buttons."""
        rng = self.rng
        staff = [*self.agents, *self.supervisors, *self.admins]
        out = []
        for _ in range(n):
            who = rng.choice(staff)
            chat = rng.choice([who, self.agent_chat])
            if rng.random() < 0.75:
                out.append(self.bad_command(who, chat, tickets))
            else:
                data = rng.choice(["claim:abc", "claim:99999999999999999999", "send:99999999999999999999", "cancel:0",
                                   "", "x" * 64, "rate:1:99", f"suggest:{rng.choice(tickets or [1])}", "😡" * 16,
                                   "resolve:-1", "escalate:9223372036854775808"])
                out.append(self.callback(who, data, None if rng.random() < 0.1 else chat))
        return out


# ---------------------------------------------------------------------- harness


def query(db, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db, timeout=60) as conn:
        return conn.execute(sql, params).fetchall()


def one(db, sql: str, *params):
    return query(db, sql, *params)[0][0]


def snapshot(db) -> dict[str, list[tuple]]:
    """Everything a stranger could change: tickets, messages, events (the inbox is bookkeeping)."""
    return {table: query(db, f"select * from {table} order by 1") for table in ("tickets", "messages", "events")}


def settled(db, pushed: int):
    """A predicate: every pushed update handled, every customer answered, every card posted and current."""
    def check() -> bool:
        return (one(db, "select count(*) from inbox where handled_at is not null or error is not null") >= pushed
                and one(db, "select count(*) from messages where role='customer' and answered_at is null") == 0
                and one(db, "select count(*) from tickets where card_message_id is null "
                            "and status in ('open','in_progress','escalated')") == 0
                and one(db, "select count(*) from tickets where card_message_id is not null "
                            "and (card_updated_at is null or updated_at > card_updated_at)") == 0)
    return check


def push_all(tg, updates: list[dict], pushed_before: int) -> int:
    """Queue updates at the server in batches of 200; returns how many were pushed in all."""
    for start in range(0, len(updates), 200):
        tg.push(*updates[start:start + 200])
    return pushed_before + len(updates)
