"""Link layers below IP: where the network layer starts in a frame of each link type.

Every reader here takes the frame and returns ``(EtherType, offset)``: the network layer's
protocol, named by its EtherType whatever the link calls it (PPP protocol numbers, NLPIDs,
ARCNET system codes are mapped), and where it starts; or a negative sentinel when the frame
cannot be read that far. The decoder (``tcpcheck.decode``) reads IPv4 and IPv6 from there.

Link types are pcap's LINKTYPE_ numbers (https://www.tcpdump.org/linktypes.html), the frame
layouts those of tcpdump's and Wireshark's dissectors, checked against their test captures.
None of this is on the decoder's fast path (Ethernet, IPv4): it runs for the other frames only.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

ETH_IP4 = 0x0800
ETH_IP6 = 0x86DD

# Sentinels (real EtherTypes are 16-bit and positive, so these cannot collide).
TRUNCATED = -1
"""The link header is not fully captured."""
MALFORMED = -2
"""The link header holds impossible values (an IP version nibble that is neither 4 nor 6)."""
VJ_COMPRESSED = -3
"""A PPP frame whose TCP/IP header Van Jacobson's method compressed (RFC 1144 §3.2): a delta
against the link's last header of that connection, not a header; it cannot be decoded alone."""
VJ_UNCOMPRESSED = -4
"""A PPP frame with a whole TCP/IP header whose IP protocol field holds the VJ connection
number instead of 6 (RFC 1144 §3.2: "the protocol field is replaced by the connection
number"): IPv4 carrying TCP."""
LINK_FRAGMENT = -5
"""A later piece of a packet the link layer split (ARCNET, RFC 1201 §2.1): no IP header in it."""

LinkReader = Callable[[bytes], tuple[int, int]]

_U16 = struct.Struct("!H")
_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100))  # 802.1Q, 802.1ad, pre-standard QinQ
_PPPOE_SESSION = 0x8864
_MPLS = frozenset((0x8847, 0x8848))  # unicast, multicast (RFC 3032 §5)
_LLC_SNAP = b"\xaa\xaa\x03"
_ETH_MAX_LENGTH = 1500  # an Ethernet type field up to here is an 802.3 length: LLC follows
# Linux cooked protocol values that are no EtherType: ETH_P_802_2, ETH_P_PPP_HDLC, ETH_P_ALL.
_SLL_802_2 = 0x0004  # an 802.2 LLC header
_SLL_PPP_HDLC = 0x0007  # a PPP frame in HDLC-like framing
_SLL_ETHERNET = 0x0003  # a whole Ethernet frame

# PPP protocol numbers (RFC 1661 §2, IANA "PPP DLL Protocol Numbers") as EtherTypes.
_PPP_PROTOCOLS = {
    0x0021: ETH_IP4,
    0x0057: ETH_IP6,
    0x002D: VJ_COMPRESSED,
    0x002F: VJ_UNCOMPRESSED,
    0x0281: 0x8847,  # MPLS unicast (RFC 3032 §4.3)
    0x0283: 0x8848,  # MPLS multicast
}
_PPP_ADDRESS_CONTROL = b"\xff\x03"  # RFC 1662 §3.1: "All-Stations" address, UI control
_CISCO_HDLC_ADDRESSES = frozenset((0x0F, 0x8F))  # unicast, broadcast (RFC 1547 §4.3.1)

# Frame Relay (RFC 2427 §3.1): after the Q.922 address, the UI control byte 0x03, an optional
# pad byte 0, and a network layer protocol ID (ISO/IEC TR 9577).
_FR_UI = 0x03
_NLPIDS = {0xCC: ETH_IP4, 0x8E: ETH_IP6}
_NLPID_SNAP = 0x80

# ARCNET system codes (tcpdump's arcnet.h; RFC 1051 and RFC 1201). RFC 1051 frames have no
# fragmentation header; RFC 1201 ones ("ATA 878.2") have a split flag and a sequence number.
_ARCNET_TYPES = {240: ETH_IP4, 212: ETH_IP4, 0xC4: ETH_IP6}
_ARCNET_SHORT = frozenset((240, 241, 0x80))  # RFC 1051 IP and ARP, diagnostics
_ARCNET_EXCEPTION = 0xFF  # RFC 1201 §2.1: a split flag of 0xFF precedes a second header

_IPOIB_HEADER = 44  # 20-byte source and destination hardware addresses, type, reserved
_IPOIB_TYPE = 40


def network_layer(buf: bytes, et: int, off: int) -> tuple[int, int]:
    """Skip what may stand between a link header and IP: VLAN tags (stacked), a PPPoE
    session header, an MPLS label stack."""
    while True:
        if et in _VLAN_TYPES:
            if len(buf) < off + 4:
                return TRUNCATED, 0
            et = _U16.unpack_from(buf, off + 2)[0]
            off += 4
        elif et == _PPPOE_SESSION:
            # RFC 2516 §5.4: a 6-byte PPPoE header, then the PPP protocol field.
            et, off = _ppp_protocol(buf, off + 6)
        elif et in _MPLS:
            return _mpls(buf, off)
        else:
            return et, off


