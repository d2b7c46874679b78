//! `rtl/ztnic_siphash_pipe.v` alone against the model's SipHash-2-4: the context tag MAC
//! (`ztnic_model::tag::tag_mac`, the low 32 bits) of random IPv4 and IPv6 packets under
//! random keys, and the full 64-bit hash of random messages of every length the module
//! accepts, checked against `siphasher` (the crate the model's MAC is built on). A new
//! message enters on every enabled clock; the enable has random gaps; each hash must
//! come out exactly 8 enabled clocks after its message and hold while the enable is low.

use std::collections::VecDeque;
use std::hash::Hasher;

use siphasher::sip::SipHasher24;
use ztnic_model::config::AuthKey;
use ztnic_model::parse::{IpPacket, L4, PROTO_TCP, PROTO_UDP, Tcp};
use ztnic_model::tag::tag_mac;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;

/// Enabled clocks from a message to its hash.
const LATENCY: usize = 8;

fn siphash(key: &[u8; 16], msg: &[u8]) -> u64 {
    let mut h = SipHasher24::new_with_key(key);
    h.write(msg);
    h.finish()
}

fn random_key(rng: &mut Rng) -> [u8; 16] {
    core::array::from_fn(|_| rng.next_u64() as u8)
}

/// A random packet the tag MAC covers: IPv4 or IPv6; TCP, UDP or another protocol.
fn random_packet(rng: &mut Rng) -> IpPacket {
    let v6 = rng.chance(1, 2);
    let addr = |rng: &mut Rng| {
        if v6 {
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
        } else {
            ztnic_model::addr::v4_mapped(rng.next_u64() as u32)
        }
    };
    let src = addr(rng);
    let dst = addr(rng);
    let sport = rng.next_u64() as u16;
    let dport = rng.next_u64() as u16;
    let (proto, l4) = match rng.below(3) {
        0 => (
            PROTO_TCP,
            L4::Tcp(Tcp {
                sport,
                dport,
                seq: 1,
                ack: 2,
                flags: 0x10,
                window: 100,
                payload_len: 0,
            }),
        ),
        1 => (
            PROTO_UDP,
            L4::Udp {
                sport,
                dport,
                payload: (0, 0),
            },
        ),
        _ => (rng.below(256) as u8, L4::Other),
    };
    IpPacket {
        v6,
        src,
        dst,
        proto,
        l4,
    }
}

/// The MAC's message as the engine lays it out: ctx (3) ‖ epoch ‖ src ‖ dst ‖ proto ‖
/// sport ‖ dport (17 bytes for IPv4, 41 for IPv6).
fn mac_message(ctx: u32, epoch: u8, p: &IpPacket) -> Vec<u8> {
    let mut m = ctx.to_be_bytes()[1..].to_vec();
    m.push(epoch);
    let n = if p.v6 { 0 } else { 12 };
    m.extend_from_slice(&p.src.to_be_bytes()[n..]);
    m.extend_from_slice(&p.dst.to_be_bytes()[n..]);
    m.push(p.proto);
    let (s, d) = p.l4_ports();
    m.extend_from_slice(&s.to_be_bytes());
    m.extend_from_slice(&d.to_be_bytes());
    m
}

