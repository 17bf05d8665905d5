"""The staff pages' charts: matplotlib (Agg, object API, no pyplot state) rendered to SVG or PNG.

Text is set in Noto Sans CJK JP (:func:`kiosk.fonts.cjk_font`) and, in SVG, drawn as paths, so the
charts look the same in any browser and on paper without the font installed there. Rendering is
serialised by a lock: matplotlib's font cache and rcParams are process-wide.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from kiosk.config.site import KpiTargets  # noqa: E402
from kiosk.fonts import FontMissing, cjk_font  # noqa: E402
from queue_service.web.kpi import MEDIA_JA, DayKpi, PeriodKpi  # noqa: E402

#: Colours that stay apart for colour-blind readers (Okabe–Ito) and on a grey-scale printout.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILION = "#D55E00"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
GREY = "#8c8c8c"
INK = "#222222"

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
#: figure sizes in inches: the dashboard's, and the daily report's (relatively larger text on A4)
SIZES = {"wide": (6.4, 3.2), "small": (4.6, 2.3)}

_lock = threading.Lock()


@lru_cache(maxsize=1)
def font_family() -> list[str]:
    """Noto Sans CJK JP registered with matplotlib (face 0 of the collection), DejaVu Sans as fallback."""
    try:
        path = str(cjk_font().regular)
    except FontMissing:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(path)
    names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
    jp = [n for n in names if n.endswith("JP")] or names
    return [*jp[:1], "DejaVu Sans"]


def _rc() -> dict:
    return {
        "font.family": font_family(),
        "font.size": 10,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": GREY,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "text.color": INK,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "svg.fonttype": "path",
        "svg.hashsalt": "madoguchi",  # the same chart gives the same bytes
    }


def render(name: str, kpi: DayKpi, fmt: str = "svg", size: str = "wide") -> bytes:
    """Chart ``name`` (one of :data:`CHARTS`) of ``kpi`` as SVG or PNG bytes, ``size`` one of :data:`SIZES`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}")
    draw = CHARTS[name][1]
    with _lock, rc_context(_rc() | ({"font.size": 8.5, "axes.titlesize": 9.5} if size == "small" else {})):
        fig = Figure(figsize=SIZES[size], dpi=100, layout="constrained")
        draw(fig, kpi)
        out = io.BytesIO()
        fig.savefig(out, format=fmt, dpi=150 if fmt == "png" else None, metadata=_metadata(fmt))
    return out.getvalue()


def _metadata(fmt: str) -> dict:
    return {"Date": None} if fmt == "svg" else {}


def _empty(fig: Figure, title: str) -> None:
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_axis_off()
    ax.text(0.5, 0.45, "この日のデータはありません", ha="center", va="center", color=GREY, fontsize=12)


def _hourly(fig: Figure, kpi: DayKpi) -> None:
    title = "時間帯別の発券数と平均待ち時間"
    if not kpi.tickets:
        return _empty(fig, title)
    ax = fig.subplots()
    hours = [h.hour for h in kpi.hours]
    ax.bar(hours, [h.tickets for h in kpi.hours], color=SKY, width=0.7, label="発券数（件）")
    ax.set_ylabel("発券数（件）")
    ax.set_xticks(hours, [f"{h}時" for h in hours])
    ax.set_title(title)
    ax2 = ax.twinx()
    ax2.spines["right"].set_visible(True)
    points = [(h.hour, h.wait.mean) for h in kpi.hours if h.wait.mean is not None]
    if points:
        ax2.plot(*zip(*points, strict=True), color=VERMILION, marker="o", linewidth=2, label="平均待ち（分）")
    ax2.set_ylabel("平均待ち（分）")
    ax2.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    # under the plot (constrained layout makes room): the title, the line and the bars never run under it
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, fontsize=8.5, handlelength=1.5)


