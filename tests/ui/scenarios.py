"""What the UI tests do in each app (see tests/ui/driver.py for how steps run).

Each scenario is what a person at that appliance does, step by step, with a screenshot
of every screen it passes through (build/test-artifacts/ui/*.png).
"""

from __future__ import annotations


def _in_service(app, ui):
    return ui.until(lambda: app.in_service, "broker and queue service reachable", timeout=20)


def issue_one(ui, procedure: str = "juminhyo"):
    """From the kiosk's home: one procedure, ``procedure`` in the catalog, the guidance, issue, the issued screen."""
    yield ui.tap("one-procedure")
    yield ui.screen("catalog")
    yield ui.tap(f"pick-{procedure}")
    yield ui.tap("catalog-next")
    yield ui.screen("guidance")
    yield ui.tap("issue")
    yield ui.screen("issued")


# ----------------------------------------------------------------- ticket kiosk
def kiosk_move_in(app, ui, params):
    """A resident who moved in with a child and national health insurance, in English."""
    yield _in_service(app, ui)
    yield ui.shot("kiosk-01-home-ja")
    yield ui.tap("lang-en")
    yield ui.until(lambda: ui.find("event-moving_in").text.startswith("Moving in"), "English labels")
    yield ui.shot("kiosk-02-home-en")
    yield ui.tap("event-moving_in")
    yield ui.screen("questions")
    yield ui.tap("q-children-yes")
    yield ui.tap("q-kokuho-yes")
    yield ui.tap("q-seal-no")
    yield ui.tap("questions-next")  # three questions unanswered: outlined, the list not shown yet
    questions = app.sm.get_screen("questions")
    yield ui.until(lambda: questions.message, "the answer-every-question message")
    ui.result["unanswered_stopped"] = app.sm.current
    for q in ("over_65", "pension_type1", "mynumber_card"):
        yield ui.tap(f"q-{q}-no")
    yield ui.frames()
    yield ui.shot("kiosk-03-questions")
    yield ui.tap("questions-next")
    yield ui.screen("guidance")
    yield ui.shot("kiosk-04-guidance")
    yield ui.tap("proc-kodomo_iryo")  # untick one: not needed today
    yield ui.tap("add-procedure")
    yield ui.screen("catalog")
    yield ui.tap("pick-juminhyo")
    yield ui.frames()
    yield ui.shot("kiosk-05-catalog")
    yield ui.tap("catalog-next")
    yield ui.screen("guidance")
    yield ui.frames()
    yield ui.shot("kiosk-06-guidance-edited")
    yield ui.tap("issue")
    yield ui.screen("issued")
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state != "printing", "the printer to finish")
    yield ui.shot("kiosk-07-issued")
    ui.result["print_state"] = issued.print_state
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    yield ui.tap("finish")
    yield ui.screen("home")
    ui.result["selection_after"] = app.selection.chosen(app.site)


def kiosk_staff_and_accessibility(app, ui, params):
    """The concierge's PIN (wrong, then right), a priority ticket, large text, idle reset."""
    yield _in_service(app, ui)
    yield ui.tap("a11y")
    yield ui.frames()
    yield ui.shot("kiosk-10-home-accessible")
    yield ui.tap("a11y")
    yield ui.tap("concierge")
    yield ui.screen("concierge")
    for digit in "0000":
        yield ui.tap(f"pin-{digit}")
    yield ui.tap("pin-enter")
    yield ui.until(lambda: app.sm.get_screen("concierge").message, "the wrong-PIN message")
    yield ui.shot("kiosk-11-concierge-wrong-pin")
    for digit in params["pin"]:
        yield ui.tap(f"pin-{digit}")
    yield ui.tap("pin-enter")
    yield ui.screen("home")
    ui.result["concierge"] = app.concierge
    yield ui.tap("one-procedure")
    yield ui.screen("catalog")
    yield ui.tap("pick-inkan_shomei")
    yield ui.tap("catalog-next")
    yield ui.screen("guidance")
    yield ui.tap("priority")
    yield ui.tap("ticket-lang")  # ja → en: issuing for someone else in their language
    yield ui.frames()
    yield ui.shot("kiosk-12-guidance-concierge")
    yield ui.tap("issue")
    yield ui.screen("issued")
    yield ui.until(lambda: app.last_ticket is not None, "the ticket")
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    # walk away: the idle timeout clears staff mode and goes home
    app.idle_seconds = 1
    yield ui.until(lambda: app.sm.current == "home" and not app.concierge, "the idle reset", timeout=10)
    ui.result["after_idle"] = {"concierge": app.concierge, "screen": app.sm.current}


def kiosk_printer_fault(app, ui, params):
    """Paper runs out: the number is shown, the fault reported, the ticket reprinted later."""
    yield _in_service(app, ui)
    yield from issue_one(ui)
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state == "failed", "the print failure")
    yield ui.frames()
    yield ui.shot("kiosk-20-paper-out")
    ui.result["paper_out_screen"] = {"qr": issued.qr_url, "finish": issued.finish_text, "help": issued.help_text}
    ui.result["faults_after_failure"] = sorted(app.printer_faults)
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    # the test refills the paper and tells us through a file
    flag = params["refilled_flag"]
    import os

    yield ui.until(lambda: os.path.exists(flag), "the paper to be refilled", timeout=30)
    yield ui.tap("reprint")
    yield ui.until(lambda: issued.print_state == "printed", "the reprint")
    yield ui.shot("kiosk-21-reprinted")
    app.poll_printer()
    yield ui.until(lambda: not app.printer_faults, "the faults to clear")
    ui.result["faults_after_reprint"] = sorted(app.printer_faults)


