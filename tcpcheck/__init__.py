"""tcpcheck: TCP conformance checking of packet captures."""

__version__ = "0.1.0"
