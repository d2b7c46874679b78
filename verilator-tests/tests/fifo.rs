//! `rtl/ztnic_fifo.v` alone against a `VecDeque`: random push and pop pressure in
//! phases that fill the FIFO to full, drain it to empty and hover in between, with the
//! odd reset, at two depths and two widths (one narrow, one wider than 64 bits). Every
//! clock checks the head (`m_valid`, `m_data`), `s_ready` and `count` against the
//! reference: the deque holds every accepted entry not yet taken; the head becomes
//! visible one clock after it reaches the RAM's read port (first-word fall-through
//! with a registered read), and `s_ready` is low exactly when the RAM's 2^DEPTH_LOG2
//! entries are in use (the output register holds one more).

use std::collections::VecDeque;

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// The FIFO's observable state, clock by clock.
struct Reference {
    /// every accepted entry not yet taken, oldest first
    held: VecDeque<Vec<u32>>,
    /// the head is in the output register (visible on m_data)
    out_valid: bool,
    ram_entries: usize,
}

impl Reference {
    fn ram_count(&self) -> usize {
        self.held.len() - usize::from(self.out_valid)
    }

    fn s_ready(&self) -> bool {
        self.ram_count() < self.ram_entries
    }

    /// The rising edge with these inputs.
    fn clock(&mut self, push: Option<Vec<u32>>, m_ready: bool) {
        let ram_before = self.ram_count();
        if m_ready && self.out_valid {
            self.held.pop_front();
            self.out_valid = false;
        }
        // the register reloads from the RAM when it is empty or being emptied
        if ram_before > 0 && !self.out_valid {
            self.out_valid = true;
        }
        if let Some(d) = push
            && ram_before < self.ram_entries
        {
            self.held.push_back(d);
        }
    }

    fn reset(&mut self) {
        self.held.clear();
        self.out_valid = false;
    }
}

fn random_word(rng: &mut Rng, width: u32) -> Vec<u32> {
    (0..width.div_ceil(32))
        .map(|i| {
            let bits = (width - 32 * i).min(32);
            let mask = if bits == 32 {
                u32::MAX
            } else {
                (1 << bits) - 1
            };
            rng.next_u64() as u32 & mask
        })
        .collect()
}

fn run(width: u32, depth_log2: u32, seed: u64) -> Result<(), Error> {
    let mut m = ModuleSim::build(
        "ztnic_fifo",
        &[
            ("WIDTH", i64::from(width)),
            ("DEPTH_LOG2", i64::from(depth_log2)),
        ],
    )?;
    assert_eq!(m.bits("count")?, depth_log2 + 2);
    let mut rng = Rng::new(seed);
    let mut r = Reference {
        held: VecDeque::new(),
        out_valid: false,
        ram_entries: 1 << depth_log2,
    };
    m.set_bool("rst", true)?;
    m.tick("clk")?;
    m.set_bool("rst", false)?;
    let (mut saw_full, mut saw_empty_after_full) = (0, 0);
    // phases of (push %, pop %)
    let phases = [
        (90, 10),
        (50, 50),
        (10, 90),
        (100, 0),
        (0, 100),
        (70, 60),
        (100, 100),
    ];
    for clock in 0..6000 {
        let (push_pct, pop_pct) = phases[(clock / 150) % phases.len()];
        let rst = rng.chance(1, 1000);
        let s_valid = rng.chance(push_pct, 100);
        let m_ready = rng.chance(pop_pct, 100);
        let data = random_word(&mut rng, width);
        m.set("s_data", &data)?;
        m.set_bool("s_valid", s_valid)?;
        m.set_bool("m_ready", m_ready)?;
        m.set_bool("rst", rst)?;
        m.eval()?;

        // outputs before the edge
        let ctx = format!("WIDTH={width} DEPTH_LOG2={depth_log2} clock {clock}");
        assert_eq!(m.get_u64("count")? as usize, r.held.len(), "{ctx}: count");
        assert_eq!(m.get_bool("s_ready")?, r.s_ready(), "{ctx}: s_ready");
        assert_eq!(m.get_bool("m_valid")?, r.out_valid, "{ctx}: m_valid");
        if r.out_valid {
            assert_eq!(&m.get("m_data")?, &r.held[0], "{ctx}: m_data");
        }
        if !r.s_ready() {
            saw_full += 1;
        }
        if saw_full > 0 && r.held.is_empty() {
            saw_empty_after_full += 1;
        }

        m.tick("clk")?;
        if rst {
            r.reset();
        } else {
            r.clock(s_valid.then_some(data), m_ready);
        }
    }
    assert!(
        saw_full > 0 && saw_empty_after_full > 0,
        "the phases never filled and drained the FIFO"
    );
    Ok(())
}

#[test]
fn narrow_and_shallow() -> Result<(), Error> {
    run(8, 2, 1)
}

#[test]
fn narrow_and_deep() -> Result<(), Error> {
    run(8, 5, 2)
}

#[test]
fn wide_and_shallow() -> Result<(), Error> {
    run(100, 2, 3)
}

#[test]
fn wide_and_deep() -> Result<(), Error> {
    run(100, 5, 4)
}
