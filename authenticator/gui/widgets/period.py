"""The period choice: 15 min / 1 h / 8 h / 24 h as one row of radio buttons.

Radio buttons are one keyboard stop (Tab), arrows move between them, and screen readers name
them as a group; nothing is chosen implicitly beyond the request's own default.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QWidget

from authenticator.gui.qtfix import emit
from authenticator.protocol.periods import Period

__all__ = ["PeriodChooser"]


class PeriodChooser(QWidget):
    changed = Signal(object)  # Period

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("How long to allow"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        self._group = QButtonGroup(self)
        self.buttons: dict[Period, QRadioButton] = {}
        for period in Period:
            button = QRadioButton(period.label, self)
            button.setProperty("role", "segment")
            button.setAccessibleName(self.tr("Allow for {period}").format(period=period.label))
            button.setObjectName(f"period-{period.flag}")
            self._group.addButton(button, int(period))
            layout.addWidget(button)
            self.buttons[period] = button
        layout.addStretch(1)
        self._group.idToggled.connect(self._toggled)

    def _toggled(self, value: int, checked: bool) -> None:
        if checked:
            emit(self.changed, Period(value))

    def period(self) -> Period:
        checked = self._group.checkedId()
        return Period(checked) if checked > 0 else Period.MIN15

    def set_period(self, period: Period) -> None:
        self.buttons[period].setChecked(True)
