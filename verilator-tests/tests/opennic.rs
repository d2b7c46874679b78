//! The OpenNIC shell wrapper (`rtl/ztnic_opennic.v`): every shared scenario through it
//! — frames enter from the CMAC adapter (the uplink port) or the host (H2C, the port in
//! tuser_dst) and leave by TX or C2H with tuser_size on every beat; the tables are
//! written over AXI4-Lite on a clock unrelated to the datapath's, through the wrapper's
//! clock-domain crossing — checked like `scenarios.rs` (against the verdicts in the file
//! and, packet by packet, against the reference model); then the wrapper's own parts:
//! frames of every size under idle input and output back-pressure, the two inputs
//! merged a frame at a time, the latency it adds, register access across the clocks.
//! The bench checks the shell's stream rules on every output frame (tuser_size on every
//! beat and equal to the length, tkeep, tuser_src/dst).

use libtest_mimic::{Arguments, Failed, Trial};
use ztnic_model::{Config, Verdict};
use ztnic_rtl_sim::{Nic, regmap};
use ztnic_scenario::{ModelTarget, Op, Target};
use ztnic_testkit::fixtures::world_udp_setup;
use ztnic_testkit::frames::arp_request;
use ztnic_verilator_tests::{Model, Rng, RtlTarget, check_scenario, shared_scenarios};

/// The CPU port of the fixtures (packet-outs enter there: H2C with tuser_dst 255).
const CPU_PORT: u16 = 255;

fn main() {
    let args = Arguments::from_args();
    let scenarios = shared_scenarios().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let mut trials: Vec<Trial> = scenarios
        .into_iter()
        .map(|s| {
            Trial::test(format!("opennic_scenario::{}", s.id), move || {
                check_scenario(&s, Model::OpenNic).map_err(Failed::from)
            })
        })
        .collect();
    trials.extend([
        Trial::test(
            "opennic::frames_of_every_size_leave_by_tx_under_idle_and_backpressure",
            frames_of_every_size,
        ),
        Trial::test(
            "opennic::h2c_and_rx_are_merged_a_frame_at_a_time_round_robin",
            inputs_merged_round_robin,
        ),
        Trial::test(
            "opennic::the_wrapper_adds_the_frame_and_a_few_clocks_of_latency",
            latency_added,
        ),
        Trial::test(
            "opennic::register_access_crosses_the_clock_domains",
            register_access,
        ),
        Trial::test(
            "opennic::back_to_back_frames_enter_one_beat_per_clock",
            back_to_back,
        ),
    ]);
    libtest_mimic::run(&args, trials).exit();
}

fn setup(model: Model, ops: &[Op]) -> Result<RtlTarget, Failed> {
    let mut t = RtlTarget::of(model).map_err(|e| e.to_string())?;
    for op in ops {
        t.apply_op(op).map_err(|e| e.to_string())?;
    }
    Ok(t)
}

fn reference(ops: &[Op]) -> Result<ModelTarget, Failed> {
    let mut m = ModelTarget::default();
    m.reset(&Config::default()).map_err(|e| e.to_string())?;
    for op in ops {
        m.apply(op).map_err(|e| e.to_string())?;
    }
    Ok(m)
}

/// A packet-out of `len` bytes after its 4-byte controller header.
fn packet_out(len: usize, seed: usize) -> Vec<u8> {
    let mut f = vec![0u8, 0, 0, 0];
    f.extend((0..len).map(|i| (i * 7 + seed) as u8));
    f
}

/// Packet-outs (H2C, tuser_dst = the CPU port) of every size leave by TX unchanged but
/// for the header, with random idle input clocks and random output back-pressure.
fn frames_of_every_size() -> Result<(), Failed> {
    let mut t = setup(Model::OpenNic, &world_udp_setup())?;
    let mut rng = Rng::new(7);
    let mut rng2 = Rng::new(11);
    t.nic()
        .set_input_idle(Some(Box::new(move || rng.chance(1, 4))));
    t.nic()
        .set_output_stall(Some(Box::new(move || rng2.chance(1, 3))));
    let mut sizes: Vec<usize> = (60..=129).collect();
    sizes.extend_from_slice(&[191, 192, 193, 512, 1500, 9000]);
    for len in sizes {
        let f = packet_out(len, len);
        let out = t.send_frame(0, CPU_PORT, &f).map_err(|e| e.to_string())?;
        let want = Verdict::Forward {
            port: 0,
            frame: f[4..].to_vec(),
        };
        if out.verdict != want {
            return Err(format!("size {len}: {:?}", out.verdict).into());
        }
    }
    Ok(())
}

/// Frames waiting on both inputs at once (packet-outs on H2C, ARP requests of several
/// lengths from the uplink on RX) are taken a whole frame at a time, alternately, H2C
/// first; each gets the reference model's verdict.
fn inputs_merged_round_robin() -> Result<(), Failed> {
    let ops = world_udp_setup();
    let mut t = setup(Model::OpenNic, &ops)?;
    let mut model = reference(&ops)?;
    let n = 12;
    let h2c: Vec<(u16, Vec<u8>)> = (0..n)
        .map(|i| (CPU_PORT, packet_out(60 + 37 * i, i)))
        .collect();
    let rx: Vec<(u16, Vec<u8>)> = (0..n)
        .map(|i| {
            let mut f = arp_request();
            f.extend((0..29 * i).map(|k| k as u8));
            (0, f)
        })
        .collect();
    let mut expected = Vec::new();
    for (h, r) in h2c.iter().zip(&rx) {
        for (port, f) in [h, r] {
            let o = model.send(0, *port, f).map_err(|e| e.to_string())?;
            if matches!(o.verdict, Verdict::Drop(_)) {
                return Err(format!("the fixture frame on port {port} is dropped").into());
            }
            expected.push(o.verdict);
        }
    }
    // queued H2C first, then RX: offered together, the arbiter alternates
    let mut frames = h2c;
    frames.extend(rx);
    t.nic().set_parallel_inputs(true);
    let got: Vec<Verdict> = t
        .send_burst(0, &frames)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|o| o.verdict)
        .collect();
    if got != expected {
        let first = got.iter().zip(&expected).position(|(g, e)| g != e);
        return Err(format!(
            "{} verdicts, {} expected; first difference at {first:?}",
            got.len(),
            expected.len()
        )
        .into());
    }
    Ok(())
}