def kiosk_out_of_service(app, ui, params):
    """The queue service is down: the overlay covers the kiosk and touches do nothing."""
    yield ui.until(lambda: app.link.broker_up, "the broker")
    yield ui.until(lambda: not app.in_service, "out of service")
    yield ui.shot("kiosk-30-out-of-service")
    ui.result["tap_swallowed"] = ui.touch_swallowed("event-moving_in")
    ui.result["screen"] = app.sm.current


# ----------------------------------------------------------------- call panel
def panel_serve(app, ui, params):
    """Open the counter, call the next visit (expected: ``number``), complete it with a note."""
    tag = params.get("tag", app.counter_id)
    yield _in_service(app, ui)
    if app.sm.current == "pick":
        yield ui.shot(f"panel-{tag}-00-pick")
        yield ui.tap(f"counter-{params['counter']}")
    yield ui.screen("counter")
    yield ui.until(lambda: app.counter_id in app.counter_states, "the counter's retained state")
    if not app.is_open:
        yield ui.tap("open-toggle")
        yield ui.until(lambda: app.is_open, "the counter to open")
    yield ui.shot(f"panel-{tag}-01-open")
    yield ui.tap("call-next")
    yield ui.until(lambda: app.ticket is not None, "a called visit")
    yield ui.frames()
    yield ui.shot(f"panel-{tag}-02-called")
    ui.result["called"] = app.ticket.model_dump(mode="json")
    ui.result["itinerary_text"] = [w.text for w in app.sm.get_screen("counter").ids.itinerary.children][::-1]
    ui.result["note_text"] = app.sm.get_screen("counter").ids.note.text
    ui.result["waiting_shown"] = app.waiting
    yield ui.tap("complete")
    yield ui.screen("complete")
    if params.get("note"):
        yield ui.tap("preset-0")
    yield ui.frames()
    yield ui.shot(f"panel-{tag}-03-complete")
    yield ui.tap("complete-confirm")
    yield ui.screen("counter")
    yield ui.until(lambda: app.ticket is None and app.serving_number is None, "the counter to be free")
    yield ui.shot(f"panel-{tag}-04-done")


def panel_nobody(app, ui, params):
    """A panel that may operate several counters starts on the picker; calling when nobody waits says so."""
    yield _in_service(app, ui)
    if app.sm.current == "pick":
        yield ui.frames()
        yield ui.shot("panel-09-pick")
        ui.result["started_on"] = "pick"
        yield ui.tap(f"counter-{params['counter']}")
    yield ui.screen("counter")
    if not app.is_open:
        yield ui.tap("open-toggle")
        yield ui.until(lambda: app.is_open, "the counter to open")
    yield ui.tap("call-next")
    yield ui.until(lambda: app.message, "the 'nobody waiting' message")
    yield ui.shot("panel-10-nobody-waiting")
    ui.result["message"] = app.message


# ----------------------------------------------------------------- call board
def board_watch(app, ui, params):
    """Wait for ``calls`` calls; screenshot the board before and after."""
    want = int(params["calls"])
    yield _in_service(app, ui)
    yield ui.shot("board-01-start")
    open(params["ready_flag"], "w").close()  # noqa: SIM115 - tells the test the board listens
    yield ui.until(lambda: app.chimes >= want, f"{want} calls", timeout=90)
    yield ui.frames(3)
    yield ui.shot("board-02-calls")
    ui.result["recent"] = [c.model_dump(mode="json") for c in app.recent]
    ui.result["chimes"] = app.chimes
    board = app.sm.get_screen("board")
    ui.result["shown"] = board.shown()


# ----------------------------------------------------------------- bench (bench/apps.py)
def ready(app, ui, params):
    """Cold start: from exec to the first frame of the home screen in service; memory then."""
    import os
    import time

    yield _in_service(
        app,
        ui,
    )
    yield ui.frames(2)
    ticks = os.sysconf("SC_CLK_TCK")
    start_ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])  # noqa: SIM115
    uptime = float(open("/proc/uptime").read().split()[0])  # noqa: SIM115
    ui.result["cold_start_s"] = round(uptime - start_ticks / ticks, 2)
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())  # noqa: SIM115
    ui.result["rss_mb"] = round(int(status["VmRSS"].split()[0]) / 1024, 1)
    ui.result["peak_rss_mb"] = round(int(status["VmHWM"].split()[0]) / 1024, 1)
    ui.result["measured_at"] = time.time()


# ----------------------------------------------------------------- form issuer
def _card(params, resident: str | None):
    """A test resident's card held on the reader (the vpcd port of the test's pcscd)."""
    from devkit.mynumber_card import VirtualMyNumberCard, VpcdCard, load_residents

    card = VirtualMyNumberCard(load_residents()[resident] if resident else None)
    holder = VpcdCard(card, port=int(params["vpcd_port"]))
    holder.insert()
    return holder


