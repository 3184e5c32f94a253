"""Personal data masked in URLs, action names, error messages and stack traces (../RUM.md
"Privacy defaults").

Each kind of personal data becomes a typed token: ``<email>``, ``<iban>``, ``<card>``, ``<uuid>``,
``<ip>`` and ``<id>`` (ids of 5 or more digits). Tokens contain no digit, ``@`` or ``:``, so masking
masked text changes nothing (idempotent, checked by a property test).
"""

from __future__ import annotations

import functools
import ipaddress
import re

EMAIL, IBAN, CARD, UUID, IP, ID = "<email>", "<iban>", "<card>", "<uuid>", "<ip>", "<id>"

_EMAIL = re.compile(r"[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# ISO 13616: country code, 2 check digits, up to 30 alphanumerics (often printed in groups of 4).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# 13 to 19 digits, optionally grouped by spaces or dashes (checked with Luhn).
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d])"
)
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_ID = re.compile(r"\d{5,}")


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


@functools.lru_cache(maxsize=65_536)
def mask_personal(text: str) -> str:
    """``text`` with emails, IBANs, card numbers, UUIDs, IP addresses and ids of 5+ digits
    replaced by typed tokens. Pure and idempotent."""
    if not text:
        return text
    out = _EMAIL.sub(EMAIL, text) if "@" in text or "%40" in text else text
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


# Line and column numbers end a frame ("at f (https://x/app.js:10:5)", "f@https://x/a.js:1:2"):
# they are positions, not ids, and are kept as they are.
_POSITION = re.compile(r"(:\d{1,7}){1,2}\)?\s*$")


def mask_stack(stack: str) -> str:
    """A stack trace with personal data masked in each frame, line by line (the script URLs
    in frames carry query strings and path ids: ``?email=…``, ``/users/12345/``), keeping the
    ``:line:col`` positions that follow a URL."""
    return "\n".join(_mask_frame(line) for line in stack.split("\n"))


def _mask_frame(line: str) -> str:
    m = _POSITION.search(line)
    if m is None:
        return mask_personal(line)
    return mask_personal(line[: m.start()]) + m.group()
