// Parser states for one Ethernet frame (datapath.md section 2), included twice by
// parser.p4: once for the outer frame and once for the inner frame of a tunnel.
// p4c inlines sub-parsers without copying their `out` headers back when they
// reject, so the frame parser is a state template instead of a sub-parser.
//
// The including file defines:
//   S(name)        the state name for this frame (outer_name / inner_name)
//   F              the frame's headers (hdr.o / hdr.i)
//   FI             the frame's parse info (meta.po / meta.pi)
//   FE(reason)     the frame's error for a reason (OuterTcpTruncated / InnerTcpTruncated)
//   FRAME_UDP_NEXT the transition after a UDP header (tunnels on the outer frame)
//
// Every check `verify`s with its own error, which names the frame and the drop
// reason; parse_check maps it back (parse_error_reason in parser.p4). The checks
// run before every extract, so no extract ever runs past the frame.

state S(eth) {
    verify(FI.avail >= 14, error.FE(EthTruncated));
    pkt.extract(F.eth);
    FI.avail = FI.avail - 14;
    transition select(F.eth.ether_type) {
        ETHERTYPE_VLAN: S(vlan0);
        ETHERTYPE_QINQ: S(vlan0);
        ETHERTYPE_IPV4: S(ipv4);
        ETHERTYPE_IPV6: S(ipv6);
        ETHERTYPE_ARP: S(arp);
        default: S(bad_ethertype);
    }
}

state S(vlan0) {
    verify(FI.avail >= 4, error.FE(VlanTruncated));
    pkt.extract(F.vlan0);
    FI.avail = FI.avail - 4;
    transition select(F.vlan0.ether_type) {
        ETHERTYPE_VLAN: S(vlan1);
        ETHERTYPE_QINQ: S(vlan1);
        ETHERTYPE_IPV4: S(ipv4);
        ETHERTYPE_IPV6: S(ipv6);
        ETHERTYPE_ARP: S(arp);
        default: S(bad_ethertype);
    }
}

state S(vlan1) {
    verify(FI.avail >= 4, error.FE(VlanTruncated));
    pkt.extract(F.vlan1);
    FI.avail = FI.avail - 4;
    transition select(F.vlan1.ether_type) {
        ETHERTYPE_VLAN: S(too_many_vlans);
        ETHERTYPE_QINQ: S(too_many_vlans);
        ETHERTYPE_IPV4: S(ipv4);
        ETHERTYPE_IPV6: S(ipv6);
        ETHERTYPE_ARP: S(arp);
        default: S(bad_ethertype);
    }
}

state S(too_many_vlans) {
    verify(false, error.FE(TooManyVlans));
    transition accept;
}

state S(bad_ethertype) {
    verify(false, error.FE(UnsupportedEthertype));
    transition accept;
}

state S(arp) {
    FI.punt = PUNT_ARP;
    transition accept;
}

// ------------------------------------------------------------------ IPv4

state S(ipv4) {
    verify(FI.avail >= 20, error.FE(Ipv4Truncated));
    pkt.extract(F.ipv4);
    verify(F.ipv4.version == 4 && F.ipv4.ihl >= 5 &&
           (bit<32>)F.ipv4.total_len >= ((bit<32>)F.ipv4.ihl << 2), error.FE(Ipv4Malformed));
    verify((bit<32>)F.ipv4.total_len <= FI.avail, error.FE(Ipv4Truncated));
    FI.avail = FI.avail - 20;
    FI.l4_len = (bit<32>)F.ipv4.total_len - ((bit<32>)F.ipv4.ihl << 2);
    FI.csum = (bit<32>)(F.ipv4.version ++ F.ipv4.ihl ++ F.ipv4.tos)
            + (bit<32>)F.ipv4.total_len
            + (bit<32>)F.ipv4.id
            + (bit<32>)(F.ipv4.flags ++ F.ipv4.frag_offset)
            + (bit<32>)(F.ipv4.ttl ++ F.ipv4.protocol)
            + (bit<32>)F.ipv4.checksum
            + (bit<32>)F.ipv4.src[31:16] + (bit<32>)F.ipv4.src[15:0]
            + (bit<32>)F.ipv4.dst[31:16] + (bit<32>)F.ipv4.dst[15:0];
    FI.flow.ip = 4;
    FI.flow.src = IPV4_MAPPED | (bit<128>)F.ipv4.src;
    FI.flow.dst = IPV4_MAPPED | (bit<128>)F.ipv4.dst;
    FI.flow.proto = F.ipv4.protocol;
    // Options: IHL - 5 words; state optN reads word N, the last one is opt9.
    transition select(F.ipv4.ihl) {
        5: S(v4_l4);
        6: S(v4_opt9);
        7: S(v4_opt8);
        8: S(v4_opt7);
        9: S(v4_opt6);
        10: S(v4_opt5);
        11: S(v4_opt4);
        12: S(v4_opt3);
        13: S(v4_opt2);
        14: S(v4_opt1);
        default: S(v4_opt0);
    }
}

