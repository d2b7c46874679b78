// ztnic: the zero-trust SmartNIC datapath for bmv2 (v1model).
// design.md sections 4-6; docs/datapath.md gives the exact per-packet semantics
// and docs/p4.md how this program realises them. This file only wires the stages:
//   parse -> ports -> parse_check -> classify -> ctx_check -> conntrack -> policy
//   -> ct_commit -> act
#include <core.p4>
#include <v1model.p4>

#include "headers.p4"
#include "config.p4"
#include "parser.p4"
#include "classify.p4"
#include "ctx_check.p4"
#include "conntrack.p4"
#include "policy.p4"
#include "act.p4"

control ingress(inout headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {
    Config() cfg;
    Ports() ports;
    ParseCheck() parse_check;
    Classify() classify;
    CtxCheck() ctx_check;
    CtLookup() conntrack;
    Policy() policy;
    CtCommit() ct_commit;
    Act() act;

    apply {
        cfg.apply(meta);
        ports.apply(hdr, meta, std);
        if (!meta.v.stop) {
            parse_check.apply(hdr, meta, std);
        }
        if (!meta.v.stop) {
            classify.apply(hdr, meta);
        }
        if (!meta.v.stop) {
            ctx_check.apply(hdr, meta);
        }
        if (!meta.v.stop) {
            conntrack.apply(hdr, meta, std);
            if (!meta.v.stop) {
                if (meta.ct.policy == 1) {
                    policy.apply(meta);
                }
                ct_commit.apply(hdr, meta);
            }
        }
        act.apply(hdr, meta, std);
    }
}

control egress(inout headers_t hdr, inout meta_t meta,
               inout standard_metadata_t std) {
    apply { }
}

V1Switch(ZtnicParser(), ZtnicVerifyChecksum(), ingress(), egress(),
         ZtnicComputeChecksum(), ZtnicDeparser()) main;
