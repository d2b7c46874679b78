// Headers, metadata and constants of the ztnic pipeline (docs/datapath.md).
// Declared once here; every metadata field says which stage writes it.
#ifndef ZTNIC_HEADERS_P4
#define ZTNIC_HEADERS_P4

#include "reasons.p4"

// ---------------------------------------------------------------- constants

// The CPU port: bmv2's `--cpu-port`, the model's default `config.cpu_port`.
// The parser needs it at compile time to recognise `packet_out` headers.
const bit<9>  CPU_PORT = 255;

// Port classes written by the runtime into `port_class` (datapath.md section 1).
const bit<8>  CLASS_NONE   = 0;
const bit<8>  CLASS_VPORT  = 1;
const bit<8>  CLASS_UPLINK = 2;
const bit<8>  CLASS_CPU    = 3;

// `packet_out.mode` values.
const bit<8>  PKT_OUT_SEND   = 0;   // send the rest unchanged out of `port`
const bit<8>  PKT_OUT_INJECT = 1;   // run the pipeline as if it arrived on `port`

// Reserved contexts (design.md section 3).
const bit<24> CTX_UNKNOWN = 0;
const bit<24> CTX_HOST    = 1;
const bit<24> CTX_WORLD   = 2;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86DD;
const bit<16> ETHERTYPE_ARP  = 0x0806;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_QINQ = 0x88A8;
const bit<16> ETHERTYPE_TEB  = 0x6558;   // transparent Ethernet bridging (Geneve payload)

const bit<8>  PROTO_ICMP   = 1;
const bit<8>  PROTO_TCP    = 6;
const bit<8>  PROTO_UDP    = 17;
const bit<8>  PROTO_ICMPV6 = 58;

const bit<16> UDP_PORT_GENEVE = 6081;
const bit<16> UDP_PORT_VXLAN  = 4789;

// The ztnic Geneve option (design.md section 3).
const bit<16> ZTNIC_OPT_CLASS = 0xFFF0;
const bit<8>  ZTNIC_OPT_TYPE  = 0x81;
const bit<5>  ZTNIC_OPT_LEN   = 2;

// TCP flag bits (ECE and CWR are ignored by conntrack).
const bit<8>  TCP_FIN = 0x01;
const bit<8>  TCP_SYN = 0x02;
const bit<8>  TCP_RST = 0x04;
const bit<8>  TCP_PSH = 0x08;
const bit<8>  TCP_ACK = 0x10;
const bit<8>  TCP_URG = 0x20;

// IPv4-mapped IPv6 prefix ::ffff:0:0/96: how IPv4 addresses are stored and hashed.
const bit<128> IPV4_MAPPED = 0x00000000000000000000ffff00000000;

// flow_t.l4: which L4 header the flow fields came from.
const bit<8>  L4_NONE = 0;
const bit<8>  L4_TCP  = 1;
const bit<8>  L4_UDP  = 2;
const bit<8>  L4_ICMP = 3;   // ICMP under IPv4 or ICMPv6 under IPv6

// flow_t.icmp_kind
const bit<8>  ICMP_OTHER      = 0;
const bit<8>  ICMP_ECHO_REQ   = 1;
const bit<8>  ICMP_ECHO_REPLY = 2;
const bit<8>  ICMP_ERROR      = 3;

// Sections of a packet a parser error concerns (ordering of errors, see parser.p4).
const bit<8>  STAGE_OUTER    = 1;   // outer frame up to and including its IP header checks
const bit<8>  STAGE_OUTER_L4 = 2;   // outer frame after its IP header passed
const bit<8>  STAGE_TUNNEL   = 3;   // Geneve / VXLAN header
const bit<8>  STAGE_INNER    = 4;   // inner frame up to its IP header checks
const bit<8>  STAGE_INNER_L4 = 5;   // inner frame after its IP header passed

// parse_state_t.tunnel
const bit<8>  TUN_NONE   = 0;
const bit<8>  TUN_GENEVE = 1;
const bit<8>  TUN_VXLAN  = 2;

// classify_t.route: what act does with a packet that passed every stage.
const bit<8>  ROUTE_NONE    = 0;
const bit<8>  ROUTE_LOCAL   = 1;   // deliver to a local vport (TX hairpin or RX)
const bit<8>  ROUTE_GENEVE  = 2;   // TX: Geneve + ztnic option to a remote VTEP
const bit<8>  ROUTE_VXLAN   = 3;   // TX: VXLAN-GBP to a remote VTEP
const bit<8>  ROUTE_WORLD   = 4;   // TX: natively out of the uplink

