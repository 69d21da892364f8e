"""The period choice: 15 min / 1 h / 8 h / 24 h as one group of radio buttons.

The group is one keyboard stop (Tab lands on the chosen period); the arrow keys choose: ← and ↑
the shorter period, → and ↓ the longer one (wrapping round at the ends, as a radio group does),
Home and End the first and the last. Screen readers name the buttons as a group. Nothing is
chosen implicitly beyond the request's own default.

The buttons sit in one row, or in two when the row would not fit (:meth:`set_columns`, which the
approval view calls from its width), so each period stays readable at every window size.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QRadioButton, QWidget

from authenticator.gui.qtfix import emit
from authenticator.protocol.periods import Period

__all__ = ["PeriodChooser"]

_BACK = (Qt.Key.Key_Left, Qt.Key.Key_Up)
_ON = (Qt.Key.Key_Right, Qt.Key.Key_Down)


class PeriodChooser(QWidget):
    changed = Signal(object)  # Period

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("How long to allow"))
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(4)
        self._group = QButtonGroup(self)
        self.buttons: dict[Period, QRadioButton] = {}
        self._order = list(Period)
        for period in self._order:
            button = QRadioButton(period.label, self)
            button.setProperty("role", "segment")
            button.setAccessibleName(self.tr("Allow for {period}").format(period=period.label))
            button.setObjectName(f"period-{period.flag}")
            button.installEventFilter(self)
            self._group.addButton(button, int(period))
            self.buttons[period] = button
        for first, second in itertools.pairwise(self._order):
            QWidget.setTabOrder(self.buttons[first], self.buttons[second])
        self.columns = 0
        self.set_columns(len(self._order))
        self._group.idToggled.connect(self._toggled)

    # ------------------------------------------------------------------ layout

    def set_columns(self, columns: int) -> None:
        """Lay the periods out in ``columns`` columns (4: one row; 2: two rows)."""
        columns = max(1, min(columns, len(self._order)))
        if columns == self.columns:
            return
        self.columns = columns
        for button in self.buttons.values():
            self._grid.removeWidget(button)
        for index, period in enumerate(self._order):
            row, col = divmod(index, columns)
            self._grid.addWidget(self.buttons[period], row, col)
        for col in range(len(self._order) + 1):
            self._grid.setColumnStretch(col, 0)
        self._grid.setColumnStretch(columns, 1)

    def one_row_width(self) -> int:
        """The width the periods need side by side."""
        widths = [b.sizeHint().width() for b in self.buttons.values()]
        return sum(widths) + self._grid.horizontalSpacing() * (len(widths) - 1)

    # ------------------------------------------------------------------ the keyboard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                return False
            current = self._order.index(self.period())
            if key in _BACK:
                target = (current - 1) % len(self._order)
            elif key in _ON:
                target = (current + 1) % len(self._order)
            elif key == Qt.Key.Key_Home:
                target = 0
            elif key == Qt.Key.Key_End:
                target = len(self._order) - 1
            else:
                return False
            self.choose(self._order[target])
            return True
        return False

    def choose(self, period: Period) -> None:
        """Check ``period`` and move the keyboard focus to it (what an arrow key does)."""
        button = self.buttons[period]
        button.setChecked(True)
        button.setFocus(Qt.FocusReason.TabFocusReason)

    # ------------------------------------------------------------------ value

    def _toggled(self, value: int, checked: bool) -> None:
        if checked:
            emit(self.changed, Period(value))

    def period(self) -> Period:
        checked = self._group.checkedId()
        return Period(checked) if checked > 0 else Period.MIN15

    def set_period(self, period: Period) -> None:
        self.buttons[period].setChecked(True)

    def focus_target(self) -> QRadioButton:
        """The button Tab lands on: the chosen period."""
        return self.buttons[self.period()]
