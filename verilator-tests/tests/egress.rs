//! `rtl/ztnic_egress.v` alone against a reference that computes each output frame from
//! its verdict descriptor and the frame's words: a kept frame leaves as
//! `prefix[0 .. plen) ++ frame[skip .. end)` on `m_axis` with the descriptor's port in
//! `tuser`, in descriptor order; a dropped frame's `words` words are read from the frame
//! FIFO and nothing is sent; a descriptor that leaves no byte to send (no prefix,
//! `end <= skip`) sends nothing either. Each descriptor consumes exactly its `words`
//! words of the frame FIFO, no more, no fewer.
//!
//! Swept over DATA_W 64, 128, 256, 512 (the legal range) with PREFIX_BYTES 64 (as in
//! ztnic_top) and 127 (the most `desc_plen` can say); random prefixes of 0..=PREFIX_BYTES
//! bytes with noise past `plen`, random skip / end values (zero, inside the first word,
//! past whole words, inside the last word), frames of 1 byte to 16 KiB with noise past
//! their end in the last word, random drops, random gaps on `desc_valid` and
//! `data_rd_valid`, random back-pressure on `m_axis_tready`, in phases.
//!
//! Every clock checks the output stream's rules: a beat offered and not taken is
//! offered again unchanged; `tkeep` is contiguous from byte 0 and full on every beat
//! but a frame's last; `tuser` is the frame's port on every beat; `frame_done` pulses
//! exactly with a taken last beat; `data_rd_ready` and `desc_ready` only with the valid
//! they answer. Every frame's bytes are compared with the reference as its last beat
//! leaves, and at the end every descriptor and every word has been used and nothing
//! more came out. At full rate with no gaps, plain frames leave one beat per clock.

use std::collections::VecDeque;

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// One verdict descriptor.
#[derive(Clone, Debug)]
struct Desc {
    drop: bool,
    port: u16,
    /// PREFIX_BYTES bytes; those past `plen` are noise
    prefix: Vec<u8>,
    plen: usize,
    skip: usize,
    end: usize,
    words: usize,
}

/// The frame the reference expects on `m_axis`, if any.
fn expected(d: &Desc, frame: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut out = d.prefix[..d.plen].to_vec();
    if d.end > d.skip {
        out.extend_from_slice(&frame[d.skip..d.end]);
    }
    (!d.drop && !out.is_empty()).then_some((d.port, out))
}

