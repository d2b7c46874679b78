// Stage 5, policy (design.md section 6, datapath.md section 6): default deny; the
// highest-priority matching rule decides. The runtime writes a rule's P4Runtime
// priority as 2*priority + 1 for deny and 2*priority for allow, so at equal rule
// priority deny wins. Conntrack writes the query (meta.pol keys) and decides when
// the policy runs; this stage writes meta.pol.hit and meta.pol.allow.
#ifndef ZTNIC_POLICY_P4
#define ZTNIC_POLICY_P4

#include "headers.p4"

control Policy(inout meta_t meta) {
    // Packets and bytes each rule decided.
    direct_counter(CounterType.packets_and_bytes) policy_counter;

    // `rule_id` names the rule (the runtime's rule id): a controller reading the
    // table back, or an agent realising it on other hardware, knows which rule an
    // entry is; the trace and the FPGA's verdict side-band report it.
    action allow(bit<32> rule_id) {
        meta.pol.hit = 1;
        meta.pol.allow = 1;
        meta.pol.rule_id = rule_id;
    }
    action deny(bit<32> rule_id) {
        meta.pol.hit = 1;
        meta.pol.allow = 0;
        meta.pol.rule_id = rule_id;
    }
    table policy {
        key = {
            meta.pol.src_ctx: ternary @name("src_ctx");
            meta.pol.dst_ctx: ternary @name("dst_ctx");
            meta.pol.proto: ternary @name("proto");
            meta.pol.port: range @name("port");
        }
        actions = { allow; deny; @defaultonly NoAction; }
        default_action = NoAction;
        counters = policy_counter;
        size = 4096;
    }

    apply {
        policy.apply();
    }
}

#endif