def _pin(ui, digits: str):
    for digit in digits:
        yield ui.tap(f"pin-{digit}")
    yield ui.tap("pin-enter")


def _scan(text: str) -> None:
    """A keyboard-wedge scanner: the QR's text as key presses, then Enter."""
    from kivy.core.window import Window

    for ch in text:
        Window.dispatch("on_textinput", ch)
    Window.dispatch("on_key_down", 13, 36, "\r", [])


def _print_forms(app, ui):
    """Print the previewed forms and wait for the job's end (its state in the result)."""
    yield ui.tap("print")
    printing = app.sm.get_screen("printing")
    yield ui.until(lambda: printing.state != "printing", "the print job")
    ui.result["print_state"] = printing.state


def forms_move_in(app, ui, params):
    """Yamada moves in: card, a wrong PIN, the right one, a pre-entry QR, preview, zoom, print."""
    from pathlib import Path

    yield ui.screen("welcome")
    yield ui.shot("forms-01-welcome-ja")
    yield ui.tap("start")
    yield ui.screen("card")
    yield ui.shot("forms-02-hold-card")
    holder = _card(params, "yamada")
    yield ui.screen("pin")
    yield ui.shot("forms-03-pin")
    yield from _pin(ui, "9999")
    pin = app.sm.get_screen("pin")
    yield ui.until(lambda: pin.tries_left == 2 and pin.message, "the wrong PIN to be told")
    yield ui.shot("forms-04-pin-wrong")
    yield from _pin(ui, "1234")
    yield ui.screen("choose")
    yield ui.tap("lang-en")
    choose = app.sm.get_screen("choose")
    _scan("]Q1" + Path(params["preentry_file"]).read_text().strip())
    yield ui.until(lambda: choose.preentry_ok == "ok", "the pre-entry QR to be read")
    yield ui.tap("event-moving_in")
    yield ui.frames()
    yield ui.shot("forms-05-choose-en")
    ui.result["chosen"] = list(choose.chosen)
    yield ui.tap("choose-next")
    yield ui.screen("preview")
    yield ui.shot("forms-06-preview")
    yield ui.tap("page-jumin_ido")
    preview = app.sm.get_screen("preview")
    yield ui.until(lambda: preview.zoomed, "the zoomed page")
    yield ui.frames()
    yield ui.shot("forms-07-zoom")
    yield ui.tap("zoom-close")
    yield ui.frames()
    yield from _print_forms(app, ui)
    yield ui.shot("forms-08-printed")
    yield ui.until(lambda: not app.pending_counts, "the counts to reach the queue service")
    holder.remove()
    yield ui.screen("welcome")
    yield ui.until(lambda: app.issuer.visit.items is None, "the visit to be wiped")
    ui.result["wiped"] = app.issuer.visit.items is None and not app.issuer.visit.pre


def forms_card_problems(app, ui, params):
    """Last-try warning, a locked card, some other card, a card taken away mid-visit."""
    yield ui.screen("welcome")
    yield ui.tap("start")
    yield ui.screen("card")
    holder = _card(params, "long_name")
    yield ui.screen("pin")
    for _ in range(2):
        yield from _pin(ui, "0000")
        yield ui.frames(3)
    yield ui.screen("warning")  # one try left: nothing is sent until the resident decides
    yield ui.shot("forms-10-last-try-warning")
    ui.result["verifies_before_warning"] = sum(1 for c in holder.card.commands if c[:2] == b"\x00\x20" and len(c) > 4)
    yield ui.tap("warning-continue")
    yield ui.screen("pin")
    yield ui.shot("forms-11-pin-last-try")
    yield from _pin(ui, "0000")
    card = app.sm.get_screen("card")
    yield ui.until(lambda: app.sm.current == "card" and card.state == "error", "the locked card message")
    yield ui.shot("forms-12-locked")
    ui.result["locked_message"] = card.message
    holder.remove()
    yield ui.until(lambda: card.state == "waiting", "the card screen to wait again")
    holder = _card(params, None)
    yield ui.until(lambda: card.state == "error", "the not-a-My-Number-card message")
    ui.result["other_card_message"] = card.message
    yield ui.shot("forms-13-not-my-number-card")
    holder.remove()
    yield ui.until(lambda: card.state == "waiting", "the card screen to wait again")
    holder = _card(params, "foreign")
    yield ui.screen("pin")
    yield from _pin(ui, "1234")
    yield ui.screen("choose")
    ui.result["read"] = app.issuer.visit.items is not None
    holder.remove()  # walks away with the card before printing
    yield ui.screen("welcome")
    yield ui.shot("forms-14-card-taken-away")
    ui.result["notice"] = app.sm.get_screen("welcome").notice
    yield ui.until(lambda: app.issuer.visit.items is None, "the visit to be wiped")


# ----------------------------------------------------------------- self register
def _slips(app):
    """The site's sample slips (devkit/slip_samples.py), by id."""
    from datetime import datetime

    from devkit.slip_samples import sample_slips

    return {s.id: s.data for s in sample_slips(app.settings, datetime.now(app.site.zone).date())}


def _register_ready(app, ui):
    return ui.until(lambda: app.sm.current in ("home", "start") and app.screen("start").state != "checking", "ready")


