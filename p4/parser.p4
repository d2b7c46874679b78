// Stage 1, parse (datapath.md sections 1 and 2): the parser, the parse verdict
// (parse_check) and the deparser.
#ifndef ZTNIC_PARSER_P4
#define ZTNIC_PARSER_P4

#include "headers.p4"

// One error per failed datapath check: the frame (outer/inner, or the tunnel
// header) and the drop reason. p4c removes writes to metadata that a later write
// in the same parser path overwrites, without counting a `verify` rejecting in
// between as a read, so the reason cannot be recorded in metadata before each check.
error {
    OuterEthTruncated,
    OuterVlanTruncated,
    OuterTooManyVlans,
    OuterUnsupportedEthertype,
    OuterIpv4Truncated,
    OuterIpv4Malformed,
    OuterIpv6Truncated,
    OuterIpv6Malformed,
    OuterTcpTruncated,
    OuterTcpMalformed,
    OuterUdpTruncated,
    OuterUdpMalformed,
    OuterIcmpTruncated,
    OuterIcmpMalformed,
    InnerEthTruncated,
    InnerVlanTruncated,
    InnerTooManyVlans,
    InnerUnsupportedEthertype,
    InnerIpv4Truncated,
    InnerIpv4Malformed,
    InnerIpv6Truncated,
    InnerIpv6Malformed,
    InnerTcpTruncated,
    InnerTcpMalformed,
    InnerUdpTruncated,
    InnerUdpMalformed,
    InnerIcmpTruncated,
    InnerIcmpMalformed,
    TunnelTruncated,
    GeneveMalformed,
    VxlanMalformed,
    BadPacketOut
}

parser ZtnicParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                   inout standard_metadata_t std) {
    state start {
        meta.po.avail = std.packet_length;
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: outer_eth;
        }
    }

    // Packets from the CPU port start with the packet_out controller header.
    state parse_packet_out {
        verify(meta.po.avail >= 4, error.BadPacketOut);
        pkt.extract(hdr.packet_out);
        meta.po.avail = meta.po.avail - 4;
        transition outer_eth;
    }

    // The outer frame. Tunnels are IPv4/UDP to 6081 or 4789; whether the packet
    // came from an uplink (the only place tunnels are recognised) is known only
    // in ingress, so parse_check ignores the tunnel part of other packets.
#define S(name) outer_##name
#define F hdr.o
#define FI meta.po
#define FE(reason) Outer##reason
#define FRAME_UDP_NEXT \
    select(meta.po.flow.ip, hdr.o.udp.dst_port) { \
        (4, UDP_PORT_GENEVE): tun_geneve; \
        (4, UDP_PORT_VXLAN): tun_vxlan; \
        default: accept; \
    }
#include "parse_frame.p4"
#undef S
#undef F
#undef FI
#undef FE
#undef FRAME_UDP_NEXT

    // Geneve with exactly the ztnic option; the inner frame is the rest of the
    // outer UDP payload.
    state tun_geneve {
        meta.prs.tunnel = TUN_GENEVE;
        verify((bit<32>)hdr.o.udp.length >= 8 + 20, error.TunnelTruncated);
        pkt.extract(hdr.geneve);
        pkt.extract(hdr.geneve_opt);
        verify(hdr.geneve.version == 0 && hdr.geneve.opt_len == 3 &&
               hdr.geneve.oam == 0 && hdr.geneve.critical == 1 &&
               hdr.geneve.protocol == ETHERTYPE_TEB &&
               hdr.geneve_opt.opt_class == ZTNIC_OPT_CLASS &&
               hdr.geneve_opt.opt_type == ZTNIC_OPT_TYPE &&
               hdr.geneve_opt.length == ZTNIC_OPT_LEN, error.GeneveMalformed);
        meta.pi.avail = (bit<32>)hdr.o.udp.length - (8 + 20);
        transition inner_eth;
    }

    state tun_vxlan {
        meta.prs.tunnel = TUN_VXLAN;
        verify((bit<32>)hdr.o.udp.length >= 8 + 8, error.TunnelTruncated);
        pkt.extract(hdr.vxlan);
        verify((hdr.vxlan.flags & 0x08) != 0, error.VxlanMalformed);
        meta.pi.avail = (bit<32>)hdr.o.udp.length - (8 + 8);
        transition inner_eth;
    }

