"""Figures of a topic run, each as interactive HTML (plotly) and static PNG (matplotlib).

The HTML files share one ``plotly.min.js`` written beside them, so they open
offline and nothing is fetched from a CDN.

>>> import tempfile, pandas as pd
>>> info = [{"topic": 0, "name": "safe mobility", "size": 9}, {"topic": 1, "name": "smuggling", "size": 4}]
>>> paths = top_topics_bar(info, tempfile.mkdtemp())
>>> sorted(p.suffix for p in paths)
['.html', '.png']
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..taxonomy import LABELS

__all__ = ["topic_map", "top_topics_bar", "topics_over_time_plot", "category_shares_plot", "write_figures"]

logger = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _save(plotly_figure, matplotlib_figure, folder: str | os.PathLike, stem: str) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    html, png = folder / f"{stem}.html", folder / f"{stem}.png"
    from ..persistence import atomic_path

    # each file written beside its target and renamed: a killed run leaves the old figure or none, never half
    try:
        with atomic_path(html) as partial_html, atomic_path(png) as partial_png:
            plotly_figure.write_html(str(partial_html), include_plotlyjs="directory", full_html=True)
            matplotlib_figure.tight_layout()
            matplotlib_figure.savefig(partial_png, dpi=120, format="png")
    finally:
        _pyplot().close(matplotlib_figure)
    return [html, png]


def _short(name: str, width: int = 48) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def top_topics_bar(info: Sequence[dict[str, Any]], folder: str | os.PathLike, *, top: int = 20,
                   stem: str = "top_topics") -> list[Path]:
    """Horizontal bars: the ``top`` largest topics (outliers left out) by passages."""
    import plotly.graph_objects as go

    rows = sorted((e for e in info if e["topic"] != -1), key=lambda e: -e["size"])[:top][::-1]
    names = [f"{e['topic']}: {_short(e['name'])}" for e in rows]
    sizes = [e["size"] for e in rows]
    plotly_figure = go.Figure(go.Bar(x=sizes, y=names, orientation="h"))
    plotly_figure.update_layout(title=f"Top {len(rows)} topics by passages", xaxis_title="passages",
                                height=200 + 22 * len(rows))
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 1.5 + 0.3 * len(rows)))
    axes.barh(names, sizes, color="#4c72b0")
    axes.set_xlabel("passages")
    axes.set_title(f"Top {len(rows)} topics by passages")
    return _save(plotly_figure, figure, folder, stem)


def topic_map(topic_embeddings: np.ndarray, info: Sequence[dict[str, Any]], folder: str | os.PathLike, *,
              stem: str = "topic_map") -> list[Path]:
    """Topics as bubbles on the first two principal components of their embeddings (size: passages)."""
    import plotly.graph_objects as go

    keep = [i for i, e in enumerate(info) if e["topic"] != -1]
    vectors = np.asarray(topic_embeddings, dtype=np.float64)[keep]
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centred = vectors - vectors.mean(axis=0)
    if len(keep) >= 2:
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        points = centred @ components[:2].T
        if points.shape[1] < 2:
            points = np.column_stack([points, np.zeros(len(points))])
    else:
        points = np.zeros((len(keep), 2))
    sizes = np.array([info[i]["size"] for i in keep], dtype=np.float64)
    radius = 8 + 40 * np.sqrt(sizes / max(sizes.max(), 1)) if len(sizes) else sizes
    labels = [f"{info[i]['topic']}: {_short(info[i]['name'], 36)}" for i in keep]
    plotly_figure = go.Figure(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers+text", text=labels,
                                         textposition="top center", marker={"size": radius, "opacity": 0.6},
                                         hovertext=[f"{label} ({int(s)} passages)" for label, s in zip(labels, sizes)]))
    plotly_figure.update_layout(title="Topic map (PCA of topic embeddings; bubble size: passages)",
                                xaxis_title="PC 1", yaxis_title="PC 2", height=700)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(10, 8))
    axes.scatter(points[:, 0], points[:, 1], s=radius ** 2 / 2, alpha=0.5)
    for (x, y), label in zip(points[:20] if len(points) else [], labels[:20]):
        axes.annotate(label, (x, y), fontsize=7, ha="center")
    axes.set_title("Topic map (PCA of topic embeddings; bubble size: passages; first 20 labelled)")
    return _save(plotly_figure, figure, folder, stem)


def topics_over_time_plot(over_time, names: dict[int, str], folder: str | os.PathLike, *, top: int = 8,
                          stem: str = "topics_over_time") -> list[Path]:
    """Monthly share of passages for the ``top`` largest topics (from :func:`~darien_nlp.topics.views.topics_over_time`)."""
    import plotly.graph_objects as go

    frame = over_time[over_time.topic != -1]
    largest = frame.groupby("topic").passages.sum().sort_values(ascending=False).index[:top]
    months = sorted(over_time.month.unique())
    plotly_figure = go.Figure()
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 5))
    _curves(frame, largest, months, names, plotly_figure, axes, markers=True)
    plotly_figure.update_layout(title="Topics over time (share of each month's passages)", yaxis_title="share",
                                height=550)
    axes.set_ylabel("share of month's passages")
    axes.set_title("Topics over time")
    _thin_ticks(axes, months)
    axes.legend(fontsize=7, loc="upper left")
    return _save(plotly_figure, figure, folder, stem)


def category_shares_plot(shares, folder: str | os.PathLike, *, stem: str = "category_shares_over_time") -> list[Path]:
    """Monthly share of passages carrying each policy label (from ``category_shares_over_time``)."""
    import plotly.graph_objects as go

    months = shares.month.tolist()
    plotly_figure = go.Figure()
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 5))
    for label in LABELS:
        plotly_figure.add_trace(go.Scatter(x=months, y=shares[label].values, mode="lines+markers", name=label))
        axes.plot(months, shares[label].values, marker=".", label=label)
    plotly_figure.update_layout(title="Policy categories over time (share of each month's passages)",
                                yaxis_title="share", height=500)
    axes.set_ylabel("share of month's passages")
    axes.set_title("Policy categories over time")
    _thin_ticks(axes, months)
    axes.legend(fontsize=8, loc="upper left")
    return _save(plotly_figure, figure, folder, stem)


def events_plot(over_time, events: list[dict], names: dict[int, str], folder: str | os.PathLike, *,
                stem: str = "events_over_time") -> list[Path]:
    """Monthly share of the topics that ``events`` point to, with a vertical line at each event's month."""
    import plotly.graph_objects as go

    months = sorted(over_time.month.unique())
    plotly_figure = go.Figure()
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(11, 5))
    _curves(over_time, dict.fromkeys(e["topic"] for e in events), months, names, plotly_figure, axes, markers=False)
    for event in events:
        if event["month"] in months:
            x = months.index(event["month"])
            axes.axvline(x, color="grey", linestyle="--", linewidth=0.8)
            axes.text(x, axes.get_ylim()[1] * 0.97, " " + _short(event["name"], 30), rotation=90, va="top", fontsize=7)
            # months are categories: a shape and an annotation (add_vline averages x, which needs numbers)
            plotly_figure.add_shape(type="line", x0=event["month"], x1=event["month"], y0=0, y1=1, yref="paper",
                                    line={"dash": "dash", "color": "grey", "width": 1})
            plotly_figure.add_annotation(x=event["month"], y=1, yref="paper", text=event["name"], textangle=-90,
                                         showarrow=False, yanchor="top", font={"size": 9})
    plotly_figure.update_layout(title="Topics of known events over time (share of each month's passages)",
                                yaxis_title="share", height=550)
    axes.set_ylabel("share of month's passages")
    axes.set_title("Topics of known events over time (dashed: the event's month)")
    _thin_ticks(axes, months)
    axes.legend(fontsize=7, loc="upper left")
    return _save(plotly_figure, figure, folder, stem)


