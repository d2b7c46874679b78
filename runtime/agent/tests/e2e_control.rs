//! The controller driving one agent over real gRPC on loopback, the agent backed
//! by the Verilated NIC: a policy applied and enforced on traffic, an epoch
//! change cutting a live flow, a controller restart reconciling a damaged
//! device without touching live connections, and the slow path re-installing a
//! missing context and re-injecting the punted packet.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ztnic_testkit::frames::Tcp;

use ztnic_agent::{Agent, FpgaBackend, SimDevice};
use ztnic_controller::{Controller, ControllerError, Nic, PipelineSource, SlowPathAction};
use ztnic_intent::{Engine, PolicyFile};
use ztnic_model::tables::CtxEpoch;
use ztnic_model::{DropReason, Op, Outcome, PuntReason, Verdict};
use ztnic_p4runtime_client::protocol::v1::entity::Entity;
use ztnic_p4runtime_client::protocol::v1::update::Type;
use ztnic_p4runtime_client::{Atomicity, ClientConfig, P4RuntimeClient, update};
use ztnic_p4runtime_server::ServerConfig;
use ztnic_p4tables::ztnic_program;

const HOST: &str = "node-1";

const POLICY: &str = r#"
hosts:
  - {name: node-1, vtep: 192.168.0.1}
workloads:
  - name: web
    labels: {app: web}
    instances:
      - {ip: 10.1.0.1, host: node-1, vport: 1}
      - {ip: 10.1.0.2, host: node-1, vport: 2}
  - name: db
    labels: {app: db}
    instances:
      - {ip: 10.1.0.9, host: node-1, vport: 3}
intents:
  - {name: web-to-db, from: {app: web}, to: {app: db}, proto: tcp, ports: 5432, action: allow}
  - {name: no-ssh, from: any, to: any, proto: tcp, ports: 22, action: deny, priority: 200}
"#;

/// The same deployment with the instance 10.1.0.2 relabelled
/// `{app: web, patch: outdated}` and a quarantine for outdated workloads.
const POLICY_OUTDATED: &str = r#"
hosts:
  - {name: node-1, vtep: 192.168.0.1}
workloads:
  - name: web
    labels: {app: web}
    instances:
      - {ip: 10.1.0.1, host: node-1, vport: 1}
  - name: web-outdated
    labels: {app: web, patch: outdated}
    instances:
      - {ip: 10.1.0.2, host: node-1, vport: 2}
  - name: db
    labels: {app: db}
    instances:
      - {ip: 10.1.0.9, host: node-1, vport: 3}
intents:
  - {name: web-to-db, from: {app: web}, to: {app: db}, proto: tcp, ports: 5432, action: allow}
  - {name: no-ssh, from: any, to: any, proto: tcp, ports: 22, action: deny, priority: 200}
  - {name: quarantine, from: {patch: outdated}, to: any, action: deny, priority: 1000}
"#;

const WEB1: [u8; 4] = [10, 1, 0, 1];
const WEB2: [u8; 4] = [10, 1, 0, 2];
const DB: [u8; 4] = [10, 1, 0, 9];

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;

fn source() -> PipelineSource {
    PipelineSource::new(ztnic_p4tables::ztnic_p4info().unwrap(), Vec::new())
}

async fn agent() -> Agent<SimDevice> {
    Agent::start(
        FpgaBackend::new(SimDevice::new()).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        false,
    )
    .await
    .unwrap()
}

async fn connect(endpoint: &str, election: u128) -> Result<Nic, ControllerError> {
    // a session that just ended may still be primary for a moment
    let mut tries = 0;
    loop {
        match Nic::connect(HOST, endpoint, 1, election, &source()).await {
            Err(ControllerError::NotPrimary { .. }) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            r => return r,
        }
    }
}

/// A controller with the policy, its NIC synced.
async fn controller(a: &Agent<SimDevice>) -> Controller {
    let engine = Engine::from_file(&PolicyFile::from_yaml(POLICY).unwrap()).unwrap();
    let mut c = Controller::new(engine);
    let nic = connect(&a.endpoint(), 1).await.unwrap();
    assert!(nic.pipeline_was_set(), "a fresh agent gets the pipeline");
    c.add_nic(HOST, nic).unwrap();
    let r = c.sync_all().await.unwrap();
    assert!(r.nics[HOST].config_written);
    c
}

/// A 14 + 20 + 20-byte IPv4/TCP segment with `payload` bytes of data.
#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: usize,
) -> Vec<u8> {
    Tcp {
        src,
        dst,
        sport,
        dport,
        flags,
        seq,
        ack,
        win: 65535,
        payload,
    }
    .frame()
}

