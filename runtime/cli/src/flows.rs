//! `ztnic flows`: a NIC's connection table over P4Runtime. The P4 program keeps
//! it in the `ct_key` / `ct_info` registers (`ztnic_p4tables::conntrack`); the
//! FPGA agent serves them from the hardware table. bmv2's `simple_switch_grpc`
//! would be read the same way, but its P4Runtime server answers register reads
//! `UNIMPLEMENTED` (docs/p4runtime.md), which the command reports as such.

use std::net::IpAddr;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use ztnic_p4runtime_client::ClientError;
use ztnic_p4tables::conntrack::{self, CtCell};
use ztnic_p4tables::names;

/// `ztnic flows`.
#[derive(Args)]
pub struct FlowsArgs {
    /// The NIC's P4Runtime address (a ztnic agent; simple_switch_grpc refuses
    /// register reads).
    #[arg(long)]
    target: String,
    /// The P4Runtime device id.
    #[arg(long, default_value_t = 1)]
    device_id: u64,
    /// Print machine-readable JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tls: crate::tls::ClientTlsArgs,
}

/// One tracked connection, as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowRow {
    /// Register index (way · 4096 + bucket).
    pub index: i64,
    pub way: u32,
    pub bucket: u32,
    pub zone: u16,
    /// `tcp`, `udp`, `icmp`, `icmpv6` or the protocol number.
    pub proto: String,
    /// The endpoint that opened the connection, `addr:port`.
    pub originator: String,
    /// The endpoint it opened it to.
    pub responder: String,
    /// The TCP state (`ESTABLISHED`, ...); `null` for other protocols.
    pub tcp_state: Option<String>,
    pub assured: bool,
    pub replied: bool,
    /// Last packet, microseconds of the device clock.
    pub last_seen_us: u64,
    /// Policy generation that admitted the connection.
    pub policy_gen: u16,
}

#[derive(Serialize)]
struct FlowsReport {
    flows: usize,
    entries: Vec<FlowRow>,
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        n => n.to_string(),
    }
}

fn endpoint_text((addr, port): (IpAddr, u16)) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The rows of the live entries of the table.
pub fn rows(cells: &[(i64, CtCell)]) -> Vec<FlowRow> {
    cells
        .iter()
        .map(|(i, c)| {
            let f = c.flow();
            let (way, bucket) = conntrack::way_bucket(*i).unwrap_or((u32::MAX, u32::MAX));
            FlowRow {
                index: *i,
                way,
                bucket,
                zone: f.zone,
                proto: proto_name(f.proto),
                originator: endpoint_text(f.originator),
                responder: endpoint_text(f.responder),
                tcp_state: f.tcp_state.map(str::to_string),
                assured: f.assured,
                replied: f.replied,
                last_seen_us: f.last_seen_us,
                policy_gen: f.policy_gen,
            }
        })
        .collect()
}

