// Stage 2, classify (datapath.md sections 1 and 3): the ingress port's class
// (ports, before the parse verdict) and the packet's contexts, zone and route
// (classify, after it).
#ifndef ZTNIC_CLASSIFY_P4
#define ZTNIC_CLASSIFY_P4

#include "headers.p4"
#include "siphash.p4"

// Resolves the logical ingress port (packet_out handling) and its class.
// Writes meta.cls.in_port, port_class, frame_len; meta.v for packet_out.
control Ports(inout headers_t hdr, inout meta_t meta,
              in standard_metadata_t std) {
    action set_class(bit<8> class) {
        meta.cls.port_class = class;
    }
    table port_class {
        key = { meta.cls.in_port: exact @name("port"); }
        actions = { set_class; @defaultonly NoAction; }
        default_action = NoAction;
        size = 512;
    }

    @hidden

    action drop_with(in bit<8> reason) {
        meta.v.drop = reason;
        meta.v.stop = true;
    }

    apply {
        meta.cls.in_port = (bit<16>)std.ingress_port;
        meta.cls.frame_len = std.packet_length;
        if (std.packet_length > (bit<32>)meta.cfg.max_frame) {
            // longer than config.max_frame: dropped before anything else is looked at
            drop_with(DROP_OVERSIZE);
        } else if (std.ingress_port == CPU_PORT) {
            if (!hdr.packet_out.isValid()) {
                drop_with(DROP_BAD_PACKET_OUT);
            } else if (hdr.packet_out.mode == PKT_OUT_SEND) {
                meta.v.raw = true;
                meta.v.raw_port = hdr.packet_out.port;
                meta.v.stop = true;
            } else if (hdr.packet_out.mode == PKT_OUT_INJECT) {
                meta.cls.in_port = hdr.packet_out.port;
                meta.cls.frame_len = std.packet_length - 4;
            } else {
                drop_with(DROP_BAD_PACKET_OUT);
            }
            hdr.packet_out.setInvalid();
        }
        if (!meta.v.stop) {
            port_class.apply();
            if (meta.cls.port_class == CLASS_NONE) {
                drop_with(DROP_UNKNOWN_PORT);
            } else if (meta.cls.port_class == CLASS_CPU) {
                // Re-injected "from" the CPU port, or a cpu-class port that is not
                // CPU_PORT (the parser only reads packet_out on CPU_PORT).
                drop_with(DROP_BAD_PACKET_OUT);
            }
        }
    }
}

// TX: vport_ctx (spoof check), then local_ep or remote_ep for the destination.
// RX: the tag's context (and MAC), then local_ep for the destination.
// Writes meta.cls.src_ctx, tagged, dst_ctx, zone, ep_zone, route, out_port, vtep,
// wire_epoch.
control Classify(inout headers_t hdr, inout meta_t meta) {
    TagMac() rx_tag_mac;

    @hidden

    action drop_with(in bit<8> reason) {
        meta.v.drop = reason;
        meta.v.stop = true;
    }

    action set_src(bit<24> ctx, bit<16> zone) {
        meta.cls.src_ctx = ctx;
        meta.cls.zone = zone;
    }
    table vport_ctx {
        key = {
            meta.cls.in_port: exact @name("vport");
            meta.flow.src: exact @name("src");
        }
        actions = { set_src; @defaultonly NoAction; }
        default_action = NoAction;
        size = 4096;
    }

    // The conntrack zone is the local endpoint's: RX takes it from here, TX from vport_ctx.
    action deliver(bit<16> vport, bit<24> ctx, bit<16> zone) {
        meta.cls.route = ROUTE_LOCAL;
        meta.cls.out_port = vport;
        meta.cls.dst_ctx = ctx;
        meta.cls.ep_zone = zone;
    }
    table local_ep {
        key = { meta.flow.dst: exact @name("dst"); }
        actions = { deliver; @defaultonly NoAction; }
        default_action = NoAction;
        size = 4096;
    }

    action geneve(bit<32> vtep, bit<24> ctx) {
        meta.cls.route = ROUTE_GENEVE;
        meta.cls.vtep = vtep;
        meta.cls.dst_ctx = ctx;
    }
    action vxlan_gbp(bit<32> vtep, bit<24> ctx) {
        meta.cls.route = ROUTE_VXLAN;
        meta.cls.vtep = vtep;
        meta.cls.dst_ctx = ctx;
    }
    action world() {
        meta.cls.route = ROUTE_WORLD;
        meta.cls.dst_ctx = CTX_WORLD;
    }
    table remote_ep {
        key = { meta.flow.dst: lpm @name("dst"); }
        actions = { geneve; vxlan_gbp; world; @defaultonly NoAction; }
        default_action = NoAction;
        size = 4096;
    }

    apply {
        if (meta.cls.port_class == CLASS_VPORT) {
            if (!vport_ctx.apply().hit) {
                drop_with(DROP_SPOOFED_SOURCE);
            }
        } else if (meta.cls.tunnel == TUN_GENEVE) {
            meta.cls.src_ctx = hdr.geneve_opt.ctx;
            meta.cls.tagged = 1;
            meta.cls.wire_epoch = hdr.geneve_opt.epoch;
            if (hdr.geneve_opt.ctx == CTX_UNKNOWN) {
                drop_with(DROP_TAG_CTX_ZERO);
            } else if (meta.cfg.auth == 1) {
                rx_tag_mac.apply(meta, hdr.geneve_opt.ctx, hdr.geneve_opt.epoch);
                if (meta.sip.mac != hdr.geneve_opt.tag_mac) {
                    drop_with(DROP_TAG_BAD_MAC);
                }
            }
        } else if (meta.cls.tunnel == TUN_VXLAN && (hdr.vxlan.flags & 0x80) != 0) {
            meta.cls.src_ctx = (bit<24>)hdr.vxlan.gpid;
            meta.cls.tagged = 1;
            if (hdr.vxlan.gpid == 0) {
                drop_with(DROP_TAG_CTX_ZERO);
            }
        } else {
            meta.cls.src_ctx = CTX_WORLD;
        }
        if (!meta.v.stop) {
            if (local_ep.apply().hit) {
                if (meta.cls.port_class == CLASS_UPLINK) {
                    meta.cls.zone = meta.cls.ep_zone;
                }
            } else {
                if (meta.cls.port_class == CLASS_VPORT) {
                    if (!remote_ep.apply().hit) {
                        drop_with(DROP_NO_ROUTE);
                    }
                } else {
                    drop_with(DROP_NO_LOCAL_EP);
                }
            }
        }
    }
}

#endif
