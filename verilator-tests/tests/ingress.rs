//! `rtl/ztnic_ingress.v` alone against a reference written from its contract (the
//! module's header and docs/datapath.md §1): every beat the AXI4-Stream input accepts is
//! written to the frame FIFO side unchanged, one per clock, until the frame has reached
//! its limit of `min(ceil(cfg_max_frame / KEEP_W), FIFO_BEATS / 2)` beats; later beats
//! are accepted and discarded. The last beat of a frame pushes one header entry: the
//! frame's first HDR_BYTES bytes (zero beyond the frame's beats), its length, the
//! `tuser` of its first beat, the beats written, and `hdr_oversize` when the frame was
//! cut or is longer than `cfg_max_frame` bytes (a frame of exactly `cfg_max_frame`
//! bytes passes). A cut frame reports `cfg_max_frame` as its length (its true length
//! was never counted). The input is held back only by the side that would take the
//! beat: the header queue always (`hdr_ready`), the frame FIFO (`data_wr_ready`) only
//! while the beat is to be written.
//!
//! Swept over DATA_W 64, 128, 256, 512 (the legal range) with frame FIFOs that cut at
//! 16 KiB and, for DATA_W 64 and 256, at less than the limit; `cfg_max_frame` 64, 100,
//! 1000, 9600, 16384; frames of 1..=127 bytes, 512, 1500, 9000, 9600, 9601, 16384,
//! 40,042 and 65,536 bytes in random order; random idle clocks on the input (`tvalid`
//! low), random back-pressure from the frame FIFO and the header queue in phases.
//! Every clock checks `s_axis_tready`, `data_wr_valid` and `data_wr`, `hdr_valid`,
//! `frame_done` and, with `hdr_valid`, every header field. `cfg_max_frame` is registered
//! inside: it is set between batches of frames, a few idle clocks before them.

use std::collections::VecDeque;

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// Bytes of each frame captured for the parser (the module's default and ztnic_top's).
const HDR_BYTES: usize = 320;
const MAX_FRAMES: [u16; 5] = [64, 100, 1000, 9600, 16384];

fn frame_sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (1..=127).collect();
    v.extend([512, 1500, 9000, 9600, 9601, 16384, 40_042, 65_536]);
    v
}

/// One input beat as driven.
#[derive(Clone)]
struct Beat {
    data: Vec<u8>,
    keep: u64,
    last: bool,
    user: u16,
}

/// A frame cut into beats: full `tkeep` but on the last beat, random bytes past the
/// frame's end in the last beat and a random `tuser` on every beat (only the first
/// beat's counts).
fn beats_of(frame: &[u8], keep_w: usize, rng: &mut Rng) -> Vec<Beat> {
    let n = frame.len().div_ceil(keep_w);
    (0..n)
        .map(|i| {
            let part = &frame[i * keep_w..frame.len().min((i + 1) * keep_w)];
            let mut data = part.to_vec();
            data.extend((part.len()..keep_w).map(|_| rng.next_u64() as u8));
            let keep = if part.len() == 64 {
                u64::MAX
            } else {
                (1u64 << part.len()) - 1
            };
            Beat {
                data,
                keep,
                last: i + 1 == n,
                user: rng.next_u64() as u16,
            }
        })
        .collect()
}

/// What the module has seen of the frame being received.
#[derive(Default)]
struct Rx {
    /// beats accepted
    beats: usize,
    /// bytes accepted
    bytes: usize,
    /// beats written to the frame FIFO
    written: usize,
    port: u16,
    /// its first HDR_BYTES bytes
    head: Vec<u8>,
}

/// Counts of the interesting situations the stimulus reached.
#[derive(Default, Debug)]
struct Seen {
    frames: usize,
    cut: usize,
    long_uncut: usize,
    exact_limit: usize,
    discarded_under_backpressure: usize,
    stalled_by_fifo: usize,
    stalled_by_hdr: usize,
}

