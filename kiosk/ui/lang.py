"""``tr``: the language every label follows, switchable at runtime without a restart.

In kv, ``text: tr._(<English message>)`` re-evaluates whenever :meth:`Lang.switch` runs (the
kv compiler binds to the attribute ``_`` of ``tr``; we keep those bindings and fire them).
Use it for widgets that live as long as the app (screens); rows built from data are
rebuilt by their screen on ``tr.lang`` instead, so no binding outlives its widget.
"""

from __future__ import annotations

import itertools

from kivy.event import EventDispatcher
from kivy.properties import StringProperty

from kiosk.i18n import LANGUAGES, gettext_for
from kiosk.languages import DEFAULT_LANGUAGE

_LIVE = ("_", "name")


class Lang(EventDispatcher):
    lang = StringProperty(DEFAULT_LANGUAGE)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._observers: dict[int, tuple] = {}
        self._uids = itertools.count(1)

    def _(self, message: str) -> str:
        return gettext_for(self.lang, message)

    def name(self, names) -> str:
        """A site name (``Names``) in the current language."""
        return names.get(self.lang)

    def switch(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        for func, largs in list(self._observers.values()):
            func(*largs, None, None)

    # kv binding hooks ------------------------------------------------------
    def fbind(self, name, func, *largs, **kw):
        if name in _LIVE:
            uid = next(self._uids)
            self._observers[uid] = (func, largs)
            return uid
        return super().fbind(name, func, *largs, **kw)

    def funbind(self, name, func, *largs, **kw):
        if name in _LIVE:
            for uid, (f, a) in list(self._observers.items()):
                if f == func and a == largs:
                    del self._observers[uid]
            return None
        return super().funbind(name, func, *largs, **kw)

    def unbind_uid(self, name, uid):
        if name in _LIVE:
            self._observers.pop(uid, None)
            return None
        return super().unbind_uid(name, uid)


tr = Lang()