#define S(name) inner_##name
#define F hdr.i
#define FI meta.pi
#define FE(reason) Inner##reason
#define FRAME_UDP_NEXT accept;
#include "parse_frame.p4"
#undef S
#undef F
#undef FI
#undef FE
#undef FRAME_UDP_NEXT
}

control ZtnicVerifyChecksum(inout headers_t hdr, inout meta_t meta) {
    // IPv4 header checksums are verified in parse_check, which knows their order
    // relative to the other parse errors.
    apply { }
}

// Folds a ones' complement sum of 16-bit words to 16 bits.
bit<16> ones_fold(in bit<32> sum) {
    bit<32> s = (sum & 0xFFFF) + (sum >> 16);
    s = (s & 0xFFFF) + (s >> 16);
    return s[15:0];
}

// The drop reason of a parser error, and the section of the packet it concerns
// (STAGE_*; an L4 section comes after its IPv4 header's checksum).
void parse_error_reason(in error e, out bit<8> reason, out bit<8> stage) {
    reason = DROP_ETH_TRUNCATED;
    stage = STAGE_OUTER;
    if (e == error.OuterEthTruncated) {
        reason = DROP_ETH_TRUNCATED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterVlanTruncated) {
        reason = DROP_VLAN_TRUNCATED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterTooManyVlans) {
        reason = DROP_TOO_MANY_VLANS;
        stage = STAGE_OUTER;
    } else if (e == error.OuterUnsupportedEthertype) {
        reason = DROP_UNSUPPORTED_ETHERTYPE;
        stage = STAGE_OUTER;
    } else if (e == error.OuterIpv4Truncated) {
        reason = DROP_IPV4_TRUNCATED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterIpv4Malformed) {
        reason = DROP_IPV4_MALFORMED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterIpv6Truncated) {
        reason = DROP_IPV6_TRUNCATED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterIpv6Malformed) {
        reason = DROP_IPV6_MALFORMED;
        stage = STAGE_OUTER;
    } else if (e == error.OuterTcpTruncated) {
        reason = DROP_TCP_TRUNCATED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.OuterTcpMalformed) {
        reason = DROP_TCP_MALFORMED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.OuterUdpTruncated) {
        reason = DROP_UDP_TRUNCATED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.OuterUdpMalformed) {
        reason = DROP_UDP_MALFORMED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.OuterIcmpTruncated) {
        reason = DROP_ICMP_TRUNCATED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.OuterIcmpMalformed) {
        reason = DROP_ICMP_MALFORMED;
        stage = STAGE_OUTER_L4;
    } else if (e == error.InnerEthTruncated) {
        reason = DROP_ETH_TRUNCATED;
        stage = STAGE_INNER;
    } else if (e == error.InnerVlanTruncated) {
        reason = DROP_VLAN_TRUNCATED;
        stage = STAGE_INNER;
    } else if (e == error.InnerTooManyVlans) {
        reason = DROP_TOO_MANY_VLANS;
        stage = STAGE_INNER;
    } else if (e == error.InnerUnsupportedEthertype) {
        reason = DROP_UNSUPPORTED_ETHERTYPE;
        stage = STAGE_INNER;
    } else if (e == error.InnerIpv4Truncated) {
        reason = DROP_IPV4_TRUNCATED;
        stage = STAGE_INNER;
    } else if (e == error.InnerIpv4Malformed) {
        reason = DROP_IPV4_MALFORMED;
        stage = STAGE_INNER;
    } else if (e == error.InnerIpv6Truncated) {
        reason = DROP_IPV6_TRUNCATED;
        stage = STAGE_INNER;
    } else if (e == error.InnerIpv6Malformed) {
        reason = DROP_IPV6_MALFORMED;
        stage = STAGE_INNER;
    } else if (e == error.InnerTcpTruncated) {
        reason = DROP_TCP_TRUNCATED;
        stage = STAGE_INNER_L4;
    } else if (e == error.InnerTcpMalformed) {
        reason = DROP_TCP_MALFORMED;
        stage = STAGE_INNER_L4;
    } else if (e == error.InnerUdpTruncated) {
        reason = DROP_UDP_TRUNCATED;
        stage = STAGE_INNER_L4;
    } else if (e == error.InnerUdpMalformed) {
        reason = DROP_UDP_MALFORMED;
        stage = STAGE_INNER_L4;
    } else if (e == error.InnerIcmpTruncated) {
        reason = DROP_ICMP_TRUNCATED;
        stage = STAGE_INNER_L4;
    } else if (e == error.InnerIcmpMalformed) {
        reason = DROP_ICMP_MALFORMED;
        stage = STAGE_INNER_L4;
    } else if (e == error.TunnelTruncated) {
        reason = DROP_TUNNEL_TRUNCATED;
        stage = STAGE_TUNNEL;
    } else if (e == error.GeneveMalformed) {
        reason = DROP_GENEVE_MALFORMED;
        stage = STAGE_TUNNEL;
    } else if (e == error.VxlanMalformed) {
        reason = DROP_VXLAN_MALFORMED;
        stage = STAGE_TUNNEL;
    } else if (e == error.BadPacketOut) {
        reason = DROP_BAD_PACKET_OUT;
        stage = STAGE_OUTER;
    }
}