struct Bench {
    m: ModuleSim,
    rng: Rng,
    keep_w: usize,
    cut_beats: usize,
    /// the limit in beats the module applies (its registered copy of cfg_max_frame)
    max_beats: usize,
    cfg: u16,
    rx: Rx,
    clock: u64,
    seen: Seen,
    ctx: String,
}

impl Bench {
    fn new(data_w: usize, fifo_beats: usize, seed: u64) -> Result<Bench, Error> {
        let m = ModuleSim::build(
            "ztnic_ingress",
            &[
                ("DATA_W", data_w as i64),
                ("HDR_BYTES", HDR_BYTES as i64),
                ("FIFO_BEATS", fifo_beats as i64),
            ],
        )?;
        let mut b = Bench {
            m,
            rng: Rng::new(seed),
            keep_w: data_w / 8,
            cut_beats: fifo_beats / 2,
            max_beats: 0,
            cfg: 0,
            rx: Rx::default(),
            clock: 0,
            seen: Seen::default(),
            ctx: format!("DATA_W={data_w} FIFO_BEATS={fifo_beats}"),
        };
        assert_eq!(b.m.bits("hdr_data")? as usize, 8 * HDR_BYTES);
        b.m.set_bool("rst", true)?;
        b.m.tick("clk")?;
        b.m.set_bool("rst", false)?;
        Ok(b)
    }

    fn limit_beats(&self, cfg: u16) -> usize {
        usize::from(cfg).div_ceil(self.keep_w).min(self.cut_beats)
    }

    /// Sets cfg_max_frame and idles until the module uses it.
    fn configure(&mut self, cfg: u16) -> Result<(), Error> {
        assert_eq!(self.rx.beats, 0, "configure between frames");
        self.cfg = cfg;
        self.m.set_u64("cfg_max_frame", u64::from(cfg))?;
        for _ in 0..3 {
            self.step(None, true, true)?;
        }
        Ok(())
    }

    /// One clock: drives the inputs, checks every output against the reference before
    /// the edge, then clocks. Returns whether the beat (if any) was accepted.
    fn step(
        &mut self,
        beat: Option<&Beat>,
        wr_ready: bool,
        hdr_ready: bool,
    ) -> Result<bool, Error> {
        let m = &mut self.m;
        match beat {
            Some(b) => {
                m.set_bytes_le("s_axis_tdata", &b.data)?;
                m.set_u64("s_axis_tkeep", b.keep)?;
                m.set_bool("s_axis_tlast", b.last)?;
                m.set_u64("s_axis_tuser", u64::from(b.user))?;
                m.set_bool("s_axis_tvalid", true)?;
            }
            None => {
                // whatever the bus carries while idle is noise
                let noise: Vec<u8> = (0..self.keep_w)
                    .map(|_| self.rng.next_u64() as u8)
                    .collect();
                m.set_bytes_le("s_axis_tdata", &noise)?;
                m.set_bool("s_axis_tlast", self.rng.chance(1, 2))?;
                m.set_bool("s_axis_tvalid", false)?;
            }
        }
        m.set_bool("data_wr_ready", wr_ready)?;
        m.set_bool("hdr_ready", hdr_ready)?;
        m.eval()?;

        let ctx = format!(
            "{} cfg_max_frame={} clock {} (beat {} of the frame)",
            self.ctx, self.cfg, self.clock, self.rx.beats
        );
        let valid = beat.is_some();
        let past = self.rx.beats >= self.max_beats;
        let tready = hdr_ready && (wr_ready || past);
        assert_eq!(m.get_bool("s_axis_tready")?, tready, "{ctx}: s_axis_tready");
        let wr_valid = valid && hdr_ready && !past;
        assert_eq!(
            m.get_bool("data_wr_valid")?,
            wr_valid,
            "{ctx}: data_wr_valid"
        );
        if let Some(b) = beat
            && wr_valid
        {
            assert_eq!(m.get_bytes_le("data_wr")?, b.data, "{ctx}: data_wr");
        }
        let fire = valid && tready;
        let last = beat.is_some_and(|b| b.last);
        assert_eq!(m.get_bool("hdr_valid")?, fire && last, "{ctx}: hdr_valid");
        assert_eq!(m.get_bool("frame_done")?, fire && last, "{ctx}: frame_done");
        if valid && !tready {
            if !hdr_ready {
                self.seen.stalled_by_hdr += 1;
            } else {
                self.seen.stalled_by_fifo += 1;
            }
        }
        if fire && past && !wr_ready {
            self.seen.discarded_under_backpressure += 1;
        }

        if let (Some(b), true) = (beat, fire) {
            let rx = &mut self.rx;
            if rx.beats == 0 {
                rx.port = b.user;
            }
            let bytes = b.keep.count_ones() as usize;
            let take = HDR_BYTES.saturating_sub(rx.head.len()).min(bytes);
            rx.head.extend_from_slice(&b.data[..take]);
            rx.beats += 1;
            rx.bytes += bytes;
            rx.written += usize::from(!past);
            if b.last {
                self.check_header(&ctx)?;
                self.rx = Rx::default();
            }
        }
        self.m.tick("clk")?;
        self.clock += 1;
        // the module keeps a registered copy of the limit
        self.max_beats = self.limit_beats(self.cfg);
        Ok(fire)
    }