def _curves(over_time, topics, months: list[str], names: dict[int, str], plotly_figure, axes, *, markers: bool) -> None:
    """One line per topic of its monthly share (0 in months without it), in both the plotly and the
    matplotlib figure (x: month positions, so vertical lines can be drawn at a month)."""
    import plotly.graph_objects as go

    for topic in topics:
        series = over_time[over_time.topic == topic].set_index("month").share.reindex(months, fill_value=0.0)
        label = f"{topic}: {_short(names.get(int(topic), str(topic)), 40)}"
        plotly_figure.add_trace(go.Scatter(x=months, y=series.values, mode="lines+markers" if markers else "lines",
                                           name=label))
        axes.plot(range(len(months)), series.values, marker="." if markers else None, label=label)


def _thin_ticks(axes, months: list[str], most: int = 18) -> None:
    step = max(1, int(np.ceil(len(months) / most)))
    axes.set_xticks(range(0, len(months), step))
    axes.set_xticklabels(months[::step], rotation=45, ha="right", fontsize=8)


def write_figures(folder: str | os.PathLike, *, info, topic_embeddings, over_time=None, shares=None) -> list[Path]:
    """All figures of a run into ``folder``; time views are skipped when there are no dated passages."""
    names = {e["topic"]: e["name"] for e in info}
    paths = top_topics_bar(info, folder) + topic_map(topic_embeddings, info, folder)
    if over_time is not None and len(over_time):
        paths += topics_over_time_plot(over_time, names, folder)
    if shares is not None and len(shares):
        paths += category_shares_plot(shares, folder)
    return paths
