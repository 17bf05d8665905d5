"""Configure Kivy before anything opens a window.

Must run before the first ``import kivy.*`` that touches the window: sets Kivy's
environment (no argv parsing: the apps have their own; no log files: appliances log to
journald via stderr), the window size or full screen, touch input without the mouse's
multitouch emulation, and registers the CJK font as Kivy's default.
"""

from __future__ import annotations

import os


def boot(title: str, width: int, height: int, fullscreen: bool) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "window_icon", "")
    Config.set("input", "mouse", "mouse,disable_multitouch")

    from kivy.core.text import DEFAULT_FONT, LabelBase

    from kiosk.fonts import cjk_font

    font = cjk_font()
    LabelBase.register(DEFAULT_FONT, str(font.regular), fn_bold=str(font.bold))
    os.environ["MADOGUCHI_TITLE"] = title
