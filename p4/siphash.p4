// SipHash-2-4 for the context tag MAC (design.md section 3, datapath.md section 3),
// written out in 64-bit adds, xors and rotations. Used by classify (RX: verify)
// and act (TX: write the tag).
#ifndef ZTNIC_SIPHASH_P4
#define ZTNIC_SIPHASH_P4

#include "headers.p4"

// Reverses the bytes of a 64-bit word: the 8 message bytes in wire order become
// the little-endian word SipHash consumes.
bit<64> bswap64(in bit<64> x) {
    return x[7:0] ++ x[15:8] ++ x[23:16] ++ x[31:24] ++
           x[39:32] ++ x[47:40] ++ x[55:48] ++ x[63:56];
}

// tag_mac = low 32 bits of SipHash-2-4 keyed by config.auth_key over
//   ctx (3 bytes BE) | epoch (1) | src IP (4 or 16) | dst IP (4 or 16) |
//   proto (1) | src port (2 BE) | dst port (2 BE)
// of meta.flow, where the ports are the TCP/UDP ports (0 for other protocols).
// Writes meta.sip (the result in meta.sip.mac).
//
// The SipHash state lives in metadata (meta.sip) and each round is an action:
// with the state in local variables, p4c's LocalCopyPropagation substitutes each
// round's expressions into the next and the program takes exponential time to
// compile.
control TagMac(inout meta_t meta, in bit<24> ctx, in bit<8> epoch) {
    @hidden
    action sip_round() {
        meta.sip.v0 = meta.sip.v0 + meta.sip.v1;
        meta.sip.v1 = (meta.sip.v1 << 13) | (meta.sip.v1 >> 51);
        meta.sip.v1 = meta.sip.v1 ^ meta.sip.v0;
        meta.sip.v0 = (meta.sip.v0 << 32) | (meta.sip.v0 >> 32);
        meta.sip.v2 = meta.sip.v2 + meta.sip.v3;
        meta.sip.v3 = (meta.sip.v3 << 16) | (meta.sip.v3 >> 48);
        meta.sip.v3 = meta.sip.v3 ^ meta.sip.v2;
        meta.sip.v0 = meta.sip.v0 + meta.sip.v3;
        meta.sip.v3 = (meta.sip.v3 << 21) | (meta.sip.v3 >> 43);
        meta.sip.v3 = meta.sip.v3 ^ meta.sip.v0;
        meta.sip.v2 = meta.sip.v2 + meta.sip.v1;
        meta.sip.v1 = (meta.sip.v1 << 17) | (meta.sip.v1 >> 47);
        meta.sip.v1 = meta.sip.v1 ^ meta.sip.v2;
        meta.sip.v2 = (meta.sip.v2 << 32) | (meta.sip.v2 >> 32);
    }

    // One message word: v3 ^= m; two rounds; v0 ^= m.
    @hidden
    action sip_compress(in bit<64> m) {
        meta.sip.v3 = meta.sip.v3 ^ m;
        sip_round();
        sip_round();
        meta.sip.v0 = meta.sip.v0 ^ m;
    }

    @hidden

    action sip_init() {
        meta.sip.v0 = meta.cfg.auth_k0 ^ 0x736f6d6570736575;
        meta.sip.v1 = meta.cfg.auth_k1 ^ 0x646f72616e646f6d;
        meta.sip.v2 = meta.cfg.auth_k0 ^ 0x6c7967656e657261;
        meta.sip.v3 = meta.cfg.auth_k1 ^ 0x7465646279746573;
    }

    // IPv4: 17 bytes = 2 words + 1 tail byte (the length, 17, in the top byte).
    @hidden
    action message_v4() {
        bit<136> m = ctx ++ epoch ++ meta.flow.src[31:0] ++ meta.flow.dst[31:0] ++
                     meta.flow.proto ++ meta.flow.l4_sport ++ meta.flow.l4_dport;
        meta.sip.m0 = bswap64(m[135:72]);
        meta.sip.m1 = bswap64(m[71:8]);
        meta.sip.m2 = 8w17 ++ 48w0 ++ m[7:0];
    }

    // IPv6: 41 bytes = 5 words + 1 tail byte (the length, 41, in the top byte).
    @hidden
    action message_v6() {
        bit<328> m = ctx ++ epoch ++ meta.flow.src ++ meta.flow.dst ++
                     meta.flow.proto ++ meta.flow.l4_sport ++ meta.flow.l4_dport;
        meta.sip.m0 = bswap64(m[327:264]);
        meta.sip.m1 = bswap64(m[263:200]);
        meta.sip.m2 = bswap64(m[199:136]);
        meta.sip.m3 = bswap64(m[135:72]);
        meta.sip.m4 = bswap64(m[71:8]);
        meta.sip.m5 = 8w41 ++ 48w0 ++ m[7:0];
    }

    @hidden

    action sip_finish() {
        meta.sip.v2 = meta.sip.v2 ^ 0xff;
        sip_round();
        sip_round();
        sip_round();
        sip_round();
        bit<64> h = meta.sip.v0 ^ meta.sip.v1 ^ meta.sip.v2 ^ meta.sip.v3;
        meta.sip.mac = h[31:0];
    }

    apply {
        sip_init();
        if (meta.flow.ip == 4) {
            message_v4();
            sip_compress(meta.sip.m0);
            sip_compress(meta.sip.m1);
            sip_compress(meta.sip.m2);
        } else {
            message_v6();
            sip_compress(meta.sip.m0);
            sip_compress(meta.sip.m1);
            sip_compress(meta.sip.m2);
            sip_compress(meta.sip.m3);
            sip_compress(meta.sip.m4);
            sip_compress(meta.sip.m5);
        }
        sip_finish();
    }
}

#endif
