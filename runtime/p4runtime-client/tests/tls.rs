//! P4Runtime over TLS: the client against the server core (in-memory backend)
//! served with TLS and mutual TLS on 127.0.0.1, with a CA, server and client
//! certificates made at test time. A client that trusts the server's CA gets
//! its answers; one that trusts another CA, expects another name, speaks
//! plaintext or (under mutual TLS) has no accepted certificate gets nothing;
//! plaintext to an address that is not loopback is refused before connecting.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::oneshot;
use ztnic_p4runtime::config::P4Info;
use ztnic_p4runtime::v1::get_forwarding_pipeline_config_request::ResponseType;
use ztnic_p4runtime_client::{
    Arbitration, ClientConfig, ClientError, ClientTls, P4RuntimeClient, ReconnectPolicy,
};
use ztnic_p4runtime_server::{
    InMemoryBackend, P4RuntimeService, ServeError, ServerConfig, ServerSecurity, ServerTls,
};
use ztnic_testkit::pki::{Ca, Issued, Use};

const DEVICE: u64 = 1;

fn p4info() -> P4Info {
    ztnic_p4runtime::text::load_p4info(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../p4runtime/testdata/full.p4info.txtpb"
    ))
    .expect("the fixture P4Info")
}

/// The certificates of one test: the server's CA and a server certificate for
/// 127.0.0.1 and `nic1.ztnic.test`, the clients' CA and a client certificate,
/// and a stranger CA with a server and a client certificate of its own.
struct Pki {
    ca: Ca,
    server: Issued,
    client_ca: Ca,
    client: Issued,
    stranger: Ca,
    stranger_client: Issued,
}

impl Pki {
    fn new() -> Pki {
        let ca = Ca::new("ztnic test server CA");
        let server = ca.issue(&["nic1.ztnic.test", "127.0.0.1"], Use::Server);
        let client_ca = Ca::new("ztnic test client CA");
        let client = client_ca.issue(&["controller.ztnic.test"], Use::Client);
        let stranger = Ca::new("someone else's CA");
        let stranger_client = stranger.issue(&["controller.ztnic.test"], Use::Client);
        Pki {
            ca,
            server,
            client_ca,
            client,
            stranger,
            stranger_client,
        }
    }

    fn server_tls(&self) -> ServerTls {
        ServerTls::from_pem(self.server.cert_pem.clone(), self.server.key_pem.clone())
    }

    fn mutual_tls(&self) -> ServerTls {
        self.server_tls()
            .with_client_ca_pem(self.client_ca.cert_pem.clone())
    }

    fn trusting_ca(&self) -> ClientTls {
        ClientTls::new().with_ca_pem(self.ca.cert_pem.clone())
    }
}

/// A server-core instance on 127.0.0.1 served as `security` says, until dropped.
struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(security: ServerSecurity) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1");
    let addr = listener.local_addr().expect("bound address");
    let service = P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let stop = async {
            let _ = rx.await;
        };
        if let Err(e) = service.serve_with(listener, &security, stop).await {
            panic!("serving: {e}");
        }
    });
    Server {
        addr,
        stop: Some(tx),
    }
}

/// A primary-candidate config that gives up at once instead of reconnecting.
fn config(endpoint: String, tls: Option<ClientTls>) -> ClientConfig {
    ClientConfig {
        tls,
        reconnect: ReconnectPolicy {
            max_attempts: 0,
            delay: Duration::from_millis(10),
        },
        ..ClientConfig::new(endpoint, DEVICE, 1)
    }
}

/// Connects, installs the fixture pipeline and reads it back.
async fn install_and_read_back(config: ClientConfig) -> Result<(), ClientError> {
    let mut client = P4RuntimeClient::connect(config).await?;
    assert_eq!(client.arbitration(), Arbitration::Primary);
    client.set_pipeline(p4info(), Vec::new(), 7).await?;
    let got = client.get_pipeline(ResponseType::P4infoAndCookie).await?;
    assert_eq!(got.p4info, Some(p4info()));
    assert_eq!(got.cookie.map(|c| c.cookie), Some(7));
    Ok(())
}

