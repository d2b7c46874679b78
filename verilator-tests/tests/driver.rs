//! The FPGA driver (`ztnic-fpga`) against the Verilated NIC: refusals of entries the
//! hardware cannot realise, conntrack entries and events read back.

use ztnic_fpga::{EventKind, FpgaError};
use ztnic_model::policy::Action;
use ztnic_model::{Op, PortRange, ProtoMatch, Rule, Verdict};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;
use ztnic_verilator_tests::{RtlError, RtlTarget};

fn rule(id: u32, lo: u16) -> Rule {
    Rule {
        id,
        priority: 5,
        src: Some(300),
        dst: Some(400),
        proto: ProtoMatch(Some(6)),
        ports: PortRange { lo, hi: lo },
        action: Action::Allow,
    }
}

#[test]
fn a_fifth_rule_on_one_decomposed_key_is_refused_as_unsupported() {
    let mut t = RtlTarget::new().expect("rtl");
    for id in 0..4 {
        t.apply_op(&Op::SetRule(rule(id, 80 + id as u16)))
            .expect("fits");
    }
    let err = t
        .apply_op(&Op::SetRule(rule(9, 99)))
        .expect_err("fifth rule");
    assert!(
        matches!(err, RtlError::Fpga(FpgaError::Unsupported(_))),
        "{err}"
    );
}

#[test]
fn a_context_wider_than_24_bits_is_refused_as_unsupported() {
    let mut t = RtlTarget::new().expect("rtl");
    let mut r = rule(1, 80);
    r.src = Some(1 << 24);
    let err = t.apply_op(&Op::SetRule(r)).expect_err("wide ctx");
    assert!(
        matches!(err, RtlError::Fpga(FpgaError::Unsupported(_))),
        "{err}"
    );
}

#[test]
fn an_admitted_flow_is_listed_in_conntrack_and_reported_as_ct_new() {
    let mut t = RtlTarget::new().expect("rtl");
    for op in world_udp_setup() {
        t.apply_op(&op).expect("setup");
    }
    let f = udp_frame(60, [10, 0, 0, 1], [8, 8, 4, 4], 1234, 53);
    let out = t.send_frame(7, 1, &f).expect("send");
    assert!(matches!(out.verdict, Verdict::Forward { .. }));
    let flows = t.driver().conntrack_entries().expect("entries");
    assert_eq!(flows.len(), 1);
    let e = &flows[0];
    // zone 0, proto 17, then the lower address 8.8.4.4 (IPv4-mapped) first
    assert_eq!(e.key[2], 17);
    assert_eq!(&e.key[3 + 10..3 + 16], &[0xff, 0xff, 8, 8, 4, 4]);
    assert!(!e.orig_lo, "10.0.0.1 is the higher endpoint and originated");
    assert_eq!(e.last_seen_us, 7);
    let ev = t.driver().pop_event().expect("pop").expect("an event");
    assert_eq!(ev.kind(), EventKind::CtNew);
    assert_eq!(ev.ctx, 256);
    // the record names the slot the entry went into
    assert_eq!(ev.ct_slot(), Some(e.slot));
    assert_eq!(t.driver().pop_event().expect("pop"), None);
}