def _bars(fig: Figure, bins, title: str, xlabel: str, colors: list[str], marks: list[tuple[str, float | None]]) -> None:
    ax = fig.subplots()
    labels = [b.label for b in bins]
    bars = ax.bar(range(len(bins)), [b.count for b in bins], color=colors, width=0.8)
    ax.bar_label(bars, [str(b.count) if b.count else "" for b in bins], fontsize=8, padding=2)
    ax.set_xticks(range(len(bins)), labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("件数")
    ax.set_title(title)
    ax.margins(y=0.15)
    text = "  ".join(f"{label} {value:.0f}分" for label, value in marks if value is not None)
    ax.text(1.0, 1.02, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=9, color=INK)


def _waits(fig: Figure, kpi: DayKpi) -> None:
    title = "待ち時間の分布（呼出ごと）"
    if not kpi.calls:
        return _empty(fig, title)
    marks = [("平均", kpi.wait.mean), ("中央値", kpi.wait.median), ("90%", kpi.wait.p90)]
    _bars(fig, kpi.wait_bins, title, "待ち時間（分）", [BLUE] * len(kpi.wait_bins), marks)


def _stay(fig: Figure, kpi: DayKpi) -> None:
    own = any(e.target_stay_min != kpi.target_stay_min for e in kpi.life_events)
    title = f"滞在時間の分布（{'既定の' if own else ''}目標 {kpi.target_stay_min:g}分）"
    if not kpi.finished:
        return _empty(fig, title)
    target = kpi.target_stay_min
    colors = [GREEN if b.high is not None and b.high <= target else ORANGE for b in kpi.stay_bins]
    marks = [("平均", kpi.stay.mean), ("90%", kpi.stay.p90)]
    _bars(fig, kpi.stay_bins, title, "発券から最後の手続完了まで（分）", colors, marks)
    ax = fig.axes[0]
    edge = next((i for i, b in enumerate(kpi.stay_bins) if b.low >= target), None)
    if edge is not None:
        ax.axvline(edge - 0.5, color=VERMILION, linestyle="--", linewidth=1.5)
        ax.text(
            edge - 0.45,
            0.97,
            f"目標 {target:g}分",
            transform=ax.get_xaxis_transform(),
            color=VERMILION,
            fontsize=9,
            va="top",
        )


def _cashless(fig: Figure, kpi: DayKpi) -> None:
    title = "セルフレジの支払方法（件数）"
    reg = kpi.register
    if not reg.payments:
        return _empty(fig, title)
    ax = fig.subplots()
    ax.set_title(title)
    labels, values, colors = ["現金"], [reg.payments - reg.cashless], [GREY]
    palette = {"credit": BLUE, "emoney": GREEN, "qr": ORANGE}
    for media, n in reg.by_media.items():
        labels.append(MEDIA_JA.get(media, media))
        values.append(n)
        colors.append(palette.get(media, PURPLE))
    shown = [(lab, v, c) for lab, v, c in zip(labels, values, colors, strict=True) if v]
    wedges, _ = ax.pie(
        [v for _, v, _ in shown],
        colors=[c for _, _, c in shown],
        startangle=90,
        counterclock=False,
        wedgeprops={"width": 0.38, "edgecolor": "white"},
    )
    share = reg.cashless_share or 0.0
    ax.text(0, 0.08, f"{share:.0%}", ha="center", va="center", fontsize=18, fontweight="bold", color=BLUE)
    ax.text(0, -0.22, "キャッシュレス", ha="center", va="center", fontsize=9)
    ax.legend(
        wedges,
        [f"{lab}  {v}件（{v / reg.payments:.0%}）" for lab, v, _ in shown],
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        fontsize=9,
    )
    ax.set_aspect("equal")


def _forms(fig: Figure, kpi: DayKpi) -> None:
    title = "申請書交付機 様式別の印刷枚数"
    if not kpi.forms.printed:
        return _empty(fig, title)
    ax = fig.subplots()
    rows = kpi.forms.by_form[::-1]
    bars = ax.barh(range(len(rows)), [n for _, _, n in rows], color=GREEN, height=0.6)
    ax.bar_label(bars, [f"{n}枚" for _, _, n in rows], fontsize=8, padding=3)
    ax.set_yticks(range(len(rows)), [label for _, label, _ in rows])
    ax.set_xlabel("枚数")
    ax.set_title(title)
    ax.margins(x=0.15)


def _groups(fig: Figure, kpi: DayKpi) -> None:
    title = "窓口グループ別の待ち時間（平均と90%値）"
    rows = [g for g in kpi.groups if g.calls][::-1]
    if not rows:
        return _empty(fig, title)
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh(y, [g.wait.p90 or 0 for g in rows], color="#cfe3f3", height=0.7, label="90%値")
    bars = ax.barh(y, [g.wait.mean or 0 for g in rows], color=BLUE, height=0.38, label="平均")
    ax.bar_label(bars, [f"{g.wait.mean:.0f}" for g in rows], fontsize=8, padding=3)
    ax.set_yticks(y, [g.name for g in rows])
    ax.set_xlabel("待ち時間（分）")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    ax.margins(x=0.08)


def _life_events(fig: Figure, kpi: DayKpi) -> None:
    """Each life event's mean and 90th-percentile stay, with its own target marked on its bar."""
    title = "ライフイベント別の滞在時間と目標"
    rows = [e for e in kpi.life_events if e.finished][::-1]
    if not rows:
        return _empty(fig, title)
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh(y, [e.stay.p90 or 0 for e in rows], color="#cfe3f3", height=0.7)
    colors = [GREEN if e.on_target else ORANGE for e in rows]
    bars = ax.barh(y, [e.stay.mean or 0 for e in rows], color=colors, height=0.38)
    ax.bar_label(bars, [f"{e.stay.mean:.0f}" for e in rows], fontsize=8, padding=3)
    for i, e in enumerate(rows):
        ax.plot([e.target_stay_min] * 2, [i - 0.42, i + 0.42], color=VERMILION, linewidth=2, solid_capstyle="butt")
    handles = [
        Patch(color=GREEN, label="平均（目標内）"),
        Patch(color=ORANGE, label="平均（目標超え）"),
        Patch(color="#cfe3f3", label="90%値"),
        Line2D([], [], color=VERMILION, linewidth=2, label="目標"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=8.5, handlelength=1.5)
    ax.set_yticks(y, [f"{e.short}（{e.finished}人）" for e in rows])
    ax.set_xlabel("滞在時間（分）")
    ax.set_title(title)
    ax.margins(x=0.08)


def _reception(fig: Figure, kpi: DayKpi) -> None:
    """One-stop visits against those that went round the counters: all of them, and the multi-department ones."""
    title = "ワンストップと窓口を回る来庁者の滞在時間"
    r = kpi.reception
    if not r.has_booths:
        return _empty(fig, title)
    ax = fig.subplots()
    groups = [("全体", "stay"), ("複数課の手続", "multi_stay")]
    width = 0.36
    for j, (way, color) in enumerate(((r.one_stop, GREEN), (r.counter, BLUE))):
        values = [getattr(way, attr).mean or 0 for _, attr in groups]
        xs = [i + (j - 0.5) * width for i in range(len(groups))]
        bars = ax.bar(xs, values, width=width * 0.95, color=color, label=f"{way.name}（{way.tickets}人）")
        labels = [f"{v:.0f}分" if getattr(way, attr).n else "–" for v, (_, attr) in zip(values, groups, strict=True)]
        ax.bar_label(bars, labels, fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups])
    ax.set_ylabel("平均滞在（分）")
    ax.set_title(title)
    ax.margins(y=0.18)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8.5, handlelength=1.5)


