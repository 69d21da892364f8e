"""Encedo Desktop Authenticator: the external authenticator of an Encedo HEM, on the desktop."""

__version__ = "0.1.0"
APP_ID = "com.encedo.Authenticator"
APP_NAME = "Encedo Authenticator"