def ethernet_llc(buf: bytes, off: int) -> tuple[int, int]:
    """An 802.2 LLC header at ``off``: with SNAP and an EtherType (RFC 1042), the EtherType;
    other LLC frames (spanning tree, NetBIOS, IPX) carry no IP."""
    if buf[off:off + 3] != _LLC_SNAP:
        return 0, off
    if len(buf) < off + 8:
        return TRUNCATED, 0
    if buf[off + 3:off + 6] != b"\0\0\0":
        return 0, off
    return network_layer(buf, _U16.unpack_from(buf, off + 6)[0], off + 8)


def ethernet_type(buf: bytes, et: int, off: int) -> tuple[int, int]:
    """The type field of an Ethernet frame at ``off - 2``: an EtherType, or the length of an
    802.3 frame whose LLC header starts at ``off``."""
    if et <= _ETH_MAX_LENGTH:
        return ethernet_llc(buf, off)
    return network_layer(buf, et, off)


def cooked(buf: bytes, protocol: int, off: int) -> tuple[int, int]:
    """What follows a Linux cooked header (SLL, SLL2) whose protocol field is ``protocol``:
    mostly an EtherType (for PPP and GRE interfaces too); a few small values name a frame
    instead (Linux's if_ether.h, as Wireshark's packet-sll.h lists them)."""
    if protocol == _SLL_802_2:
        return ethernet_llc(buf, off)
    if protocol == _SLL_PPP_HDLC:
        return _ppp_at(buf, off)
    if protocol == _SLL_ETHERNET:
        if len(buf) < off + 14:
            return TRUNCATED, 0
        return ethernet_type(buf, _U16.unpack_from(buf, off + 12)[0], off + 14)
    return network_layer(buf, protocol, off)


def vj_uncompressed(buf: bytes, off: int) -> bytes:
    """The frame of a VJ uncompressed TCP/IP packet at ``off`` with the IP protocol field
    put back to TCP (RFC 1144 §3.2 replaced it by the connection number): a header the
    rest of tcpcheck reads as any other IPv4 one."""
    return buf[:off + 9] + b"\x06" + buf[off + 10:]


def _ppp_protocol(buf: bytes, off: int) -> tuple[int, int]:
    """The PPP protocol field at ``off``, one byte when compressed (RFC 1661 §6.5: protocol
    numbers are odd in their last byte and even in their first, so an odd first byte is a
    whole field)."""
    if len(buf) <= off:
        return TRUNCATED, 0
    if buf[off] & 1:
        proto, off = buf[off], off + 1
    elif len(buf) < off + 2:
        return TRUNCATED, 0
    else:
        proto, off = _U16.unpack_from(buf, off)[0], off + 2
    et = _PPP_PROTOCOLS.get(proto, 0)
    return network_layer(buf, et, off) if et > 0 else (et, off)


def _ppp_at(buf: bytes, off: int) -> tuple[int, int]:
    """A PPP frame at ``off``, with or without the HDLC-like address and control bytes
    (RFC 1662 §3.2: both may be left out once LCP agreed to)."""
    if buf[off:off + 2] == _PPP_ADDRESS_CONTROL:
        off += 2
    return _ppp_protocol(buf, off)


