//! Shared harness: in-memory P4Runtime servers on 127.0.0.1 (each in its own
//! runtime, like a separate process), the ztnic pipeline, the Sock Shop policy and
//! frame builders.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use ztnic_controller::{Controller, Held, Nic, NicInfo, PipelineSource};
use ztnic_intent::{Engine, PolicyFile};
use ztnic_model::Op;
use ztnic_model::parse::ipv4_checksum_fold;
use ztnic_p4runtime_client::protocol::text;
use ztnic_p4runtime_server::{InMemoryBackend, P4RuntimeService, ServerConfig};

pub const HOSTS: [&str; 3] = ["node-1", "node-2", "node-3"];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn pipeline() -> PipelineSource {
    let p4info = text::load_p4info(repo().join("p4/build/ztnic.p4info.txtpb")).unwrap();
    PipelineSource::new(p4info, Vec::new())
}

pub fn sockshop() -> PolicyFile {
    let text = std::fs::read_to_string(repo().join("examples/sockshop/policy.yaml")).unwrap();
    PolicyFile::from_yaml(&text).unwrap()
}

/// A ztnic device: an in-memory P4Runtime server on its own runtime.
pub struct Server {
    rt: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    pub service: P4RuntimeService<InMemoryBackend>,
}

impl Server {
    pub fn start() -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (service, listener) = {
            let _guard = rt.enter();
            (
                P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default()),
                tokio::net::TcpListener::from_std(std_listener).unwrap(),
            )
        };
        let svc = service.clone();
        rt.spawn(async move {
            svc.serve(listener, std::future::pending()).await.unwrap();
        });
        Server {
            rt: Some(rt),
            addr,
            service,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub async fn connect(name: &str, server: &Server) -> Nic {
    Nic::connect(name, &server.endpoint(), 1, 1, &pipeline())
        .await
        .unwrap()
}

pub async fn connect_info(info: NicInfo) -> Result<Nic, ztnic_controller::ControllerError> {
    Nic::connect(
        &info.name,
        &info.endpoint,
        info.device_id,
        info.election_id,
        &pipeline(),
    )
    .await
}

/// Three servers and a controller with the Sock Shop policy applied.
pub async fn sockshop_setup() -> (Vec<Server>, Controller) {
    let servers: Vec<Server> = HOSTS.iter().map(|_| Server::start()).collect();
    let mut c = Controller::new(Engine::new());
    for (h, s) in HOSTS.iter().zip(&servers) {
        let nic = connect(h, s).await;
        assert!(nic.pipeline_was_set(), "a fresh device gets the pipeline");
        c.add_nic(h, nic).unwrap();
    }
    c.apply(&sockshop()).await.unwrap();
    (servers, c)
}

/// What `desired` says, sorted by table.
pub fn desired_held(c: &Controller, host: &str) -> (ztnic_model::Config, Held) {
    let (cfg, ops) = c.desired(host).unwrap();
    let h = Held::from_ops(&ops, cfg.policy_gen);
    (cfg, h)
}

/// Asserts that the device holds exactly what `desired(host)` says.
pub async fn assert_device_is_desired(c: &mut Controller, host: &str) {
    let (cfg, want) = desired_held(c, host);
    let (_, ops) = c.desired(host).unwrap();
    let st = c.nic_mut(host).unwrap().read_back().await.unwrap();
    assert_eq!(st.config.as_ref(), Some(&cfg), "{host}: configuration");
    assert!(
        st.foreign.is_empty(),
        "{host}: foreign entries {:?}",
        st.foreign
    );
    assert_eq!(st.ops.len(), ops.len(), "{host}: entry count");
    assert_eq!(st.held(), want, "{host}: entries");
}

pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ztnic-controller-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn count_ops(ops: &[Op], pred: impl Fn(&Op) -> bool) -> usize {
    ops.iter().filter(|o| pred(o)).count()
}

// ------------------------------------------------------------------ frames

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// An Ethernet/IPv4/TCP SYN frame with a correct IPv4 checksum.
pub fn tcp_syn(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let csum = !ipv4_checksum_fold(&ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    f.extend_from_slice(&tcp);
    f
}

/// An ARP request frame.
pub fn arp() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[0u8; 20]);
    f
}
