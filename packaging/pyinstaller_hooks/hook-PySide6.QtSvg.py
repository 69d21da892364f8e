"""PyInstaller's hook for PySide6.QtSvg, minus the Qt plugins and translations we never use."""

import bundle_common
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = bundle_common.trim_qt(*add_qt6_dependencies(__file__))
