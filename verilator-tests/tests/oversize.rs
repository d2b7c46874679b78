//! Frames longer than `config.max_frame` (docs/datapath.md §1): the ingress cuts them on
//! arrival, the pipeline drops and counts them as `oversize`, and the frames around
//! them pass untouched — whatever their length, even far beyond the 32 KiB frame FIFO,
//! nothing hangs.

use ztnic_model::{Config, DropReason, Op, Verdict};
use ztnic_scenario::{ModelTarget, Target};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;
use ztnic_verilator_tests::RtlTarget;

fn targets(max_frame: u16) -> (RtlTarget, ModelTarget) {
    let mut ops = world_udp_setup();
    ops.push(Op::SetConfig(Box::new(Config {
        max_frame,
        ..Config::default()
    })));
    let mut rtl = RtlTarget::new().expect("rtl");
    let mut model = ModelTarget::default();
    model.reset(&Config::default()).expect("reset");
    for op in &ops {
        rtl.apply_op(op).expect("rtl op");
        model.apply(op).expect("model op");
    }
    (rtl, model)
}

/// A frame of `len` bytes: a valid UDP header, the rest payload bytes.
fn long_frame(len: usize, sport: u16) -> Vec<u8> {
    let mut f = udp_frame(64, [10, 0, 0, 1], [8, 8, 8, 8], sport, 53);
    f.resize(len, 0xa5);
    f
}

fn normal(i: u16) -> (u16, Vec<u8>) {
    (
        1,
        udp_frame(64 + i as usize, [10, 0, 0, 1], [8, 8, 4, 4], 5000 + i, 53),
    )
}

#[test]
fn frames_of_64_kib_between_normal_ones_are_cut_dropped_and_counted() {
    let (mut rtl, mut model) = targets(ztnic_model::MAX_FRAME_DEFAULT);
    let mut frames = Vec::new();
    for (i, len) in [65_536usize, 40_042, 9_601, 100_000, 65_536]
        .into_iter()
        .enumerate()
    {
        frames.push(normal(i as u16));
        frames.push((1, long_frame(len, 6000 + i as u16)));
    }
    // exactly max_frame passes
    frames.push((1, long_frame(9_600, 6100)));
    frames.push(normal(99));
    let got = rtl.send_burst(1, &frames).expect("no hang");
    let want: Vec<_> = frames
        .iter()
        .map(|(p, f)| model.send(1, *p, f).expect("model"))
        .collect();
    assert_eq!(got, want);
    let oversize = got
        .iter()
        .filter(|o| o.verdict == Verdict::Drop(DropReason::Oversize))
        .count();
    assert_eq!(oversize, 5);
    assert_eq!(
        got.iter()
            .filter(|o| matches!(o.verdict, Verdict::Forward { .. }))
            .count(),
        7
    );
    let c = rtl.read_counters().expect("counters");
    assert_eq!(c.drops.get(&DropReason::Oversize), Some(&5));
    assert_eq!(c, model.counters().expect("model counters"));
}

#[test]
fn a_lowered_max_frame_cuts_at_the_new_length_and_the_exact_length_passes() {
    for max_frame in [64u16, 100, 1000, 1518] {
        let (mut rtl, mut model) = targets(max_frame);
        let m = usize::from(max_frame);
        let frames = vec![
            (1, long_frame(m.max(64), 7000)),
            (1, long_frame(m + 1, 7001)),
            (1, long_frame(m + 64, 7002)),
            (1, long_frame(3 * m + 7, 7003)),
            (1, long_frame(m.max(64), 7004)),
        ];
        let got = rtl.send_burst(1, &frames).expect("no hang");
        let want: Vec<_> = frames
            .iter()
            .map(|(p, f)| model.send(1, *p, f).expect("model"))
            .collect();
        assert_eq!(got, want, "max_frame {max_frame}");
        assert_eq!(
            got.iter()
                .filter(|o| o.verdict == Verdict::Drop(DropReason::Oversize))
                .count(),
            3,
            "max_frame {max_frame}"
        );
    }
}

#[test]
fn a_frame_sent_alone_after_a_cut_one_leaves_once_the_cut_beats_are_discarded() {
    // one exchange per frame, as `ztnic replay` does: the egress discards the cut
    // frame's beats (up to max_frame bytes) before the next frame can leave
    let (mut rtl, mut model) = targets(ztnic_model::MAX_FRAME_DEFAULT);
    for (i, len) in [40_042usize, 64, 65_536, 64, 9_601, 1500]
        .into_iter()
        .enumerate()
    {
        let f = long_frame(len, 8000 + i as u16);
        let got = rtl.send_frame(1, 1, &f).expect("no hang");
        assert_eq!(
            got,
            model.send(1, 1, &f).expect("model"),
            "frame {i} ({len} bytes)"
        );
    }
}