/// Streams `inputs` (key, message, expected hash, mask of the bits compared) through a
/// pipeline of `max_bytes`, one per enabled clock, and checks every output.
fn stream(
    m: &mut ModuleSim,
    rng: &mut Rng,
    inputs: &[([u8; 16], Vec<u8>, u64, u64)],
) -> Result<(), Error> {
    let msg_bytes = (m.bits("msg")? / 8) as usize;
    let mut next = 0;
    let mut in_flight: VecDeque<(u64, u64, usize)> = VecDeque::new();
    // the output: the hash of the message LATENCY enabled clocks back
    let mut shown: Option<(u64, u64, usize)> = None;
    let mut clock = 0;
    while next < inputs.len() || !in_flight.is_empty() {
        let en = rng.chance(3, 4);
        if next < inputs.len() {
            let (key, msg, _, _) = &inputs[next];
            let mut padded = msg.clone();
            // bytes beyond `len` must not matter: fill them with noise
            while padded.len() < msg_bytes {
                padded.push(rng.next_u64() as u8);
            }
            m.set_bytes_le("key", key)?;
            m.set_bytes_le("msg", &padded)?;
            m.set_u64("len", msg.len() as u64)?;
        }
        m.set_bool("en", en)?;
        m.tick("clk")?;
        if en {
            if next < inputs.len() {
                in_flight.push_back((inputs[next].2, inputs[next].3, next));
                next += 1;
            } else {
                // draining: a filler message (empty, zero key) whose hash nobody checks
                in_flight.push_back((0, 0, usize::MAX));
            }
            if in_flight.len() == LATENCY {
                shown = in_flight.pop_front();
            }
        }
        if let Some((want, mask, i)) = shown {
            let got = m.get_u64("hash")?;
            assert_eq!(
                got & mask,
                want & mask,
                "clock {clock}: message {i} {:02x?} under key {:02x?}",
                inputs.get(i).map(|x| &x.1),
                inputs.get(i).map(|x| x.0),
            );
        }
        clock += 1;
        if next == inputs.len() && in_flight.iter().all(|x| x.2 == usize::MAX) {
            break;
        }
    }
    Ok(())
}

#[test]
fn the_tag_mac_of_random_packets_matches_the_model() -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_siphash_pipe", &[])?;
    let mut rng = Rng::new(0x51f);
    let inputs: Vec<_> = (0..400)
        .map(|_| {
            let key = random_key(&mut rng);
            let p = random_packet(&mut rng);
            let ctx = rng.next_u64() as u32 & 0xff_ffff;
            let epoch = rng.next_u64() as u8;
            let mac = tag_mac(&AuthKey(key), ctx, epoch, &p);
            (
                key,
                mac_message(ctx, epoch, &p),
                u64::from(mac),
                0xffff_ffff,
            )
        })
        .collect();
    stream(&mut m, &mut rng, &inputs)
}

#[test]
fn the_full_hash_matches_siphash_at_every_length() -> Result<(), Error> {
    for (max_bytes, seed) in [(47usize, 1u64), (41, 2), (17, 3), (8, 4), (1, 5)] {
        let params: &[(&str, i64)] = if max_bytes == 47 {
            &[]
        } else {
            &[("MAX_BYTES", max_bytes as i64)]
        };
        let mut m = ModuleSim::build("ztnic_siphash_pipe", params)?;
        assert_eq!(m.bits("msg")?, 8 * max_bytes as u32);
        let mut rng = Rng::new(seed);
        let mut inputs = Vec::new();
        for round in 0..6 {
            for len in 0..=max_bytes {
                let key = if round == 0 {
                    core::array::from_fn(|i| i as u8)
                } else {
                    random_key(&mut rng)
                };
                let msg: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                let h = siphash(&key, &msg);
                inputs.push((key, msg, h, u64::MAX));
            }
        }
        stream(&mut m, &mut rng, &inputs)?;
    }
    Ok(())
}

#[test]
fn the_reference_vector_of_the_paper() -> Result<(), Error> {
    // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e -> a129ca6149be45e5
    let mut m = ModuleSim::build("ztnic_siphash_pipe", &[])?;
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    let msg: Vec<u8> = (0u8..15).collect();
    m.set_bytes_le("key", &key)?;
    m.set_bytes_le("msg", &msg)?;
    m.set_u64("len", 15)?;
    m.set_bool("en", true)?;
    for _ in 0..LATENCY {
        m.tick("clk")?;
    }
    assert_eq!(m.get_u64("hash")?, 0xa129_ca61_49be_45e5);
    Ok(())
}
