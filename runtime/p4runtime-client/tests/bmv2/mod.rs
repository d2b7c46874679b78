//! Starting bmv2 `simple_switch_grpc` for tests and benchmarks: found on
//! PATH, bound to 127.0.0.1 only, killed when dropped.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Reports a skipped check on the real stderr, past the test harness's
/// output capture, so a skip is never mistaken for a pass.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {test}: {reason} — the real check did NOT run"
    );
}

/// Workspace-relative path of the compiled trivial_fwd artifacts.
pub fn artifact(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../p4/build")
        .join(name)
}

/// An executable named `bin` on PATH.
pub fn on_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A running simple_switch_grpc.
pub struct Bmv2 {
    child: Child,
    /// gRPC endpoint for the P4Runtime client.
    pub endpoint: String,
    /// File with bmv2's console output.
    pub log: PathBuf,
}

impl Bmv2 {
    /// Starts `simple_switch_grpc` without a program (the test pushes one
    /// over P4Runtime), device id 1, CPU port 255.
    pub fn start(bin: &Path) -> Result<Bmv2, String> {
        let help = Command::new(bin)
            .arg("--help")
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default();
        let grpc_port = free_port().map_err(|e| e.to_string())?;
        let log = std::env::temp_dir().join(format!("ztnic-bmv2-{grpc_port}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(bin);
        cmd.args(["--device-id", "1", "--no-p4"]);
        if help.contains("--thrift-port") {
            let thrift = free_port().map_err(|e| e.to_string())?;
            cmd.args(["--thrift-port", &thrift.to_string()]);
        }
        if help.contains("--notifications-addr") {
            cmd.args([
                "--notifications-addr",
                &format!("ipc:///tmp/ztnic-bmv2-{grpc_port}-notifications.ipc"),
            ]);
        }
        cmd.arg("--")
            .args(["--grpc-server-addr", &format!("127.0.0.1:{grpc_port}")])
            .args(["--cpu-port", "255"])
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file));
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let mut bmv2 = Bmv2 {
            child,
            endpoint: format!("http://127.0.0.1:{grpc_port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = bmv2.child.try_wait() {
                return Err(format!(
                    "simple_switch_grpc exited ({status}); log: {}",
                    bmv2.log.display()
                ));
            }
            if TcpStream::connect(("127.0.0.1", grpc_port)).is_ok() {
                return Ok(bmv2);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "simple_switch_grpc did not listen within 20 s; log: {}",
            bmv2.log.display()
        ))
    }
}

impl Drop for Bmv2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
