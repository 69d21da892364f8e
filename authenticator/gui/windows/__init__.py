"""The app's screens: main window, requests and approval, pairing, HEMs, history, settings,
lock, welcome and first-run set-up. One concept per module."""
