"""JSURL, the URL-safe JSON that Boomerang's Compression plugin writes its nested values in
(``err``, ``c.lt``, ``et.e``): a decoder of its grammar, bounded in depth and never raising but
``ValueError``."""

from __future__ import annotations

from typing import Any

_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_MAX_DEPTH = 32


def decode(text: str) -> Any:
    """The value ``text`` encodes; ``ValueError`` when it is not JSURL."""
    parser = _Parser(text)
    value = parser.value(0)
    if parser.i != len(text):
        raise ValueError(f"JSURL: trailing characters at {parser.i}")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def eat(self, expected: str) -> None:
        if self.s[self.i : self.i + 1] != expected:
            raise ValueError(f"JSURL: expected {expected!r} at {self.i}")
        self.i += 1

    def string(self) -> str:
        """Characters up to ``~`` or ``)``: ``*hh`` and ``**hhhh`` escapes, ``!`` for ``$``."""
        s, out = self.s, []
        while self.i < len(s) and s[self.i] not in "~)":
            ch = s[self.i]
            if ch == "*":
                width = 4 if s[self.i + 1 : self.i + 2] == "*" else 2
                start = self.i + (2 if width == 4 else 1)
                digits = s[start : start + width]
                if len(digits) != width:
                    raise ValueError(f"JSURL: short escape at {self.i}")
                out.append(chr(int(digits, 16)))
                self.i = start + width
            elif ch == "!":
                out.append("$")
                self.i += 1
            else:
                out.append(ch)
                self.i += 1
        return "".join(out)

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("JSURL: nested too deeply")
        self.eat("~")
        s = self.s
        ch = s[self.i : self.i + 1]
        if ch == "(":
            self.i += 1
            result: Any
            if s[self.i : self.i + 1] == "~":
                result = []
                if s[self.i + 1 : self.i + 2] == ")":
                    self.i += 1
                else:
                    while s[self.i : self.i + 1] == "~":
                        result.append(self.value(depth + 1))
            else:
                result = {}
                while s[self.i : self.i + 1] not in (")", ""):
                    key = self.string()
                    result[key] = self.value(depth + 1)
                    if s[self.i : self.i + 1] == "~":
                        self.i += 1
            self.eat(")")
            return result
        if ch == "'":
            self.i += 1
            return self.string()
        start = self.i
        while self.i < len(s) and s[self.i] not in ")~":
            self.i += 1
        word = s[start : self.i]
        if word[:1].isdigit() or word[:1] == "-":
            return float(word)
        if word in _KEYWORDS:
            return _KEYWORDS[word]
        raise ValueError(f"JSURL: bad value {word!r}")
