//! bmv2 figures: packets/second through the ztnic pipeline and through the trivial
//! forwarding program (`p4/trivial_fwd.p4`) in the same run, and P4Runtime
//! table entries/second written into bmv2. Prints figures; asserts nothing about time.
//!
//! Needs `simple_switch_grpc` on PATH (and `p4c-bm2-ss` if `p4/build/trivial_fwd.json`
//! is not committed); otherwise it prints one SKIPPED line.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ztnic_bmv2::Switch;
use ztnic_bmv2::tools::{P4C, SIMPLE_SWITCH_GRPC, find, repo_root, skip};
use ztnic_bmv2_tests::p4c::{ZTNIC_JSON, ZTNIC_P4INFO, compile};
use ztnic_bmv2_tests::target::{Bmv2, Bmv2Target};
use ztnic_model::tables::{CtxEpoch, LocalEp, PortClass, Prefix, RemoteAction, RemoteEp, VportCtx};
use ztnic_model::{Action, Config, PortRange, ProtoMatch, Rule};
use ztnic_p4runtime_client::protocol::v1;
use ztnic_p4runtime_client::{Atomicity, update};
use ztnic_scenario::{Op, Target};

const PACKETS: usize = 3000;
const WINDOW: usize = 8;
const ENTRIES: u32 = 2000;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    if let Err(e) = run() {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    if find(SIMPLE_SWITCH_GRPC).is_none() {
        skip(
            "bmv2_throughput",
            &format!("{SIMPLE_SWITCH_GRPC} is not on PATH; no figures"),
        );
        return Ok(());
    }
    let root = repo_root();
    let tmp = tempfile::tempdir()?;
    let (tjson, tinfo) = trivial_artifacts(&root, tmp.path())?;

    let trivial = trivial_pps(&tjson, &tinfo)?;
    let (ztnic_tx, ztnic_rx, eps_batched, eps_single) =
        ztnic_figures(&root.join(ZTNIC_JSON), &root.join(ZTNIC_P4INFO))?;
    println!("bmv2 simple_switch_grpc, {PACKETS} packets per figure, {WINDOW} in flight:");
    println!("  trivial_fwd (port to port)        {trivial:>10.0} packets/s");
    println!("  ztnic TX (UDP, conntrack, Geneve)  {ztnic_tx:>10.0} packets/s");
    println!("  ztnic RX (Geneve, auth, decap)     {ztnic_rx:>10.0} packets/s");
    println!(
        "  ztnic / trivial                    {:>10.2} (TX) {:.2} (RX)",
        ztnic_tx / trivial,
        ztnic_rx / trivial
    );
    println!("P4Runtime writes into bmv2 (vport_ctx):");
    println!("  batched (500 per Write)            {eps_batched:>10.0} entries/s");
    println!("  one per Write                      {eps_single:>10.0} entries/s");
    Ok(())
}

fn trivial_artifacts(
    root: &std::path::Path,
    tmp: &std::path::Path,
) -> Result<(PathBuf, PathBuf), Error> {
    let json = root.join("p4/build/trivial_fwd.json");
    let info = root.join("p4/build/trivial_fwd.p4info.txtpb");
    if json.is_file() && info.is_file() {
        return Ok((json, info));
    }
    if find(P4C).is_none() {
        return Err(
            "p4/build/trivial_fwd.* are not committed and p4c-bm2-ss is not on PATH".into(),
        );
    }
    let c = compile("p4/trivial_fwd.p4", tmp)?;
    Ok((c.json, c.p4info))
}

/// Sends `frames` into `port` keeping `WINDOW` in flight; packets/second of the
/// frames that came out.
fn blast(switch: &mut Switch, port: u16, frame: &[u8]) -> Result<f64, Error> {
    let sock = switch.packets();
    let start = Instant::now();
    let (mut sent, mut got) = (0usize, 0usize);
    while got < PACKETS {
        while sent < PACKETS && sent - got < WINDOW {
            sock.send(port, frame)?;
            sent += 1;
        }
        match sock.recv_timeout(Duration::from_secs(2)) {
            Some(_) => got += 1,
            None => return Err(format!("only {got} of {sent} packets came out").into()),
        }
    }
    Ok(got as f64 / start.elapsed().as_secs_f64())
}

fn trivial_pps(json: &std::path::Path, info: &std::path::Path) -> Result<f64, Error> {
    let mut b = Bmv2::start(json, info)?;
    b.load()?;
    let e = b
        .entry("port_fwd")?
        .exact("std.ingress_port", 1u16)
        .action("forward")
        .param("port", 2u16)
        .build()?;
    b.rt.block_on(b.client.insert(e))?;
    let frame = udp_frame([10, 0, 0, 1], [10, 0, 1, 5], 1000, 53);
    blast(&mut b.switch, 1, &frame)?; // warm-up
    let pps = blast(&mut b.switch, 1, &frame)?;
    b.stop();
    Ok(pps)
}