/// The table people read, ending with the number of flows.
pub fn table(rows: &[FlowRow]) -> String {
    let ow = rows
        .iter()
        .map(|r| r.originator.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let rw = rows
        .iter()
        .map(|r| r.responder.len())
        .max()
        .unwrap_or(0)
        .max(9);
    let mut s = format!(
        "{:<6}  {:<ow$}    {:<rw$}  {:>5}  {:<11}  {:<15}  {:>14}  {:>5}\n",
        "proto", "originator", "responder", "zone", "state", "flags", "last seen us", "gen"
    );
    for r in rows {
        let flags = match (r.assured, r.replied) {
            (true, true) => "assured,replied",
            (true, false) => "assured",
            (false, true) => "replied",
            (false, false) => "-",
        };
        s.push_str(&format!(
            "{:<6}  {:<ow$} -> {:<rw$}  {:>5}  {:<11}  {:<15}  {:>14}  {:>5}\n",
            r.proto,
            r.originator,
            r.responder,
            r.zone,
            r.tcp_state.as_deref().unwrap_or("-"),
            flags,
            r.last_seen_us,
            r.policy_gen
        ));
    }
    s.push_str(&format!(
        "{} flow{}\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    s
}

/// A register read the target refuses (bmv2's P4Runtime server answers every
/// register read UNIMPLEMENTED) says so.
fn refused(e: ClientError) -> anyhow::Error {
    match &e {
        ClientError::Rpc(s) if format!("{:?}", s.code()) == "Unimplemented" => anyhow::anyhow!(
            "{e}\nthe target does not serve P4Runtime register reads (bmv2's simple_switch_grpc \
             does not; a ztnic agent does)"
        ),
        _ => anyhow::Error::new(e),
    }
}

/// Reads the connection table of a NIC and prints it.
pub async fn flows(a: FlowsArgs) -> Result<()> {
    let (mut client, _) =
        crate::commands::read_only_session(&a.target, a.device_id, &a.tls).await?;
    let keys = client
        .read_register(names::CT_KEY, None)
        .await
        .map_err(refused)
        .context("reading the ct_key register")?;
    let infos = client
        .read_register(names::CT_INFO, None)
        .await
        .map_err(refused)
        .context("reading the ct_info register")?;
    let cells = conntrack::cells(&keys, &infos).context("decoding the conntrack registers")?;
    let rows = rows(&cells);
    if a.json {
        let report = FlowsReport {
            flows: rows.len(),
            entries: rows,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ztnic_model::CtKey;
    use ztnic_model::addr::to_u128;
    use ztnic_p4tables::conntrack::CtInfo;

    fn cell(lo: &str, hi: &str, proto: u8, info: CtInfo) -> CtCell {
        CtCell {
            key: CtKey {
                zone: 3,
                proto,
                lo_addr: to_u128(lo.parse().unwrap()),
                hi_addr: to_u128(hi.parse().unwrap()),
                lo_port: 5432,
                hi_port: 45000,
            },
            info,
        }
    }

    #[test]
    fn flows_print_originator_first_with_state_and_flags() {
        let tcp = CtInfo {
            last_seen_us: 4000,
            policy_gen: 2,
            tcp_state: 3,
            kind: conntrack::KIND_TCP,
            assured: true,
            replied: true,
            orig_lo: false,
        };
        let udp = CtInfo {
            last_seen_us: 1000,
            policy_gen: 2,
            tcp_state: 0,
            kind: conntrack::KIND_UDP,
            assured: false,
            replied: false,
            orig_lo: true,
        };
        let cells = vec![
            (4096 + 7, cell("10.0.0.1", "10.0.0.2", 6, tcp)),
            (12, cell("fd00::1", "fd00::2", 17, udp)),
        ];
        let r = rows(&cells);
        assert_eq!((r[0].way, r[0].bucket), (1, 7));
        assert_eq!(
            r[0].originator, "10.0.0.2:45000",
            "orig_lo false: hi opened"
        );
        assert_eq!(r[0].responder, "10.0.0.1:5432");
        assert_eq!(r[0].tcp_state.as_deref(), Some("ESTABLISHED"));
        assert_eq!(r[1].originator, "[fd00::1]:5432");
        assert_eq!(
            (r[1].proto.as_str(), r[1].tcp_state.as_deref()),
            ("udp", None)
        );

        let t = table(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("proto"));
        for want in [
            "tcp",
            "10.0.0.2:45000 -> 10.0.0.1:5432",
            "ESTABLISHED",
            "assured,replied",
            "4000",
        ] {
            assert!(lines[1].contains(want), "{want} in {}", lines[1]);
        }
        for want in ["udp", "[fd00::1]:5432 -> [fd00::2]:45000", " - "] {
            assert!(lines[2].contains(want), "{want} in {}", lines[2]);
        }
        assert_eq!(lines[3], "2 flows");
        assert_eq!(table(&r[..1]).lines().last(), Some("1 flow"));
        assert_eq!(table(&[]).lines().last(), Some("0 flows"));

        let json = serde_json::to_value(FlowsReport {
            flows: r.len(),
            entries: r,
        })
        .unwrap();
        assert_eq!(json["flows"], 2);
        assert_eq!(json["entries"][0]["tcp_state"], "ESTABLISHED");
        assert_eq!(json["entries"][1]["tcp_state"], serde_json::Value::Null);
    }
}
