//! `ztnic` over TLS, through the binary: `ztnic agent` with a certificate, key
//! and clients' CA serves mutual TLS on 127.0.0.1, and `ztnic apply` and
//! `ztnic counters` reach it with the CA and a client certificate (not
//! without); plaintext on or to an address that is not loopback is refused
//! without `--insecure`; a key file others may read is warned about, and no
//! key is ever printed. Certificates are made at test time (rcgen).

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};
use std::sync::mpsc;

use common::{WEB_POLICY, json, tmp, ztnic};
use ztnic_testkit::pki::{Ca, Use};

/// A `ztnic agent` process, killed when dropped, and its stderr lines as they
/// come (read by a thread until the process ends).
struct AgentProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl AgentProcess {
    /// Kills the agent; every line it wrote.
    fn kill_and_log(mut self, mut seen: Vec<String>) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        seen.extend(self.lines.iter());
        seen.join("\n")
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ztnic agent ARGS`: the process, the line saying where it serves
/// (`None` if it exited first), and the lines up to that one (or all of them).
fn start_agent(args: &[&str]) -> (AgentProcess, Option<String>, Vec<String>) {
    let mut child = ztnic()
        .arg("agent")
        .args(args)
        .env("RUST_LOG", "info")
        .env("ZTNIC_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning ztnic agent");
    let err = BufReader::new(child.stderr.take().expect("its stderr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    let mut ready = None;
    for line in rx.iter() {
        lines.push(line.clone());
        if line.contains("P4Runtime on") {
            ready = Some(line);
            break;
        }
    }
    (AgentProcess { child, lines: rx }, ready, lines)
}

fn free_loopback_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn the_agent_refuses_plaintext_on_an_address_that_is_not_loopback() {
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let (mut agent, ready, lines) = start_agent(&["--listen", listen]);
        assert_eq!(ready, None, "{listen}: the agent served in plaintext");
        let status = agent.child.wait().expect("its exit status");
        assert!(!status.success(), "{listen}: exit {status:?}");
        let text = lines.join("\n");
        assert!(
            text.contains("refusing to serve P4Runtime in plaintext")
                && text.contains("--insecure"),
            "{listen}: {text}"
        );
    }
    // --insecure and a certificate contradict each other.
    let o = ztnic()
        .args([
            "agent",
            "--insecure",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .output()
        .expect("ztnic agent");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--insecure"));
    // A certificate without its key is refused before anything starts.
    let o = ztnic()
        .args(["agent", "--tls-cert", "c.pem"])
        .output()
        .expect("ztnic agent");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tls-key"));
}

#[test]
fn client_commands_refuse_plaintext_to_an_address_that_is_not_loopback() {
    let dir = tmp("tls-plain");
    let policy = dir.join("web.yaml");
    std::fs::write(&policy, WEB_POLICY).expect("the policy");
    let state = dir.join("state.json");
    let runs: [Vec<String>; 3] = [
        vec![
            "counters".into(),
            "--target".into(),
            "192.0.2.1:9559".into(),
        ],
        vec![
            "flows".into(),
            "--target".into(),
            "http://[2001:db8::1]:9559".into(),
        ],
        vec![
            "apply".into(),
            policy.display().to_string(),
            "--nic".into(),
            "node-1=192.0.2.1:9559".into(),
            "--state".into(),
            state.display().to_string(),
        ],
    ];
    for args in runs {
        let o = ztnic().args(&args).output().expect("ztnic");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            err.contains("refusing plaintext P4Runtime") && err.contains("--insecure"),
            "{args:?}: {err}"
        );
    }
    assert!(!state.exists(), "apply saved a state without a NIC");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn apply_and_counters_reach_an_agent_over_mutual_tls() {
    let dir = tmp("tls-mutual");
    let ca = Ca::new("agent CA");
    let ca_file = ca.write(&dir, "ca");
    let server = ca.issue(&["127.0.0.1", "localhost"], Use::Server);
    let server_files = server.write(&dir, "server");
    // A key file others may read: the agent warns, and still never prints it.
    std::fs::set_permissions(&server_files.key, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let clients = Ca::new("controllers' CA");
    let clients_file = clients.write(&dir, "clients-ca");
    let controller = clients.issue(&["controller.ztnic.test"], Use::Client);
    let controller_files = controller.write(&dir, "controller");

    let addr = format!("127.0.0.1:{}", free_loopback_port());
    let (agent, ready, lines) = start_agent(&[
        "--listen",
        &addr,
        "--poll-ms",
        "2",
        "--tls-cert",
        &server_files.cert.display().to_string(),
        "--tls-key",
        &server_files.key.display().to_string(),
        "--tls-client-ca",
        &clients_file.display().to_string(),
    ]);
    let ready = ready.unwrap_or_else(|| panic!("the agent did not serve: {}", lines.join("\n")));
    assert!(ready.contains(&format!("https://{addr}")), "{ready}");
    let warned = lines.iter().any(|l| {
        l.contains("readable by group or others") && l.contains("server.key") && l.contains("644")
    });
    assert!(warned, "no warning about the key's mode: {lines:?}");

    let policy = dir.join("web.yaml");
    std::fs::write(&policy, WEB_POLICY).expect("the policy");
    let state = dir.join("state.json");
    let ca_arg = ca_file.display().to_string();
    let cert_arg = controller_files.cert.display().to_string();
    let key_arg = controller_files.key.display().to_string();
    let tls = [
        "--tls-ca",
        &ca_arg,
        "--tls-cert",
        &cert_arg,
        "--tls-key",
        &key_arg,
    ];

    let o = ztnic()
        .arg("apply")
        .arg(&policy)
        .args(["--nic", &format!("node-1={addr}"), "--json"])
        .arg("--state")
        .arg(&state)
        .args(tls)
        .output()
        .expect("ztnic apply");
    let report = json(&o);
    assert!(report["applied"]["node-1"].is_object(), "{report}");

    let o = ztnic()
        .args(["counters", "--target", &addr, "--json"])
        .args(tls)
        .output()
        .expect("ztnic counters");
    let counters = json(&o);
    assert!(counters["drops"].is_object(), "{counters}");

    // Without a client certificate, without the CA, or in plaintext: refused.
    let attempts: [&[&str]; 3] = [&["--tls-ca", &ca_arg], &["--tls-domain", "localhost"], &[]];
    for extra in attempts {
        let o = ztnic()
            .args(["counters", "--target", &addr])
            .args(extra)
            .output()
            .expect("ztnic counters");
        assert!(!o.status.success(), "{extra:?} was served");
    }

    // The agent's whole log never shows a key.
    let log = agent.kill_and_log(lines);
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    for key in [&server.key_pem, &controller.key_pem] {
        let body = key.lines().nth(1).expect("a PEM body line");
        assert!(!log.contains(body), "a key in the log");
    }
    std::fs::remove_dir_all(&dir).ok();
}