fn ztnic_figures(
    json: &std::path::Path,
    info: &std::path::Path,
) -> Result<(f64, f64, f64, f64), Error> {
    let mut t = Bmv2Target::start(json, info, 1)?;
    let config = Config {
        auth: true,
        ..Config::default()
    };
    t.reset(&config)?;
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let ops = vec![
        Op::SetPortClass {
            port: 0,
            class: PortClass::Uplink,
        },
        Op::SetPortClass {
            port: 1,
            class: PortClass::Vport,
        },
        Op::SetPortClass {
            port: 255,
            class: PortClass::Cpu,
        },
        Op::SetCtxEpoch(CtxEpoch { ctx: 256, epoch: 1 }),
        Op::SetCtxEpoch(CtxEpoch { ctx: 257, epoch: 1 }),
        Op::SetVportCtx(VportCtx {
            port: 1,
            ip: v4(10, 0, 0, 1),
            ctx: 256,
            zone: 0,
        }),
        Op::SetLocalEp(LocalEp {
            ip: v4(10, 0, 0, 1),
            vport: 1,
            ctx: 256,
            zone: 0,
        }),
        Op::SetRemoteEp(RemoteEp {
            prefix: Prefix {
                addr: v4(10, 0, 1, 0),
                len: 24,
            },
            action: RemoteAction::Geneve {
                vtep: Ipv4Addr::new(192, 168, 0, 2),
                ctx: 257,
            },
        }),
        Op::SetRule(Rule {
            id: 1,
            priority: 10,
            src: None,
            dst: None,
            proto: ProtoMatch(Some(17)),
            ports: PortRange { lo: 53, hi: 53 },
            action: Action::Allow,
        }),
    ];
    for op in &ops {
        t.apply(op)?;
    }
    // TX: the first datagram opens the connection, the rest are tracked, checked
    // against the policy (no reply yet) and encapsulated.
    let tx = udp_frame([10, 0, 0, 1], [10, 0, 1, 5], 1000, 53);
    blast(t.switch_mut(), 1, &tx)?;
    let tx_pps = blast(t.switch_mut(), 1, &tx)?;
    // RX: the replies of that flow, Geneve-encapsulated by the peer with a valid tag:
    // tag check (SipHash), ctx check, conntrack (established), decapsulation.
    let rx = geneve_reply(&config)?;
    blast(t.switch_mut(), 0, &rx)?;
    let rx_pps = blast(t.switch_mut(), 0, &rx)?;

    // P4Runtime writes: vport_ctx entries for port 2.
    let (rt, nic) = t.nic();
    let program = nic.program().clone();
    let mut updates = Vec::new();
    for i in 0..ENTRIES {
        let e = program.entry(&Op::SetVportCtx(VportCtx {
            port: 2u16,
            ip: IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i)),
            ctx: 300,
            zone: 0,
        }))?;
        updates.push(update(
            v1::update::Type::Insert,
            v1::entity::Entity::TableEntry(e),
        ));
    }
    let start = Instant::now();
    rt.block_on(
        nic.client()
            .write_batched(updates, 500, Atomicity::ContinueOnError),
    )?;
    let eps_batched = f64::from(ENTRIES) / start.elapsed().as_secs_f64();
    let single = 500u32;
    let start = Instant::now();
    for i in 0..single {
        let e = program.entry(&Op::SetVportCtx(VportCtx {
            port: 3u16,
            ip: IpAddr::V4(Ipv4Addr::from(0x0c00_0000 + i)),
            ctx: 300,
            zone: 0,
        }))?;
        rt.block_on(nic.client().insert(e))?;
    }
    let eps_single = f64::from(single) / start.elapsed().as_secs_f64();
    t.stop();
    Ok((tx_pps, rx_pps, eps_batched, eps_single))
}

/// An RX Geneve packet from the peer VTEP carrying UDP 10.0.1.5:53 → 10.0.0.1:1000
/// with a valid tag, as the model would encapsulate it at the peer.
fn geneve_reply(cfg: &Config) -> Result<Vec<u8>, Error> {
    let inner = udp_frame([10, 0, 1, 5], [10, 0, 0, 1], 53, 1000);
    let pkt = ztnic_model::parse::parse_frame(&inner).map_err(|e| format!("{e:?}"))?;
    let mac = ztnic_model::tag::tag_mac(&cfg.auth_key, 257, 1, &pkt);
    let peer = Config {
        local_vtep_ip: Ipv4Addr::new(192, 168, 0, 2),
        ..cfg.clone()
    };
    Ok(ztnic_model::tag::geneve_encap(
        &peer,
        cfg.local_vtep_ip,
        0xc000,
        (257, 1, mac),
        &inner,
    ))
}

/// A 60-byte IPv4/UDP frame.
fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    ztnic_testkit::frames::udp_frame(60, src, dst, sport, dport)
}
