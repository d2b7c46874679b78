//! Wire compatibility: the third-party `p4runtime-shell` (P4.org's Python
//! client, using the upstream generated protobuf code) drives ztnic's server,
//! then ztnic's own client reads what it wrote. Skips loudly when the Python
//! environment is absent.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use ztnic_p4runtime::v1::TableEntry;

const TEST: &str = "p4runtime_shell_writes_and_reads_entries_on_the_ztnic_server";

/// Reports the skip on the real stderr, past the harness's output capture.
fn skip(reason: String) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {TEST}: {reason} — the interop check did NOT run"
    );
}

/// The venv's Python with p4runtime-shell, or why there is none.
fn python() -> Result<PathBuf, String> {
    let path = match std::env::var_os("ZTNIC_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/python"),
    };
    if !path.is_file() {
        return Err(format!(
            "no Python at {} (set ZTNIC_PYTHON or create target/py from tools/requirements.txt)",
            path.display()
        ));
    }
    let ok = std::process::Command::new(&path)
        .args(["-c", "import p4runtime_sh.shell"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err(format!(
            "{} cannot import p4runtime_sh (pip install -r tools/requirements.txt)",
            path.display()
        ));
    }
    Ok(path)
}

/// Runs as a libtest-mimic trial so that a missing Python environment reports the
/// test as ignored (with one SKIP line), never as passed.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trial = match python() {
        Err(reason) => {
            skip(reason.clone());
            libtest_mimic::Trial::test(TEST, move || Err(reason.into())).with_ignored_flag(true)
        }
        Ok(python) => libtest_mimic::Trial::test(TEST, move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(p4runtime_shell_writes_and_reads_entries_on_the_ztnic_server(python));
            Ok(())
        }),
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

async fn p4runtime_shell_writes_and_reads_entries_on_the_ztnic_server(python: PathBuf) {
    let server = Server::start();
    let dir = std::env::temp_dir().join(format!("ztnic-interop-{}", server.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let device_config = dir.join("device_config.bin");
    std::fs::write(&device_config, b"{}").unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/p4runtime_shell_client.py"
    );
    let p4info = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../p4runtime/testdata/full.p4info.txtpb"
    );

    let child = tokio::process::Command::new(&python)
        .arg(script)
        .arg(server.addr.to_string())
        .arg(p4info)
        .arg(&device_config)
        .env("PYTHONNOUSERSITE", "1")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("p4runtime-shell run timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("--- p4runtime-shell transcript ---\n{stdout}");
    if !out.status.success() {
        panic!(
            "p4runtime-shell failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(stdout.contains("INTEROP OK"));

    // ztnic's client sees exactly what the Python client wrote, canonical.
    let mut c = client(&server, 100).await;
    c.fetch_p4info().await.unwrap();
    let entries = c.read_entries(TableEntry::default()).await.unwrap();
    assert_eq!(entries.len(), 4, "2 port_fwd + acl + route");
    let sent = server.service.with_backend(|b| b.transmitted().to_vec());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].metadata[0].value, vec![5]);
    std::fs::remove_dir_all(&dir).unwrap();
}