def register_cash(app, ui, params):
    """Three slips (an expired one and a duplicate refused), cash with 10,000-yen notes, change, receipt."""
    from pathlib import Path

    flags = Path(params["flags"])
    slips = _slips(app)
    yield ui.screen("home", timeout=30)
    yield ui.shot("register-01-home-ja")
    _scan("]E0" + slips["expired"])
    home = app.screen("home")
    yield ui.until(lambda: home.message, "the expired slip to be refused")
    yield ui.frames()
    yield ui.shot("register-02-refused-expired-ja")
    ui.result["expired_message_ja"] = home.message
    for slip in ("kokuho", "kaigo", "hoiku"):
        _scan("]E0" + slips[slip])
    yield ui.screen("cart")
    cart = app.screen("cart")
    yield ui.until(lambda: cart.count == 3, "three slips in the cart")
    _scan("]E0" + slips["kaigo"])
    yield ui.until(lambda: cart.message, "the duplicate to be refused")
    yield ui.frames()
    yield ui.shot("register-03-cart-duplicate-ja")
    ui.result["duplicate_message_ja"] = cart.message
    yield ui.tap("lang-en")
    yield ui.until(lambda: "already" in cart.message, "the message in English")
    ui.result["duplicate_message_en"] = cart.message
    yield ui.frames()
    yield ui.shot("register-04-cart-en")
    ui.result["total"] = cart.total
    yield ui.tap("pay-cash")
    yield ui.screen("cash")
    cash = app.screen("cash")
    yield ui.until(lambda: cash.state == "accepting", "the changer to accept cash")
    yield ui.until(lambda: cash.inserted >= 10000, "the first note", timeout=30)
    yield ui.frames()
    yield ui.shot("register-05-cash-inserted-en")
    (flags / "first-note-seen").touch()
    yield ui.screen("done", timeout=60)
    done = app.screen("done")
    yield ui.frames()
    yield ui.shot("register-06-done-en")
    ui.result.update(paid=done.total, tendered=done.tendered, change=done.change, receipt=done.receipt_printed)
    ui.result["tx"] = done.tx
    yield ui.tap("done-finish")
    yield ui.screen("home")
    ui.result["cart_after"] = app.cart is None
    yield ui.until(lambda: app.pending_payments == 0, "the payment to reach the queue service", timeout=30)


def register_cancel_and_cashless(app, ui, params):
    """Cash put in then cancelled (given back); card: cancelled on screen, declined, then approved."""
    slips = _slips(app)
    yield ui.screen("home", timeout=30)
    for slip in ("kotei", "keijidosha"):
        _scan(slips[slip])
    yield ui.screen("cart")
    cart = app.screen("cart")
    yield ui.until(lambda: cart.count == 2, "two slips")
    ui.result["total"] = cart.total
    yield ui.tap("pay-cash")
    cash = app.screen("cash")
    yield ui.until(lambda: cash.state == "accepting", "the changer to accept cash")
    yield ui.until(lambda: cash.inserted >= 2000, "two 1,000-yen notes", timeout=30)
    yield ui.frames()
    yield ui.shot("register-10-cash-partial-ja")
    yield ui.tap("cash-cancel")
    yield ui.screen("returned", timeout=30)
    yield ui.shot("register-11-returned-ja")
    ui.result["returned"] = app.screen("returned").amount
    yield ui.tap("returned-ok")
    yield ui.screen("cart")
    yield ui.tap("pay-cashless")
    yield ui.screen("cashless")
    yield ui.frames(3)
    yield ui.shot("register-12-cashless-ja")
    yield ui.tap("cashless-cancel")
    yield ui.screen("cart", timeout=30)
    ui.result["cancelled_message"] = cart.message
    cancelled = cart.message
    yield ui.tap("pay-cashless")  # the test declines this one
    yield ui.until(lambda: cart.message and cart.message != cancelled, "the declined card", timeout=60)
    yield ui.screen("cart")
    yield ui.shot("register-13-declined-ja")
    ui.result["declined_message"] = cart.message
    yield ui.tap("pay-cashless")  # the test approves this one
    yield ui.screen("done", timeout=60)
    yield ui.frames()
    yield ui.shot("register-14-done-cashless-ja")
    done = app.screen("done")
    ui.result.update(paid=done.total, change=done.change, brand=done.brand, receipt=done.receipt_printed)