// Conntrack TCP states (register layout, see conntrack.p4 and docs/p4.md).
const bit<8>  CT_NONE = 0;
const bit<8>  CT_SYN_SENT = 1;
const bit<8>  CT_SYN_RECV = 2;
const bit<8>  CT_ESTABLISHED = 3;
const bit<8>  CT_FIN_WAIT = 4;
const bit<8>  CT_CLOSE_WAIT = 5;
const bit<8>  CT_LAST_ACK = 6;
const bit<8>  CT_TIME_WAIT = 7;
const bit<8>  CT_CLOSE = 8;
const bit<8>  CT_SYN_SENT2 = 9;
const bit<8>  CT_INVALID = 10;   // transition result only
const bit<8>  CT_IGNORE = 11;    // transition result only

// ---------------------------------------------------------------- headers

// Controller headers (datapath.md section 1); P4Runtime PacketIn/PacketOut metadata.
@controller_header("packet_in")
header packet_in_h {
    bit<16> ingress_port;
    bit<8>  reason;
    bit<8>  pad;
}

@controller_header("packet_out")
header packet_out_h {
    bit<16> port;
    bit<8>  mode;
    bit<8>  pad;
}

header ethernet_h {
    bit<48> dst;
    bit<48> src;
    bit<16> ether_type;
}

// An 802.1Q / 802.1ad tag after its TPID (the TPID is the previous ether_type).
header vlan_h {
    bit<16> tci;
    bit<16> ether_type;
}

header ipv4_h {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  tos;
    bit<16> total_len;
    bit<16> id;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src;
    bit<32> dst;
}

// One 32-bit word of IPv4 options. Options are parsed as up to ten fixed words
// (not a varbit) so the header checksum can be summed word by word.
header ipv4_opt_h {
    bit<32> data;
}

header ipv6_h {
    bit<4>   version;
    bit<8>   traffic_class;
    bit<20>  flow_label;
    bit<16>  payload_len;
    bit<8>   next_header;
    bit<8>   hop_limit;
    bit<128> src;
    bit<128> dst;
}

header tcp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq;
    bit<32> ack;
    bit<4>  data_offset;
    bit<4>  reserved;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent;
}

header tcp_opts_h {
    varbit<320> data;
}

header udp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

// ICMP and ICMPv6 share the first 8 bytes: type, code, checksum, and for echo
// messages identifier and sequence number.
header icmp_h {
    bit<8>  msg_type;
    bit<8>  code;
    bit<16> checksum;
    bit<16> id;
    bit<16> seq;
}

header ip_opts_h {
    varbit<320> data;
}

// The first 8 bytes of the L4 header embedded in an ICMP error.
header emb_l4_h {
    bit<16> w0;
    bit<16> w1;
    bit<16> w2;
    bit<16> w3;
}

header geneve_h {
    bit<2>  version;
    bit<6>  opt_len;
    bit<1>  oam;
    bit<1>  critical;
    bit<6>  reserved;
    bit<16> protocol;
    bit<24> vni;
    bit<8>  reserved2;
}

// The ztnic Geneve option: class 0xFFF0, type 0x81, length 2 (8 data bytes).
header ztnic_opt_h {
    bit<16> opt_class;
    bit<8>  opt_type;
    bit<3>  reserved;
    bit<5>  length;
    bit<24> ctx;
    bit<8>  epoch;
    bit<32> tag_mac;
}

header vxlan_h {
    bit<8>  flags;       // 0x80 G (group policy), 0x08 I (VNI valid)
    bit<8>  gbp_flags;   // D and A bits, written 0
    bit<16> gpid;
    bit<24> vni;
    bit<8>  reserved;
}

// One Ethernet frame as the parser reads it: the outer frame of every packet, or
// the inner frame of a tunnel. The same parser states fill both (parse_frame.p4).
struct frame_t {
    ethernet_h  eth;
    vlan_h      vlan0;
    vlan_h      vlan1;
    ipv4_h      ipv4;
    ipv4_opt_h  ipv4_opt0;
    ipv4_opt_h  ipv4_opt1;
    ipv4_opt_h  ipv4_opt2;
    ipv4_opt_h  ipv4_opt3;
    ipv4_opt_h  ipv4_opt4;
    ipv4_opt_h  ipv4_opt5;
    ipv4_opt_h  ipv4_opt6;
    ipv4_opt_h  ipv4_opt7;
    ipv4_opt_h  ipv4_opt8;
    ipv4_opt_h  ipv4_opt9;
    ipv6_h      ipv6;
    tcp_h       tcp;
    tcp_opts_h  tcp_opts;
    udp_h       udp;
    icmp_h      icmp;
    ipv4_h      emb_ipv4;
    ip_opts_h   emb_ipv4_opts;
    ipv6_h      emb_ipv6;
    emb_l4_h    emb_l4;
}

