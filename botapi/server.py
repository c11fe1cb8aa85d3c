"""A small Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

The real bot runs against it through ``TELEGRAM_API_URL``, exactly as against
Telegram. It serves what the bot uses (getMe, getUpdates with offsets and long
polling, sendMessage, editMessageText, answerCallbackQuery, sendDocument,
sendPhoto, setMyCommands, setWebhook/deleteWebhook/getWebhookInfo, getChat and
getChatMember …), records every request, and can be told to fail the next call
of a method, to be slow, or how the bot stands in a chat (complaint-bot doctor)::

    with FakeTelegram() as tg:                  # starts on a free port
        tg.url                                  # http://127.0.0.1:PORT/bot
        tg.push(tg.text_update(user_id=7, text="你好"))
        tg.wait_for(lambda: tg.sent_to(7))      # the bot's reply
        tg.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        tg.go_down(seconds=30)                  # an outage: connections refused, then back
        tg.delays["sendMessage"] = 10           # a slow method (the webhook crash test)
        tg.memberships[-100] = "left"           # getChatMember: the bot left the agents' group

Like Telegram, it refuses (400) a message whose HTML does not parse or whose text is too
long or empty (:mod:`botapi.tghtml`), button data over 64 bytes, and files over 50 MB (413); every refusal is kept
in ``tg.refusals``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

from botapi.tghtml import refusal

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "客诉小助手", "username": "complaint_desk_bot"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "reply_parameters", "link_preview_options",
               "commands", "caption_entities", "media"}
UPLOAD_LIMIT = 50 * 1024 * 1024      # Telegram's limit for a file a bot sends
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "from_chat_id", "user_id"}


class _Refused(Exception):
    """A method handler's "Bad Request: …" answer."""


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    failed: bool = False       # answered with an error (fail_next): nobody received it
    result: Any = None         # what the server answered