// The parse verdict, after ports: the first failed check in datapath.md order,
// or the frame whose flow fields the later stages use (meta.flow, meta.cls.tunnel).
control ParseCheck(inout headers_t hdr, inout meta_t meta,
                   in standard_metadata_t std) {
    @hidden
    action parse_drop(in bit<8> reason) {
        meta.v.drop = reason;
        meta.v.stop = true;
    }
    @hidden
    action parse_punt(in bit<8> reason) {
        meta.v.punt = reason;
        meta.v.stop = true;
    }
    @hidden
    action use_outer() {
        meta.flow = meta.po.flow;
        meta.cls.tunnel = TUN_NONE;
    }
    @hidden
    action use_inner() {
        meta.flow = meta.pi.flow;
        meta.cls.tunnel = meta.prs.tunnel;
    }

    apply {
        bool err = std.parser_error != error.NoError;
        bit<8> reason;
        bit<8> stage;
        parse_error_reason(std.parser_error, reason, stage);
        bool outer_bad_csum = hdr.o.ipv4.isValid() && ones_fold(meta.po.csum) != 0xFFFF;
        bool inner_bad_csum = hdr.i.ipv4.isValid() && ones_fold(meta.pi.csum) != 0xFFFF;
        if (err && stage == STAGE_OUTER) {
            parse_drop(reason);
        } else if (outer_bad_csum) {
            parse_drop(DROP_IPV4_BAD_CHECKSUM);
        } else if (err && stage == STAGE_OUTER_L4) {
            parse_drop(reason);
        } else if (meta.po.punt != 0) {
            parse_punt(meta.po.punt);
        } else if (meta.cls.port_class == CLASS_UPLINK && meta.prs.tunnel != TUN_NONE) {
            if (hdr.o.ipv4.dst != meta.cfg.local_vtep_ip) {
                parse_drop(DROP_VTEP_MISMATCH);
            } else if (err && stage <= STAGE_INNER) {
                parse_drop(reason);
            } else if (inner_bad_csum) {
                parse_drop(DROP_IPV4_BAD_CHECKSUM);
            } else if (err) {
                parse_drop(reason);
            } else if (meta.pi.punt != 0) {
                parse_punt(meta.pi.punt);
            } else {
                use_inner();
            }
        } else {
            // Not a tunnel: whatever the parser made of the UDP payload stays payload.
            use_outer();
        }
    }
}

control ZtnicComputeChecksum(inout headers_t hdr, inout meta_t meta) {
    apply {
        update_checksum(hdr.enc_ipv4.isValid(),
            { hdr.enc_ipv4.version, hdr.enc_ipv4.ihl, hdr.enc_ipv4.tos,
              hdr.enc_ipv4.total_len, hdr.enc_ipv4.id, hdr.enc_ipv4.flags,
              hdr.enc_ipv4.frag_offset, hdr.enc_ipv4.ttl, hdr.enc_ipv4.protocol,
              hdr.enc_ipv4.src, hdr.enc_ipv4.dst },
            hdr.enc_ipv4.checksum, HashAlgorithm.csum16);
    }
}

control ZtnicDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.enc_eth);
        pkt.emit(hdr.enc_ipv4);
        pkt.emit(hdr.enc_udp);
        pkt.emit(hdr.enc_geneve);
        pkt.emit(hdr.enc_opt);
        pkt.emit(hdr.enc_vxlan);
        pkt.emit(hdr.o);
        pkt.emit(hdr.geneve);
        pkt.emit(hdr.geneve_opt);
        pkt.emit(hdr.vxlan);
        pkt.emit(hdr.i);
    }
}

#endif
