"""The PC/SC adapter: pyscard talking to pcscd (a real reader, or vpcd with the virtual card).

:class:`PcscReader` watches one reader through pyscard's ``SCardGetStatusChange`` (a watcher
that survives a pcscd restart, which pyscard's ``CardMonitor`` does not) and opens a
:class:`~form_printer.card.protocol.TextInputSupportAP` on the card held there. pyscard errors
become :class:`~form_printer.card.protocol.CardError` codes the app can explain.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from form_printer.card.protocol import CardError, TextInputSupportAP

log = logging.getLogger(__name__)

# PC/SC return codes (pcsclite.h) that mean the card went away or the reader/service did.
_CARD_GONE = {0x80100069, 0x8010000C, 0x80100016, 0x80100067, 0x80100068, 0x8010000F}
#: How often the watcher looks again for a missing reader or pcscd, and how long one status wait lasts.
WATCH_RETRY_SECONDS = 2.0
WATCH_POLL_MS = 1000
_READER_GONE = {0x80100017, 0x8010001D, 0x8010002E, 0x80100009, 0x80100003}


def reader_names() -> list[str]:
    from smartcard.System import readers

    return [str(r) for r in readers()]


def _classify(error: Exception) -> CardError:
    hresult = getattr(error, "hresult", 0) or 0
    hresult &= 0xFFFFFFFF
    if hresult in _READER_GONE:
        return CardError("reader_missing", f"card reader not available ({hresult:#x})")
    return CardError("card_removed", f"the card was taken away or could not be read ({hresult:#x})")


class PcscTransport:
    """One connection to the card; every failure is a CardError (never an APDU in a message)."""

    def __init__(self, connection):
        self.connection = connection

    def transmit(self, command: bytes) -> tuple[bytes, int, int]:
        from smartcard.Exceptions import SmartcardException

        try:
            data, sw1, sw2 = self.connection.transmit(list(command))
        except SmartcardException as e:
            raise _classify(e) from None
        return bytes(data), sw1, sw2


class PcscReader:
    """The card reader of a form issuer: insert/remove events, and a session on the card held there.

    ``reader`` picks the reader whose name contains it (e.g. "RC-S300", "Virtual PCD 00 00");
    empty = the first one listed.
    """

    def __init__(self, reader: str = ""):
        self.reader = reader
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._connection = None
        self._lock = threading.Lock()

    def _matches(self, name: str) -> bool:
        return self.reader in name if self.reader else True

    def find_reader(self):
        """The pyscard reader object, or CardError(reader_missing)."""
        from smartcard.Exceptions import SmartcardException
        from smartcard.System import readers

        try:
            found = [r for r in readers() if self._matches(str(r))]
        except SmartcardException as e:
            raise CardError("reader_missing", f"PC/SC not available: {type(e).__name__}") from None
        if not found:
            raise CardError("reader_missing", f"no card reader matching {self.reader!r}")
        return found[0]

    def start(
        self,
        on_inserted: Callable[[], None],
        on_removed: Callable[[], None],
        on_health: Callable[[bool], None] | None = None,
    ) -> None:
        """Call back (on a watcher thread) when a card arrives on or leaves our reader.

        pyscard's ``CardMonitor`` stops for good once pcscd goes away (restarted by systemd, or
        crashed), and a kiosk would never see a card again. This watcher waits on pyscard's
        ``SCardGetStatusChange`` itself and starts over with a new context when pcscd comes
        back; ``on_health(False/True)`` says when the reader is missing or back.
        """
        self._stop.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(on_inserted, on_removed, on_health), name="card-watcher", daemon=True
        )
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self._watcher = None
        self.close()

    def _watch(self, on_inserted, on_removed, on_health) -> None:
        from smartcard import scard

        present, healthy = False, None

        def health(ok: bool) -> None:
            nonlocal healthy
            if ok != healthy:
                healthy = ok
                log.info("card reader %s", "available" if ok else "missing")
                if on_health is not None:
                    on_health(ok)

        while not self._stop.is_set():
            hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hresult != scard.SCARD_S_SUCCESS:
                health(False)
                self._stop.wait(WATCH_RETRY_SECONDS)
                continue
            try:
                name = self._reader_name(scard, context)
                if name is None:
                    health(False)
                    self._stop.wait(WATCH_RETRY_SECONDS)
                    continue
                health(True)
                states = [(name, scard.SCARD_STATE_UNAWARE)]
                while not self._stop.is_set():
                    hresult, states = scard.SCardGetStatusChange(context, WATCH_POLL_MS, states)
                    if hresult == scard.SCARD_E_TIMEOUT:
                        continue
                    if hresult != scard.SCARD_S_SUCCESS:
                        break  # pcscd or the reader went away: a new context, from the top
                    now = bool(states[0][1] & scard.SCARD_STATE_PRESENT)
                    if now != present:
                        present = now
                        (on_inserted if now else on_removed)()
                    states = [(n, s & ~scard.SCARD_STATE_CHANGED) for n, s, *_ in states]
                if present and not self._stop.is_set():
                    present = False
                    on_removed()
            finally:
                scard.SCardReleaseContext(context)

    def _reader_name(self, scard, context) -> str | None:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult != scard.SCARD_S_SUCCESS:
            return None
        return next((n for n in names if self._matches(n)), None)

    def open(self) -> TextInputSupportAP:
        """Connect to the card on the reader and select the AP (CardError if it is not a My Number card)."""
        from smartcard.Exceptions import NoCardException, SmartcardException

        reader = self.find_reader()
        with self._lock:
            self._close_locked()
            connection = reader.createConnection()
            try:
                connection.connect()
            except SmartcardException as e:
                # Release now: pyscard would do it in __del__, maybe after pcscd is gone, and an exception
                # in a finalizer run by the garbage collector inside compile() trips a CPython 3.11 bug
                # ("AST constructor recursion depth mismatch").
                with contextlib.suppress(SmartcardException):
                    connection.release()
                if isinstance(e, NoCardException):
                    raise CardError("card_removed", "no card on the reader") from None
                raise _classify(e) from None
            self._connection = connection
        ap = TextInputSupportAP(PcscTransport(connection))
        ap.select()
        return ap

    def close(self) -> None:
        """Disconnect (the card is powered down: its security state is gone)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            for step in (connection.disconnect, getattr(connection, "release", None)):
                try:
                    if step is not None:
                        step()
                except Exception:  # noqa: BLE001 - the card may be gone already; nothing to undo
                    log.debug("closing the card connection: %s failed (card already gone)", step)