def register_recovery_and_staff(app, ui, params):
    """An unfinished payment found at start (report, PIN to dismiss); the staff screen; idle reset."""
    start = app.screen("start")
    yield ui.until(lambda: start.state == "report", "the recovery report", timeout=30)
    yield ui.frames()
    yield ui.shot("register-20-recovery-report-ja")
    ui.result["reports"] = [dict(r) for r in app.reports]
    yield ui.tap("start-staff")
    yield ui.screen("pin")
    yield from _pin(ui, "0000")
    pin = app.screen("pin")
    yield ui.until(lambda: pin.message, "the wrong PIN to be told")
    ui.result["wrong_pin"] = pin.message
    yield from _pin(ui, params["pin"])
    yield ui.screen("home")
    yield ui.tap("lang-pt")
    yield ui.frames()
    yield ui.shot("register-21-home-pt")
    yield ui.tap("staff")
    yield ui.screen("pin")
    yield from _pin(ui, params["pin"])
    yield ui.screen("staff")
    staff = app.screen("staff")
    if staff.has_fees:
        payee = next(b for b in staff.ids.payees.children)
        yield ui.tap(payee.key)
        for key in ("3", "0", "0"):
            yield ui.tap(f"amount-{key}")
        yield ui.tap("fee-add")
        yield ui.until(lambda: staff.lines, "the fee line")
    from kiosk.ui.lang import tr

    yield ui.tap("staff-reprint")
    yield ui.until(lambda: staff.message and staff.message != tr._("Printing..."), "the reprint answer")
    yield ui.frames()
    yield ui.shot("register-22-staff-pt")
    ui.result["staff_message"] = staff.message
    ui.result["fee_added"] = bool(staff.lines)
    if staff.lines:
        yield ui.tap("staff-handover")
        yield ui.screen("cart")
        yield ui.frames()
        yield ui.shot("register-23-cart-staff-pt")
        ui.result["staff_cart"] = app.staff_cart
    else:
        yield ui.tap("staff-exit")
        yield ui.screen("home")
    app.idle_seconds = 1  # the resident walks away
    yield ui.screen("home", timeout=10)
    yield ui.until(lambda: app.cart is None and not app.staff, "the idle reset", timeout=10)
    ui.result["after_idle"] = {"screen": app.sm.current, "cart": app.cart is None, "lang": app.device.screen.language}


# ----------------------------------------------------------------- ticket kiosk: one-stop and concierge-only (issue 17)
def _type_into(ui, key: str, text: str):
    """A finger on the text field ``key`` (focuses it), then the text as a keyboard (or an IME) sends it."""
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    field = ui.find(key)
    touch = UnitTestTouch(*field.to_window(*field.center))
    touch.touch_down()
    touch.touch_up()
    yield ui.until(lambda: field.focus, f"the focus on {key!r}")
    for ch in text:
        Window.dispatch("on_textinput", ch)
    yield ui.frames()


def _move_in_with_a_child_and_nhi(ui):
    """The life event 転入 with children and national health insurance, nothing else: on to the guidance."""
    yield ui.tap("event-moving_in")
    yield ui.screen("questions")
    yield ui.tap("q-children-yes")
    yield ui.tap("q-kokuho-yes")
    for q in ("over_65", "pension_type1", "mynumber_card", "seal"):
        yield ui.tap(f"q-{q}-no")
    yield ui.tap("questions-next")
    yield ui.screen("guidance")


def kiosk_one_stop_move_in(app, ui, params):
    """A resident moves in (child, national health insurance) at a self-service kiosk, in English: told before
    and after issue that they will be called to a one-stop booth and stay there."""
    from ticket_machine.kiosk_app.slip import slip_for

    yield _in_service(app, ui)
    ui.result["locked"] = app.locked
    yield ui.tap("lang-en")
    yield from _move_in_with_a_child_and_nhi(ui)
    yield ui.frames()
    yield ui.shot("kiosk-50-one-stop-guidance-en")
    guidance = app.sm.get_screen("guidance")
    ui.result["guidance_notice"] = guidance.ids.one_stop.text
    ui.result["guidance_where"] = [row.where for row in guidance.ids.rows.children][::-1]
    yield ui.tap("issue")
    yield ui.screen("issued")
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state != "printing", "the printer to finish")
    yield ui.frames()
    yield ui.shot("kiosk-51-one-stop-issued-en")
    ui.result["print_state"] = issued.print_state
    ui.result["issued"] = {"notice": issued.notice, "steps": issued.steps, "take": issued.take_text}
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    slip = slip_for(app.site, app.last_ticket, app.device.status_url)
    ui.result["slip"] = {"footer": slip.footer, "steps": [[s.floor, s.place, s.procedure] for s in slip.steps]}
    yield ui.tap("lang-ja")
    yield ui.frames()
    yield ui.shot("kiosk-52-one-stop-issued-ja")
    yield ui.tap("finish")
    yield ui.screen("home")


