//! A throwaway etcd for the tests that need one: `etcd` from `PATH` (Debian's
//! `etcd-server`, installed by `tools/setup`) on free loopback ports with its data
//! directory in a temporary directory; killed and removed on drop.
//!
//! ```no_run
//! let Some(etcd) = ztnic_testkit::etcd::EtcdServer::start() else {
//!     return; // printed "SKIPPED: etcd not installed"
//! };
//! println!("etcd at {}", etcd.endpoint());
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running etcd; stopped (killed, reaped) and its data removed when dropped.
pub struct EtcdServer {
    child: Child,
    client: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Whether an `etcd` binary is on `PATH`.
pub fn installed() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    // The port is released before etcd binds it; a clash makes etcd exit, and
    // `start` then retries with other ports.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Asks etcd's `/health` endpoint over plain HTTP/1.0 (no client library needed).
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.contains("\"health\":\"true\"")
}

impl EtcdServer {
    /// Starts etcd and waits until it answers; `None` (after printing
    /// `SKIPPED: etcd not installed`) when there is no etcd binary. Panics if an
    /// installed etcd does not come up.
    pub fn start() -> Option<EtcdServer> {
        EtcdServer::start_with(&[])
    }

    /// [`EtcdServer::start`] with extra command-line flags for etcd (a bench
    /// raises `--max-txn-ops` and `--max-request-bytes` to write a large
    /// desired state in one transaction).
    pub fn start_with(extra: &[&str]) -> Option<EtcdServer> {
        if !installed() {
            println!("SKIPPED: etcd not installed");
            return None;
        }
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(extra) {
                Ok(s) => return Some(s),
                Err(e) => last = e,
            }
        }
        panic!("etcd did not start: {last}");
    }

    fn try_start(extra: &[&str]) -> Result<EtcdServer, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let (cport, pport) = (free_port(), free_port());
        let client: SocketAddr = ([127, 0, 0, 1], cport).into();
        let curl = format!("http://{client}");
        let purl = format!("http://127.0.0.1:{pport}");
        let log = std::fs::File::create(dir.path().join("etcd.log"))
            .map_err(|e| format!("etcd log: {e}"))?;
        let mut child = Command::new("etcd")
            .arg("--name")
            .arg("test")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&curl)
            .arg("--advertise-client-urls")
            .arg(&curl)
            .arg("--listen-peer-urls")
            .arg(&purl)
            .arg("--initial-advertise-peer-urls")
            .arg(&purl)
            .arg("--initial-cluster")
            .arg(format!("test={purl}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning etcd: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "etcd exited ({status}): {}",
                    tail(&dir.path().join("etcd.log"))
                ));
            }
            if healthy(client) {
                return Ok(EtcdServer {
                    child,
                    client,
                    _dir: dir,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "etcd did not answer on {client} within 30 s: {}",
                    tail(&dir.path().join("etcd.log"))
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.client)
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