/// Clocks from queuing a frame of `beats` beats on an idle NIC to its first output
/// beat.
fn first_beat_latency(nic: &mut Nic, port: u16, frame: &[u8]) -> Result<u64, Failed> {
    nic.run(16);
    let (_, out0) = nic.beats();
    let start = nic.cycles();
    nic.send(port, frame);
    while nic.beats().1 == out0 {
        if nic.cycles() - start > 10_000 {
            return Err("no output beat within 10000 clocks".into());
        }
        nic.run(1);
    }
    let latency = nic.cycles() - start;
    nic.run_until_idle(100_000).map_err(|e| e.to_string())?;
    nic.take_frames();
    nic.take_statuses();
    Ok(latency)
}

/// The wrapper adds its input register (1 clock) and its store-and-forward output
/// (the frame's beats after the first, and the FIFO's 2 clocks): measured against the
/// datapath alone, frame by frame, the difference is `beats + 2`.
fn latency_added() -> Result<(), Failed> {
    let ops = world_udp_setup();
    let mut top = setup(Model::Top, &ops)?;
    let mut wrapped = setup(Model::OpenNic, &ops)?;
    for len in [60, 64, 65, 200, 1500, 9000] {
        let f = packet_out(len, 3);
        let beats = (len as u64).div_ceil(64);
        let a = first_beat_latency(top.nic(), CPU_PORT, &f)?;
        let b = first_beat_latency(wrapped.nic(), CPU_PORT, &f)?;
        eprintln!(
            "packet-out of {len} bytes ({beats} beats out): first output beat after {a} clocks \
             alone, {b} in the wrapper (+{})",
            b.saturating_sub(a)
        );
        if b != a + beats + 2 {
            return Err(format!(
                "{len} bytes: {b} clocks in the wrapper, {a} alone; expected {} more",
                beats + 2
            )
            .into());
        }
    }
    Ok(())
}

/// Reads and writes through the wrapper's crossing (and, for comparison, the datapath
/// alone): the ID register, and the configuration's VNI register written and read
/// back; prints the AXI4-Lite clocks an access takes.
fn register_access() -> Result<(), Failed> {
    for model in [Model::Top, Model::OpenNic] {
        let mut nic = model.nic();
        let c0 = nic.axil_cycles();
        let id = nic.read(regmap::id::BASE).map_err(|e| e.to_string())?;
        let c1 = nic.axil_cycles();
        if id != regmap::id::TYPE {
            return Err(format!("{model:?}: id {id:#x}").into());
        }
        let scratch = regmap::config::VNI;
        for value in [0x00ab_cdef, 0x0012_3456, 0] {
            nic.write(scratch, value).map_err(|e| e.to_string())?;
            let back = nic.read(scratch).map_err(|e| e.to_string())?;
            if back != value {
                return Err(format!("{model:?}: wrote {value:#x}, read {back:#x}").into());
            }
        }
        let c2 = nic.axil_cycles();
        nic.write(scratch, 7).map_err(|e| e.to_string())?;
        let c3 = nic.axil_cycles();
        eprintln!(
            "{model:?}: a read takes {} AXI4-Lite clocks, a write {}",
            c1 - c0,
            c3 - c2
        );
    }
    Ok(())
}

/// 200 packet-outs back to back through H2C: every input beat is taken in consecutive
/// clocks (the arbiter's skid buffer adds no bubble; ztnic takes a beat per clock) and
/// every frame leaves by TX as the reference model says.
fn back_to_back() -> Result<(), Failed> {
    let ops = world_udp_setup();
    let mut t = setup(Model::OpenNic, &ops)?;
    let mut model = reference(&ops)?;
    let frames: Vec<(u16, Vec<u8>)> = (0..200)
        .map(|i| (CPU_PORT, packet_out(60 + (i * 13) % 200, i)))
        .collect();
    let mut expected = Vec::new();
    for (port, f) in &frames {
        expected.push(model.send(0, *port, f).map_err(|e| e.to_string())?.verdict);
    }
    t.nic().record_input_beats(true);
    let got: Vec<Verdict> = t
        .send_burst(0, &frames)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|o| o.verdict)
        .collect();
    if got != expected {
        return Err("the verdicts differ from the reference model's".into());
    }
    let cycles = t.nic().input_beat_cycles().to_vec();
    let beats: usize = frames.iter().map(|(_, f)| f.len().div_ceil(64)).sum();
    let (Some(first), Some(last)) = (cycles.first(), cycles.last()) else {
        return Err("no input beat recorded".into());
    };
    let span = last - first + 1;
    eprintln!("{beats} input beats in {span} clocks");
    if cycles.len() != beats || span != beats as u64 {
        return Err(format!("{} input beats of {beats} took {span} clocks", cycles.len()).into());
    }
    Ok(())
}