struct headers_t {
    packet_in_h  packet_in;    // act: punts
    packet_out_h packet_out;   // parser: packets from the CPU port
    // Encapsulation added by act (TX towards a remote VTEP).
    ethernet_h   enc_eth;
    ipv4_h       enc_ipv4;
    udp_h        enc_udp;
    geneve_h     enc_geneve;
    ztnic_opt_h  enc_opt;
    vxlan_h      enc_vxlan;
    // What arrived: the outer frame, a tunnel header and the inner frame.
    frame_t      o;
    geneve_h     geneve;
    ztnic_opt_h  geneve_opt;
    vxlan_h      vxlan;
    frame_t      i;
}

// ---------------------------------------------------------------- metadata

// The flow fields of one frame, written by the parser while it reads the frame.
struct flow_t {
    bit<8>   ip;            // 4, 6, or 0 when the frame has no IP header
    bit<128> src;           // IPv4 as ::ffff:a.b.c.d
    bit<128> dst;
    bit<8>   proto;         // IPv4 protocol / IPv6 next header
    bit<8>   l4;            // L4_*
    bit<16>  sport;         // conntrack ports: TCP/UDP ports, echo id for ICMP echo, else 0
    bit<16>  dport;
    bit<16>  l4_sport;      // TCP/UDP ports, 0 otherwise (tag MAC, policy port)
    bit<16>  l4_dport;
    bit<8>   tcp_flags;
    bit<32>  tcp_seq;
    bit<32>  tcp_ack;
    bit<16>  tcp_window;
    bit<32>  tcp_payload;   // TCP payload bytes (IP payload minus TCP header)
    bit<8>   icmp_type;
    bit<8>   icmp_kind;     // ICMP_*
    // The packet embedded in an ICMP error (its conntrack key fields).
    bit<128> emb_src;
    bit<128> emb_dst;
    bit<8>   emb_proto;
    bit<16>  emb_sport;
    bit<16>  emb_dport;
}

// Per-frame parser bookkeeping, written by the parser.
struct frame_info_t {
    bit<32> avail;     // bytes of this frame not yet parsed
    bit<32> l4_len;    // IP payload length (L4 bytes, bounded by the IP header)
    bit<32> l4_rest;   // ICMP: bytes after the 8-byte ICMP header
    bit<32> csum;      // IPv4: ones' complement sum of the header words (unfolded)
    bit<8>  punt;      // punt reason found in this frame (arp, nd, ip_fragment, ipv6_ext_header)
    flow_t  flow;
}

// Written by the parser.
struct parse_state_t {
    bit<8> tunnel;   // TUN_*: the outer UDP destination port named a tunnel
}

// Written by config (keyless tables holding `config`).
struct cfg_t {
    bit<16>  uplink_port;
    bit<16>  cpu_port;
    bit<48>  local_mac;
    bit<48>  gateway_mac;
    bit<32>  local_vtep_ip;
    bit<24>  vni;
    bit<1>   auth;
    bit<64>  auth_k0;        // SipHash key words (little-endian halves of the 16 key bytes)
    bit<64>  auth_k1;
    bit<8>   tcp_wscale;
    bit<16>  policy_gen;
    bit<32>  ct_mask;        // ct_buckets - 1
    bit<16>  max_frame;      // longest accepted frame in bytes
    // Conntrack timeouts in microseconds.
    bit<64>  to_syn_sent;
    bit<64>  to_syn_recv;
    bit<64>  to_established;
    bit<64>  to_fin_wait;
    bit<64>  to_close_wait;
    bit<64>  to_last_ack;
    bit<64>  to_time_wait;
    bit<64>  to_close;
    bit<64>  to_syn_sent2;
    bit<64>  to_udp;
    bit<64>  to_udp_replied;
    bit<64>  to_icmp;
    bit<64>  to_other;
}

// Written by ports (in_port, port_class, frame_len), parse_check (tunnel),
// classify (contexts, zone, route) and ctx_check (epoch).
struct classify_t {
    bit<16> in_port;       // logical ingress port (packet_out.port for injected packets)
    bit<8>  port_class;    // CLASS_*
    bit<32> frame_len;     // frame length as received (without packet_out)
    bit<8>  tunnel;        // TUN_* of the frame being processed (uplink only)
    bit<24> src_ctx;
    bit<1>  tagged;        // RX: the source context came from a Geneve or VXLAN-GBP tag
    bit<24> dst_ctx;
    bit<16> zone;          // conntrack zone of the local endpoint
    bit<16> ep_zone;       // local_ep's zone (the RX zone)
    bit<8>  route;         // ROUTE_*
    bit<16> out_port;      // vport for ROUTE_LOCAL
    bit<32> vtep;          // remote VTEP for ROUTE_GENEVE / ROUTE_VXLAN
    bit<8>  wire_epoch;    // RX Geneve: the tag's epoch
    bit<8>  epoch;         // ctx_check: the source context's current epoch
}