def wait_for_card(reader: str, timeout: float = 10.0) -> None:
    """Block until a card is on the reader whose name contains ``reader`` (pcscd's own status change wait)."""
    from smartcard.CardRequest import CardRequest
    from smartcard.Exceptions import CardRequestTimeoutException

    found = PcscReader(reader).find_reader()
    request = CardRequest(readers=[found], timeout=timeout)
    try:
        request.waitforcard()
    except CardRequestTimeoutException:
        raise CardError("card_removed", f"no card on {found} within {timeout:.0f} s") from None
    finally:
        del request  # released now, while pcscd is surely up (pyscard releases it in __del__)


def wait_for_no_card(reader: str, timeout: float = 10.0) -> None:
    """Block until pcscd reports the reader empty (the card taken away has been noticed)."""
    from smartcard import scard

    name = str(PcscReader(reader).find_reader())
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise CardError("reader_missing", f"PC/SC not available ({hresult:#x})")
    try:
        states = [(name, scard.SCARD_STATE_UNAWARE)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hresult, states = scard.SCardGetStatusChange(context, 500, states)
            if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
                raise CardError("reader_missing", f"PC/SC status failed ({hresult:#x})")
            if states and states[0][1] & scard.SCARD_STATE_EMPTY:
                return
            states = [(n, s & ~scard.SCARD_STATE_CHANGED) for n, s, *_ in states]
        raise CardError("card_error", f"the card on {name} was not seen leaving within {timeout:.0f} s")
    finally:
        scard.SCardReleaseContext(context)