#define ZTNIC_V4_OPT(N, NEXT) \
state S(v4_opt##N) { \
    pkt.extract(F.ipv4_opt##N); \
    FI.csum = FI.csum + (bit<32>)F.ipv4_opt##N.data[31:16] + (bit<32>)F.ipv4_opt##N.data[15:0]; \
    transition S(NEXT); \
}
ZTNIC_V4_OPT(0, v4_opt1)
ZTNIC_V4_OPT(1, v4_opt2)
ZTNIC_V4_OPT(2, v4_opt3)
ZTNIC_V4_OPT(3, v4_opt4)
ZTNIC_V4_OPT(4, v4_opt5)
ZTNIC_V4_OPT(5, v4_opt6)
ZTNIC_V4_OPT(6, v4_opt7)
ZTNIC_V4_OPT(7, v4_opt8)
ZTNIC_V4_OPT(8, v4_opt9)
ZTNIC_V4_OPT(9, v4_l4)
#undef ZTNIC_V4_OPT

// The IPv4 header passed every parser check (its checksum is verified by
// parse_check, which orders it before any later error of this frame).
state S(v4_l4) {
    transition select(F.ipv4.flags[0:0], F.ipv4.frag_offset) {
        (0, 0): S(v4_proto);
        default: S(fragment);
    }
}

state S(fragment) {
    FI.punt = PUNT_IP_FRAGMENT;
    transition accept;
}

state S(v4_proto) {
    transition select(F.ipv4.protocol) {
        PROTO_TCP: S(tcp);
        PROTO_UDP: S(udp);
        PROTO_ICMP: S(icmp4);
        default: accept;
    }
}

// ------------------------------------------------------------------ IPv6

state S(ipv6) {
    verify(FI.avail >= 40, error.FE(Ipv6Truncated));
    pkt.extract(F.ipv6);
    verify(F.ipv6.version == 6, error.FE(Ipv6Malformed));
    verify((bit<32>)F.ipv6.payload_len + 40 <= FI.avail, error.FE(Ipv6Truncated));
    FI.avail = FI.avail - 40;
    FI.l4_len = (bit<32>)F.ipv6.payload_len;
    FI.flow.ip = 6;
    FI.flow.src = F.ipv6.src;
    FI.flow.dst = F.ipv6.dst;
    FI.flow.proto = F.ipv6.next_header;
    transition select(F.ipv6.next_header) {
        PROTO_TCP: S(tcp);
        PROTO_UDP: S(udp);
        PROTO_ICMPV6: S(icmp6);
        0: S(v6_ext);
        43: S(v6_ext);
        44: S(v6_ext);
        50: S(v6_ext);
        51: S(v6_ext);
        60: S(v6_ext);
        135: S(v6_ext);
        139: S(v6_ext);
        140: S(v6_ext);
        253: S(v6_ext);
        254: S(v6_ext);
        default: accept;
    }
}

state S(v6_ext) {
    FI.punt = PUNT_IPV6_EXT_HEADER;
    transition accept;
}

// ------------------------------------------------------------------ L4

state S(tcp) {
    verify(FI.l4_len >= 20, error.FE(TcpTruncated));
    pkt.extract(F.tcp);
    verify(F.tcp.data_offset >= 5, error.FE(TcpMalformed));
    verify(((bit<32>)F.tcp.data_offset << 2) <= FI.l4_len, error.FE(TcpTruncated));
    FI.flow.l4 = L4_TCP;
    FI.flow.sport = F.tcp.src_port;
    FI.flow.dport = F.tcp.dst_port;
    FI.flow.l4_sport = F.tcp.src_port;
    FI.flow.l4_dport = F.tcp.dst_port;
    FI.flow.tcp_flags = F.tcp.flags & 0x3F;
    FI.flow.tcp_seq = F.tcp.seq;
    FI.flow.tcp_ack = F.tcp.ack;
    FI.flow.tcp_window = F.tcp.window;
    FI.flow.tcp_payload = FI.l4_len - ((bit<32>)F.tcp.data_offset << 2);
    transition select(F.tcp.data_offset) {
        5: accept;
        default: S(tcp_opts);
    }
}

state S(tcp_opts) {
    pkt.extract(F.tcp_opts, ((bit<32>)F.tcp.data_offset - 5) << 5);
    transition accept;
}

state S(udp) {
    verify(FI.l4_len >= 8, error.FE(UdpTruncated));
    pkt.extract(F.udp);
    verify(F.udp.length >= 8, error.FE(UdpMalformed));
    verify((bit<32>)F.udp.length <= FI.l4_len, error.FE(UdpTruncated));
    FI.flow.l4 = L4_UDP;
    FI.flow.sport = F.udp.src_port;
    FI.flow.dport = F.udp.dst_port;
    FI.flow.l4_sport = F.udp.src_port;
    FI.flow.l4_dport = F.udp.dst_port;
    transition FRAME_UDP_NEXT
}

state S(icmp4) {
    verify(FI.l4_len >= 8, error.FE(IcmpTruncated));
    pkt.extract(F.icmp);
    FI.l4_rest = FI.l4_len - 8;
    FI.flow.l4 = L4_ICMP;
    FI.flow.icmp_type = F.icmp.msg_type;
    transition select(F.icmp.msg_type) {
        8: S(echo_request);
        0: S(echo_reply);
        3: S(icmp4_error);
        4: S(icmp4_error);
        5: S(icmp4_error);
        11: S(icmp4_error);
        12: S(icmp4_error);
        default: accept;
    }
}

state S(icmp6) {
    verify(FI.l4_len >= 8, error.FE(IcmpTruncated));
    pkt.extract(F.icmp);
    FI.l4_rest = FI.l4_len - 8;
    FI.flow.l4 = L4_ICMP;
    FI.flow.icmp_type = F.icmp.msg_type;
    transition select(F.icmp.msg_type) {
        128: S(echo_request);
        129: S(echo_reply);
        1: S(icmp6_error);
        2: S(icmp6_error);
        3: S(icmp6_error);
        4: S(icmp6_error);
        133: S(nd);
        134: S(nd);
        135: S(nd);
        136: S(nd);
        137: S(nd);
        default: accept;
    }
}

state S(nd) {
    FI.punt = PUNT_ND;
    transition accept;
}

state S(echo_request) {
    FI.flow.icmp_kind = ICMP_ECHO_REQ;
    FI.flow.sport = F.icmp.id;
    FI.flow.dport = F.icmp.id;
    transition accept;
}

state S(echo_reply) {
    FI.flow.icmp_kind = ICMP_ECHO_REPLY;
    FI.flow.sport = F.icmp.id;
    FI.flow.dport = F.icmp.id;
    transition accept;
}

// An ICMP error carries the offending packet's IP header and 8 bytes of its L4
// header; conntrack looks that packet's key up. IPv4: the first byte must say
// version 4 and IHL >= 5 (else icmp_malformed), then IHL*4 + 8 bytes must be
// there (else icmp_truncated). IPv6: 40 + 8 bytes must be there, then version 6.
state S(icmp4_error) {
    FI.flow.icmp_kind = ICMP_ERROR;
    verify(FI.l4_rest >= 1, error.FE(IcmpTruncated));
    bit<8> first = pkt.lookahead<bit<8>>();
    verify(first[7:4] == 4 && first[3:0] >= 5, error.FE(IcmpMalformed));
    verify(((bit<32>)first[3:0] << 2) + 8 <= FI.l4_rest, error.FE(IcmpTruncated));
    pkt.extract(F.emb_ipv4);
    FI.flow.emb_src = IPV4_MAPPED | (bit<128>)F.emb_ipv4.src;
    FI.flow.emb_dst = IPV4_MAPPED | (bit<128>)F.emb_ipv4.dst;
    FI.flow.emb_proto = F.emb_ipv4.protocol;
    transition select(F.emb_ipv4.ihl) {
        5: S(emb4_l4);
        default: S(emb4_opts);
    }
}

state S(emb4_opts) {
    pkt.extract(F.emb_ipv4_opts, ((bit<32>)F.emb_ipv4.ihl - 5) << 5);
    transition S(emb4_l4);
}

// Echo identifiers count as ports for ICMP and ICMPv6 alike; the echo types are
// those of the error's own family.
state S(emb4_l4) {
    pkt.extract(F.emb_l4);
    transition select(F.emb_ipv4.protocol, F.emb_l4.w0[15:8]) {
        (PROTO_TCP, _): S(emb_ports);
        (PROTO_UDP, _): S(emb_ports);
        (PROTO_ICMP, 8): S(emb_echo);
        (PROTO_ICMP, 0): S(emb_echo);
        (PROTO_ICMPV6, 8): S(emb_echo);
        (PROTO_ICMPV6, 0): S(emb_echo);
        default: accept;
    }
}

state S(icmp6_error) {
    FI.flow.icmp_kind = ICMP_ERROR;
    verify(FI.l4_rest >= 48, error.FE(IcmpTruncated));
    pkt.extract(F.emb_ipv6);
    verify(F.emb_ipv6.version == 6, error.FE(IcmpMalformed));
    FI.flow.emb_src = F.emb_ipv6.src;
    FI.flow.emb_dst = F.emb_ipv6.dst;
    FI.flow.emb_proto = F.emb_ipv6.next_header;
    pkt.extract(F.emb_l4);
    transition select(F.emb_ipv6.next_header, F.emb_l4.w0[15:8]) {
        (PROTO_TCP, _): S(emb_ports);
        (PROTO_UDP, _): S(emb_ports);
        (PROTO_ICMP, 128): S(emb_echo);
        (PROTO_ICMP, 129): S(emb_echo);
        (PROTO_ICMPV6, 128): S(emb_echo);
        (PROTO_ICMPV6, 129): S(emb_echo);
        default: accept;
    }
}

state S(emb_ports) {
    FI.flow.emb_sport = F.emb_l4.w0;
    FI.flow.emb_dport = F.emb_l4.w1;
    transition accept;
}

state S(emb_echo) {
    FI.flow.emb_sport = F.emb_l4.w2;
    FI.flow.emb_dport = F.emb_l4.w2;
    transition accept;
}
