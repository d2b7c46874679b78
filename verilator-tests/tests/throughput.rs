//! Line rate and pipeline hazards, measured in clocks (deterministic, never wall time):
//! back-to-back bursts of minimum-size frames must be accepted one beat per clock with
//! the output ready, and packets of one connection, or of connections sharing a
//! conntrack bucket, sent back to back must get exactly the verdicts the reference
//! model gives them one at a time.

use std::net::IpAddr;

use ztnic_model::policy::Action;
use ztnic_model::{Config, LocalEp, Op, Outcome, PortRange, ProtoMatch, Rule, Verdict};
use ztnic_scenario::{ModelTarget, Target};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::{tcp_frame, udp_frame};
use ztnic_verilator_tests::RtlTarget;
use ztnic_verilator_tests::storm::{storm_op, storm_op_is_final};

/// vport 1 (10.0.0.1, ctx 256) may send UDP and TCP to `world`; replies come back on
/// the uplink (port 0) to 10.0.0.1.
fn setup(ct_buckets: u32) -> Vec<Op> {
    let mut ops = world_udp_setup();
    ops.push(Op::SetConfig(Box::new(Config {
        ct_buckets,
        ..Config::default()
    })));
    ops.push(Op::SetLocalEp(LocalEp {
        ip: "10.0.0.1".parse::<IpAddr>().expect("literal"),
        vport: 1,
        ctx: 256,
        zone: 0,
    }));
    ops.push(Op::SetRule(Rule {
        id: 3,
        priority: 1,
        src: Some(256),
        dst: None,
        proto: ProtoMatch(Some(6)),
        ports: PortRange::ANY,
        action: Action::Allow,
    }));
    ops
}

fn targets(ops: &[Op]) -> (RtlTarget, ModelTarget) {
    let mut rtl = RtlTarget::new().expect("rtl");
    let mut model = ModelTarget::default();
    model.reset(&Config::default()).expect("reset");
    for op in ops {
        rtl.apply_op(op).expect("rtl op");
        model.apply(op).expect("model op");
    }
    (rtl, model)
}

/// Sends `frames` back to back and returns (first input beat clock, last input beat
/// clock, input beats, outcomes).
fn burst(
    rtl: &mut RtlTarget,
    at: u64,
    frames: &[(u16, Vec<u8>)],
) -> (u64, u64, usize, Vec<Outcome>) {
    rtl.nic().record_input_beats(true);
    let out = rtl.send_burst(at, frames).expect("burst");
    let beats = rtl.nic().input_beat_cycles().to_vec();
    rtl.nic().record_input_beats(false);
    let first = *beats.first().expect("beats");
    let last = *beats.last().expect("beats");
    (first, last, beats.len(), out)
}

fn model_outcomes(model: &mut ModelTarget, at: u64, frames: &[(u16, Vec<u8>)]) -> Vec<Outcome> {
    frames
        .iter()
        .map(|(p, f)| model.send(at, *p, f).expect("model"))
        .collect()
}

fn assert_no_input_stall(first: u64, last: u64, beats: usize, what: &str) {
    assert_eq!(
        last - first + 1,
        beats as u64,
        "{what}: {beats} beats took {} clocks",
        last - first + 1
    );
}

#[test]
fn mixed_flow_burst_of_64_byte_frames_is_accepted_one_beat_per_clock() {
    let (mut rtl, mut model) = targets(&setup(1024));
    let frames: Vec<(u16, Vec<u8>)> = (0..600u16)
        .map(|i| {
            let dst = [8, 8, (i >> 8) as u8, i as u8];
            (1, udp_frame(64, [10, 0, 0, 1], dst, 1000 + i, 53))
        })
        .collect();
    let (first, last, beats, got) = burst(&mut rtl, 1, &frames);
    assert_eq!(beats, frames.len());
    assert_no_input_stall(first, last, beats, "600 flows");
    assert_eq!(got, model_outcomes(&mut model, 1, &frames));
    assert!(
        got.iter()
            .all(|o| matches!(o.verdict, Verdict::Forward { .. }))
    );
    assert_eq!(
        rtl.read_counters().expect("counters"),
        model.counters().expect("model counters")
    );
}

#[test]
fn single_flow_burst_of_64_byte_frames_is_accepted_one_beat_per_clock() {
    let (mut rtl, mut model) = targets(&setup(1024));
    let f = udp_frame(64, [10, 0, 0, 1], [8, 8, 8, 8], 4000, 53);
    let frames: Vec<(u16, Vec<u8>)> = (0..600).map(|_| (1, f.clone())).collect();
    let (first, last, beats, got) = burst(&mut rtl, 1, &frames);
    assert_no_input_stall(first, last, beats, "one flow");
    assert_eq!(got, model_outcomes(&mut model, 1, &frames));
    // one rule and one context counted 600 times in 600 consecutive clocks
    assert_eq!(
        rtl.read_counters().expect("counters"),
        model.counters().expect("model counters")
    );
}

