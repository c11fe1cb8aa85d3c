"""Telegram's HTML subset, checked the way the Bot API checks ``parse_mode=HTML``.

Built on the standard library's :class:`html.parser.HTMLParser` (a real tokenizer, not a
regex). From the Bot API documentation ("HTML style"):

* only these tags: ``b strong i em u ins s strike del span(class="tg-spoiler") tg-spoiler
  a(href) tg-emoji(emoji-id) code pre blockquote``, properly nested and closed;
* ``<``, ``>`` and ``&`` that are not part of a tag or an entity must be escaped;
* numeric entities, and only the named entities ``&lt; &gt; &amp; &quot;``;
* the text after entity parsing must be 1–4096 characters (a caption 0–1024).

``problem(text)`` returns None for well-formed HTML, else the parse error; ``refusal`` gives the
whole Bot API description for a text or caption Telegram would refuse (markup, length, empty)::

    problem("<b>好</b>")                      # None
    problem("<script>x</script>")             # 'Unsupported start tag "script"'
    refusal("x" * 5000, None)                 # 'Bad Request: message is too long'
    visible_text("a &lt; b")                  # 'a < b'
"""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                  "tg-emoji", "code", "pre", "blockquote"})
NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.error: str | None = None
        self.visible: list[str] = []

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in TAGS:
            return self._fail(f'Unsupported start tag "{tag}"')
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            return self._fail('Tag "span" must have class "tg-spoiler"')
        if tag == "tg-emoji" and not attrs.get("emoji-id"):
            return self._fail('Tag "tg-emoji" must have attribute "emoji-id"')
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            return self._fail(f'Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data):
        if "<" in data:
            self._fail("Unexpected character '<'; use &lt;")
        self.visible.append(data)

    def handle_entityref(self, name):
        if name not in NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.visible.append(unescape(f"&{name};"))

    def handle_charref(self, name):
        self.visible.append(unescape(f"&#{name};"))

    def handle_comment(self, data):
        self._fail('Unsupported start tag "!--"')

    def handle_decl(self, decl):
        self._fail(f'Unsupported start tag "!{decl.split()[0] if decl.split() else ""}"')

    def handle_pi(self, data):
        self._fail('Unsupported start tag "?"')

    def unknown_decl(self, data):
        self._fail("Unsupported declaration")


def _parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        checker._fail(f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"')
    return checker


def visible_text(text: str) -> str:
    """What the reader sees: tags dropped, entities decoded."""
    return "".join(_parse(text).visible)


def problem(text: str) -> str | None:
    """None when ``text`` is well-formed Telegram HTML; else why not (the parse error)."""
    return _parse(text).error


def refusal(text: str | None, parse_mode: str | None, *, caption: bool = False) -> str | None:
    """The Bot API's ``description`` for a message text or caption it would refuse, or None."""
    text = text or ""
    if parse_mode and parse_mode.upper() == "HTML":
        error = problem(text)
        if error:
            return f"Bad Request: can't parse entities: {error}"
        shown = visible_text(text)
    else:
        shown = text
    if caption:
        return "Bad Request: message caption is too long" if len(shown) > CAPTION_LIMIT else None
    if len(shown) > MESSAGE_LIMIT:
        return "Bad Request: message is too long"
    if not shown.strip():
        return "Bad Request: message text is empty"
    return None
