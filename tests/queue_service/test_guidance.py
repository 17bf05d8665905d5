"""The guidance catalog: life event + answers → procedures, places, order."""

from __future__ import annotations

from queue_service.guidance import floors_in_order, guidance, questions_for


def test_move_in_asks_only_its_questions(site):
    ids = [q.id for q in questions_for(site, "moving_in")]
    assert ids == ["children", "over_65", "kokuho", "pension_type1", "mynumber_card", "seal"]
    assert "seal" not in [q.id for q in questions_for(site, "birth")]


def test_move_in_with_children_and_insurance_orders_prerequisites_first(site):
    procs = site.procedures_for("moving_in", {"children": True, "kokuho": True})
    items = guidance(site, reversed(procs))  # even listed backwards, 転入届 comes first
    assert items[0].procedure.id == "tennyu"
    assert {i.procedure.id for i in items} == {"tennyu", "kokuho_kanyu", "jidou_teate", "kodomo_iryo"}
    assert items[0].place("ja").startswith("住民異動 (1番窓口・2番窓口・3番窓口")
    assert items[0].place("en").startswith("Resident registration (Counter 1, Counter 2")
    assert items[0].bring("en")[0].startswith("Moving-out certificate")
    assert floors_in_order(items)[0] == 1


def test_every_language_reads_its_own_words(site):
    """The site is whole in every language it lists (check-site refuses gaps): no English fallback for vi."""
    item = guidance(site, ["tennyu"])[0]
    assert item.bring("vi")[0].startswith("Giấy chứng nhận chuyển đi")
    assert item.procedure.names.get("vi") == "Khai báo chuyển đến"
    assert item.place("zh") == "住民登记变更 (1号窗口、2号窗口、3号窗口)"  # 、 not the Japanese ・


def test_a_language_the_site_does_not_list_falls_back_to_english():
    from kiosk.config.site import Names

    assert Names(ja="本人確認書類", en="Photo ID").get("vi") == "Photo ID"
    assert Names(ja="本人確認書類", en="Photo ID").get("ja-easy") == "本人確認書類"


def test_selection_unticks_adds_and_clears(site):
    from ticket_machine.kiosk_app.selection import Selection

    sel = Selection()
    sel.start_event("moving_in")
    assert sel.chosen(site) == ["tennyu"]
    sel.answer("children", True)
    assert sel.chosen(site) == ["tennyu", "jidou_teate", "kodomo_iryo"]
    sel.toggle("kodomo_iryo")
    sel.add("juminhyo")
    assert sel.chosen(site) == ["tennyu", "jidou_teate", "juminhyo"]
    assert "kodomo_iryo" in sel.listed(site)  # still shown, unticked
    sel.toggle("kodomo_iryo")
    assert "kodomo_iryo" in sel.chosen(site)
    sel.clear()
    assert sel.chosen(site) == [] and sel.event is None and not sel.priority
