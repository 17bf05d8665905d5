"""The benchmark runs end to end at a tiny size, so it cannot rot between the times someone runs it."""

from __future__ import annotations

import shutil

import pytest

from bench.queue_service import run, table


def test_queue_bench_serves_every_ticket_it_issued(tmp_path):
    result = run(tickets=12, kiosks=2, seed=3, state=tmp_path)
    assert result.errors == []
    assert result.served == 12
    assert len(result.timings.rtt["issue"]) == 12
    assert len(result.timings.rtt["complete"]) == result.steps
    assert len(result.timings.board_latencies()) == result.timings.call_count() == result.steps, (
        "a call never reached the board"
    )
    assert result.health["journal"] == {"journal_mode": "wal", "synchronous": "full"}
    text = table(result)
    assert "| issue | 12 |" in text and "call_next → board" in text


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
def test_app_cold_start_bench_measures_every_app():
    from bench.apps import measure, table

    results = measure(runs=1)
    assert set(results) == {"ticket", "panel", "board"}
    for runs in results.values():
        assert 0 < runs[0]["cold_start_s"] < 60 and runs[0]["rss_mb"] > 10
    assert table(results).count("\n") == 4


def test_form_issuer_bench_times_every_stage():
    from bench.forms import run, table

    results = run(runs=1)
    for runs in results.values():
        visit = runs[0]
        assert visit["apdus"] == 7 and visit["pages"] == 4
        assert 0 < visit["card"] < visit["total"] and visit["render"] > 0 and visit["spool"] > 0
    assert "in-process reader" in results
    assert table(results).count("\n") == 1 + len(results)


def test_register_bench_parses_slips_and_pays_both_ways():
    from bench.register import one_payment, slips_per_second, table

    rates = slips_per_second(seconds=0.05)
    assert all(rate > 0 for rate in rates.values()) and len(rates) == 4
    payments = {m: one_payment(m, runs=1) for m in ("cash", "cashless")}
    assert payments["cash"][0]["steps"] > payments["cashless"][0]["steps"] > 5
    assert all(0 < r[0]["pay"] < r[0]["total"] for r in payments.values())
    assert table(rates, payments).count("\n") == 10  # 2 + 4 rows, a blank line, 2 + 2 rows, minus 1


def test_http_flood_bench_counts_what_it_held(tmp_path):
    from bench.http_flood import run, table

    phases = run(idle=30, slow=10, streams=12, per_address=10, samples=3, hold=0.5, nofile=None, state=tmp_path)
    by_name = {p.name.split(" (")[0]: p for p in phases}
    assert [p.name for p in phases][0] == "none (baseline)" and phases[-1].name == "none (after)"
    assert by_name["idle connections"].accepted == 30  # under every cap, before the head timeout
    assert by_name["live streams on one ticket"].accepted == 8 and by_name["live streams on one ticket"].refused == 4
    assert all(p.health_failures == 0 and p.health_ms for p in phases)
    assert table(phases).count("\n") == 1 + len(phases)


def test_city_scale_bench_counts_a_bridges_traffic(tmp_path, capsys):
    """The city bench at its smallest: one simulated office day through the real core, no database, no hub."""
    from bench.city_scale import main

    argv = ["--samples", "1", "--only", "nerima", "--no-database", "--memory-seconds", "0"]
    assert main([*argv, "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "msgs/s" in out or "messages" in out
    assert (tmp_path / "c.json").stat().st_size > 0


def test_call_path_bench_sees_every_call_on_every_board(tmp_path):
    """Both scenarios at a tiny size: every call a panel made shows in the board state of every board, the floor's
    every message arrived, and the counts agree with each other (never the times: the machines are noisy)."""
    from bench.call_path import run, table

    results = {r.scenario.key: r for r in run(["one", "fifty"], tickets=40, floor_samples=20, state=tmp_path)}
    one, fifty = results["one"], results["fifty"]
    assert (len(one.scenario.panels), len(one.scenario.boards)) == (1, 1)
    assert (len(fifty.scenario.kiosks), len(fifty.scenario.panels), len(fifty.scenario.boards)) == (10, 30, 10)
    for r in (one, fifty):
        boards = len(r.scenario.boards)
        assert r.errors == [] and r.served == r.tickets == 40
        assert r.calls_sent == r.steps >= 40 and len(r.seconds["reply"]) == r.calls_sent + r.empty_calls
        assert len(r.seconds["floor_1hop"]) == len(r.seconds["floor_2hops"]) == 20
        assert len(r.seconds["called_event"]) == r.calls_sent * boards, "a called event never reached a board"
        assert r.missed == 0, f"{r.missed} calls never showed in the board state ({r.shown_below_top} showed lower)"
        assert len(r.seconds["board_state"]) == r.calls_sent * boards
        assert r.health["journal"] == {"journal_mode": "wal", "synchronous": "full"}
    assert one.shown_below_top == 0  # one panel: each call is its own batch, on top of the board
    assert len(fifty.seconds["last_board"]) == fifty.calls_sent
    text = table([one, fifty])
    assert f"| 1 device | **call_next → board state** (each board) | {one.calls_sent} |" in text
    assert text.count("| 50 devices |") == 8  # the counts, six paths and the service's own timings


def test_wait_estimate_bench_compares_every_estimator(capsys):
    """The estimator bench at its smallest: one office day per load, a couple of timed forecasts."""
    from bench.wait_estimate import LABELS, main

    assert main(["--days", "1", "--cost-repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert set(LABELS) == {"project", "work_ahead", "les", "hol", "naive_per_counter", "naive", "known_times"}
    for label in LABELS.values():
        assert out.count(f"| {label} |") == 4, label  # normal and overloaded, all and 5+ ahead
    assert out.count("goal") == 4 and "| 307 | 15 |" in out  # the cost table's 300 waiting (and the counters)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
def test_board_frame_bench_sees_every_call_drawn():
    """The real board app at its smallest: every call's board state was handled and a drawn frame showed its
    number; the group and wait states came and were drawn in fewer table rebuilds (counts only, never times)."""
    from bench.board_frame import analyse, measure, table

    result = analyse(measure(runs=1, calls=4, size=(1280, 720)))
    assert result.messages == result.shown == 4, "a call never reached a drawn frame"
    assert all(len(v) == 4 for v in result.stages.values())
    assert result.side_messages >= 4, "group and wait states come with every call"
    assert 0 < result.group_rebuilds <= result.side_messages
    assert len(result.calls_draw) >= 4 and result.frames > 4
    assert "**message → frame that shows the number** | 4 |" in table(result)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
def test_kiosk_frame_bench_times_both_ways_of_keeping_the_covers():
    """The real ticket kiosk at its smallest: frames timed with the hidden covers in the tree and without them
    (counts and which covers, never times)."""
    from bench.kiosk_frame import measure, table

    results = measure(runs=1, frames=20, block=5, size=(1280, 800))
    assert len(results[0]["frames"]) >= 20
    assert results[0]["covers"] == {"hidden": ["OutOfService", "StaffComing", "IdleWarning"], "shown": []}
    assert "| shown: none | frame (on_draw start → flip done) | 6 |" in table(results)
