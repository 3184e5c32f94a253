"""Personal data masked in URLs, action names and error messages (RUM.md "Privacy defaults")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.enrich.personal import mask_personal


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
