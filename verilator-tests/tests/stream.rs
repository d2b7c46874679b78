//! The stream interfaces under stress: frame-size sweeps with idle input cycles and
//! random output back-pressure, back-to-back bursts that must lose no beat, and random
//! frames that must never hang the pipeline and must match the reference model.

use ztnic_model::{Config, Verdict};
use ztnic_scenario::{ModelTarget, Target};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::udp_frame;
use ztnic_verilator_tests::{Rng, RtlTarget};

const SIZES: &[usize] = &[60, 61, 63, 64, 65, 66, 100, 127, 128, 129, 512, 1500, 9000];

fn sweep_sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (60..=127).collect();
    v.extend_from_slice(&[128, 129, 512, 1500, 9000]);
    v
}

fn rtl_with(ops: &[ztnic_scenario::Op]) -> RtlTarget {
    let mut t = RtlTarget::new().expect("model starts");
    for op in ops {
        t.apply_op(op).expect("setup op");
    }
    t
}

#[test]
fn packet_out_frames_of_every_size_leave_unchanged_under_idle_and_backpressure() {
    let mut t = rtl_with(&world_udp_setup());
    let mut rng = Rng::new(7);
    let mut rng2 = Rng::new(11);
    t.nic()
        .set_input_idle(Some(Box::new(move || rng.chance(1, 4))));
    t.nic()
        .set_output_stall(Some(Box::new(move || rng2.chance(1, 3))));
    for len in sweep_sizes() {
        let mut f = vec![0u8, 0, 0, 0];
        f.extend((0..len).map(|i| (i * 7 + len) as u8));
        let out = t.send_frame(0, 255, &f).expect("packet_out");
        assert_eq!(
            out.verdict,
            Verdict::Forward {
                port: 0,
                frame: f[4..].to_vec()
            },
            "size {len}"
        );
    }
}

#[test]
fn udp_frames_of_every_size_match_the_model_under_backpressure() {
    let ops = world_udp_setup();
    let mut t = rtl_with(&ops);
    let mut model = ModelTarget::default();
    model.reset(&Config::default()).expect("reset");
    for op in &ops {
        model.apply(op).expect("model op");
    }
    let mut rng = Rng::new(3);
    t.nic()
        .set_output_stall(Some(Box::new(move || rng.chance(1, 2))));
    for (i, len) in sweep_sizes().into_iter().enumerate() {
        let f = udp_frame(len, [10, 0, 0, 1], [8, 8, 8, 8], 1000 + i as u16, 53);
        let got = t.send_frame(i as u64, 1, &f).expect("send");
        let want = model.send(i as u64, 1, &f).expect("model");
        assert_eq!(got, want, "size {len}");
        assert!(
            matches!(got.verdict, Verdict::Forward { port: 0, .. }),
            "size {len}"
        );
    }
}

#[test]
fn back_to_back_burst_loses_no_beat_and_keeps_order() {
    let mut t = rtl_with(&world_udp_setup());
    let mut rng = Rng::new(5);
    t.nic()
        .set_output_stall(Some(Box::new(move || rng.chance(1, 3))));
    let mut sent = Vec::new();
    for (i, &len) in SIZES.iter().cycle().take(60).enumerate() {
        let mut f = vec![0u8, 0, 0, 0];
        f.extend((0..len).map(|j| (i + j) as u8));
        t.nic().send(255, &f);
        sent.push(f[4..].to_vec());
    }
    t.nic().run_until_idle(2_000_000).expect("drains");
    let frames = t.nic().take_frames();
    assert_eq!(frames.len(), sent.len());
    for (got, want) in frames.iter().zip(&sent) {
        assert_eq!(&got.data, want);
        assert_eq!(got.port, 0);
    }
    let (beats_in, beats_out) = t.nic().beats();
    assert!(beats_in >= beats_out, "no beat appears from nowhere");
}

#[test]
fn random_frames_never_hang_and_match_the_model() {
    let ops = world_udp_setup();
    let mut t = rtl_with(&ops);
    let mut model = ModelTarget::default();
    model.reset(&Config::default()).expect("reset");
    for op in &ops {
        model.apply(op).expect("model op");
    }
    let mut rng = Rng::new(0x5eed);
    for i in 0..400u64 {
        let len = rng.below(200) as usize;
        let port = [0u16, 1, 2, 255][rng.below(4) as usize];
        // half the frames start as a valid UDP frame and get corrupted in a few bytes
        let mut f = if rng.chance(1, 2) && len >= 42 {
            udp_frame(
                len,
                [10, 0, 0, 1],
                [8, 8, 8, 8],
                rng.below(65536) as u16,
                53,
            )
        } else {
            (0..len).map(|_| rng.next_u64() as u8).collect()
        };
        for _ in 0..rng.below(4) {
            if !f.is_empty() {
                let at = rng.below(f.len() as u64) as usize;
                f[at] = rng.next_u64() as u8;
            }
        }
        let got = t
            .send_frame(i, port, &f)
            .expect("the pipeline answers every frame");
        let want = model.send(i, port, &f).expect("model");
        assert_eq!(got, want, "frame {i} on port {port}: {f:02x?}");
    }
}
