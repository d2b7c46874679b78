// Drop and punt reason codes of the ztnic datapath.
// GENERATED from ztnic_model's DropReason / PuntReason (runtime/model/src/reason.rs)
// by `ZTNIC_BLESS=1 cargo test -p ztnic-bmv2-tests --test reasons`; do not edit.
#ifndef ZTNIC_REASONS_P4
#define ZTNIC_REASONS_P4

const bit<8> DROP_UNKNOWN_PORT = 1;
const bit<8> DROP_ETH_TRUNCATED = 2;
const bit<8> DROP_VLAN_TRUNCATED = 3;
const bit<8> DROP_TOO_MANY_VLANS = 4;
const bit<8> DROP_UNSUPPORTED_ETHERTYPE = 5;
const bit<8> DROP_IPV4_TRUNCATED = 6;
const bit<8> DROP_IPV4_MALFORMED = 7;
const bit<8> DROP_IPV4_BAD_CHECKSUM = 8;
const bit<8> DROP_IPV6_TRUNCATED = 9;
const bit<8> DROP_IPV6_MALFORMED = 10;
const bit<8> DROP_TCP_TRUNCATED = 11;
const bit<8> DROP_TCP_MALFORMED = 12;
const bit<8> DROP_UDP_TRUNCATED = 13;
const bit<8> DROP_UDP_MALFORMED = 14;
const bit<8> DROP_ICMP_TRUNCATED = 15;
const bit<8> DROP_ICMP_MALFORMED = 16;
const bit<8> DROP_TUNNEL_TRUNCATED = 17;
const bit<8> DROP_GENEVE_MALFORMED = 18;
const bit<8> DROP_VXLAN_MALFORMED = 19;
const bit<8> DROP_VTEP_MISMATCH = 20;
const bit<8> DROP_TAG_CTX_ZERO = 21;
const bit<8> DROP_TAG_BAD_MAC = 22;
const bit<8> DROP_SPOOFED_SOURCE = 23;
const bit<8> DROP_NO_ROUTE = 24;
const bit<8> DROP_NO_LOCAL_EP = 25;
const bit<8> DROP_CT_INVALID = 26;
const bit<8> DROP_POLICY_DENY = 27;
const bit<8> DROP_POLICY_DEFAULT_DENY = 28;
const bit<8> DROP_BAD_PACKET_OUT = 29;
const bit<8> DROP_OVERSIZE = 30;
// Size of the `drops` counter array: one above the highest drop code.
const bit<32> DROP_REASONS = 31;

const bit<8> PUNT_ARP = 1;
const bit<8> PUNT_ND = 2;
const bit<8> PUNT_IP_FRAGMENT = 3;
const bit<8> PUNT_IPV6_EXT_HEADER = 4;
const bit<8> PUNT_CTX_UNKNOWN = 5;
const bit<8> PUNT_CTX_STALE_EPOCH = 6;
const bit<8> PUNT_CT_FULL = 7;
// Size of the `punts` counter array: one above the highest punt code.
const bit<32> PUNT_REASONS = 8;

#endif
