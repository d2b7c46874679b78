// Stage 6, act (datapath.md sections 7 and 8): drop and count, punt with a
// packet_in header, or forward: unchanged, decapsulated, or encapsulated in
// Geneve + the ztnic option / VXLAN-GBP towards a remote VTEP.
#ifndef ZTNIC_ACT_P4
#define ZTNIC_ACT_P4

#include "headers.p4"
#include "siphash.p4"

// Packets dropped / punted, indexed by reason code.
counter(DROP_REASONS, CounterType.packets) drops;
counter(PUNT_REASONS, CounterType.packets) punts;

const bit<16> GENEVE_HDRS = 8 + 12;   // Geneve header + ztnic option
const bit<16> VXLAN_HDRS = 8;

control Act(inout headers_t hdr, inout meta_t meta,
            inout standard_metadata_t std) {
    TagMac() tx_tag_mac;

    @hidden

    action drop_counted() {
        drops.count((bit<32>)meta.v.drop);
        mark_to_drop(std);
    }

    @hidden

    action punt_counted() {
        punts.count((bit<32>)meta.v.punt);
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = meta.cls.in_port;
        hdr.packet_in.reason = meta.v.punt;
        hdr.packet_in.pad = 0;
        std.egress_spec = (bit<9>)meta.cfg.cpu_port;
    }

    // Outer Ethernet / IPv4 / UDP towards meta.cls.vtep around `tun_len` bytes of
    // tunnel header plus the frame.
    @hidden
    action outer_headers(bit<16> dport, bit<16> tun_len) {
        bit<16> udp_len = 8 + tun_len + (bit<16>)meta.cls.frame_len;
        hdr.enc_eth.setValid();
        hdr.enc_eth.dst = meta.cfg.gateway_mac;
        hdr.enc_eth.src = meta.cfg.local_mac;
        hdr.enc_eth.ether_type = ETHERTYPE_IPV4;
        hdr.enc_ipv4.setValid();
        hdr.enc_ipv4.version = 4;
        hdr.enc_ipv4.ihl = 5;
        hdr.enc_ipv4.tos = 0;
        hdr.enc_ipv4.total_len = 20 + udp_len;
        hdr.enc_ipv4.id = 0;
        hdr.enc_ipv4.flags = 0b010;   // DF
        hdr.enc_ipv4.frag_offset = 0;
        hdr.enc_ipv4.ttl = 64;
        hdr.enc_ipv4.protocol = PROTO_UDP;
        hdr.enc_ipv4.checksum = 0;    // computed in ZtnicComputeChecksum
        hdr.enc_ipv4.src = meta.cfg.local_vtep_ip;
        hdr.enc_ipv4.dst = meta.cls.vtep;
        hdr.enc_udp.setValid();
        hdr.enc_udp.src_port = 0xC000 | (meta.ct.pkt_h16 & 0x3FFF);
        hdr.enc_udp.dst_port = dport;
        hdr.enc_udp.length = udp_len;
        hdr.enc_udp.checksum = 0;
        std.egress_spec = (bit<9>)meta.cfg.uplink_port;
    }

    @hidden

    action geneve_header(in bit<32> mac) {
        hdr.enc_geneve.setValid();
        hdr.enc_geneve.version = 0;
        hdr.enc_geneve.opt_len = 3;
        hdr.enc_geneve.oam = 0;
        hdr.enc_geneve.critical = 1;
        hdr.enc_geneve.reserved = 0;
        hdr.enc_geneve.protocol = ETHERTYPE_TEB;
        hdr.enc_geneve.vni = meta.cfg.vni;
        hdr.enc_geneve.reserved2 = 0;
        hdr.enc_opt.setValid();
        hdr.enc_opt.opt_class = ZTNIC_OPT_CLASS;
        hdr.enc_opt.opt_type = ZTNIC_OPT_TYPE;
        hdr.enc_opt.reserved = 0;
        hdr.enc_opt.length = ZTNIC_OPT_LEN;
        hdr.enc_opt.ctx = meta.cls.src_ctx;
        hdr.enc_opt.epoch = meta.cls.epoch;
        hdr.enc_opt.tag_mac = mac;
    }

    @hidden

    action vxlan_gbp_header() {
        hdr.enc_vxlan.setValid();
        hdr.enc_vxlan.flags = 0x88;
        hdr.enc_vxlan.gbp_flags = 0;
        hdr.enc_vxlan.gpid = meta.cls.src_ctx[15:0];
        hdr.enc_vxlan.vni = meta.cfg.vni;
        hdr.enc_vxlan.reserved = 0;
    }

    // RX: remove everything up to the inner frame, and any bytes after the outer
    // UDP payload (outer Ethernet padding).
    @hidden
    action decap(in bit<32> inner_len) {
        hdr.o.eth.setInvalid();
        hdr.o.vlan0.setInvalid();
        hdr.o.vlan1.setInvalid();
        hdr.o.ipv4.setInvalid();
        hdr.o.ipv4_opt0.setInvalid();
        hdr.o.ipv4_opt1.setInvalid();
        hdr.o.ipv4_opt2.setInvalid();
        hdr.o.ipv4_opt3.setInvalid();
        hdr.o.ipv4_opt4.setInvalid();
        hdr.o.ipv4_opt5.setInvalid();
        hdr.o.ipv4_opt6.setInvalid();
        hdr.o.ipv4_opt7.setInvalid();
        hdr.o.ipv4_opt8.setInvalid();
        hdr.o.ipv4_opt9.setInvalid();
        hdr.o.udp.setInvalid();
        hdr.geneve.setInvalid();
        hdr.geneve_opt.setInvalid();
        hdr.vxlan.setInvalid();
        truncate(inner_len);
    }

    apply {
        if (meta.v.drop != 0) {
            drop_counted();
        } else if (meta.v.punt != 0) {
            punt_counted();
        } else if (meta.v.raw) {
            std.egress_spec = (bit<9>)meta.v.raw_port;
        } else if (meta.cls.route == ROUTE_LOCAL) {
            std.egress_spec = (bit<9>)meta.cls.out_port;
            if (meta.cls.tunnel == TUN_GENEVE) {
                decap((bit<32>)hdr.o.udp.length - 8 - (bit<32>)GENEVE_HDRS);
            } else if (meta.cls.tunnel == TUN_VXLAN) {
                decap((bit<32>)hdr.o.udp.length - 8 - (bit<32>)VXLAN_HDRS);
            }
        } else if (meta.cls.route == ROUTE_WORLD) {
            std.egress_spec = (bit<9>)meta.cfg.uplink_port;
        } else if (meta.cls.route == ROUTE_GENEVE) {
            if (meta.cfg.auth == 1) {
                tx_tag_mac.apply(meta, meta.cls.src_ctx, meta.cls.epoch);
            }
            outer_headers(UDP_PORT_GENEVE, GENEVE_HDRS);
            geneve_header(meta.sip.mac);
        } else if (meta.cls.route == ROUTE_VXLAN) {
            outer_headers(UDP_PORT_VXLAN, VXLAN_HDRS);
            vxlan_gbp_header();
        }
    }
}

#endif