def kiosk_concierge_desk(app, ui, params):
    """The reception desk's kiosk: locked for residents (says where reception is, in their language); staff
    unlock it with the PIN, interview (moving in), write a note (a number is refused), issue, and it locks."""
    from kivy.app import App

    yield _in_service(app, ui)
    home = app.sm.get_screen("home")
    yield ui.frames()
    yield ui.shot("kiosk-40-concierge-locked-ja")
    ui.result["locked"] = app.locked
    ui.result["reception_ja"] = home.ids.reception_where.text
    ui.result["self_issue_buttons"] = [k for k in ("event-moving_in", "one-procedure") if ui.find(k, must=False)]
    App.get_running_app().choose_event("moving_in")  # even called directly, a locked kiosk stays home
    ui.result["screen_after_choose"] = app.sm.current
    yield ui.tap("lang-en")
    yield ui.until(lambda: "reception desk" in home.ids.reception_where.text, "the reception in English")
    yield ui.frames()
    yield ui.shot("kiosk-41-concierge-locked-en")
    ui.result["reception_en"] = home.ids.reception_where.text
    yield ui.tap("lang-ja")
    yield ui.tap("concierge")
    yield ui.screen("concierge")
    for digit in params["pin"]:
        yield ui.tap(f"pin-{digit}")
    yield ui.tap("pin-enter")
    yield ui.screen("home")
    ui.result["unlocked"] = not app.locked
    yield ui.shot("kiosk-42-concierge-unlocked")
    yield from _move_in_with_a_child_and_nhi(ui)
    yield ui.tap("note")
    yield ui.screen("note")
    note = app.sm.get_screen("note")
    yield ui.tap("note-preset-0")
    yield from _type_into(ui, "note-input", "、TEL 090-1234-5678")
    yield ui.tap("note-done")
    yield ui.until(lambda: note.message, "the personal-data refusal")
    yield ui.frames()
    yield ui.shot("kiosk-43-concierge-note-refused")
    ui.result["refused_message"] = note.message
    ui.result["note_after_refusal"] = app.selection.note
    yield ui.tap("note-clear")
    yield ui.tap("note-preset-0")
    yield ui.tap("note-preset-2")
    yield from _type_into(ui, "note-input", "（英語）")
    yield ui.shot("kiosk-44-concierge-note")
    yield ui.tap("note-done")
    yield ui.screen("guidance")
    yield ui.frames()
    yield ui.shot("kiosk-45-concierge-guidance")
    ui.result["note"] = app.selection.note
    yield ui.tap("issue")
    yield ui.screen("issued")
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state != "printing", "the printer to finish")
    yield ui.frames()
    yield ui.shot("kiosk-46-concierge-issued")
    ui.result["print_state"] = issued.print_state
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    ui.result["locked_after_issue"] = app.locked
    yield ui.tap("finish")
    yield ui.screen("home")
    yield ui.frames()
    yield ui.shot("kiosk-47-concierge-locked-again")
    ui.result["locked_at_home"] = app.locked
    ui.result["self_issue_buttons_after"] = [k for k in ("event-moving_in", "one-procedure") if ui.find(k, must=False)]


# ----------------------------------------------------------------- ticket kiosk: every language (issue 19)
KIOSK_LANGS = ("ja", "en", "zh", "ko", "vi", "pt", "ja-easy")


def kiosk_languages(app, ui, params):
    """The kiosk home, the questions (with "not sure"), the guidance list and a refusal (paper out) in all seven
    languages, in one app run: the language is switched on each screen and every screen saved
    (build/test-artifacts/kiosk-langs/)."""
    from tests.artifacts_dir import TEST_ARTIFACTS

    (TEST_ARTIFACTS / "kiosk-langs").mkdir(parents=True, exist_ok=True)
    ui.result["texts"] = {}

    def each_language(screen: str, texts):
        for lang in KIOSK_LANGS:
            yield ui.tap(f"lang-{lang}")
            yield ui.frames(3)
            yield ui.shot(f"../kiosk-langs/{screen}-{lang}")
            ui.result["texts"][f"{screen}-{lang}"] = texts()
        yield ui.tap("lang-ja")

    yield _in_service(app, ui)
    yield from each_language("1-home", lambda: [b.text for b in ui.find("event-moving_in").parent.children])
    yield ui.tap("event-moving_in")
    yield ui.screen("questions")
    yield ui.tap("q-children-yes")
    yield ui.tap("q-kokuho-unsure")
    yield ui.tap("q-pension_type1-unsure")
    for q in ("over_65", "mynumber_card", "seal"):
        yield ui.tap(f"q-{q}-no")
    questions = app.sm.get_screen("questions")
    yield from each_language("2-questions", lambda: [r.ids.text.text for r in questions.ids.rows.children][::-1])
    yield ui.tap("questions-next")
    yield ui.screen("guidance")
    guidance = app.sm.get_screen("guidance")
    yield from each_language(
        "3-guidance", lambda: [[r.title, r.where, r.bring, r.confirm] for r in guidance.ids.rows.children][::-1]
    )
    ui.result["guidance"] = {
        "rows": [[r.procedure, r.ticked, r.title] for r in guidance.ids.rows.children][::-1],
        "hidden_below": guidance.hidden_below,
        "more": guidance.more_text,
    }
    yield ui.tap("issue")
    yield ui.screen("issued")
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state == "failed", "the paper-out refusal")
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    yield from each_language("4-paper-out", lambda: [issued.print_message, issued.help_text, issued.finish_text])
    ui.result["paper_out"] = {"qr": issued.qr_url, "texture": issued.qr_texture is not None}
    yield ui.tap("finish")
    yield ui.screen("home")
    ui.result["kept_in_queue"] = app.last_ticket.id


# ----------------------------------------------------------------- call panel: one-stop (issue 17)
def _panel_open(app, ui):
    yield _in_service(app, ui)
    yield ui.screen("counter")
    yield ui.until(lambda: app.counter_id in app.counter_states, "the counter's retained state")
    if not app.is_open:
        yield ui.tap("open-toggle")
        yield ui.until(lambda: app.is_open, "the counter to open")


def _texts(box) -> list[str]:
    """Every label's text under ``box``, top to bottom."""
    return [w.text for w in box.walk(restrict=True) if isinstance(getattr(w, "text", None), str) and w.text]


def _left(app) -> dict:
    screen = app.sm.get_screen("counter")
    return {
        "reception": [w.text for w in screen.ids.reception.children][::-1],
        "itinerary": [w.text for w in screen.ids.itinerary.children][::-1],
        "note": screen.ids.note.text,
        "place": app.place_text,
    }


