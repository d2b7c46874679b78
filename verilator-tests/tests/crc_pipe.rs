//! `rtl/ztnic_crc_pipe.v` alone against the model's CRCs (`ztnic_model::conntrack::CRC32`
//! and `CRC16`, the conntrack hashes): random byte strings at every width the engine
//! uses (16, 18 and 39 bytes) and at the edges (2, 3, 8, 64 bytes), with the chunk of
//! input bits per registered share at its smallest (2), at the default (36, a partial
//! last chunk at most widths) and wider than the input (one share), for CRC-32/IEEE and
//! CRC-16/ARC. The input is enabled
//! on random clocks: the CRC of the data presented with `en` must appear exactly one
//! clock later, and stay while `en` is low.

use ztnic_model::conntrack::{CRC16, CRC32};
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Crc32,
    Crc16,
}

impl Kind {
    fn params(self) -> Vec<(&'static str, i64)> {
        match self {
            Kind::Crc32 => vec![],
            // CRC-16/ARC, as the engine instantiates it
            Kind::Crc16 => vec![("W", 16), ("POLY", 0xa001), ("INIT", 0), ("XOROUT", 0)],
        }
    }

    fn reference(self, bytes: &[u8]) -> u64 {
        match self {
            Kind::Crc32 => u64::from(CRC32.checksum(bytes)),
            Kind::Crc16 => u64::from(CRC16.checksum(bytes)),
        }
    }
}

/// Drives one configuration for `clocks` clocks; checks the output before and after
/// every rising edge.
fn run(kind: Kind, bytes: usize, chunk: usize, clocks: usize, seed: u64) -> Result<(), Error> {
    let mut params = kind.params();
    params.push(("BYTES", bytes as i64));
    params.push(("CHUNK", chunk as i64));
    let mut m = ModuleSim::build("ztnic_crc_pipe", &params)?;
    let width = match kind {
        Kind::Crc32 => 32,
        Kind::Crc16 => 16,
    };
    assert_eq!(m.bits("crc")?, width);
    assert_eq!(m.bits("data")?, 8 * bytes as u32);

    let mut rng = Rng::new(seed);
    // what `crc` shows: the CRC of the last enabled input (none yet)
    let mut expect: Option<u64> = None;
    for clock in 0..clocks {
        let data: Vec<u8> = (0..bytes).map(|_| rng.next_u64() as u8).collect();
        // byte 0 is the most significant byte of the vector
        let le: Vec<u8> = data.iter().rev().copied().collect();
        let en = rng.chance(2, 3);
        m.set_bytes_le("data", &le)?;
        m.set_bool("en", en)?;
        m.eval()?;
        if let Some(e) = expect {
            // nothing reaches the output before the edge
            assert_eq!(
                m.get_u64("crc")?,
                e,
                "{kind:?} BYTES={bytes} CHUNK={chunk} clock {clock}: output changed before the edge"
            );
        }
        m.tick("clk")?;
        if en {
            expect = Some(kind.reference(&data));
        }
        if let Some(e) = expect {
            assert_eq!(
                m.get_u64("crc")?,
                e,
                "{kind:?} BYTES={bytes} CHUNK={chunk} clock {clock} (en {en}): data {data:02x?}"
            );
        }
    }
    Ok(())
}

fn sweep(kind: Kind, lengths: &[usize], seed: u64) -> Result<(), Error> {
    for &bytes in lengths {
        for chunk in [2, 36, 216] {
            run(
                kind,
                bytes,
                chunk,
                300,
                seed ^ ((bytes as u64) << 8) ^ chunk as u64,
            )?;
        }
    }
    Ok(())
}

#[test]
fn crc32_matches_the_model_at_every_width_and_chunk() -> Result<(), Error> {
    sweep(Kind::Crc32, &[2, 3, 8, 16, 18, 39, 64], 0x3232)
}

#[test]
fn crc16_matches_the_model_at_every_width_and_chunk() -> Result<(), Error> {
    sweep(Kind::Crc16, &[2, 3, 39, 64], 0x1616)
}

#[test]
fn the_check_value_of_the_catalogue() -> Result<(), Error> {
    // "123456789" (9 bytes): CRC-32 cbf43926, CRC-16/ARC bb3d, as the CRC catalogue says
    for (kind, check) in [(Kind::Crc32, 0xcbf4_3926), (Kind::Crc16, 0xbb3d)] {
        let mut params = kind.params();
        params.extend([("BYTES", 9), ("CHUNK", 5)]);
        let mut m = ModuleSim::build("ztnic_crc_pipe", &params)?;
        let le: Vec<u8> = b"123456789".iter().rev().copied().collect();
        m.set_bytes_le("data", &le)?;
        m.set_bool("en", true)?;
        m.tick("clk")?;
        assert_eq!(m.get_u64("crc")?, check, "{kind:?}");
    }
    Ok(())
}

#[test]
fn an_illegal_chunk_stops_elaboration() {
    match ModuleSim::build("ztnic_crc_pipe", &[("BYTES", 8), ("CHUNK", 1)]) {
        Err(Error::Stopped { .. } | Error::Verilate { .. }) => {}
        other => panic!("CHUNK = 1 was accepted: {other:?}"),
    }
}