class FakeTelegram:
    """The server; a context manager that starts and stops it."""

    def __init__(self, token: str = "123456:TEST-token-never-logged"):
        self.token = token
        self.requests: list[Request] = []
        self.updates: list[dict] = []
        self.history: dict[int, dict] = {}    # every update ever pushed, by id
        self.confirmed = 0                    # every update_id below this was confirmed
        self.failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self.cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self.refusals: list[tuple[str, dict, str]] = []   # (method, params, description) Telegram would refuse
        self.down = False                     # an outage: every connection is refused or dropped
        self.outages = 0
        self.dropped = 0                      # requests that reached the server during an outage
        self.go_down_after: tuple[str, float, str] | None = None
        # what getChatMember/getChat/getWebhookInfo answer (complaint-bot doctor, webhook mode)
        self.memberships: dict[int, str] = {}   # the bot's status per chat; unlisted: "member"
        self.unknown_chats: set[int] = set()    # "Bad Request: chat not found"
        self.muted_chats: set[int] = set()      # members may not send messages there
        self.webhook: dict[str, Any] = {"url": ""}   # setWebhook/deleteWebhook change it
        self.delays: dict[str, float] = {}      # seconds a method takes to answer (a slow Bot API)
        self._server = self._listen(0)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        server.daemon_threads = True
        return server

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "FakeTelegram":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self.cond:
            self.down = True          # long polls still waiting return at once
            self.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    # ------------------------------------------------------------------ outages

    def go_down(self, seconds: float | None = None, mode: str = "refuse") -> None:
        """Start an outage; it ends after ``seconds`` (or at :meth:`come_back`).

        ``mode="refuse"``: the listening socket is closed, so new connections are refused
        (the Bot API host is down); requests already in flight (a long poll) are dropped
        without an answer. ``mode="drop"``: connections are accepted and closed without an
        answer (a proxy in trouble). Either way no request made during the outage is
        processed, so nothing the bot sent meanwhile reached anyone.
        """
        with self.cond:
            if self.down:
                return
            self.down = True
            self.outages += 1
            self.cond.notify_all()
        if mode == "refuse":
            server, self._server = self._server, None
            threading.Thread(target=self._close, args=(server,), daemon=True).start()
        if seconds is not None:
            timer = threading.Timer(seconds, self.come_back)
            timer.daemon = True
            timer.start()

    @staticmethod
    def _close(server: ThreadingHTTPServer) -> None:
        server.shutdown()
        server.server_close()

    def come_back(self) -> None:
        """End the outage: listen again on the same port."""
        with self.cond:
            if not self.down:
                return
        deadline = time.monotonic() + 10
        while self._server is None:
            try:
                self._server = self._listen(self._port)
            except OSError:          # the old socket is still closing
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        with self.cond:
            self.down = False
            self.cond.notify_all()

    def outage_after(self, method: str, seconds: float, mode: str = "refuse") -> None:
        """Go down for ``seconds`` right after the next successful ``method`` call that returned
        something (``getUpdates`` with updates): the bot holds work it cannot answer yet."""
        with self.cond:
            self.go_down_after = (method, seconds, mode)

    # ------------------------------------------------------------------ test side

    def push(self, *updates: dict) -> list[int]:
        """Queue updates for getUpdates; returns their update_ids."""
        with self.cond:
            for update in updates:
                update.setdefault("update_id", next(self._update_ids))
                self.history[update["update_id"]] = update
                self.updates.append(update)
            self.cond.notify_all()
        return [u["update_id"] for u in updates]

    def redeliver(self, *update_ids: int) -> None:
        """Deliver updates again, as Telegram does when the bot died before confirming them."""
        with self.cond:
            again = [self.history[i] for i in update_ids]
            self.confirmed = min([self.confirmed, *update_ids])
            self.updates = sorted(again + [u for u in self.updates if u["update_id"] not in update_ids],
                                  key=lambda u: u["update_id"])
            self.cond.notify_all()

    def fail_next(self, method: str, code: int, description: str, retry_after: int | None = None,
                  times: int = 1) -> None:
        with self.cond:
            self.failures.setdefault(method, []).extend([(code, description, retry_after)] * times)

    def calls(self, method: str) -> list[Request]:
        with self.cond:
            return [r for r in self.requests if r.method == method]

    def sent_to(self, chat_id: int) -> list[str]:
        """Texts of every message delivered (or edited) in a chat, in order."""
        with self.cond:
            return [
                r.params.get("text") or r.params.get("caption") or ""
                for r in self.requests
                if r.method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")
                and str(r.params.get("chat_id")) == str(chat_id) and not r.failed
            ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Poll ``predicate`` until it is truthy; fail the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")

    def messages_to(self, chat_id: int) -> list[dict]:
        """The Message objects the server returned for messages delivered to a chat."""
        with self.cond:
            return [r.result for r in self.requests if r.method == "sendMessage" and not r.failed
                    and str(r.params.get("chat_id")) == str(chat_id)]

    def with_button(self, chat_id: int, prefix: str) -> tuple[dict, str]:
        """The latest message in a chat with a button whose data starts with ``prefix``."""
        with self.cond:
            for r in reversed(self.requests):
                markup = r.params.get("reply_markup") or {}
                if r.method == "sendMessage" and not r.failed and str(r.params.get("chat_id")) == str(chat_id):
                    for row in markup.get("inline_keyboard", []):
                        for b in row:
                            if b.get("callback_data", "").startswith(prefix):
                                return r.result, b["callback_data"]
        raise AssertionError(f"no button {prefix!r} in chat {chat_id}")

    def polling(self) -> bool:
        return bool(self.calls("getUpdates"))

    # ------------------------------------------------------------------ update builders

    @staticmethod
    def _user(user_id: int, first_name: str) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}

    def message_update(self, user_id: int, chat_id: int | None = None, chat_type: str = "private",
                       first_name: str = "客户", **content: Any) -> dict:
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "客服组"
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": self._user(user_id, first_name), **content}
        return {"update_id": next(self._update_ids), "message": message}

    def text_update(self, user_id: int, text: str, **kw: Any) -> dict:
        update = self.message_update(user_id, text=text, **kw)
        if text.startswith("/"):
            command = text.split()[0]
            update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return update

    def sticker_update(self, user_id: int, emoji: str = "😡") -> dict:
        sticker = {"file_id": f"sticker-{user_id}", "file_unique_id": f"u{user_id}", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji}
        return self.message_update(user_id, sticker=sticker)

    def photo_update(self, user_id: int, caption: str | None = None) -> dict:
        photo = [{"file_id": f"photo-{user_id}-{i}", "file_unique_id": f"p{user_id}{i}", "width": 90 * (i + 1),
                  "height": 90 * (i + 1)} for i in range(2)]
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = caption
        return self.message_update(user_id, **content)

    def callback_update(self, user_id: int, data: str, message: dict) -> dict:
        return {"update_id": next(self._update_ids), "callback_query": {"id": str(next(self._message_ids)), "from": self._user(user_id, "客服"),
                                   "chat_instance": "ci", "data": data, "message": message}}

    # ------------------------------------------------------------------ server side

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):      # keep test output clean
                pass

            def do_GET(self):
                self._serve(b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

            def _serve(self, body: bytes) -> None:
                if fake.down:
                    return self._drop()
                path = urlparse(self.path).path
                prefix = f"/bot{fake.token}/"
                if not path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                method = path[len(prefix):]
                params = fake._parse(self.headers.get("Content-Type", ""), body, urlparse(self.path).query)
                answer = fake._dispatch(method, params)
                if answer is None:            # an outage began while this request waited
                    return self._drop()
                self._reply(*answer)
                fake._after(method, answer)

            def _drop(self) -> None:
                with fake.cond:
                    fake.dropped += 1
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass

            def _reply(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    @staticmethod
    def _parse(content_type: str, body: bytes, query: str) -> dict[str, Any]:
        raw: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=email_policy).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    raw[name] = {"filename": part.get_filename(), "bytes": part.get_payload(decode=True)}
                else:
                    raw[name] = part.get_content()
        elif content_type.startswith("application/json") and body:
            raw.update(json.loads(body))
        elif body:
            raw.update({k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                value = json.loads(value)
            elif isinstance(value, str) and key in INT_FIELDS:
                try:
                    value = int(value)
                except ValueError:
                    pass
            params[key] = value
        return params

    def _after(self, method: str, answer: tuple[int, dict]) -> None:
        trigger = self.go_down_after
        if trigger and trigger[0] == method and answer[0] == 200 and answer[1].get("result"):
            self.go_down_after = None
            self.go_down(trigger[1], trigger[2])

    def _refusal(self, method: str, params: dict[str, Any]) -> str | None:
        """What Telegram would refuse with 400 Bad Request (markup, lengths, button data)."""
        mode = params.get("parse_mode")
        if method in ("sendMessage", "editMessageText"):
            found = refusal(params.get("text"), mode)
        elif method in ("sendDocument", "sendPhoto", "editMessageCaption"):
            found = refusal(params.get("caption"), mode, caption=True)
        elif method == "answerCallbackQuery" and len(params.get("text") or "") > 200:
            found = "Bad Request: query answer text is too long"
        else:
            found = None
        upload = params.get("document") or params.get("photo")
        if isinstance(upload, dict) and len(upload.get("bytes") or b"") > UPLOAD_LIMIT:
            found = found or "Request Entity Too Large"
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    found = found or "Bad Request: BUTTON_DATA_INVALID"
        return found

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict] | None:
        with self.cond:
            if self.down:
                return None
            request = Request(method, params)
            self.requests.append(request)
            queued = self.failures.get(method)
            if queued:
                request.failed = True
                code, description, retry_after = queued.pop(0)
                payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
                if retry_after is not None:
                    payload["parameters"] = {"retry_after": retry_after}
                return code, payload
            refused = self._refusal(method, params)
            if refused:
                request.failed = True
                self.refusals.append((method, params, refused))
                code = 413 if refused == "Request Entity Too Large" else 400
                return code, {"ok": False, "error_code": code, "description": refused}
        delay = self.delays.get(method)
        if delay:
            time.sleep(delay)
        if method == "getUpdates":
            updates = self._get_updates(params)
            return None if updates is None else (200, {"ok": True, "result": updates})
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        try:
            request.result = handler(params)
        except _Refused as refused:
            request.failed = True
            return 400, {"ok": False, "error_code": 400, "description": str(refused)}
        return 200, {"ok": True, "result": request.result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict] | None:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.monotonic() + timeout
        with self.cond:
            if offset:
                self.confirmed = max(self.confirmed, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                if self.down:
                    return None
                ready = [u for u in self.updates if u["update_id"] >= self.confirmed][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready
                self.cond.wait(left)

    # each _m_<method> returns the "result" of a Bot API method
    def _m_getMe(self, params):
        return BOT_USER

    def _m_deleteWebhook(self, params):
        self.webhook = {"url": ""}
        return True

    def _m_setWebhook(self, params):
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    def _m_getWebhookInfo(self, params):
        info = {k: v for k, v in self.webhook.items() if k != "secret_token"}
        return {"has_custom_certificate": False, "pending_update_count": 0, **info}

    def _chat_id(self, params) -> int | None:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            return None
        return None if chat_id in self.unknown_chats else chat_id

    def _m_getChat(self, params):
        chat_id = self._chat_id(params)
        if chat_id is None:
            raise _Refused("Bad Request: chat not found")
        return {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private", "title": "客服组",
                "accent_color_id": 0, "max_reaction_count": 11,
                "permissions": {"can_send_messages": chat_id not in self.muted_chats}}

    def _m_getChatMember(self, params):
        chat_id = self._chat_id(params)
        if chat_id is None:
            raise _Refused("Bad Request: chat not found")
        status = self.memberships.get(chat_id, "member")
        member: dict[str, Any] = {"status": status, "user": BOT_USER}
        if status == "restricted":
            member.update(is_member=True, can_send_messages=False, until_date=0, **{
                k: False for k in ("can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
                                   "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
                                   "can_send_other_messages", "can_add_web_page_previews", "can_change_info",
                                   "can_invite_users", "can_pin_messages", "can_manage_topics", "can_edit_tag",
                                   "can_react_to_messages")})
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update({k: True for k in ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                                             "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                                             "can_change_info", "can_invite_users", "can_post_stories",
                                             "can_edit_stories", "can_delete_stories")})
        return member

    def _m_setMyCommands(self, params):
        return True

    def _m_answerCallbackQuery(self, params):
        return True

    def _m_close(self, params):
        return True

    def _message(self, params: dict[str, Any], **content: Any) -> dict:
        chat_id = params.get("chat_id")
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "group"},
                "from": BOT_USER, **content}

    def _m_sendMessage(self, params):
        extra = {"reply_markup": params["reply_markup"]} if "reply_markup" in params else {}
        return self._message(params, text=params.get("text", ""), **extra)

    def _m_editMessageText(self, params):
        message = self._message(params, text=params.get("text", ""))
        message["message_id"] = params.get("message_id")
        message["edit_date"] = int(time.time())
        return message

    def _m_editMessageReplyMarkup(self, params):
        message = self._message(params, text="")
        message["message_id"] = params.get("message_id")
        return message

    def _m_sendDocument(self, params):
        document = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": (params.get("document") or {}).get("filename")}
        return self._message(params, document=document, caption=params.get("caption"))

    def _m_sendPhoto(self, params):
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 640, "height": 480}]
        return self._message(params, photo=photo, caption=params.get("caption"))