def _complete(ui, app=None):
    """完了, confirmed; with ``app``, until the counter is free again."""
    yield ui.tap("complete")
    yield ui.screen("complete")
    yield ui.tap("complete-confirm")
    yield ui.screen("counter")
    if app is not None:
        yield ui.until(lambda: app.ticket is None and app.serving_number is None, "the counter to be free")


def panel_booth(app, ui, params):
    """A booth's staff: see the move-in coming, call it once (seated), serve the front step, complete; the booth
    then waits for the sections (call next says so), shows who serves, and is freed when they are done."""
    number, timeout = int(params["number"]), float(params.get("timeout", 180))
    tag = params.get("tag", app.counter_id)
    yield from _panel_open(app, ui)
    group = app.counter.group
    yield ui.until(
        lambda: any(c.number == number for c in getattr(app.coming.get(group), "coming", [])), "the coming list"
    )
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-01-coming")
    ui.result["coming_text"] = _texts(app.sm.get_screen("counter").ids.side)
    yield ui.tap("call-next")
    yield ui.until(lambda: app.ticket is not None, "the called resident")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-02-called")
    ui.result["called"] = app.ticket.model_dump(mode="json")
    ui.result["called_left"] = _left(app)
    yield from _complete(ui)
    yield ui.until(lambda: app.ticket is None and app.seated_number == number, "the resident seated, front done")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-03-seated")
    ui.result["seated_left"] = _left(app)
    ui.result["seated_side"] = _texts(app.sm.get_screen("counter").ids.side)
    yield ui.tap("call-next")
    yield ui.until(lambda: app.message, "the booth-occupied message")
    yield ui.frames()
    yield ui.shot(f"onestop-{tag}-04-occupied")
    ui.result["occupied_message"] = app.message
    open(params["seated_flag"], "w").close()  # noqa: SIM115 - tells the test the sections may come
    yield ui.until(
        lambda: getattr(app.booths.get(app.counter_id), "served_by", None) not in (None, app.counter_id),
        "a section's staff at the booth",
        timeout=timeout,
    )
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-05-served-by-section")
    ui.result["served_side"] = _texts(app.sm.get_screen("counter").ids.side)
    ui.result["hand_over_disabled_while_served"] = ui.find("hand-over").disabled
    yield ui.until(lambda: app.seated_number is None, "the booth to be free", timeout=timeout)
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-06-free")
    ui.result["free_side"] = _texts(app.sm.get_screen("counter").ids.side)


def panel_take(app, ui, params):
    """A section's staff: the booth's request beside their own queue, 「行きます」, serve at the booth, complete."""
    number, tag = int(params["number"]), params.get("tag", app.counter_id)
    yield from _panel_open(app, ui)
    yield ui.until(lambda: ui.find(f"take-{number}", must=False) is not None, "the booth's request", timeout=60)
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-01-request")
    ui.result["side"] = _texts(app.sm.get_screen("counter").ids.side)
    ui.result["queue_text"] = app.queue_text
    yield ui.tap(f"take-{number}")
    yield ui.until(lambda: app.ticket is not None and app.place_text, "serving at the booth")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-02-at-booth")
    ui.result["taken"] = app.ticket.model_dump(mode="json")
    ui.result["left"] = _left(app)
    ui.result["recall_disabled"] = ui.find("recall").disabled
    if params.get("try_recall"):
        # the button is off; should a recall reach the queue service anyway (a panel behind on the booths' state),
        # its refusal (at_booth) is said in words
        app.recall()
        yield ui.until(lambda: app.message and not app.busy, "the recall refused")
        yield ui.frames(3)
        yield ui.shot(f"onestop-{tag}-02c-recall-refused")
        ui.result["recall_message"] = app.message
    if params.get("large_text"):
        yield ui.tap("a11y")
        yield ui.frames(3)
        yield ui.shot(f"onestop-{tag}-02b-at-booth-larger-text")
        yield ui.tap("a11y")
        yield ui.frames()
    yield from _complete(ui, app)
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-03-done")
    ui.result["side_after"] = _texts(app.sm.get_screen("counter").ids.side)


def panel_pickup(app, ui, params):
    """The pickup counter lists a later delivery once its procedure is done (the queue service's pickups topic),
    with 「準備完了」. With ``mark=1`` (run as a restarted panel: the list comes from the retained topic alone) it
    marks it ready, the row stays as ready, the resident is called here again, and once handed over the row goes."""
    number, procedure, timeout = int(params["number"]), params["procedure"], float(params.get("timeout", 240))
    tag, mark = params.get("tag", app.counter_id), params.get("mark") == "1"
    key, step = f"ready-{number}-{procedure}", "02-restarted" if mark else "01"
    yield from _panel_open(app, ui)
    rows = app.sm.get_screen("pickups").ids.rows
    yield ui.until(lambda: any(p.key == key for p in app.pickup_lines()), "the expected pickup", timeout=timeout)
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-{step}-counter")
    ui.result["pickup_count"] = app.pickup_count
    yield ui.tap("pickups")
    yield ui.screen("pickups")
    yield ui.until(lambda: ui.find(key, must=False) is not None, "the row's 「準備完了」")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-{step}-pickups")
    ui.result["rows"] = _texts(rows)
    if not mark:
        return
    yield ui.tap(key)
    yield ui.until(lambda: app.message and not app.busy, "the pickup marked ready")
    yield ui.until(lambda: ui.find(key, must=False) is None, "the row shown as ready (nothing left to mark)")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-03-marked")
    ui.result["marked_message"] = app.message
    ui.result["ready_rows"] = _texts(rows)
    ui.result["pickup_count_ready"] = app.pickup_count
    yield ui.tap("pickups-back")
    yield ui.screen("counter")
    yield ui.tap("call-next")
    yield ui.until(lambda: app.ticket is not None, "the resident called to pick it up")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-04-pickup-called")
    ui.result["called"] = app.ticket.model_dump(mode="json")
    ui.result["left"] = _left(app)
    yield from _complete(ui, app)
    yield ui.until(lambda: not app.pickup_lines(), "the pickup handed over (off the list)")
    ui.result["rows_after"] = [p.text for p in app.pickup_lines()]


