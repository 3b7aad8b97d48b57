"""The rule catalog and stack profiles, as data (installed as ``tcpcheck._catalog``)."""
