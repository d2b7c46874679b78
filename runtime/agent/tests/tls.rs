//! The agent's P4Runtime over TLS and mutual TLS on 127.0.0.1, over the
//! Verilated NIC, with certificates made at test time: a client with the
//! server's CA installs the ztnic pipeline and reads a table back; a client
//! trusting another CA, or (under mutual TLS) without a certificate of the
//! clients' CA, gets nothing; plaintext on an address that is not loopback is
//! refused unless insecure.

use std::time::Duration;

use ztnic_agent::{Agent, AgentError, FpgaBackend, SimDevice};
use ztnic_p4runtime_client::protocol::v1::get_forwarding_pipeline_config_request::ResponseType;
use ztnic_p4runtime_client::{
    Arbitration, ClientConfig, ClientError, ClientTls, P4RuntimeClient, ReconnectPolicy,
};
use ztnic_p4runtime_server::{ServerConfig, ServerSecurity, ServerTls};
use ztnic_p4tables::{names, ztnic_p4info};
use ztnic_testkit::pki::{Ca, Use};

async fn agent(addr: &str, security: ServerSecurity) -> Result<Agent<SimDevice>, AgentError> {
    let backend = FpgaBackend::new(SimDevice::new()).expect("a Verilated NIC");
    let addr = addr.parse().expect("an address");
    Agent::start_with(backend, addr, ServerConfig::default(), false, security).await
}

fn config(endpoint: String, tls: ClientTls) -> ClientConfig {
    ClientConfig {
        tls: Some(tls),
        reconnect: ReconnectPolicy {
            max_attempts: 0,
            delay: Duration::from_millis(10),
        },
        ..ClientConfig::new(endpoint, 1, 1)
    }
}

/// Connects, installs the ztnic pipeline, reads it back and reads a table.
async fn install_and_read(config: ClientConfig) -> Result<(), ClientError> {
    let mut c = P4RuntimeClient::connect(config).await?;
    assert_eq!(c.arbitration(), Arbitration::Primary);
    let p4info = ztnic_p4info().expect("the ztnic P4Info");
    c.set_pipeline(p4info.clone(), Vec::new(), 7).await?;
    let got = c.get_pipeline(ResponseType::P4infoAndCookie).await?;
    assert_eq!(got.p4info, Some(p4info));
    assert_eq!(c.read_table(names::ENTRY_TABLES[0]).await?, Vec::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_tls_to_a_client_that_trusts_its_ca() {
    let ca = Ca::new("agent CA");
    let cert = ca.issue(&["127.0.0.1"], Use::Server);
    let tls = ServerTls::from_pem(cert.cert_pem, cert.key_pem);
    let a = agent("127.0.0.1:0", ServerSecurity::Tls(tls))
        .await
        .expect("a TLS agent");
    assert!(a.endpoint().starts_with("https://"), "{}", a.endpoint());

    let stranger = Ca::new("another CA");
    let err = install_and_read(config(
        a.endpoint(),
        ClientTls::new().with_ca_pem(stranger.cert_pem),
    ))
    .await
    .expect_err("a client trusting another CA");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    install_and_read(config(
        a.endpoint(),
        ClientTls::new().with_ca_pem(ca.cert_pem),
    ))
    .await
    .expect("TLS with the agent's CA");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_under_mutual_tls_serves_only_clients_of_its_client_ca() {
    let ca = Ca::new("agent CA");
    let cert = ca.issue(&["nic1.ztnic.test"], Use::Server);
    let clients = Ca::new("controllers' CA");
    let controller = clients.issue(&["controller.ztnic.test"], Use::Client);
    let tls = ServerTls::from_pem(cert.cert_pem, cert.key_pem).with_client_ca_pem(clients.cert_pem);
    let a = agent("127.0.0.1:0", ServerSecurity::Tls(tls))
        .await
        .expect("a mutual-TLS agent");
    let trusting = || {
        ClientTls::new()
            .with_ca_pem(ca.cert_pem.clone())
            .with_domain("nic1.ztnic.test")
    };

    let err = install_and_read(config(a.endpoint(), trusting()))
        .await
        .expect_err("a client without a certificate");
    assert!(
        matches!(err, ClientError::Arbitration(_) | ClientError::Transport(_)),
        "{err}"
    );

    let with_cert = trusting().with_identity_pem(controller.cert_pem, controller.key_pem);
    install_and_read(config(a.endpoint(), with_cert))
        .await
        .expect("mutual TLS with a certificate of the clients' CA");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_refuses_plaintext_on_an_address_that_is_not_loopback() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        match agent(addr, ServerSecurity::default()).await {
            Err(AgentError::Insecure(e)) => {
                assert!(e.to_string().contains("--insecure"), "{e}")
            }
            Err(e) => panic!("{addr}: refused for the wrong reason: {e}"),
            Ok(a) => {
                let at = a.addr();
                a.stop().await;
                panic!("{addr}: served plaintext on {at}");
            }
        }
    }
    // Loopback plaintext keeps working.
    let a = agent("127.0.0.1:0", ServerSecurity::default())
        .await
        .expect("plaintext on loopback");
    assert!(a.endpoint().starts_with("http://127.0.0.1:"));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_refuses_a_key_that_does_not_match_its_certificate() {
    let ca = Ca::new("agent CA");
    let cert = ca.issue(&["127.0.0.1"], Use::Server);
    let other = ca.issue(&["127.0.0.1"], Use::Server);
    let tls = ServerTls::from_pem(cert.cert_pem, other.key_pem.clone());
    match agent("127.0.0.1:0", ServerSecurity::Tls(tls)).await {
        Err(AgentError::Tls(msg)) => {
            assert!(!msg.contains(other.key_pem.trim()), "the key was printed");
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(a) => {
            a.stop().await;
            panic!("served with a key that is not the certificate's");
        }
    }
}
