"""A read-only table of whole rows: the look the HEMs and History pages share.

It never scrolls sideways: short columns (dates, states) take the width of their content, the
columns of free text share what is left ("stretch", their text shortened with "…" and whole in
the tooltip), and a column that may hold a long name takes its content's width only up to a cap
(then "…"). A person can still drag a column wider.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QWidget

__all__ = ["ColumnWidth", "RowTable", "row_table"]

ColumnWidth = Literal["content", "stretch"] | int
"""How a column is sized: its content's width, a share of the rest, or its content's width up
to that many pixels."""


class RowTable(QTableWidget):
    """A :func:`row_table`; :meth:`fit` sizes the capped columns after the rows changed."""

    def __init__(self, columns: int, widths: Sequence[ColumnWidth], parent: QWidget) -> None:
        super().__init__(0, columns, parent)
        self.widths = list(widths)

    def fit(self) -> None:
        """Give each capped column its content's width, at most its cap."""
        for col, width in enumerate(self.widths):
            if isinstance(width, int):
                wanted = max(
                    self.sizeHintForColumn(col),
                    self.horizontalHeader().sectionSizeHint(col),
                )
                self.setColumnWidth(col, min(wanted, width))


def row_table(
    parent: QWidget,
    columns: list[str],
    accessible_name: str,
    widths: Sequence[ColumnWidth] | None = None,
) -> RowTable:
    """A table whose rows are selected whole, never edited in place, one line each.

    ``widths`` says how each column is sized (default: every column its content's width but
    the last, which takes the rest)."""
    default: list[ColumnWidth] = ["content"] * (len(columns) - 1)
    sizes: Sequence[ColumnWidth] = widths if widths is not None else [*default, "stretch"]
    table = RowTable(len(columns), sizes, parent)
    table.setHorizontalHeaderLabels(columns)
    table.setAccessibleName(accessible_name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(48)
    for col, width in enumerate(sizes):
        if width == "content":
            mode = QHeaderView.ResizeMode.ResizeToContents
        elif width == "stretch":
            mode = QHeaderView.ResizeMode.Stretch
        else:
            mode = QHeaderView.ResizeMode.Interactive
        header.setSectionResizeMode(col, mode)
    return table