    fn check_header(&mut self, ctx: &str) -> Result<(), Error> {
        let rx = &self.rx;
        let m = &mut self.m;
        let cfg = usize::from(self.cfg);
        let cut = rx.beats > self.max_beats;
        let oversize = cut || rx.bytes > cfg;
        let ctx = format!("{ctx}: frame of {} bytes ({} beats)", rx.bytes, rx.beats);
        assert_eq!(m.get_bool("hdr_oversize")?, oversize, "{ctx}: hdr_oversize");
        let len = if cut { cfg } else { rx.bytes };
        assert_eq!(m.get_u64("hdr_len")? as usize, len, "{ctx}: hdr_len");
        assert_eq!(
            rx.written,
            rx.beats.min(self.max_beats),
            "{ctx}: beats written"
        );
        assert_eq!(
            m.get_u64("hdr_beats")? as usize,
            rx.written,
            "{ctx}: hdr_beats"
        );
        assert_eq!(m.get_u64("hdr_port")? as u16, rx.port, "{ctx}: hdr_port");
        let hdr = m.get_bytes_le("hdr_data")?;
        assert_eq!(
            &hdr[..rx.head.len()],
            &rx.head[..],
            "{ctx}: hdr_data (frame bytes)"
        );
        // bytes of beats the frame did not have are zero (nothing of an earlier frame);
        // the rest of the last beat is whatever the bus carried
        let received = (rx.beats * self.keep_w).min(HDR_BYTES);
        assert!(
            hdr[received..].iter().all(|&b| b == 0),
            "{ctx}: hdr_data beyond the frame's beats is not zero"
        );
        self.seen.frames += 1;
        if cut {
            self.seen.cut += 1;
        } else if oversize {
            self.seen.long_uncut += 1;
        }
        if rx.bytes == cfg && !cut {
            self.seen.exact_limit += 1;
        }
        Ok(())
    }

    /// Sends the frames, each beat held until accepted, under the pressure of
    /// `phases` of (idle %, data_wr_ready %, hdr_ready %), 97 clocks each.
    fn send(&mut self, frames: &[Vec<u8>], phases: &[(u64, u64, u64)]) -> Result<(), Error> {
        let mut queue: VecDeque<Beat> = VecDeque::new();
        let mut next = 0;
        let mut held: Option<Beat> = None;
        loop {
            if queue.is_empty() && next < frames.len() {
                queue.extend(beats_of(&frames[next], self.keep_w, &mut self.rng));
                next += 1;
            }
            let (idle, wr, hdr) = phases[(self.clock / 97) as usize % phases.len()];
            if held.is_none() && !queue.is_empty() && !self.rng.chance(idle, 100) {
                held = queue.pop_front();
            }
            if held.is_none() && queue.is_empty() && next == frames.len() {
                return Ok(());
            }
            let wr_ready = self.rng.chance(wr, 100);
            let hdr_ready = self.rng.chance(hdr, 100);
            // a valid beat stays on the bus until it is taken (AXI4-Stream)
            if self.step(held.as_ref(), wr_ready, hdr_ready)? {
                held = None;
            }
        }
    }
}

