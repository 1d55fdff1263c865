"""Pictures for the dataset card: label counts, spans per document, agreement, splits, seizures.

Each plot is a PNG under <release>/plots/, drawn with matplotlib's Agg backend (no display
needed); the card links them relatively. A plot whose data is absent (no agreement figures,
no dated events) is simply not drawn, and the card then shows no link for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

SPLIT_ORDER = ("train", "validation", "test")
AGREEMENT_TABLE_KEYS = ("per_label", "by_label", "labels")
EVENT_DATE_COLUMNS = ("date", "seizure_date", "published")
EVENT_VALUE_COLUMNS = ("quantity_value", "value", "quantity_normalised", "normalised_value")
EVENT_UNIT_COLUMNS = ("quantity_unit", "unit")


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def per_label_agreement(agreement: Mapping[str, Any] | None) -> pd.DataFrame:
    """label x metric table of the F1-like figures found in an agreement dict (empty if none).

    Looks for label -> {metric: number} (a mapping, or a list of rows with a 'label' key) under
    per_label / by_label / labels and keeps
    the metrics whose name contains 'f1', 'alpha' or 'kappa'.
    """
    if not agreement:
        return pd.DataFrame()
    for key in AGREEMENT_TABLE_KEYS:
        table = agreement.get(key)
        # AgreementReport.to_dict() gives a list of {"label": ..., "exact_f1": ...} rows
        if (
            isinstance(table, list | tuple)
            and table
            and all(isinstance(v, Mapping) and "label" in v for v in table)
        ):
            table = {v["label"]: {k: x for k, x in v.items() if k != "label"} for v in table}
        if (
            isinstance(table, Mapping)
            and table
            and all(isinstance(v, Mapping) for v in table.values())
        ):
            df = pd.DataFrame.from_dict(
                {
                    label: {
                        m: v
                        for m, v in row.items()
                        if isinstance(v, int | float) and not isinstance(v, bool)
                    }
                    for label, row in table.items()
                },
                orient="index",
            )
            keep = [
                c for c in df.columns if any(w in str(c).lower() for w in ("f1", "alpha", "kappa"))
            ]
            return df[keep].astype(float) if keep else pd.DataFrame()
    return pd.DataFrame()


def _first(columns: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in columns), None)


def seizures_over_time(events: pd.DataFrame) -> pd.DataFrame:
    """The points of the seizures-over-time plot: one (date, value, unit) row per event.

    `events` is the events table (annotation.events.seizure_events: one row per seizure, not
    per mention, so a seizure reported three times is drawn once). The date is the seizure's
    date, else the report's publication date; rows without a date or a value are left out.
    """
    if not len(events):
        return pd.DataFrame(columns=["date", "value", "unit"])
    date_col = _first(events.columns, EVENT_DATE_COLUMNS)
    value_col = _first(events.columns, EVENT_VALUE_COLUMNS)
    if not (date_col and value_col):
        return pd.DataFrame(columns=["date", "value", "unit"])
    unit_col = _first(events.columns, EVENT_UNIT_COLUMNS)
    when = pd.to_datetime(events[date_col], errors="coerce", utc=True, format="mixed")
    if "published" in events.columns and date_col != "published":
        # no date in the text: fall back to the report's publication date
        published = pd.to_datetime(events["published"], errors="coerce", utc=True, format="mixed")
        when = when.fillna(published)
    frame = pd.DataFrame(
        {
            "date": when,
            "value": pd.to_numeric(events[value_col], errors="coerce"),
            "unit": events[unit_col].fillna("?").astype(str) if unit_col else "value",
        }
    )
    return frame.dropna(subset=["date", "value"]).reset_index(drop=True)


def write_plots(
    release_dir: Path,
    *,
    documents: pd.DataFrame,
    spans: pd.DataFrame,
    agreement: Mapping[str, Any] | None = None,
    events: pd.DataFrame | None = None,
) -> list[Path]:
    """Draw the card's plots into release_dir/plots/ and return their paths (in card order).

    documents: one row per released document with columns id, split, spans (count).
    spans: one row per released span with columns id, split, label.
    agreement: AgreementReport.to_dict() (optional); events: the seizure events table, one row
    per seizure (optional; a date column and a numeric quantity column are needed for the time
    plot, see `seizures_over_time`).
    """
    out_dir = Path(release_dir) / "plots"
    paths: list[Path] = []

    fig, ax = plt.subplots(figsize=(7, 3.5))
    if len(spans):
        spans.groupby(["label", "split"]).size().unstack("split").reindex(
            columns=[s for s in SPLIT_ORDER if s in set(spans["split"])]
        ).fillna(0).plot.barh(ax=ax, stacked=True)
    ax.set_title("Spans per label")
    ax.set_xlabel("spans")
    paths.append(_save(fig, out_dir / "label_counts.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if len(documents):
        counts = documents["spans"].astype(int)
        ax.hist(counts, bins=range(0, int(counts.max()) + 2), color="#1f77b4")
    ax.set_title("Spans per document")
    ax.set_xlabel("spans")
    ax.set_ylabel("documents")
    paths.append(_save(fig, out_dir / "spans_per_document.png"))

    fig, ax = plt.subplots(figsize=(5, 3))
    sizes = (
        documents["split"].value_counts().reindex(list(SPLIT_ORDER), fill_value=0)
        if len(documents)
        else pd.Series(0, index=list(SPLIT_ORDER))
    )
    ax.bar(sizes.index, sizes.values, color=["#1f77b4", "#ff7f0e", "#2ca02c"])
    ax.set_title("Documents per split")
    paths.append(_save(fig, out_dir / "split_sizes.png"))

    table = per_label_agreement(agreement)
    if not table.empty:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        table.plot.barh(ax=ax)
        ax.set_xlim(0, 1)
        ax.set_title("Inter-annotator agreement per label")
        paths.append(_save(fig, out_dir / "agreement_per_label.png"))

    points = seizures_over_time(events) if events is not None else pd.DataFrame()
    if len(points):
        units = sorted(points["unit"].unique())
        fig, axes = plt.subplots(len(units), 1, figsize=(7, 2.5 * len(units)), squeeze=False)
        for ax, unit in zip(axes[:, 0], units, strict=True):
            part = points[points["unit"] == unit].sort_values("date")
            ax.stem(part["date"], part["value"])
            ax.set_ylabel(unit)
        axes[0, 0].set_title(
            "Seizures over time, one point per seizure (seizure date, else publication)"
        )
        fig.autofmt_xdate()
        paths.append(_save(fig, out_dir / "seizures_over_time.png"))
    return paths