def ppp(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_PPP (9): PPP, its address and control bytes present or not."""
    return _ppp_at(buf, 0)


def ppp_with_direction(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_PPP_WITH_DIR (204): a direction byte, then PPP as LINKTYPE_PPP."""
    return _ppp_at(buf, 1)


def ppp_pppd(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_PPP_PPPD (166): PPP in HDLC-like framing whose address byte holds the
    direction (0 in, 1 out): the protocol field follows the control byte."""
    return _ppp_protocol(buf, 2)


def ppp_hdlc(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_PPP_HDLC (50): PPP in HDLC-like framing, or Cisco HDLC (first byte 0x0F or
    0x8F)."""
    if buf[:1] and buf[0] in _CISCO_HDLC_ADDRESSES:
        return cisco_hdlc(buf)
    return _ppp_at(buf, 0)


def pppoe(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_PPP_ETHER (51): a PPPoE session header, then PPP."""
    return network_layer(buf, _PPPOE_SESSION, 0)


def _cisco_hdlc_at(buf: bytes, off: int) -> tuple[int, int]:
    # Address, control, then an EtherType (RFC 1547 §4.3.1); SLARP keepalives (0x8035) and
    # CDP carry no IP and count as such.
    if len(buf) < off + 4:
        return TRUNCATED, 0
    return network_layer(buf, _U16.unpack_from(buf, off + 2)[0], off + 4)


def cisco_hdlc(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_C_HDLC (104): Cisco HDLC."""
    return _cisco_hdlc_at(buf, 0)


def cisco_hdlc_with_direction(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_C_HDLC_WITH_DIR (205): a direction byte, then Cisco HDLC."""
    return _cisco_hdlc_at(buf, 1)


def _frame_relay_at(buf: bytes, off: int) -> tuple[int, int]:
    # The Q.922 address is 2 to 4 bytes: its last byte has the EA bit (bit 0) set.
    end = off + 4
    while off < len(buf) and off < end and not buf[off] & 1:
        off += 1
    off += 1
    if len(buf) < off + 2:
        return TRUNCATED, 0
    if buf[off] != _FR_UI:
        # Cisco's encapsulation, which routers use by default: an EtherType after the address.
        return network_layer(buf, _U16.unpack_from(buf, off)[0], off + 2)
    off += 1
    if buf[off] == 0:  # RFC 2427 §3.1: a pad byte aligns some NLPIDs
        off += 1
    if len(buf) <= off:
        return TRUNCATED, 0
    nlpid = buf[off]
    if nlpid == _NLPID_SNAP:  # RFC 2427 §3.2: an OUI and a PID follow; OUI 0: an EtherType
        if len(buf) < off + 6:
            return TRUNCATED, 0
        if buf[off + 1:off + 4] != b"\0\0\0":
            return 0, off
        return network_layer(buf, _U16.unpack_from(buf, off + 4)[0], off + 6)
    return _NLPIDS.get(nlpid, 0), off + 1


def frame_relay(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_FRELAY (107): Q.922 address, then RFC 2427 or Cisco encapsulation."""
    return _frame_relay_at(buf, 0)


def frame_relay_with_direction(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_FRELAY_WITH_DIR (206): a direction byte, then Frame Relay."""
    return _frame_relay_at(buf, 1)


def ipoib(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_IPOIB (242): 44 bytes of addresses, type (an EtherType, RFC 4391 §6) and a
    reserved field."""
    if len(buf) < _IPOIB_HEADER:
        return TRUNCATED, 0
    return network_layer(buf, _U16.unpack_from(buf, _IPOIB_TYPE)[0], _IPOIB_HEADER)


def _arcnet_at(buf: bytes, typ: int, exceptions: bool) -> tuple[int, int]:
    """The ARCNET system code at ``typ`` and what follows it."""
    if len(buf) <= typ:
        return TRUNCATED, 0
    code = buf[typ]
    et = _ARCNET_TYPES.get(code, 0)
    if code in _ARCNET_SHORT:
        return et, typ + 1
    # RFC 1201 §2.1: split flag, 2-byte sequence number. Linux hands packets over reassembled;
    # BSD captures raw frames, where an exception frame (flag 0xFF) repeats the header once.
    if len(buf) < typ + 4:
        return TRUNCATED, 0
    off = typ + 4
    flag = buf[typ + 1]
    if exceptions and flag == _ARCNET_EXCEPTION:
        if len(buf) < typ + 8:
            return TRUNCATED, 0
        flag, off = buf[typ + 5], typ + 8
    if exceptions and flag and not flag & 1:
        return LINK_FRAGMENT, off  # an even flag: a later fragment of a split packet
    return et, off


def arcnet_bsd(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_ARCNET_BSD (7): source, destination, system code."""
    return _arcnet_at(buf, 2, True)


def arcnet_linux(buf: bytes) -> tuple[int, int]:
    """LINKTYPE_ARCNET_LINUX (129): source, destination, a 2-byte offset, system code."""
    return _arcnet_at(buf, 4, False)


def _mpls(buf: bytes, off: int) -> tuple[int, int]:
    """An MPLS label stack (RFC 3032 §2.1): 4-byte entries up to the one with the S bit; the
    payload's protocol is not named, IP is told by its version nibble (RFC 4928 §1)."""
    while True:
        if len(buf) < off + 4:
            return TRUNCATED, 0
        bottom = buf[off + 2] & 1
        off += 4
        if bottom:
            break
    if len(buf) <= off:
        return TRUNCATED, 0
    version = buf[off] >> 4
    return (ETH_IP4 if version == 4 else ETH_IP6 if version == 6 else 0), off


LINK_READERS: dict[int, tuple[str, LinkReader]] = {
    7: ("ARCNET_BSD", arcnet_bsd),
    9: ("PPP", ppp),
    50: ("PPP_HDLC", ppp_hdlc),
    51: ("PPP_ETHER", pppoe),
    104: ("C_HDLC", cisco_hdlc),
    107: ("FRELAY", frame_relay),
    129: ("ARCNET_LINUX", arcnet_linux),
    166: ("PPP_PPPD", ppp_pppd),
    204: ("PPP_WITH_DIR", ppp_with_direction),
    205: ("C_HDLC_WITH_DIR", cisco_hdlc_with_direction),
    206: ("FRELAY_WITH_DIR", frame_relay_with_direction),
    242: ("IPOIB", ipoib),
}
"""The link types read here, by LINKTYPE_ number: name and reader."""
