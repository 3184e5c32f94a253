"""Personal data masked in URLs, action names, error messages and stack traces (../RUM.md
"Privacy defaults").

Each kind of personal data becomes a typed token: ``<email>``, ``<iban>``, ``<card>``, ``<uuid>``,
``<token>`` (JSON Web Tokens), ``<user>`` (a URL's user name and password), ``<ip>`` and ``<id>``
(ids of 5 or more digits). Tokens contain no digit, ``@`` or ``:``, so masking masked text changes
nothing (idempotent, checked by a property test).

Masking never destroys structure: a URL's scheme, host and port and the ``:line:col`` position
that ends a stack frame are kept (``http://127.0.0.1:18201/widget.js:3:14`` was stored as
``http://<ip>:<id>/…``: the host a page or script came from is not the visitor's, even when it is
the client's own address, and a port is not an id). In a URL's path, query and fragment, and in
free text, every kind is masked, IP addresses included: an address in a message may be any
visitor's, not only this beacon's client's (an admin page listing them).
"""

from __future__ import annotations

import functools
import ipaddress
import re

EMAIL, IBAN, CARD, UUID, IP, ID = "<email>", "<iban>", "<card>", "<uuid>", "<ip>", "<id>"
TOKEN, USER = "<token>", "<user>"

_EMAIL = re.compile(r"[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# ISO 13616: country code, 2 check digits, up to 30 alphanumerics (often printed in groups of 4).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# 13 to 19 digits, optionally grouped by spaces or dashes (checked with Luhn).
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
# RFC 7519: base64url header and payload, both JSON objects ("{" encodes as "ey"), and signature.
_JWT = re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d])"
)
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_ID = re.compile(r"\d{5,}")
# An absolute URL in text ("://" after a scheme), up to a space, quote, bracket or parenthesis.
_URL = re.compile(r"(?<![\w+.-])[A-Za-z][\w+.-]*://[^\s\"'`<>(){}]+")
# scheme://[user@]host[:port], then the rest (path, query, fragment).
_AUTHORITY = re.compile(
    r"^((?:[A-Za-z][\w+.-]*:)?//)(?:([^/?#@]*)@)?(\[[^\]/?#]*\](?::\d*)?|[^/?#]*)"
)
# A frame's ":line" or ":line:col" after a script URL: positions, not ids.
_POSITION = re.compile(r"(?::\d{1,7}){1,2}$")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", m.group())
    return CARD if _luhn(digits) else m.group()


def _iban(m: re.Match[str]) -> str:
    return IBAN if _iban_ok(m.group()) else m.group()


def _ipv6(m: re.Match[str]) -> str:
    text = m.group()
    if text.count(":") < 2:
        return text
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return text
    return IP


def _mask(text: str) -> str:
    """Every kind of personal data in ``text``, which holds no URL's host."""
    out = _EMAIL.sub(EMAIL, text) if "@" in text or "%40" in text else text
    if "eyJ" in out:
        out = _JWT.sub(TOKEN, out)
    if "-" in out:
        out = _UUID.sub(UUID, out)
    if ":" in out:
        out = _IPV6.sub(_ipv6, out)
    if any(c.isdigit() for c in out):
        out = _IBAN.sub(_iban, out)
        out = _CARD.sub(_card, out)
        out = _IPV4.sub(IP, out)
        out = _ID.sub(ID, out)
    return out


@functools.lru_cache(maxsize=65_536)
def mask_url(url: str) -> str:
    """``url`` with personal data masked in its path, query and fragment; its scheme, host and
    port kept, and a ``:line:col`` position at its end. A URL without a scheme is a path (or,
    starting ``//``, host and path)."""
    if not url:
        return url
    head = ""
    m = _AUTHORITY.match(url) if "//" in url else None
    if m is not None:
        scheme, user, host = m.groups()
        head = scheme + (f"{USER}@" if user else "") + host
        url = url[m.end() :]
    pos = _POSITION.search(url) if ":" in url else None
    tail = ""
    if pos is not None and pos.start() > 0:
        url, tail = url[: pos.start()], pos.group()
    return head + _mask(url) + tail


@functools.lru_cache(maxsize=65_536)
def mask_personal(text: str) -> str:
    """Free text (a message, an action name) with personal data replaced by typed tokens: each
    URL in it by ``mask_url``; elsewhere emails, IBANs, card numbers, UUIDs, web tokens, IP
    addresses and ids of 5+ digits. Pure and idempotent."""
    if not text:
        return text
    if "://" not in text:
        return _mask(text)
    out = []
    at = 0
    for m in _URL.finditer(text):
        out.append(_mask(text[at : m.start()]))
        out.append(mask_url(m.group()))
        at = m.end()
    out.append(_mask(text[at:]))
    return "".join(out)


def mask_stack(stack: str) -> str:
    """A stack trace with personal data masked in each frame, line by line (the script URLs
    in frames carry query strings and path ids: ``?email=…``, ``/users/12345/``), keeping each
    URL's scheme, host and port and the ``:line:col`` positions that follow it."""
    return "\n".join(_mask_frame(line) for line in stack.split("\n"))


# Line and column numbers end a frame ("at f (https://x/app.js:10:5)", "f@https://x/a.js:1:2"),
# also one whose script has no URL ("at f (app.js:10:5)").
_FRAME_END = re.compile(r"(:\d{1,7}){1,2}\)?\s*$")


def _mask_frame(line: str) -> str:
    m = _FRAME_END.search(line)
    if m is None:
        return mask_personal(line)
    return mask_personal(line[: m.start()]) + m.group()
