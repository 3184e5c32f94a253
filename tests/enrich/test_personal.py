"""Personal data masked in URLs, action names, error messages and stack traces (RUM.md
"Privacy defaults")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.enrich.personal import mask_personal, mask_stack


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail jane.doe+shop@example.co.uk now", "mail <email> now"),
        ("/unsubscribe/jane%40example.com", "/unsubscribe/<email>"),
        ("card 4111 1111 1111 1111 declined", "card <card> declined"),
        ("card 4111-1111-1111-1111", "card <card>"),
        ("4111111111111111", "<card>"),
        ("not a card 4111-1111-1111-1112", "not a card 4111-1111-1111-1112"),  # fails Luhn
        ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN <iban> ok"),
        ("GB82WEST12345698765432", "<iban>"),
        ("from 203.0.113.9 via 2001:db8::7", "from <ip> via <ip>"),
        ("session 123e4567-e89b-12d3-a456-426614174000", "session <uuid>"),
        ("order 1234567 failed", "order <id> failed"),
        ("order 1234 failed", "order 1234 failed"),  # fewer than 5 digits
        ("at 12:30:45, std::vector", "at 12:30:45, std::vector"),  # not addresses
        ("", ""),
        ("Cannot read properties of undefined (reading 'price')", None),  # unchanged
    ],
)
def test_mask_personal(text: str, masked: str | None) -> None:
    assert mask_personal(text) == (text if masked is None else masked)


@given(
    st.lists(
        st.one_of(
            st.text(max_size=20),
            st.emails(),
            st.ip_addresses().map(str),
            st.uuids().map(str),
            st.integers(0, 10**19).map(str),
        ),
        max_size=6,
    ).map(" ".join)
)
def test_masking_is_idempotent_and_leaves_no_email_or_long_number(text: str) -> None:
    once = mask_personal(text)
    assert mask_personal(once) == once
    assert not any(run.isdigit() and len(run) >= 5 for run in once.split())


@pytest.mark.parametrize(
    ("stack", "masked"),
    [
        (  # Chrome: the position after the URL is kept, the ids and the email in it are not
            "TypeError: x is undefined\n"
            "    at pay (https://shop.example/u/1234567/app.js?email=jane@example.com:10:5)\n"
            "    at https://shop.example/static/main.js:123456:78",
            "TypeError: x is undefined\n"
            "    at pay (https://shop.example/u/<id>/app.js?email=<email>:10:5)\n"
            "    at https://shop.example/static/main.js:123456:78",
        ),
        (  # Firefox and Safari: name@url:line:col
            "pay@https://shop.example/orders/98765432/view.js:1:2000\n"
            "@https://shop.example/token/123e4567-e89b-12d3-a456-426614174000.js:3:4",
            "pay@https://shop.example/orders/<id>/view.js:1:2000\n"
            "@https://shop.example/token/<uuid>.js:3:4",
        ),
        (  # a message line with personal data, a frame without a position
            "Error: no account for jane@example.com (id 55512345)\n"
            "    at async Promise.all (index 0)",
            "Error: no account for <email> (id <id>)\n    at async Promise.all (index 0)",
        ),
        ("at f (https://x/app.js:10:5)", None),  # nothing personal: unchanged
        (  # Windows line ends: the position before "\r" is still a position
            "at f (https://x/u/1234567/a.js:123456:7)\r\nnext",
            "at f (https://x/u/<id>/a.js:123456:7)\r\nnext",
        ),
        ("", ""),
    ],
)
def test_mask_stack(stack: str, masked: str | None) -> None:
    assert mask_stack(stack) == (stack if masked is None else masked)


@given(
    st.lists(
        st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,10}\.[a-z]{2,6}", fullmatch=True),
        max_size=4,
    ),
    st.lists(st.integers(10**5, 10**12), max_size=4),
    st.lists(st.text(st.characters(blacklist_characters="\r\n"), max_size=30), max_size=3),
)
def test_stack_masking_is_idempotent_and_keeps_lines_and_positions(
    emails: list[str], ids: list[int], other: list[str]
) -> None:
    frames = [f"    at f (https://x.example/{e}/a.js:12:3)" for e in emails]
    frames += [f"g@https://x.example/u/{n}/b.js:{n % 999}:1" for n in ids]
    stack = "\n".join(frames + other)
    once = mask_stack(stack)
    assert mask_stack(once) == once
    lines = once.split("\n")
    assert len(lines) == len(stack.split("\n"))
    assert all(line.endswith(":12:3)") for line in lines[: len(emails)])
    for email in emails:
        assert email not in once
    for n in ids:
        assert f"/{n}/" not in once