/// One frame into data-plane port `port` of the simulated NIC.
fn send(a: &Agent<SimDevice>, at_us: u64, port: u16, frame: &[u8]) -> Outcome {
    let mut v = a.with_backend(|b| b.device().send(at_us, &[(port, frame.to_vec())]).unwrap());
    assert_eq!(v.len(), 1);
    v.remove(0)
}

#[track_caller]
fn assert_forward(o: &Outcome, port: u16, frame: &[u8]) {
    match &o.verdict {
        Verdict::Forward { port: p, frame: f } => {
            assert_eq!(*p, port, "forwarded to the wrong port");
            assert_eq!(f, frame, "a hairpinned frame is delivered unchanged");
        }
        other => panic!("expected a forward to port {port}, got {other:?}"),
    }
}

#[track_caller]
fn assert_drop(o: &Outcome, reason: DropReason) {
    assert_eq!(o.verdict, Verdict::Drop(reason));
}

/// A TCP connection from a web instance (`vport`, `src`:`sport`) to db:5432.
struct Conn {
    vport: u16,
    src: [u8; 4],
    sport: u16,
    /// next sequence numbers of the client and of the server
    c: u32,
    s: u32,
}

impl Conn {
    fn new(vport: u16, src: [u8; 4], sport: u16) -> Conn {
        Conn {
            vport,
            src,
            sport,
            c: 1000,
            s: 70_000,
        }
    }

    /// SYN, SYN+ACK, ACK: each forwarded to the other side.
    fn handshake(&mut self, a: &Agent<SimDevice>, at_us: u64) {
        let syn = tcp(self.src, DB, self.sport, 5432, SYN, self.c, 0, 0);
        assert_forward(&send(a, at_us, self.vport, &syn), 3, &syn);
        self.c += 1;
        let synack = tcp(DB, self.src, 5432, self.sport, SYN_ACK, self.s, self.c, 0);
        assert_forward(&send(a, at_us + 10, 3, &synack), self.vport, &synack);
        self.s += 1;
        let ack = tcp(self.src, DB, self.sport, 5432, ACK, self.c, self.s, 0);
        let o = send(a, at_us + 20, self.vport, &ack);
        assert_forward(&o, 3, &ack);
        assert!(o.ct_state.unwrap().est, "established after the handshake");
    }

    /// A data segment from the client (not yet sent).
    fn data(&self) -> Vec<u8> {
        tcp(self.src, DB, self.sport, 5432, PSH_ACK, self.c, self.s, 10)
    }

    /// Data from the client and the server's ACK, both forwarded.
    fn exchange(&mut self, a: &Agent<SimDevice>, at_us: u64) {
        let d = self.data();
        let o = send(a, at_us, self.vport, &d);
        assert_forward(&o, 3, &d);
        assert!(o.ct_state.unwrap().est);
        self.c += 10;
        let ack = tcp(DB, self.src, 5432, self.sport, ACK, self.s, self.c, 0);
        let o = send(a, at_us + 10, 3, &ack);
        assert_forward(&o, self.vport, &ack);
        assert!(o.ct_state.unwrap().rpl);
    }
}

fn conntrack_len(a: &Agent<SimDevice>) -> usize {
    a.with_backend(|b| b.driver().conntrack_entries().unwrap().len())
}

/// The sorted `Debug` forms of what the device holds, read back over P4Runtime.
async fn device_ops(c: &mut Controller) -> Vec<String> {
    let st = c.nic_mut(HOST).unwrap().read_back().await.unwrap();
    assert!(st.foreign.is_empty(), "foreign entries: {:?}", st.foreign);
    let mut v: Vec<String> = st.ops.iter().map(|o| format!("{o:?}")).collect();
    v.sort();
    v
}