fn random_frame(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

const PHASES: [(u64, u64, u64); 5] = [
    (0, 100, 100),
    (30, 70, 90),
    (10, 40, 100),
    (20, 100, 30),
    (50, 50, 50),
];

fn run(data_w: usize, fifo_beats: usize, seed: u64) -> Result<(), Error> {
    let mut b = Bench::new(data_w, fifo_beats, seed)?;
    for cfg in MAX_FRAMES {
        b.configure(cfg)?;
        let mut sizes = frame_sizes();
        sizes.extend([
            usize::from(cfg),
            usize::from(cfg) + 1,
            b.cut_beats * b.keep_w,
        ]);
        // random order
        for i in (1..sizes.len()).rev() {
            let j = b.rng.below(i as u64 + 1) as usize;
            sizes.swap(i, j);
        }
        let frames: Vec<Vec<u8>> = sizes.iter().map(|&n| random_frame(&mut b.rng, n)).collect();
        b.send(&frames, &PHASES)?;
        // back to back at full rate: the limit holds frame after frame
        let frames: Vec<Vec<u8>> = [64, 65, usize::from(cfg) + 1, 60, 9601, 1]
            .iter()
            .map(|&n| random_frame(&mut b.rng, n))
            .collect();
        b.send(&frames, &[(0, 100, 100)])?;
    }
    let s = &b.seen;
    assert!(
        s.cut > 0
            && s.long_uncut > 0
            && s.exact_limit > 0
            && s.discarded_under_backpressure > 0
            && s.stalled_by_fifo > 0
            && s.stalled_by_hdr > 0,
        "{}: the stimulus missed a case: {s:?}",
        b.ctx
    );
    Ok(())
}

#[test]
fn data_w_64() -> Result<(), Error> {
    // cuts at 16 KiB, as ztnic_top's frame FIFO at DATA_W 64 (4096 beats)
    run(64, 4096, 11)
}

#[test]
fn data_w_64_small_fifo() -> Result<(), Error> {
    // cuts at 2 KiB: the FIFO, not cfg_max_frame, sets the limit of long frames
    run(64, 512, 12)
}

#[test]
fn data_w_128() -> Result<(), Error> {
    run(128, 2048, 13)
}

#[test]
fn data_w_256_small_fifo() -> Result<(), Error> {
    // cuts at 8 KiB
    run(256, 512, 14)
}

#[test]
fn data_w_512() -> Result<(), Error> {
    run(512, 512, 15)
}

/// A frame of more beats than the 16-bit beat counter counts is still one frame: cut,
/// flagged, and the frame after it is received whole.
#[test]
fn a_frame_longer_than_the_beat_counter() -> Result<(), Error> {
    let mut b = Bench::new(512, 512, 16)?;
    b.configure(9600)?;
    let frames = vec![
        random_frame(&mut b.rng, 64 * 70_000 + 3),
        random_frame(&mut b.rng, 1500),
        random_frame(&mut b.rng, 9600),
    ];
    b.send(&frames, &[(0, 100, 100)])?;
    assert_eq!((b.seen.frames, b.seen.cut), (3, 1), "{:?}", b.seen);
    Ok(())
}

/// Illegal parameters stop elaboration.
#[test]
fn illegal_parameters_are_refused() {
    for params in [
        [("DATA_W", 32), ("HDR_BYTES", 320), ("FIFO_BEATS", 512)],
        [("DATA_W", 1024), ("HDR_BYTES", 320), ("FIFO_BEATS", 512)],
        [("DATA_W", 512), ("HDR_BYTES", 100), ("FIFO_BEATS", 512)],
        [("DATA_W", 512), ("HDR_BYTES", 320), ("FIFO_BEATS", 8)],
    ] {
        assert!(
            ModuleSim::build("ztnic_ingress", &params).is_err(),
            "{params:?} was accepted"
        );
    }
}