#: name → (Japanese caption, drawing function)
CHARTS: dict[str, tuple[str, Callable[[Figure, DayKpi], None]]] = {
    "hourly": ("時間帯別の発券数と平均待ち時間", _hourly),
    "waits": ("待ち時間の分布", _waits),
    "stay": ("滞在時間の分布と目標", _stay),
    "groups": ("窓口グループ別の待ち時間", _groups),
    "cashless": ("セルフレジのキャッシュレス比率", _cashless),
    "forms": ("申請書交付機の様式別利用", _forms),
    "lifeevents": ("ライフイベント別の滞在時間と目標", _life_events),
    "reception": ("ワンストップと窓口を回る来庁者の滞在時間", _reception),
}


# ------------------------------------------------------------------ trends (across days, by month)
#: the trend chart's size in inches (six small panels)
TREND_SIZE = (9.6, 5.4)


def render_trend(periods: Sequence[PeriodKpi], targets: KpiTargets, by: str, fmt: str = "svg") -> bytes:
    """Six small panels over ``periods`` (days or months, oldest first): visits, median wait, stay within target,
    cashless share, satisfaction, guide uses, each with its ``[kpi]`` target as a dashed line where one is set
    (guide uses: the monthly target on the monthly chart only)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}")
    with _lock, rc_context(_rc() | {"font.size": 8.5, "axes.titlesize": 9.5}):
        fig = Figure(figsize=TREND_SIZE, dpi=100, layout="constrained")
        _trend(fig, list(periods), targets, by)
        out = io.BytesIO()
        fig.savefig(out, format=fmt, dpi=150 if fmt == "png" else None, metadata=_metadata(fmt))
    return out.getvalue()


def _period_label(period: str, by: str) -> str:
    if by == "month":
        year, month = period.split("-")
        return f"{year[2:]}/{int(month)}月"
    _, month, day = period.split("-")
    return f"{int(month)}/{int(day)}"


def _trend(fig: Figure, periods: list[PeriodKpi], targets: KpiTargets, by: str) -> None:
    word = "月別" if by == "month" else "日別"
    if not periods:
        return _empty(fig, f"{word}の推移")
    axes = fig.subplots(2, 3, sharex=True)
    xs = list(range(len(periods)))
    labels = [_period_label(p.period, by) for p in periods]
    guide_target = targets.guide_uses_per_month if by == "month" else None
    panels: list[tuple[str, list[float | None], str, float | None, bool]] = [
        ("来庁者（整理券数）", [float(p.tickets) for p in periods], "count", None, True),
        ("待ち時間の中央値（分）", [p.wait.median for p in periods], "min", None, False),
        ("滞在 目標内の割合", [p.within_target_share for p in periods], "share", targets.within_target_share, False),
        (
            "キャッシュレス比率（セミセルフ・全体）",
            [p.semi_self_cashless_share for p in periods],
            "share",
            targets.cashless_share,
            False,
        ),
        ("満足度（4・5の割合）", [p.satisfied_share for p in periods], "share", targets.satisfaction_share, False),
        ("オンライン案内の利用", [float(p.guide_visits) for p in periods], "count", guide_target, True),
    ]
    for ax, (title, values, unit, target, bars) in zip(axes.flat, panels, strict=True):
        ax.set_title(title)
        if bars:
            ax.bar(xs, [v or 0 for v in values], color=SKY, width=0.7)
        else:
            points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
            if points:
                ax.plot(*zip(*points, strict=True), color=BLUE, marker="o", markersize=3, linewidth=1.6)
        if title.startswith("キャッシュレス"):  # the target is the semi-self register's: the whole beside it
            whole = [(x, p.cashless_share) for x, p in zip(xs, periods, strict=True) if p.cashless_share is not None]
            if whole:
                ax.plot(*zip(*whole, strict=True), color=GREY, marker="o", markersize=2.5, linewidth=1.2)
        if target is not None:
            ax.axhline(target, color=VERMILION, linestyle="--", linewidth=1.2)
        if unit == "share":
            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        else:
            ax.set_ylim(bottom=0)
        if target is not None and unit != "share":
            ax.set_ylim(top=max(ax.get_ylim()[1], target * 1.15))
    step = max(1, -(-len(xs) // 5))  # at most five labels under a panel: they never run into each other
    for ax in axes[1]:
        ax.set_xticks(xs[::step], labels[::step], rotation=0)
    handles = [
        Line2D([], [], color=BLUE, marker="o", markersize=3, linewidth=1.6, label="実績（キャッシュレス: セミセルフ）"),
        Line2D([], [], color=GREY, marker="o", markersize=2.5, linewidth=1.2, label="キャッシュレス: 全体"),
        Line2D([], [], color=VERMILION, linestyle="--", linewidth=1.2, label="目標（site.toml の [kpi]）"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=8.5)
