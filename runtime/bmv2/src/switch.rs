//! Starting and stopping one `simple_switch_grpc`: no P4 program at start (a test
//! or the controller loads it over P4Runtime), packets over bmv2's IPC packet socket
//! in a private temporary directory, gRPC on a 127.0.0.1 port picked free. Dropping
//! the [`Switch`] stops the process and removes the directory.
//!
//! The supported bmv2 is built without Thrift (README, "Toolchains"): such a build has
//! no `--thrift-port` option and refuses to start when given one, so the option is
//! passed only to a binary whose `--help` lists it. A Thrift-enabled build opens its
//! Thrift runtime port on every interface whatever the port number (bmv2 has no bind
//! address option); the port is picked free only so that switches started side by side
//! do not collide on bmv2's default 9090.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::nanomsg::{NnError, PacketSocket};
use crate::tools::{SIMPLE_SWITCH_GRPC, find};

/// The CPU port given to bmv2 (`--cpu-port`) and compiled into the P4 program.
pub const CPU_PORT: u16 = 255;
/// The P4Runtime device id of the switch.
pub const DEVICE_ID: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("{SIMPLE_SWITCH_GRPC} is not on PATH")]
    NotFound,
    #[error("starting {SIMPLE_SWITCH_GRPC}: {0}")]
    Io(#[from] std::io::Error),
    #[error("{SIMPLE_SWITCH_GRPC} exited during start-up ({status}); its log:\n{log}")]
    Exited { status: String, log: String },
    #[error("{SIMPLE_SWITCH_GRPC} did not open its gRPC port {0} in time")]
    Timeout(String),
    #[error(transparent)]
    Packets(#[from] NnError),
}

/// A running `simple_switch_grpc`.
pub struct Switch {
    child: Child,
    /// `127.0.0.1:PORT` of the P4Runtime server.
    pub grpc_addr: String,
    packets: Option<PacketSocket>,
    dir: tempfile::TempDir,
}

fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// Whether this `simple_switch_grpc` was built with Thrift (its `--help` lists
/// `--thrift-port`); asked once per process.
fn accepts_thrift_port(bin: &Path) -> bool {
    static THRIFT: OnceLock<bool> = OnceLock::new();
    *THRIFT.get_or_init(|| {
        Command::new(bin)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .map(|o| {
                let text = [o.stdout, o.stderr].concat();
                String::from_utf8_lossy(&text).contains("--thrift-port")
            })
            .unwrap_or(false)
    })
}

impl Switch {
    /// Starts a switch; `trace_log` writes bmv2's per-packet trace into the
    /// switch's directory (see [`Switch::log_path`]).
    pub fn start(trace_log: bool) -> Result<Switch, SwitchError> {
        let bin = find(SIMPLE_SWITCH_GRPC).ok_or(SwitchError::NotFound)?;
        let dir = tempfile::Builder::new().prefix("ztnic-bmv2-").tempdir()?;
        let grpc_port = free_port()?;
        let grpc_addr = format!("127.0.0.1:{grpc_port}");
        let packets = dir.path().join("packets.ipc");
        let notifications = dir.path().join("notifications.ipc");
        let log = dir.path().join("switch.log");
        let mut cmd = Command::new(&bin);
        cmd.arg("--no-p4")
            .args(["--device-id", &DEVICE_ID.to_string()])
            .arg("--packet-in")
            .arg(format!("ipc://{}", packets.display()))
            .arg("--notifications-addr")
            .arg(format!("ipc://{}", notifications.display()));
        if accepts_thrift_port(&bin) {
            cmd.args(["--thrift-port", &free_port()?.to_string()]);
        }
        if trace_log {
            cmd.arg("--log-file").arg(dir.path().join("trace")).args([
                "--log-level",
                "trace",
                "--log-flush",
            ]);
        }
        cmd.arg("--")
            .args(["--grpc-server-addr", &grpc_addr])
            .args(["--cpu-port", &CPU_PORT.to_string()])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(dir.path().join("switch.err"))?);
        let child = cmd.spawn()?;
        let mut sw = Switch {
            child,
            grpc_addr,
            packets: None,
            dir,
        };
        sw.wait_ready(grpc_port, Duration::from_secs(20))?;
        sw.packets = Some(PacketSocket::connect(&packets, Duration::from_secs(10))?);
        Ok(sw)
    }

    fn wait_ready(&mut self, port: u16, timeout: Duration) -> Result<(), SwitchError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(SwitchError::Exited {
                    status: status.to_string(),
                    log: self.logs(),
                });
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SwitchError::Timeout(self.grpc_addr.clone()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The switch's packet socket.
    pub fn packets(&mut self) -> &mut PacketSocket {
        self.packets
            .as_mut()
            .unwrap_or_else(|| unreachable!("connected in start()"))
    }

    /// bmv2's trace log (with `trace_log`), for diagnosing a mismatch.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("trace")
    }

    /// The process id of the switch.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The switch's private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the switch printed so far.
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!("{}{}", read("switch.log"), read("switch.err"))
    }

    /// Stops the switch, waits for it and removes its directory.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        self.packets = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.kill();
    }
}
