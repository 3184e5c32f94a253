"""What an error is called: its message without the type that browsers put in front of it."""

from __future__ import annotations

import re

# The top frame of a stack as the agent formats it: `at fn (url:line:col)` (a position of at most
# 15 digits: anything a beacon's integers may hold).
_TOP_FRAME = re.compile(r"at .* \((.+):(\d{1,15}):(\d{1,15})\)$", re.MULTILINE)


def error_message(name: str | None, message: str) -> str:
    """The message of an error without its type, which is stored apart (``error_name``).

    Browsers put the type in an uncaught error's message too (``ErrorEvent.message``:
    "Uncaught TypeError: x" in Chromium, "TypeError: x" in Firefox and Safari), and a title made
    of both read "TypeError: Uncaught TypeError: x". The batch step stores the message without it;
    the dashboard endpoints read older rows through it as well."""
    if name:
        for prefix in (f"Uncaught {name}: ", f"{name}: "):
            if message.startswith(prefix) and len(message) > len(prefix):
                return message[len(prefix) :]
    return message


def top_frame(stack: str | None) -> tuple[str, int, int] | None:
    """(source, line, column) of the first frame of ``stack``: where an error without its own
    source (the agent sends none from 1.2 on) was made."""
    m = _TOP_FRAME.match(stack) if stack else None
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None
