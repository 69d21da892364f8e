"""The desktop app (PySide6): the only package that imports Qt.

``app`` (start-up, single instance, ``--demo``), ``tasks`` (runs core calls off the GUI thread),
``bridge`` (core events → Qt signals), ``tray``, ``notify`` (notification backends), ``windows``
and ``widgets``.
"""
