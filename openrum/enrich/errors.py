"""What an error is called: its message without the type that browsers put in front of it."""

from __future__ import annotations


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