def panel_hand_over(app, ui, params):
    """A booth calls a move-in, serves the front step, then hands the visit over to the counters."""
    number, tag = int(params["number"]), params.get("tag", app.counter_id)
    yield from _panel_open(app, ui)
    yield ui.tap("call-next")
    yield ui.until(lambda: app.ticket is not None, "the called resident")
    ui.result["called"] = app.ticket.model_dump(mode="json")
    yield from _complete(ui)
    yield ui.until(lambda: app.seated_number == number and app.can_hand_over, "the resident seated")
    yield ui.tap("hand-over")
    yield ui.screen("handover")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-01-hand-over")
    ui.result["hand_over_text"] = _texts(app.sm.get_screen("handover").ids.lines)
    yield ui.tap("hand-over-confirm")
    yield ui.screen("counter")
    yield ui.until(lambda: app.seated_number is None, "the booth to be free")
    yield ui.frames(3)
    yield ui.shot(f"onestop-{tag}-02-handed-over")
    ui.result["message"] = app.message


# ----------------------------------------------------------------- form issuer: a foreign resident (issue 18)
def forms_foreign_resident(app, ui, params):
    """Garcia, in English, asks for a 住民票 as a foreign resident: the toggle, her residence card's fields (a
    mistyped 在留カード番号 refused on screen, then the right one), the preview with English under the labels, print."""
    yield ui.screen("welcome")
    yield ui.tap("start")
    yield ui.screen("card")
    holder = _card(params, "foreign")
    yield ui.screen("pin")
    yield from _pin(ui, "1234")
    yield ui.screen("choose")
    choose = app.sm.get_screen("choose")
    ui.result["foreign_at_start"] = choose.foreign  # off for every visit: Japanese forms unless she says so
    yield ui.shot("forms-20-choose-ja")
    yield ui.tap("lang-en")
    yield ui.tap("resident-foreign")
    yield ui.tap("proc-juminhyo")
    yield ui.frames()
    yield ui.shot("forms-21-choose-foreign-en")
    yield ui.tap("choose-next")
    yield ui.screen("details")
    details = app.sm.get_screen("details")
    yield ui.frames(3)  # the rows laid out (their height follows their label) before a finger finds a box
    ui.result["asked"] = sorted(details.answers())
    yield from _type_into(ui, "detail-pre.nationality", "VIET NAM")
    yield from _type_into(ui, "detail-pre.residence_card_number", "AB1234567CD")  # one digit short
    yield ui.tap("detail-pre.include_nationality-yes")
    yield ui.frames()
    yield ui.shot("forms-22-details-bad-card-number")
    ui.result["bad_shown"] = ui.find("detail-pre.residence_card_number").bad
    yield ui.tap("details-next")
    yield ui.frames(3)
    ui.result["after_bad"] = {
        "screen": app.sm.current,
        "message": details.message,
        "rendered": len(app.issuer.visit.rendered),
    }
    ui.find("detail-pre.residence_card_number").text = ""  # she clears the box
    yield from _type_into(ui, "detail-pre.residence_card_number", "xy 9876-5432 zw")  # as she reads it off the card
    yield ui.frames()
    ui.result["good_message"] = details.message
    yield ui.tap("details-next")
    yield ui.screen("preview")
    yield ui.shot("forms-23-preview-foreign-en")
    ui.result["forms"] = [(f.form_id, f.second_language, list(f.invalid)) for f in app.issuer.visit.rendered]
    # stored normalised (compared here: the result file is in the state folder the privacy check scans)
    ui.result["card_number_normalised"] = app.issuer.visit.pre.get("residence_card_number") == "XY98765432ZW"
    yield ui.tap("page-juminhyo_foreign")
    preview = app.sm.get_screen("preview")
    yield ui.until(lambda: preview.zoomed, "the zoomed page")
    yield ui.frames()
    yield ui.shot("forms-24-zoom-foreign-en")
    yield ui.tap("zoom-close")
    yield ui.frames()
    yield from _print_forms(app, ui)
    yield ui.until(lambda: not app.pending_counts, "the counts to reach the queue service")
    holder.remove()
    yield ui.screen("welcome")
    yield ui.until(lambda: app.issuer.visit.items is None, "the visit to be wiped")
    ui.result["wiped"] = not app.issuer.visit.pre and not app.sm.get_screen("details").answers()
    ui.result["foreign_after"] = app.sm.get_screen("choose").foreign
