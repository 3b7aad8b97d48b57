"""Addresses and endpoints as reports write them: the text ``ipaddress`` gives, IPv4 or IPv6."""

from __future__ import annotations

import ipaddress
import random

import pytest

from tcpcheck.segment import format_address, format_endpoint


@pytest.mark.parametrize("text", ["0.0.0.0", "10.0.0.1", "192.0.2.255", "255.255.255.255",
                                  "127.0.0.1", "1.2.3.4"])
def test_an_ipv4_address_reads_as_ipaddress_writes_it(text):
    assert format_address(ipaddress.ip_address(text).packed) == text


def test_random_ipv4_addresses_read_as_ipaddress_writes_them():
    rng = random.Random(16)
    for _ in range(10_000):
        packed = rng.randbytes(4)
        assert format_address(packed) == str(ipaddress.ip_address(packed))


@pytest.mark.parametrize("text", ["::", "2001:db8::1", "::ffff:c000:201", "fe80::1:2:3:4"])
def test_an_ipv6_address_reads_as_ipaddress_writes_it(text):
    packed = ipaddress.ip_address(text).packed
    assert format_address(packed) == str(ipaddress.ip_address(packed))


def test_an_endpoint_is_address_and_port_with_ipv6_in_brackets():
    assert format_endpoint(bytes([192, 0, 2, 1]), 80) == "192.0.2.1:80"
    assert format_endpoint(ipaddress.ip_address("2001:db8::1").packed, 443) == "[2001:db8::1]:443"
