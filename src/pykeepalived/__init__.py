"""pykeepalived: keepalived, rebuilt in Python."""

__version__ = "0.1.0"
KEEPALIVED_COMPAT_VERSION = "2.2.7"
