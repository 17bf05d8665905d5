"""A USB keyboard-wedge scanner: the scanner types the code and presses Enter.

Shared by the apps that take codes (the form issuer's pre-entry QR, the register's slips).
Characters are collected only while ``accepting()`` says the current screen takes a code, so
a scan on the wrong screen cannot leak into the next one.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.core.window import Window

ENTER_KEYS = (13, 271)  # Enter, keypad Enter


class WedgeScanner:
    def __init__(self, accepting: Callable[[], bool], on_code: Callable[[str], None]) -> None:
        self.accepting = accepting
        self.on_code = on_code
        self._typed = ""
        Window.bind(on_textinput=self._text, on_key_down=self._key)

    def clear(self) -> None:
        self._typed = ""

    def _text(self, _window, text: str) -> None:
        if self.accepting():
            self._typed += text

    def _key(self, _window, key: int, *_a) -> bool:
        if key in ENTER_KEYS and self._typed:
            code, self._typed = self._typed, ""
            self.on_code(code)
            return True
        return False
