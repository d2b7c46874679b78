// Stage 1, parse (datapath.md sections 1 and 2): the parser, the parse verdict
// (parse_check) and the deparser.
#ifndef ZTNIC_PARSER_P4
#define ZTNIC_PARSER_P4

#include "headers.p4"

// Every datapath check that fails in the parser rejects with this error; the
// reason is in meta.prs.drop (see parse_frame.p4).
error { ZtnicDrop }

parser ZtnicParser(packet_in pkt, out headers_t hdr, inout meta_t meta,
                   inout standard_metadata_t std) {
    state start {
        meta.prs.stage = STAGE_OUTER;
        meta.po.avail = std.packet_length;
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: outer_eth;
        }
    }

    // Packets from the CPU port start with the packet_out controller header.
    state parse_packet_out {
        meta.prs.drop = DROP_BAD_PACKET_OUT;
        verify(meta.po.avail >= 4, error.ZtnicDrop);
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
#define FRAME_STAGE STAGE_OUTER
#define FRAME_STAGE_L4 STAGE_OUTER_L4
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
#undef FRAME_STAGE
#undef FRAME_STAGE_L4
#undef FRAME_UDP_NEXT

    // Geneve with exactly the ztnic option; the inner frame is the rest of the
    // outer UDP payload.
    state tun_geneve {
        meta.prs.stage = STAGE_TUNNEL;
        meta.prs.tunnel = TUN_GENEVE;
        meta.prs.drop = DROP_TUNNEL_TRUNCATED;
        verify((bit<32>)hdr.o.udp.length >= 8 + 20, error.ZtnicDrop);
        pkt.extract(hdr.geneve);
        pkt.extract(hdr.geneve_opt);
        meta.prs.drop = DROP_GENEVE_MALFORMED;
        verify(hdr.geneve.version == 0 && hdr.geneve.opt_len == 3 &&
               hdr.geneve.oam == 0 && hdr.geneve.critical == 1 &&
               hdr.geneve.protocol == ETHERTYPE_TEB &&
               hdr.geneve_opt.opt_class == ZTNIC_OPT_CLASS &&
               hdr.geneve_opt.opt_type == ZTNIC_OPT_TYPE &&
               hdr.geneve_opt.length == ZTNIC_OPT_LEN, error.ZtnicDrop);
        meta.pi.avail = (bit<32>)hdr.o.udp.length - (8 + 20);
        transition inner_eth;
    }

    state tun_vxlan {
        meta.prs.stage = STAGE_TUNNEL;
        meta.prs.tunnel = TUN_VXLAN;
        meta.prs.drop = DROP_TUNNEL_TRUNCATED;
        verify((bit<32>)hdr.o.udp.length >= 8 + 8, error.ZtnicDrop);
        pkt.extract(hdr.vxlan);
        meta.prs.drop = DROP_VXLAN_MALFORMED;
        verify((hdr.vxlan.flags & 0x08) != 0, error.ZtnicDrop);
        meta.pi.avail = (bit<32>)hdr.o.udp.length - (8 + 8);
        transition inner_eth;
    }

#define S(name) inner_##name
#define F hdr.i
#define FI meta.pi
#define FRAME_STAGE STAGE_INNER
#define FRAME_STAGE_L4 STAGE_INNER_L4
#define FRAME_UDP_NEXT accept;
#include "parse_frame.p4"
#undef S
#undef F
#undef FI
#undef FRAME_STAGE
#undef FRAME_STAGE_L4
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
        bit<8> stage = meta.prs.stage;
        bool outer_bad_csum = hdr.o.ipv4.isValid() && ones_fold(meta.po.csum) != 0xFFFF;
        bool inner_bad_csum = hdr.i.ipv4.isValid() && ones_fold(meta.pi.csum) != 0xFFFF;
        if (err && stage == STAGE_OUTER) {
            parse_drop(meta.prs.drop);
        } else if (outer_bad_csum) {
            parse_drop(DROP_IPV4_BAD_CHECKSUM);
        } else if (err && stage == STAGE_OUTER_L4) {
            parse_drop(meta.prs.drop);
        } else if (meta.po.punt != 0) {
            parse_punt(meta.po.punt);
        } else if (meta.cls.port_class == CLASS_UPLINK && meta.prs.tunnel != TUN_NONE) {
            if (hdr.o.ipv4.dst != meta.cfg.local_vtep_ip) {
                parse_drop(DROP_VTEP_MISMATCH);
            } else if (err && stage <= STAGE_INNER) {
                parse_drop(meta.prs.drop);
            } else if (inner_bad_csum) {
                parse_drop(DROP_IPV4_BAD_CHECKSUM);
            } else if (err) {
                parse_drop(meta.prs.drop);
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
