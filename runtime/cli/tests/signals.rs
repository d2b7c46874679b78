//! `ztnic agent` stops gracefully on SIGTERM as on Ctrl-C (SIGINT): it stops
//! serving, says so, closes its port and exits 0.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::ztnic;

/// Starts an agent, sends it `signal` with an idle connection open, and checks
/// the graceful stop.
fn stops_gracefully_on(signal: libc::c_int, name: &str) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = ztnic()
        .args(["agent", "--listen", &addr])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains(&addr) {
        let before = said.len();
        stderr.read_line(&mut said).unwrap();
        assert!(
            said.len() > before,
            "the agent ended before serving: {said}"
        );
    }
    // A client that never speaks must not hold the shutdown.
    let idle = TcpStream::connect(&addr).unwrap();

    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);

    // A bound on how long the stop may take, so a hang fails the test instead of
    // blocking it (generous: the graceful stop gives sessions one second).
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the agent still runs a minute after {name}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stderr.read_to_string(&mut said).unwrap();
    assert!(status.success(), "exit {status:?} after {name}: {said}");
    assert!(
        said.contains(&format!("stopped on {name}")),
        "no graceful stop after {name}: {said}"
    );
    drop(idle);
    let refused = TcpStream::connect(&addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn sigterm_stops_the_agent_gracefully() {
    stops_gracefully_on(libc::SIGTERM, "SIGTERM");
}

#[test]
fn ctrl_c_stops_the_agent_gracefully() {
    stops_gracefully_on(libc::SIGINT, "SIGINT");
}
