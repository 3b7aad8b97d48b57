#!/bin/sh
# Install the system tools that captures, benchmarks, live mode and the browser tests need,
# only when missing.
set -e
missing=""
command -v tshark  >/dev/null 2>&1 || missing="$missing tshark"
command -v tcpdump >/dev/null 2>&1 || missing="$missing tcpdump"
# libpcap compiles analyze --filter expressions (tcpdump depends on it; checked on its own in
# case only tcpdump's binary is around).
{ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libpcap\.so' || missing="$missing libpcap0.8"
# tcptrace: the statistics agreement test (tests/test_tcptrace_agreement.py).
command -v tcptrace >/dev/null 2>&1 || missing="$missing tcptrace"
command -v nft     >/dev/null 2>&1 || missing="$missing nftables"
command -v ethtool >/dev/null 2>&1 || missing="$missing ethtool"
command -v ip      >/dev/null 2>&1 || missing="$missing iproute2"
# Headless Chromium renders the HTML report in the browser tests.
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing:$missing — install them (apt-get install$missing) or run as root" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
