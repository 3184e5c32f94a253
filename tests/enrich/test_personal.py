"""Personal data masked in URLs, action names, error messages and stack traces (RUM.md
"Privacy defaults")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.enrich.personal import mask_personal, mask_stack, mask_url


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
        # A URL in a message keeps its host, port and position (issue #20: "<ip>:<id>").
        (
            "Script error at http://127.0.0.1:18201/widget.js:3:14 for jane@example.com",
            "Script error at http://127.0.0.1:18201/widget.js:3:14 for <email>",
        ),
        (
            "Failed to fetch https://api.example:44300/users/1234567?mail=jane@example.com",
            "Failed to fetch https://api.example:44300/users/<id>?mail=<email>",
        ),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl expired",
            "token <token> expired",
        ),
    ],
)
def test_mask_personal(text: str, masked: str | None) -> None:
    assert mask_personal(text) == (text if masked is None else masked)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        # Issue #20: a five-digit port taken for an id, the host for a personal address.
        ("http://127.0.0.1:18201/widget.js", None),
        ("http://127.0.0.1:18201/widget.js:3:14", None),
        ("http://[2001:db8::7]:18201/a.js:120:33", None),
        ("https://10.1.2.3:44300/orders/1234567", "https://10.1.2.3:44300/orders/<id>"),
        ("ws://localhost:65535/socket?user=55512345", "ws://localhost:65535/socket?user=<id>"),
        # An address in a path or a query value is data, whoever's it is.
        ("https://geo.example/lookup/203.0.113.9", "https://geo.example/lookup/<ip>"),
        ("https://x.example/?from=2001:db8::7&n=1", "https://x.example/?from=<ip>&n=1"),
        ("https://jane:secret@x.example/a", "https://<user>@x.example/a"),
        ("https://x.example/u/jane%40example.com/", "https://x.example/u/<email>/"),
        (
            "https://x.example/t/123e4567-e89b-12d3-a456-426614174000#/order/98765",
            "https://x.example/t/<uuid>#/order/<id>",
        ),
        ("/checkout/12345678", "/checkout/<id>"),  # a page: a path only
        ("//cdn.example:8443/lib/99999.js", "//cdn.example:8443/lib/<id>.js"),
        ("", ""),
    ],
)
def test_mask_url(url: str, masked: str | None) -> None:
    assert mask_url(url) == (url if masked is None else masked)
    if "://" in url:  # the same in free text
        assert mask_personal(f"at {url} now") == f"at {url if masked is None else masked} now"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # An address in free text may be any visitor's (an admin page listing them): masked.
        ("blocked 203.0.113.9 (rate)", "blocked <ip> (rate)"),
        ("click on 2001:db8:abcd:12:3456:789a:bcde:f012", "click on <ip>"),
        # As a URL's host it is where the page or script came from, not the visitor's: kept,
        # even when it is the client's own address (a developer's machine).
        ("GET http://203.0.113.9:8080/x failed", None),
        ("GET http://h.example/ip/203.0.113.9 failed", "GET http://h.example/ip/<ip> failed"),
    ],
)
def test_addresses_in_text_and_in_urls(text: str, masked: str | None) -> None:
    assert mask_personal(text) == (text if masked is None else masked)


_HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,6}){0,2}", fullmatch=True),
)


@given(
    st.sampled_from(["http", "https", "ws", "wss", "chrome-extension"]),
    _HOSTS,
    st.one_of(st.none(), st.integers(1, 65535)),
    st.lists(
        st.one_of(
            st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True),
            st.integers(0, 10**12).map(str),
            st.emails(),
            st.ip_addresses().map(str),
        ),
        max_size=4,
    ),
    st.one_of(st.none(), st.tuples(st.integers(1, 10**6), st.integers(1, 10**6))),
)
def test_url_structure_survives(
    scheme: str,
    host: str,
    port: int | None,
    path: list[str],
    position: tuple[int, int] | None,
) -> None:
    """Scheme, host, port and a frame's line:col survive masking, in a URL, a message and a
    stack frame."""
    origin = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    at = "" if position is None else f":{position[0]}:{position[1]}"
    url = origin + "/" + "/".join(path) + at
    masked = mask_url(url)
    assert masked.startswith(origin + "/")
    assert masked.endswith(at)
    assert mask_url(masked) == masked
    frame = f"    at f ({url})"
    assert mask_stack(frame).startswith(f"    at f ({origin}/")
    assert mask_personal(f"Failed to load {url}").startswith(f"Failed to load {origin}/")


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
    # (a URL's host and port are kept: test_url_structure_survives)
    assert not any(run.isdigit() and len(run) >= 5 for run in once.split() if "//" not in run)


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
        (  # issue #20: the frame's host and port were "<ip>:<id>"
            "Error: boom\n    at load (http://127.0.0.1:18201/widget.js:3:14)\n"
            "render@http://[::1]:18201/u/7654321/app.js:120:9",
            "Error: boom\n    at load (http://127.0.0.1:18201/widget.js:3:14)\n"
            "render@http://[::1]:18201/u/<id>/app.js:120:9",
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