// Written by conntrack (lookup); read by policy and ct_commit.
struct ct_meta_t {
    // The key looked up (the packet's, or the embedded packet's for an ICMP
    // error): the 39 key bytes of datapath.md section 5, byte-aligned, in order.
    bit<16>  zone;
    bit<8>   proto;
    bit<128> addr_lo;
    bit<128> addr_hi;
    bit<16>  port_lo;
    bit<16>  port_hi;
    bit<1>   from_lo;      // the packet's source is the lo endpoint of its own key
    bit<16>  pkt_h16;      // CRC-16/ARC of the packet's own key (tunnel source port)
    bit<8>   ct_state;     // CS_* bits
    bit<1>   ovf_hit;      // ct_overflow matched
    bit<1>   ovf_orig_lo;  // ct_overflow: the originator is the lo endpoint
    // An existing entry (op == CT_OP_UPDATE).
    bit<32>  slot;         // its register index
    bit<128> info;         // its info word to write back
    bit<192> win;          // its window data to write back
    bit<160> tcp;          // its TCP extras (ct_tcp) to write back
    bit<1>   kill;         // a RST before any reply: delete the entry, the packet passes
    bit<1>   reply;        // the packet travels in the reply direction
    bit<1>   recheck;      // admitted under another policy_gen: the policy re-checks it
    bit<1>   reopen;       // a SYN reopening a TIME_WAIT/CLOSE entry: delete it first
    bit<1>   invalid;      // the state machine or window check said invalid
    // A new connection (op == CT_OP_INSERT).
    bit<8>   op;           // CT_OP_*
    bit<1>   policy;       // the policy decides this packet
    bit<312> new_key;
    bit<128> new_info;
    bit<192> new_win;
    bit<32>  new_slot;     // where it goes
    bit<1>   new_slot_ok;  // 0: all four slots hold live assured entries (ct_full)
    bit<1>   evict;        // new_slot holds a live non-assured entry
}

// Written by conntrack (keys) and policy (verdict).
struct policy_meta_t {
    bit<24> src_ctx;
    bit<24> dst_ctx;
    bit<8>  proto;
    bit<16> port;
    bit<1>  hit;
    bit<1>  allow;
    bit<32> rule_id;      // the deciding rule (policy action parameter)
}

// Written by TagMac (siphash.p4): SipHash-2-4 state, message words and result.
struct sip_t {
    bit<64> v0;
    bit<64> v1;
    bit<64> v2;
    bit<64> v3;
    bit<64> m0;
    bit<64> m1;
    bit<64> m2;
    bit<64> m3;
    bit<64> m4;
    bit<64> m5;
    bit<32> mac;
}

// Written by every stage: the first drop or punt wins, `stop` ends processing.
struct verdict_t {
    bool    stop;
    bit<8>  drop;      // DROP_* or 0
    bit<8>  punt;      // PUNT_* or 0
    bool    raw;       // packet_out mode 0: send unchanged out of raw_port
    bit<16> raw_port;
}

struct meta_t {
    parse_state_t prs;
    frame_info_t  po;     // outer frame (parser)
    frame_info_t  pi;     // inner frame (parser)
    flow_t        flow;   // the frame being processed (parse_check)
    cfg_t         cfg;
    classify_t    cls;
    ct_meta_t     ct;
    policy_meta_t pol;
    sip_t         sip;
    verdict_t     v;
}

// ---------------------------------------------------------------- digests

// Sent by ctx_check when a context is unknown or a tag carries a stale epoch.
struct ctx_miss {
    bit<24> ctx;
    bit<8>  epoch;        // the wire epoch (RX Geneve) or 0
    bit<8>  reason;       // PUNT_CTX_UNKNOWN or PUNT_CTX_STALE_EPOCH
    bit<16> port;         // logical ingress port
}

// Sent by ct_commit when the data plane inserts or deletes a conntrack entry.
struct ct_event {
    bit<8>   event;       // CT_EVENT_*
    bit<16>  zone;
    bit<8>   proto;
    bit<128> addr_lo;
    bit<128> addr_hi;
    bit<16>  port_lo;
    bit<16>  port_hi;
    bit<32>  slot;        // register index (way * CT_BUCKETS + bucket)
}

const bit<8> CT_EVENT_INSERT = 1;
const bit<8> CT_EVENT_DELETE = 2;   // deleted by a policy re-check or a RST before any reply
const bit<8> CT_EVENT_EVICT  = 3;   // a live non-assured entry was replaced

#endif