fn desired_ops(c: &Controller) -> Vec<String> {
    let (_, ops) = c.desired(HOST).unwrap();
    let mut v: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_policy_is_enforced_on_traffic() {
    let a = agent().await;
    let mut c = controller(&a).await;
    assert_eq!(device_ops(&mut c).await, desired_ops(&c));

    // web → db tcp/5432: handshake, data both ways, all delivered by local_ep
    let mut conn = Conn::new(1, WEB1, 40000);
    conn.handshake(&a, 1_000);
    conn.exchange(&a, 2_000);
    conn.exchange(&a, 3_000);
    assert_eq!(conntrack_len(&a), 1);

    // web → db tcp/22: the no-ssh deny
    let ssh = tcp(WEB1, DB, 40001, 22, SYN, 1, 0, 0);
    assert_drop(&send(&a, 4_000, 1, &ssh), DropReason::PolicyDeny);
    // db → web: no intent allows it
    let back = tcp(DB, WEB1, 41000, 8080, SYN, 1, 0, 0);
    assert_drop(&send(&a, 5_000, 3, &back), DropReason::PolicyDefaultDeny);
    assert_eq!(conntrack_len(&a), 1, "denied connections leave no entry");

    // the counters over P4Runtime agree
    let counters = c.nic_mut(HOST).unwrap().counters().await.unwrap();
    assert_eq!(counters.drops.get(&DropReason::PolicyDeny), Some(&1));
    assert_eq!(counters.drops.get(&DropReason::PolicyDefaultDeny), Some(&1));
    let web = c.engine().context_of("web").unwrap().id;
    let allow = c
        .engine()
        .rules()
        .into_iter()
        .find(|r| r.src == Some(web) && r.action == ztnic_model::Action::Allow)
        .unwrap();
    assert_eq!(
        counters.rules.get(&allow.id).map(|pb| pb.packets),
        Some(1),
        "the allow rule decided the SYN only"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabelling_an_instance_cuts_its_live_flow_only() {
    let a = agent().await;
    let mut c = controller(&a).await;
    let mut one = Conn::new(1, WEB1, 40000);
    let mut two = Conn::new(2, WEB2, 40002);
    one.handshake(&a, 1_000);
    two.handshake(&a, 1_100);
    one.exchange(&a, 2_000);
    two.exchange(&a, 2_100);
    assert_eq!(conntrack_len(&a), 2);
    let gen_before = c.engine().policy_gen();
    let web = c.engine().context_of("web").unwrap().id;

    // 10.1.0.2 becomes {app: web, patch: outdated}, quarantined
    let r = c
        .apply(&PolicyFile::from_yaml(POLICY_OUTDATED).unwrap())
        .await
        .unwrap();
    let nr = &r.nics[HOST];
    assert!(nr.config_written, "the generation is written: {nr:?}");
    assert_ne!(c.engine().policy_gen(), gen_before);
    let outdated = c.engine().context_of("web-outdated").unwrap().id;
    assert_ne!(outdated, web);
    assert_eq!(
        c.nic(HOST)
            .unwrap()
            .held_vport_ctx(2, "10.1.0.2".parse().unwrap())
            .map(|v| v.ctx),
        Some(outdated)
    );
    assert_eq!(device_ops(&mut c).await, desired_ops(&c));
    assert_eq!(
        c.nic(HOST).unwrap().config().unwrap().policy_gen,
        c.engine().policy_gen()
    );

    // the next packet of the relabelled instance's connection is re-checked and
    // denied; its conntrack entry is gone
    let d = two.data();
    assert_drop(&send(&a, 3_000, 2, &d), DropReason::PolicyDeny);
    assert_eq!(
        conntrack_len(&a),
        1,
        "the cut connection's entry is deleted"
    );
    // with no entry, db's reply is no longer part of any connection
    let late = tcp(DB, WEB2, 5432, 40002, ACK, two.s, two.c, 0);
    assert_drop(&send(&a, 3_010, 3, &late), DropReason::CtInvalid);
    // a new connection from it is denied by the quarantine as well
    let syn = tcp(WEB2, DB, 40003, 5432, SYN, 5, 0, 0);
    assert_drop(&send(&a, 3_020, 2, &syn), DropReason::PolicyDeny);

    // the other web instance's established connection still passes (re-checked
    // under the new generation: still allowed)
    one.exchange(&a, 4_000);
    one.exchange(&a, 5_000);
    let left = a.with_backend(|b| b.driver().conntrack_entries().unwrap());
    assert_eq!(left.len(), 1);
    a.stop().await;
}

fn state_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ztnic-e2e-{name}-{}.json", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_controller_repairs_the_device_and_keeps_connections() {
    let a = agent().await;
    let c = controller(&a).await;
    let mut conn = Conn::new(1, WEB1, 40000);
    conn.handshake(&a, 1_000);
    conn.exchange(&a, 2_000);
    let flows_before = a.with_backend(|b| b.driver().conntrack_entries().unwrap());
    assert_eq!(flows_before.len(), 1);
    let want = desired_ops(&c);

    let path = state_path("restore");
    c.save(&path).unwrap();
    drop(c);

    // behind the controller's back: one entry deleted, one stray added, by
    // another P4Runtime client with a higher election id
    let p = ztnic_program().unwrap();
    let mut raw = P4RuntimeClient::connect(ClientConfig::new(a.endpoint(), 1, 2))
        .await
        .unwrap();
    assert!(raw.is_primary());
    raw.use_p4info(ztnic_p4tables::ztnic_p4info().unwrap())
        .unwrap();
    let gone = Op::DeleteVportCtx {
        port: 2,
        ip: "10.1.0.2".parse().unwrap(),
    };
    let stray = Op::SetCtxEpoch(CtxEpoch { ctx: 999, epoch: 7 });
    raw.write(
        vec![
            update(Type::Delete, Entity::TableEntry(p.entry(&gone).unwrap())),
            update(Type::Insert, Entity::TableEntry(p.entry(&stray).unwrap())),
        ],
        Atomicity::ContinueOnError,
    )
    .await
    .unwrap();
    drop(raw);

    let endpoint = a.endpoint();
    let (mut c, report) = Controller::restore(&path, |info| {
        let endpoint = endpoint.clone();
        async move {
            assert_eq!(info.endpoint, endpoint);
            // The server keeps the highest election id ever seen (2, the other
            // client's): the restored controller must arbitrate above it.
            assert_eq!(info.election_id, 1);
            connect(&info.endpoint, 3).await
        }
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        !c.nic(HOST).unwrap().pipeline_was_set(),
        "the running pipeline is kept (reloading would empty conntrack)"
    );
    let nr = &report.nics[HOST];
    assert_eq!(
        (nr.inserts, nr.modifies, nr.deletes, nr.config_written),
        (1, 0, 1, false),
        "exactly the damage is repaired: {nr:?}"
    );
    assert_eq!(nr.updates(), 2);
    assert!(nr.ops.contains(&Op::DeleteCtxEpoch { ctx: 999 }));
    assert!(
        nr.ops
            .iter()
            .any(|o| matches!(o, Op::SetVportCtx(v) if v.port == 2))
    );
    assert_eq!(device_ops(&mut c).await, want);

    // the connection opened before the restart goes on
    let flows = a.with_backend(|b| b.driver().conntrack_entries().unwrap());
    assert_eq!(
        flows.len(),
        flows_before.len(),
        "conntrack survived the restart"
    );
    conn.exchange(&a, 3_000);
    assert_eq!(conntrack_len(&a), 1);
    // and the repaired vport works again
    let mut two = Conn::new(2, WEB2, 40002);
    two.handshake(&a, 4_000);

    // nothing more to repair
    let again = c.reconcile(HOST).await.unwrap();
    assert_eq!(again.updates(), 0, "{again:?}");
    a.stop().await;
}

/// Runs the controller's slow path on the events that arrive within `within`,
/// until `done` holds for the actions taken so far.
async fn slow_path_until(
    c: &mut Controller,
    within: Duration,
    done: impl Fn(&[SlowPathAction]) -> bool,
) -> Vec<SlowPathAction> {
    let deadline = Instant::now() + within;
    let mut actions = Vec::new();
    while !done(&actions) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((host, ev, received))) = tokio::time::timeout(left, c.next_event()).await
        else {
            panic!("the slow path did not finish within {within:?}: {actions:?}");
        };
        actions.extend(c.handle_event_at(&host, ev, received).await.unwrap());
    }
    actions
}

/// The outcomes of re-injected packets and the frames they sent out, waiting
/// for at least one outcome.
async fn injected(a: &Agent<SimDevice>) -> (Vec<Outcome>, Vec<(u16, Vec<u8>)>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = a.with_backend(|b| b.device().take_injected());
        if !o.is_empty() {
            let out = a.with_backend(|b| b.device().take_output());
            return (o, out.into_iter().map(|f| (f.port, f.data)).collect());
        }
        assert!(Instant::now() < deadline, "nothing was re-injected");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The slow path end to end: the context removed (through the controller's
/// NIC, so its record knows), the RTL punts, the agent sends the digest and the
/// PacketIn, the controller installs the epoch and re-injects the packet, which
/// is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slow_path_reinstalls_a_missing_context_and_reinjects() {
    let a = agent().await;
    let mut c = controller(&a).await;
    let web = c.engine().context_of("web").unwrap().id;
    let db = c.engine().context_of("db").unwrap().id;
    let epoch = c.engine().context(web).unwrap().epoch;

    // Only the sender's context is checked on TX (datapath.md §3–4): without
    // db's entry a web → db SYN still passes.
    c.nic_mut(HOST)
        .unwrap()
        .apply_ops(&[Op::DeleteCtxEpoch { ctx: db }])
        .await
        .unwrap();
    let syn = tcp(WEB1, DB, 39000, 5432, SYN, 1, 0, 0);
    assert_forward(&send(&a, 500, 1, &syn), 3, &syn);
    c.sync(HOST).await.unwrap();

    // Without web's, its packets are punted ctx_unknown.
    c.nic_mut(HOST)
        .unwrap()
        .apply_ops(&[Op::DeleteCtxEpoch { ctx: web }])
        .await
        .unwrap();
    let st = c.nic_mut(HOST).unwrap().read_back().await.unwrap();
    assert!(
        !st.ops
            .iter()
            .any(|o| matches!(o, Op::SetCtxEpoch(x) if x.ctx == web))
    );
    let syn = tcp(WEB1, DB, 40000, 5432, SYN, 1000, 0, 0);
    let o = send(&a, 1_000, 1, &syn);
    assert!(
        matches!(&o.verdict, Verdict::Punt { reason: PuntReason::CtxUnknown, frame } if frame == &syn),
        "{o:?}"
    );

    let actions = slow_path_until(&mut c, Duration::from_secs(5), |a| {
        a.iter()
            .any(|x| matches!(x, SlowPathAction::Reinjected { .. }))
    })
    .await;
    assert!(
        actions.contains(&SlowPathAction::CtxEpochInstalled {
            ctx: web,
            epoch,
            nics: vec![HOST.into()]
        }),
        "{actions:?}"
    );
    assert!(actions.contains(&SlowPathAction::Reinjected { port: 1 }));
    assert!(c.slow_path_stats().ctx_unknown >= 1);
    // on the device again
    assert!(device_ops(&mut c).await.contains(&format!(
        "{:?}",
        Op::SetCtxEpoch(CtxEpoch { ctx: web, epoch })
    )));
    // the re-injected SYN was delivered to db
    let (outcomes, out) = injected(&a).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_forward(&outcomes[0], 3, &syn);
    assert_eq!(out, vec![(3, syn.clone())]);
    // and opened the connection: db's SYN+ACK is a reply
    let synack = tcp(DB, WEB1, 5432, 40000, SYN_ACK, 9000, 1001, 0);
    let o = send(&a, 2_000, 3, &synack);
    assert_forward(&o, 1, &synack);
    assert!(o.ct_state.unwrap().rpl);
    assert_eq!(c.reconcile(HOST).await.unwrap().updates(), 0);
    a.stop().await;
}

/// The same with the context removed behind the controller's back (a write on
/// the controller's session that its record does not see): the device reports
/// ctx_unknown for a context the controller believes installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slow_path_repairs_a_context_deleted_behind_its_back() {
    let a = agent().await;
    let mut c = controller(&a).await;
    let web = c.engine().context_of("web").unwrap().id;
    let epoch = c.engine().context(web).unwrap().epoch;
    let p = ztnic_program().unwrap();
    let key = p.entry(&Op::DeleteCtxEpoch { ctx: web }).unwrap();
    c.nic_mut(HOST)
        .unwrap()
        .client()
        .write(
            vec![update(Type::Delete, Entity::TableEntry(key))],
            Atomicity::ContinueOnError,
        )
        .await
        .unwrap();
    let syn = tcp(WEB1, DB, 40000, 5432, SYN, 1000, 0, 0);
    let o = send(&a, 1_000, 1, &syn);
    assert!(matches!(
        &o.verdict,
        Verdict::Punt {
            reason: PuntReason::CtxUnknown,
            ..
        }
    ));
    let actions = slow_path_until(&mut c, Duration::from_secs(5), |a| {
        a.iter()
            .any(|x| matches!(x, SlowPathAction::Reinjected { .. }))
    })
    .await;
    assert!(
        actions.contains(&SlowPathAction::CtxEpochInstalled {
            ctx: web,
            epoch,
            nics: vec![HOST.into()]
        }),
        "{actions:?}"
    );
    let (outcomes, _) = injected(&a).await;
    assert_forward(&outcomes[0], 3, &syn);
    a.stop().await;
}

#[test]
fn the_policy_has_the_expected_shape() {
    let e = Engine::from_file(&PolicyFile::from_yaml(POLICY).unwrap()).unwrap();
    assert_eq!(e.contexts().count(), 2);
    let vtep: Ipv4Addr = "192.168.0.1".parse().unwrap();
    assert_eq!(e.hosts().next().map(|(_, v)| *v), Some(vtep));
}