struct Case {
    desc: Desc,
    /// `words * B` bytes: the frame, then noise
    words: Vec<u8>,
    /// the frame's length
    len: usize,
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

fn random_case(rng: &mut Rng, b: usize, prefix_bytes: usize) -> Case {
    let len = match rng.below(10) {
        0 => 1 + rng.below(16384) as usize,
        1 => [1, 14, 60, 64, 65, 1500, 9000, 9600][rng.below(8) as usize],
        2 => b * (1 + rng.below(6) as usize),
        _ => 1 + rng.below(200) as usize,
    };
    let words = len.div_ceil(b);
    let plen = match rng.below(4) {
        0 => 0,
        1 => [4, 8, 14, 18, 50, 54, 70].map(|p| p.min(prefix_bytes))[rng.below(7) as usize],
        2 => prefix_bytes,
        _ => rng.below(prefix_bytes as u64 + 1) as usize,
    };
    let skip = match rng.below(4) {
        0 | 1 => 0,
        2 => (rng.below(80) as usize).min(len),
        _ => rng.below(len as u64 + 1) as usize,
    };
    let end = match rng.below(4) {
        0 | 1 => len,
        2 => len - (rng.below(5) as usize).min(len - skip),
        _ => skip + rng.below((len - skip) as u64 + 1) as usize,
    };
    let mut frame = random_bytes(rng, words * b);
    // noise past the frame's end differs from the frame's bytes
    for x in &mut frame[len..] {
        *x ^= 0x5a;
    }
    Case {
        desc: Desc {
            drop: rng.chance(1, 5),
            port: rng.next_u64() as u16,
            prefix: random_bytes(rng, prefix_bytes),
            plen,
            skip,
            end,
            words,
        },
        words: frame,
        len,
    }
}

/// An output beat as seen on the bus.
#[derive(Clone, PartialEq, Debug)]
struct OutBeat {
    data: Vec<u8>,
    keep: u64,
    last: bool,
    user: u16,
}

#[derive(Default, Debug)]
struct Seen {
    frames: usize,
    drops: usize,
    empty: usize,
    stalls: usize,
}

fn run(
    data_w: usize,
    prefix_bytes: usize,
    cases: usize,
    phases: &[(u64, u64, u64)],
    seed: u64,
) -> Result<Seen, Error> {
    let b = data_w / 8;
    let ctx = format!("DATA_W={data_w} PREFIX_BYTES={prefix_bytes} seed {seed}");
    let mut m = ModuleSim::build(
        "ztnic_egress",
        &[
            ("DATA_W", data_w as i64),
            ("PREFIX_BYTES", prefix_bytes as i64),
        ],
    )?;
    let mut rng = Rng::new(seed);
    let mut descs: VecDeque<Desc> = VecDeque::new();
    let mut fifo: VecDeque<Vec<u8>> = VecDeque::new();
    let mut want: VecDeque<(u16, Vec<u8>, String)> = VecDeque::new();
    let mut seen = Seen::default();
    for i in 0..cases {
        let c = random_case(&mut rng, b, prefix_bytes);
        match expected(&c.desc, &c.words[..c.len]) {
            Some((port, bytes)) => want.push_back((port, bytes, format!("case {i} {:?}", c.desc))),
            None if c.desc.drop => seen.drops += 1,
            None => seen.empty += 1,
        }
        fifo.extend(c.words.chunks(b).map(<[u8]>::to_vec));
        descs.push_back(c.desc);
    }
    let total_words = fifo.len();

    m.set_bool("rst", true)?;
    m.tick("clk")?;
    m.set_bool("rst", false)?;

    let mut got: Vec<u8> = Vec::new();
    let mut pending: Option<OutBeat> = None;
    let mut popped = 0;
    let mut idle = 0;
    let mut clock = 0u64;
    let full_keep = if b == 64 { u64::MAX } else { (1u64 << b) - 1 };
    while !(want.is_empty() && descs.is_empty() && fifo.is_empty()) || pending.is_some() {
        let (desc_pct, data_pct, ready_pct) = phases[(clock / 101) as usize % phases.len()];
        let desc_valid = !descs.is_empty() && rng.chance(desc_pct, 100);
        if let Some(d) = descs.front() {
            m.set_bool("desc_drop", d.drop)?;
            m.set_u64("desc_port", u64::from(d.port))?;
            m.set_u64("desc_plen", d.plen as u64)?;
            m.set_bytes_le("desc_prefix", &d.prefix)?;
            m.set_u64("desc_skip", d.skip as u64)?;
            m.set_u64("desc_end", d.end as u64)?;
            m.set_u64("desc_words", d.words as u64)?;
        }
        m.set_bool("desc_valid", desc_valid)?;
        let data_valid = !fifo.is_empty() && rng.chance(data_pct, 100);
        match fifo.front() {
            Some(w) => m.set_bytes_le("data_rd", w)?,
            None => m.set_bytes_le("data_rd", &random_bytes(&mut rng, b))?,
        }
        m.set_bool("data_rd_valid", data_valid)?;
        let tready = rng.chance(ready_pct, 100);
        m.set_bool("m_axis_tready", tready)?;
        m.eval()?;

        let at = format!("{ctx} clock {clock}");
        let desc_ready = m.get_bool("desc_ready")?;
        assert!(
            !desc_ready || desc_valid,
            "{at}: desc_ready without desc_valid"
        );
        let data_ready = m.get_bool("data_rd_ready")?;
        assert!(
            !data_ready || data_valid,
            "{at}: data_rd_ready without data_rd_valid"
        );
        let tvalid = m.get_bool("m_axis_tvalid")?;
        let beat = if tvalid {
            Some(OutBeat {
                data: m.get_bytes_le("m_axis_tdata")?,
                keep: m.get_u64("m_axis_tkeep")?,
                last: m.get_bool("m_axis_tlast")?,
                user: m.get_u64("m_axis_tuser")? as u16,
            })
        } else {
            None
        };
        if let Some(p) = &pending {
            assert_eq!(
                beat.as_ref(),
                Some(p),
                "{at}: a beat offered and not taken changed"
            );
        }
        assert_eq!(
            m.get_bool("frame_done")?,
            tvalid && tready && beat.as_ref().is_some_and(|x| x.last),
            "{at}: frame_done"
        );
        pending = None;
        if let Some(x) = beat {
            let n = x.keep.count_ones() as usize;
            assert!(
                n > 0 && x.keep == (full_keep >> (b - n)),
                "{at}: tkeep {:#x}",
                x.keep
            );
            assert!(x.last || n == b, "{at}: a beat before the last is not full");
            let Some((port, bytes, what)) = want.front() else {
                panic!("{at}: a beat with no frame left to send: {x:?}");
            };
            assert_eq!(x.user, *port, "{at}: tuser of {what}");
            if tready {
                got.extend_from_slice(&x.data[..n]);
                assert!(
                    got.len() <= bytes.len(),
                    "{at}: {what}: frame longer than {}",
                    bytes.len()
                );
                if x.last {
                    assert_eq!(got.len(), bytes.len(), "{at}: {what}: length");
                    assert!(
                        got == *bytes,
                        "{at}: {what}: bytes differ\n got {got:02x?}\nwant {bytes:02x?}"
                    );
                    got.clear();
                    want.pop_front();
                    seen.frames += 1;
                }
            } else {
                seen.stalls += 1;
                pending = Some(x);
            }
        }
        if desc_ready {
            descs.pop_front();
        }
        if data_ready {
            fifo.pop_front();
            popped += 1;
        }
        if desc_ready || data_ready || (tvalid && tready) {
            idle = 0;
        } else {
            idle += 1;
            assert!(
                idle < 2000,
                "{at}: no progress for 2000 clocks ({} frames left)",
                want.len()
            );
        }
        m.tick("clk")?;
        clock += 1;
    }
    assert_eq!(popped, total_words, "{ctx}: words read from the frame FIFO");
    // nothing more comes out
    m.set_bool("desc_valid", false)?;
    m.set_bool("data_rd_valid", false)?;
    m.set_bool("m_axis_tready", true)?;
    for _ in 0..8 {
        m.eval()?;
        assert!(
            !m.get_bool("m_axis_tvalid")?,
            "{ctx}: a beat after the last frame"
        );
        assert!(
            !m.get_bool("data_rd_ready")?,
            "{ctx}: a read after the last frame"
        );
        m.tick("clk")?;
    }
    Ok(seen)
}

const PHASES: [(u64, u64, u64); 5] = [
    (100, 100, 100),
    (60, 80, 70),
    (100, 30, 100),
    (20, 100, 90),
    (90, 90, 25),
];

fn sweep(data_w: usize, prefix_bytes: usize, seed: u64) -> Result<(), Error> {
    let s = run(data_w, prefix_bytes, 600, &PHASES, seed)?;
    assert!(
        s.frames > 300 && s.drops > 50 && s.empty > 0 && s.stalls > 0,
        "DATA_W={data_w}: the stimulus missed a case: {s:?}"
    );
    Ok(())
}

#[test]
fn data_w_64() -> Result<(), Error> {
    sweep(64, 64, 21)
}

#[test]
fn data_w_64_prefix_127() -> Result<(), Error> {
    sweep(64, 127, 22)
}

#[test]
fn data_w_128() -> Result<(), Error> {
    sweep(128, 64, 23)
}

#[test]
fn data_w_256() -> Result<(), Error> {
    sweep(256, 64, 24)
}

#[test]
fn data_w_512() -> Result<(), Error> {
    sweep(512, 64, 25)
}

/// Plain frames (no prefix, nothing cut) at full rate leave one beat per clock, the
/// next frame's first beat in the clock after the previous frame's last.
#[test]
fn plain_frames_leave_at_full_rate() -> Result<(), Error> {
    for data_w in [64, 512] {
        let b = data_w / 8;
        let mut m = ModuleSim::build("ztnic_egress", &[("DATA_W", data_w as i64)])?;
        let mut rng = Rng::new(26);
        let lens: Vec<usize> = (0..40).map(|_| b * (1 + rng.below(8) as usize)).collect();
        let mut words: VecDeque<Vec<u8>> = VecDeque::new();
        let mut descs: VecDeque<usize> = lens.iter().copied().collect();
        for &l in &lens {
            words.extend(random_bytes(&mut rng, l).chunks(b).map(<[u8]>::to_vec));
        }
        let beats = words.len();
        m.set_bool("m_axis_tready", true)?;
        m.set_u64("desc_plen", 0)?;
        m.set_u64("desc_skip", 0)?;
        let (mut first, mut out, mut clock) = (None, 0, 0usize);
        while out < beats {
            assert!(clock < 10 * beats, "DATA_W={data_w}: stalled");
            if let Some(&l) = descs.front() {
                m.set_u64("desc_end", l as u64)?;
                m.set_u64("desc_words", (l / b) as u64)?;
            }
            m.set_bool("desc_valid", !descs.is_empty())?;
            if let Some(w) = words.front() {
                m.set_bytes_le("data_rd", w)?;
            }
            m.set_bool("data_rd_valid", !words.is_empty())?;
            m.eval()?;
            if m.get_bool("desc_ready")? {
                descs.pop_front();
            }
            if m.get_bool("data_rd_ready")? {
                words.pop_front();
            }
            if m.get_bool("m_axis_tvalid")? {
                first.get_or_insert(clock);
                out += 1;
            }
            m.tick("clk")?;
            clock += 1;
        }
        let first = first.unwrap_or(0);
        assert_eq!(
            clock - first,
            beats,
            "DATA_W={data_w}: {beats} beats took {} clocks from the first",
            clock - first
        );
    }
    Ok(())
}

/// Illegal parameters stop elaboration.
#[test]
fn illegal_parameters_are_refused() {
    for params in [
        [("DATA_W", 32), ("PREFIX_BYTES", 64)],
        [("DATA_W", 512), ("PREFIX_BYTES", 128)],
    ] {
        assert!(
            ModuleSim::build("ztnic_egress", &params).is_err(),
            "{params:?} was accepted"
        );
    }
}
