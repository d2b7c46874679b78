// Stage 3, ctx check (datapath.md section 4): the source context must be known
// and, for a Geneve tag, carry the current epoch; otherwise the packet goes to
// the slow path (punt + ctx_miss digest). Writes meta.cls.epoch.
#ifndef ZTNIC_CTX_CHECK_P4
#define ZTNIC_CTX_CHECK_P4

#include "headers.p4"

control CtxCheck(inout headers_t hdr, inout meta_t meta) {
    // Packets and bytes per source context.
    direct_counter(CounterType.packets_and_bytes) ctx_epoch_counter;

    action set(bit<8> epoch) {
        meta.cls.epoch = epoch;
    }
    table ctx_epoch {
        key = { meta.cls.src_ctx: exact @name("ctx"); }
        actions = { set; @defaultonly NoAction; }
        default_action = NoAction;
        counters = ctx_epoch_counter;
        size = 4096;
    }

    @hidden

    action slow_path(in bit<8> reason) {
        meta.v.punt = reason;
        meta.v.stop = true;
        digest<ctx_miss>(1, { meta.cls.src_ctx, meta.cls.wire_epoch, reason,
                                meta.cls.in_port });
    }

    apply {
        // Untagged traffic from the network (context `world`) skips this stage.
        if (meta.cls.port_class == CLASS_VPORT || meta.cls.tagged == 1) {
            if (!ctx_epoch.apply().hit) {
                slow_path(PUNT_CTX_UNKNOWN);
            } else if (meta.cls.tunnel == TUN_GENEVE && meta.cls.wire_epoch != meta.cls.epoch) {
                slow_path(PUNT_CTX_STALE_EPOCH);
            }
        }
    }
}

#endif