#[test]
fn bursts_of_every_frame_size_are_accepted_one_beat_per_clock() {
    let (mut rtl, _) = targets(&setup(1024));
    for (n, len) in [60usize, 64, 65, 100, 127, 128, 129, 256, 512, 1500, 9000]
        .into_iter()
        .enumerate()
    {
        let frames: Vec<(u16, Vec<u8>)> = (0..400u16)
            .map(|i| {
                (
                    1,
                    udp_frame(len, [10, 0, 0, 1], [8, 8, n as u8, i as u8], 2000 + i, 53),
                )
            })
            .collect();
        let (first, last, beats, got) = burst(&mut rtl, 1, &frames);
        assert_eq!(beats, 400 * len.div_ceil(64));
        assert_no_input_stall(first, last, beats, &format!("{len}-byte frames"));
        assert!(
            got.iter()
                .all(|o| matches!(o.verdict, Verdict::Forward { .. })),
            "{len}"
        );
    }
}

#[test]
fn back_to_back_packets_of_one_connection_match_the_model() {
    let (mut rtl, mut model) = targets(&setup(1024));
    let (a, b) = ([10, 0, 0, 1], [9, 9, 9, 9]);
    let mut frames = Vec::new();
    // a handshake, data both ways and a close, every segment right behind the last
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x02, 100, 0, 1000)));
    frames.push((0, tcp_frame(b, a, 80, 5000, 0x12, 700, 101, 1000)));
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x10, 101, 701, 1000)));
    for k in 0..6u32 {
        frames.push((1, tcp_frame(a, b, 5000, 80, 0x10, 101, 701 + k, 1000)));
        frames.push((0, tcp_frame(b, a, 80, 5000, 0x10, 701 + k, 101, 1000)));
    }
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x11, 101, 707, 1000)));
    frames.push((0, tcp_frame(b, a, 80, 5000, 0x11, 707, 102, 1000)));
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x10, 102, 708, 1000)));
    // invalid flags and an out-of-window segment in the middle of the stream
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x03, 1, 0, 1000)));
    frames.push((1, tcp_frame(a, b, 5000, 80, 0x10, 900_000, 708, 1000)));
    // a UDP request and its replies, back to back
    frames.push((1, udp_frame(60, a, b, 6000, 53)));
    frames.push((0, udp_frame(60, b, a, 53, 6000)));
    frames.push((1, udp_frame(60, a, b, 6000, 53)));
    let (_, _, _, got) = burst(&mut rtl, 5, &frames);
    let want = model_outcomes(&mut model, 5, &frames);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "packet {i}");
    }
}

#[test]
fn flows_sharing_one_conntrack_bucket_back_to_back_match_the_model() {
    // one bucket: every flow lands in the same 4 ways (inserts, evictions, ct_full)
    let (mut rtl, mut model) = targets(&setup(1));
    let a = [10, 0, 0, 1];
    let mut frames = Vec::new();
    for round in 0..3u16 {
        for i in 0..7u16 {
            let b = [7, 7, 7, i as u8];
            frames.push((1, udp_frame(60, a, b, 3000 + i, 53)));
            if (i + round) % 3 == 0 {
                frames.push((0, udp_frame(60, b, a, 53, 3000 + i)));
            }
        }
    }
    for t in [10u64, 20, 31_000_000] {
        let (_, _, _, got) = burst(&mut rtl, t, &frames);
        let want = model_outcomes(&mut model, t, &frames);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "time {t}, packet {i}");
        }
    }
}

#[test]
fn table_writes_during_a_burst_of_64_byte_frames_do_not_stall_it() {
    let (mut rtl, mut model) = targets(&setup(1024));
    let frames: Vec<(u16, Vec<u8>)> = (0..3000u16)
        .map(|i| {
            let dst = [8, 9, (i >> 8) as u8, i as u8];
            (1, udp_frame(64, [10, 0, 0, 1], dst, 3000 + i, 53))
        })
        .collect();
    rtl.nic().set_time_us(1);
    rtl.nic().record_input_beats(true);
    for (p, f) in &frames {
        rtl.nic().send(*p, f);
    }
    // the driver writes tables as fast as it can while the frames flow
    let mut writes = 0u32;
    while rtl.nic().pending().0 > 0 {
        let op = storm_op(writes);
        rtl.apply_op(&op).expect("table write during the burst");
        model.apply(&op).expect("model op");
        writes += 1;
    }
    rtl.nic().run_until_idle(100_000).expect("drain");
    let beats = rtl.nic().input_beat_cycles().to_vec();
    rtl.nic().record_input_beats(false);
    assert!(
        writes >= 20,
        "only {writes} table writes overlapped the burst"
    );
    let (first, last) = (beats[0], beats[beats.len() - 1]);
    assert_eq!(beats.len(), frames.len());
    assert_no_input_stall(
        first,
        last,
        beats.len(),
        "64-byte frames under a write storm",
    );
    // one verdict per clock, in order, each a forward
    let statuses = rtl.nic().take_statuses();
    rtl.nic().take_frames();
    assert_eq!(statuses.len(), frames.len());
    for w in statuses.windows(2) {
        assert_eq!(
            w[1].at_cycle,
            w[0].at_cycle + 1,
            "a verdict gap under the write storm"
        );
    }
    let fwd = ztnic_rtl_sim::regmap::verdict_enum::FORWARD;
    assert!(statuses.iter().all(|s| u32::from(s.verdict) == fwd));
    // every write landed: each entry reads back as last written
    let back = rtl.driver().read_back().expect("read back");
    for i in (0..writes).filter(|i| storm_op_is_final(*i, writes)) {
        let op = storm_op(i);
        assert!(back.contains(&op), "write {i} ({op:?}) did not land");
    }
}
