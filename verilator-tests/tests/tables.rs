//! Table properties through AXI4-Lite: random inserts, deletes and lookups against a
//! map, and the guarantees of the table access window.

use std::collections::HashMap;

use ztnic_fpga::FpgaError;
use ztnic_model::{CtxEpoch, Verdict};
use ztnic_rtl_sim::Bits;
use ztnic_rtl_sim::regmap::{layout, table_enum};
use ztnic_scenario::Op;
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;
use ztnic_verilator_tests::{Rng, RtlTarget};

#[test]
fn random_ctx_epoch_inserts_and_deletes_match_a_map() {
    let mut t = RtlTarget::new().expect("model");
    let mut rng = Rng::new(99);
    let mut map: HashMap<u32, u8> = HashMap::new();
    for _ in 0..300 {
        let ctx = 256 + rng.below(40) as u32;
        if rng.chance(2, 3) {
            let epoch = rng.below(256) as u8;
            t.apply_op(&Op::SetCtxEpoch(CtxEpoch { ctx, epoch }))
                .expect("insert");
            map.insert(ctx, epoch);
        } else {
            let r = t.apply_op(&Op::DeleteCtxEpoch { ctx });
            assert_eq!(r.is_ok(), map.remove(&ctx).is_some());
        }
    }
    // every slot read back: exactly the map's entries are valid
    let log2 = t.geometry().ctx_epoch_log2;
    let mut found = HashMap::new();
    for slot in 0..(4u32 << log2) {
        let w = t
            .driver()
            .table_read(table_enum::CTX_EPOCH, slot, 2)
            .expect("read");
        let b = Bits::from_words(&w);
        if b.get(layout::ctx_epoch::VALID) == 1 {
            let ctx = b.get(layout::ctx_epoch::CTX) as u32;
            assert!(
                found
                    .insert(ctx, b.get(layout::ctx_epoch::EPOCH) as u8)
                    .is_none(),
                "ctx {ctx} twice"
            );
        }
    }
    assert_eq!(found, map);
}

#[test]
fn lookups_through_the_datapath_follow_inserts_and_deletes() {
    let mut t = RtlTarget::new().expect("model");
    for op in world_udp_setup() {
        t.apply_op(&op).expect("setup");
    }
    let f = udp_frame(80, [10, 0, 0, 1], [8, 8, 8, 8], 7, 53);
    let mut rng = Rng::new(4);
    let mut present = true;
    for i in 0..40u64 {
        if rng.chance(1, 2) {
            t.apply_op(&Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }))
                .expect("insert");
            present = true;
        } else if present {
            t.apply_op(&Op::DeleteCtxEpoch { ctx: 256 })
                .expect("delete");
            present = false;
        }
        let out = t.send_frame(i, 1, &f).expect("send");
        match out.verdict {
            Verdict::Forward { .. } => assert!(present, "forwarded without a ctx_epoch entry"),
            Verdict::Punt { .. } => assert!(!present, "punted with a ctx_epoch entry"),
            Verdict::Drop(r) => panic!("unexpected drop {r}"),
        }
    }
}

#[test]
fn out_of_range_table_index_is_an_error_not_a_write() {
    let mut t = RtlTarget::new().expect("model");
    let log2 = t.geometry().ctx_epoch_log2;
    let err = t
        .driver()
        .table_write(table_enum::CTX_EPOCH, 4 << log2, &[1])
        .expect_err("out of range");
    assert!(
        matches!(err, FpgaError::Table { table, index } if table == table_enum::CTX_EPOCH && index == 4 << log2),
        "{err:?}"
    );
    let err = t
        .driver()
        .table_write(200, 0, &[1])
        .expect_err("unknown table");
    assert!(matches!(err, FpgaError::Table { table: 200, .. }));
}

#[test]
fn register_blocks_chain_from_address_zero() {
    let mut t = RtlTarget::new().expect("model");
    let mut addr = 0u32;
    let mut types = Vec::new();
    for _ in 0..16 {
        types.push(t.nic().read(addr).expect("type"));
        addr = t.nic().read(addr + 8).expect("next");
        if addr == 0 {
            break;
        }
    }
    assert_eq!(types.len(), 5);
    assert_eq!(types[0], ztnic_rtl_sim::regmap::id::TYPE);
}
