//! Synthetic deployments for measurements and demos: many workloads with a few
//! versions each, spread over many hosts, calling a handful of neighbours.

use std::net::{IpAddr, Ipv4Addr};

use ztnic_model::{Action, PortRange, ProtoMatch};

use crate::{Host, Instance, Intent, Labels, Peer, PolicyFile, Workload};

/// The shape of a synthetic deployment.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Distinct services (`app` label values).
    pub apps: usize,
    /// Distinct versions of each service (each version is its own label set).
    pub versions: usize,
    /// Instances of each (service, version) workload.
    pub instances: usize,
    /// NICs the instances are spread over.
    pub hosts: usize,
    /// How many other services each service calls.
    pub fanout: usize,
}

fn label(pairs: &[(&str, String)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Builds the deployment: service `a` (every version) may call services
/// `a+1 … a+fanout` (modulo `apps`) on tcp/8080.
pub fn deployment(s: Shape) -> PolicyFile {
    let hosts: Vec<Host> = (0..s.hosts)
        .map(|h| Host {
            name: format!("node-{h}"),
            vtep: Ipv4Addr::new(192, 168, (h / 250) as u8, (h % 250 + 1) as u8),
        })
        .collect();
    let mut next_ip: u32 = u32::from(Ipv4Addr::new(10, 0, 0, 1));
    let mut slot = 0usize;
    let mut workloads = Vec::new();
    for a in 0..s.apps {
        for v in 0..s.versions {
            let instances = (0..s.instances)
                .map(|_| {
                    let host = slot % s.hosts;
                    let i = Instance {
                        ip: IpAddr::V4(Ipv4Addr::from(next_ip)),
                        host: hosts[host].name.clone(),
                        vport: (1 + slot / s.hosts % 4000) as u16,
                    };
                    slot += 1;
                    next_ip += 1;
                    i
                })
                .collect();
            workloads.push(Workload {
                name: format!("svc-{a}-v{v}"),
                labels: label(&[("app", format!("svc-{a}")), ("version", format!("{v}"))]),
                instances,
            });
        }
    }
    let intents = (0..s.apps)
        .flat_map(|a| {
            (1..=s.fanout).map(move |k| Intent {
                name: format!("svc-{a}-calls-svc-{}", (a + k) % s.apps),
                from: Peer::Labels(label(&[("app", format!("svc-{a}"))])),
                to: Peer::Labels(label(&[("app", format!("svc-{}", (a + k) % s.apps))])),
                proto: ProtoMatch(Some(6)),
                ports: PortRange { lo: 8080, hi: 8080 },
                action: Action::Allow,
                priority: 100,
            })
        })
        .collect();
    PolicyFile {
        hosts,
        workloads,
        intents,
    }
}
