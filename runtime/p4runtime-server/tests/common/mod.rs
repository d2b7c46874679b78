//! Shared harness: an in-memory P4Runtime server on 127.0.0.1 in its own
//! runtime (so a test can kill it like a crashed process) and clients.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ztnic_p4runtime::config::P4Info;
use ztnic_p4runtime::text;
use ztnic_p4runtime_client::{ClientConfig, P4RuntimeClient};
use ztnic_p4runtime_server::{InMemoryBackend, P4RuntimeService, ServerConfig};

pub const DEVICE: u64 = 1;

pub fn fixture_p4info() -> P4Info {
    text::load_p4info(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../p4runtime/testdata/full.p4info.txtpb"
    ))
    .unwrap()
}

/// A server running on its own runtime.
pub struct Server {
    rt: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    pub service: P4RuntimeService<InMemoryBackend>,
}

impl Server {
    /// Starts a server on `addr` (port 0 picks a free port).
    pub fn start_on(addr: SocketAddr) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on_free(addr);
        let addr = listener.local_addr().unwrap();
        let service = {
            let _guard = rt.enter();
            P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default())
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

    pub fn start() -> Server {
        Self::start_on("127.0.0.1:0".parse().unwrap())
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server abruptly, dropping every connection.
    pub fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

trait BindFree {
    fn block_on_free(&self, addr: SocketAddr) -> tokio::net::TcpListener;
}

impl BindFree for tokio::runtime::Runtime {
    fn block_on_free(&self, addr: SocketAddr) -> tokio::net::TcpListener {
        // A killed server's socket is released by its runtime's threads
        // shortly after shutdown: retry for a bounded time.
        let mut attempt = 0;
        let std_listener = loop {
            match std::net::TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(e) if attempt < 50 => {
                    attempt += 1;
                    eprintln!("bind {addr}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        std_listener.set_nonblocking(true).unwrap();
        let _guard = self.enter();
        tokio::net::TcpListener::from_std(std_listener).unwrap()
    }
}

pub fn config(server: &Server, election: Option<u128>) -> ClientConfig {
    let mut c = ClientConfig::new(server.endpoint(), DEVICE, 0);
    c.election_id = election;
    c.reconnect.delay = Duration::from_millis(100);
    c
}

pub async fn client(server: &Server, election: u128) -> P4RuntimeClient {
    P4RuntimeClient::connect(config(server, Some(election)))
        .await
        .unwrap()
}

/// A server with the fixture pipeline set by a primary client (election 10).
pub async fn primary() -> (Server, P4RuntimeClient) {
    let server = Server::start();
    let mut c = client(&server, 10).await;
    assert!(c.is_primary());
    c.set_pipeline(fixture_p4info(), b"{}".to_vec(), 7)
        .await
        .unwrap();
    (server, c)
}