/// The outcome of a connection that must fail, as text.
async fn refused(config: ClientConfig) -> String {
    match install_and_read_back(config).await {
        Ok(()) => panic!("the connection was expected to fail"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_the_servers_ca_gets_the_pipeline_over_tls() {
    let pki = Pki::new();
    let server = serve(ServerSecurity::Tls(pki.server_tls())).await;
    // The address without a scheme: the TLS settings make it https.
    let endpoint = server.addr.to_string();
    install_and_read_back(config(endpoint, Some(pki.trusting_ca())))
        .await
        .expect("TLS with the server's CA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_another_ca_fails_the_tls_handshake() {
    let pki = Pki::new();
    let server = serve(ServerSecurity::Tls(pki.server_tls())).await;
    let tls = ClientTls::new().with_ca_pem(pki.stranger.cert_pem.clone());
    let err = refused(config(format!("https://{}", server.addr), Some(tls))).await;
    assert!(
        err.contains("invalid peer certificate") && err.contains("UnknownIssuer"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_gets_nothing_from_a_tls_server() {
    let pki = Pki::new();
    let server = serve(ServerSecurity::Tls(pki.server_tls())).await;
    let err = refused(config(format!("http://{}", server.addr), None)).await;
    assert!(!err.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_name_is_checked_and_tls_domain_overrides_it() {
    let pki = Pki::new();
    // A certificate for a name only: connecting by address must fail…
    let named = pki.ca.issue(&["nic1.ztnic.test"], Use::Server);
    let tls = ServerTls::from_pem(named.cert_pem, named.key_pem);
    let server = serve(ServerSecurity::Tls(tls)).await;
    let endpoint = format!("https://{}", server.addr);
    let err = refused(config(endpoint.clone(), Some(pki.trusting_ca()))).await;
    assert!(err.contains("not valid for name"), "{err}");
    // …another name fails too…
    let wrong = pki.trusting_ca().with_domain("nic2.ztnic.test");
    let err = refused(config(endpoint.clone(), Some(wrong))).await;
    assert!(err.contains("not valid for name"), "{err}");
    // …and the certificate's name, given as the domain, works.
    let right = pki.trusting_ca().with_domain("nic1.ztnic.test");
    install_and_read_back(config(endpoint, Some(right)))
        .await
        .expect("TLS verified against --tls-domain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_serves_only_clients_with_a_certificate_of_its_ca() {
    let pki = Pki::new();
    let server = serve(ServerSecurity::Tls(pki.mutual_tls())).await;
    let endpoint = format!("https://{}", server.addr);

    // Under TLS 1.3 the client finishes its handshake before the server
    // checks its certificate: the refusal arrives as the server's alert or,
    // if the connection is gone first, as a closed or broken connection.
    let err = refused(config(endpoint.clone(), Some(pki.trusting_ca()))).await;
    assert!(handshake_refused(&err), "no client certificate: {err}");

    let stranger = pki.trusting_ca().with_identity_pem(
        pki.stranger_client.cert_pem.clone(),
        pki.stranger_client.key_pem.clone(),
    );
    let err = refused(config(endpoint.clone(), Some(stranger))).await;
    assert!(
        handshake_refused(&err),
        "a certificate of another CA: {err}"
    );

    let ours = pki
        .trusting_ca()
        .with_identity_pem(pki.client.cert_pem.clone(), pki.client.key_pem.clone());
    assert!(ours.is_mutual());
    install_and_read_back(config(endpoint, Some(ours)))
        .await
        .expect("mutual TLS with a certificate of the clients' CA");
}

/// Whether a failure is the server refusing the client's certificate.
fn handshake_refused(err: &str) -> bool {
    [
        "CertificateRequired",
        "UnknownCA",
        "connection closed",
        "connection reset",
        "broken pipe",
    ]
    .iter()
    .any(|m| err.contains(m))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_to_an_address_that_is_not_loopback_is_refused_before_connecting() {
    for endpoint in [
        "http://192.0.2.1:9559",
        "198.51.100.7:9559",
        "http://[2001:db8::1]:9559",
    ] {
        match P4RuntimeClient::connect(config(endpoint.to_string(), None)).await {
            Err(ClientError::Plaintext { host }) => assert!(endpoint.contains(&host), "{host}"),
            Err(e) => panic!("{endpoint}: refused for the wrong reason: {e}"),
            Ok(_) => panic!("{endpoint}: connected in plaintext"),
        }
    }
    // With `insecure` the client tries (and, nothing listening there, fails
    // to connect rather than refusing).
    let mut insecure = config("http://192.0.2.1:9559".to_string(), None);
    insecure.insecure = true;
    insecure.connect_timeout = Duration::from_millis(200);
    match P4RuntimeClient::connect(insecure).await {
        Err(ClientError::Transport(_)) => {}
        Err(e) => panic!("insecure: expected a connection failure, got {e}"),
        Ok(_) => panic!("insecure: something answered at 192.0.2.1"),
    }
    // Loopback plaintext keeps working.
    let server = serve(ServerSecurity::default()).await;
    install_and_read_back(config(format!("http://{}", server.addr), None))
        .await
        .expect("plaintext on loopback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_plaintext_on_an_address_that_is_not_loopback() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("binding 0.0.0.0");
    let service = P4RuntimeService::new(InMemoryBackend::new(), ServerConfig::default());
    let err = service
        .serve_with(listener, &ServerSecurity::default(), std::future::pending())
        .await
        .expect_err("plaintext on 0.0.0.0 without insecure");
    assert!(matches!(err, ServeError::Insecure(_)), "{err}");
    assert!(err.to_string().contains("--insecure"), "{err}");
}

#[test]
fn tls_settings_load_from_pem_files() {
    let pki = Pki::new();
    let dir = scratch("files");
    let ca = pki.ca.write(&dir, "ca");
    let client = pki.client.write(&dir, "client");
    let tls = ClientTls::from_files(
        Some(&ca),
        Some(&client.cert),
        Some(&client.key),
        Some("nic1.ztnic.test"),
    )
    .expect("readable PEM files");
    assert!(tls.is_mutual());
    // A key file that holds no key (a certificate by mistake) is refused,
    // and the message names the file, not what is in it.
    let err = ClientTls::from_files(Some(&ca), Some(&client.cert), Some(&client.cert), None)
        .expect_err("a certificate as the key");
    let text = err.to_string();
    assert!(
        text.contains("PRIVATE KEY") && text.contains("client.pem"),
        "{text}"
    );
    assert!(!text.contains("BEGIN"), "{text}");
    let err = ClientTls::from_files(Some(&dir.join("missing.pem")), None, None, None)
        .expect_err("a missing CA file");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ztnic-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
