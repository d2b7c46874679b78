//! How a client's connection is secured — the one place every ztnic client
//! (the `ztnic` commands, the controller) gets it from.
//!
//! With a [`ClientTls`] in [`ClientConfig::tls`](crate::ClientConfig) the
//! client speaks TLS (the endpoint's scheme becomes `https`): it trusts the
//! given CA (or the OS roots), verifies the server's certificate against the
//! endpoint's host or [`ClientTls::with_domain`], and presents a certificate
//! for mutual TLS if it has one. Without one it speaks plaintext, and only to
//! a loopback address unless [`ClientConfig::insecure`](crate::ClientConfig)
//! says otherwise.

use std::fmt;
use std::path::Path;

use tonic::codegen::http::Uri;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use ztnic_p4runtime::transport;

use crate::client::ClientConfig;
use crate::error::ClientError;

/// A client's TLS settings: the CA that signed the server's certificate, an
/// identity for mutual TLS, and the name to verify. `Debug` never shows the
/// key.
#[derive(Clone, Default)]
pub struct ClientTls {
    ca_pem: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    domain: Option<String>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca", &self.ca_pem.as_ref().map_or("OS roots", |_| "given"))
            .field(
                "identity",
                &self
                    .identity
                    .as_ref()
                    .map(|_| "<certificate, key redacted>"),
            )
            .field("domain", &self.domain)
            .finish()
    }
}

impl ClientTls {
    /// TLS trusting the operating system's root certificates, no client
    /// certificate, the server verified against the endpoint's host.
    pub fn new() -> ClientTls {
        ClientTls::default()
    }

    /// Trust these CA certificates (PEM) for the server instead of the OS
    /// roots.
    pub fn with_ca_pem(self, ca_pem: impl Into<Vec<u8>>) -> ClientTls {
        ClientTls {
            ca_pem: Some(ca_pem.into()),
            ..self
        }
    }

    /// Present this certificate (chain) and key (both PEM) for mutual TLS.
    pub fn with_identity_pem(
        self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> ClientTls {
        ClientTls {
            identity: Some((cert_pem.into(), key_pem.into())),
            ..self
        }
    }

    /// Verify the server's certificate against `name` (and send it as SNI)
    /// instead of the endpoint's host.
    pub fn with_domain(self, name: impl Into<String>) -> ClientTls {
        ClientTls {
            domain: Some(name.into()),
            ..self
        }
    }

    /// Reads the settings from PEM files: `ca` (the server's CA; the OS roots
    /// without it), `cert` and `key` (both or neither: mutual TLS; the key's
    /// file is checked for loose permissions), and the name to verify.
    pub fn from_files(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        domain: Option<&str>,
    ) -> Result<ClientTls, ClientError> {
        let mut tls = ClientTls::new();
        if let Some(ca) = ca {
            tls = tls.with_ca_pem(transport::read_certificates(ca, "TLS CA")?);
        }
        match (cert, key) {
            (Some(cert), Some(key)) => {
                tls = tls.with_identity_pem(
                    transport::read_certificates(cert, "TLS client certificate")?,
                    transport::read_private_key(key)?,
                );
            }
            (None, None) => {}
            _ => {
                return Err(ClientError::Tls(
                    "a client certificate and its key go together (--tls-cert with --tls-key)"
                        .into(),
                ));
            }
        }
        if let Some(d) = domain {
            tls = tls.with_domain(d);
        }
        Ok(tls)
    }

    /// Whether the client presents a certificate.
    pub fn is_mutual(&self) -> bool {
        self.identity.is_some()
    }

    fn tonic_config(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_pem {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(d) = &self.domain {
            config = config.domain_name(d.clone());
        }
        config
    }
}

/// The host of an endpoint URI (`http://host:port`, or a bare `host:port`),
/// IPv6 brackets kept.
pub fn endpoint_host(endpoint: &str) -> Result<String, ClientError> {
    let uri = parse(endpoint)?;
    uri.host()
        .map(str::to_string)
        .ok_or_else(|| ClientError::Endpoint(endpoint.to_string()))
}

/// Whether plaintext to `endpoint` is allowed: to a loopback host
/// ([`transport::is_loopback_host`]: a loopback address or `localhost`), or
/// anywhere with `insecure`.
pub fn check_plaintext(endpoint: &str, insecure: bool) -> Result<(), ClientError> {
    let host = endpoint_host(endpoint)?;
    if insecure || transport::is_loopback_host(&host) {
        Ok(())
    } else {
        Err(ClientError::Plaintext { host })
    }
}

/// The tonic endpoint `config` connects with: TLS if it has a [`ClientTls`]
/// or the endpoint says `https://` (then with the OS roots), else plaintext
/// after [`check_plaintext`].
pub(crate) fn endpoint(config: &ClientConfig) -> Result<Endpoint, ClientError> {
    let uri = parse(&config.endpoint)?;
    let https = uri.scheme_str() == Some("https");
    let tls = match (&config.tls, https) {
        (Some(tls), _) => Some(tls.clone()),
        (None, true) => Some(ClientTls::new()),
        (None, false) => None,
    };
    let bad = || ClientError::Endpoint(config.endpoint.clone());
    match tls {
        None => {
            check_plaintext(&config.endpoint, config.insecure)?;
            Endpoint::from_shared(with_scheme(&config.endpoint)).map_err(|_| bad())
        }
        Some(tls) => {
            let authority = uri.authority().ok_or_else(bad)?;
            Endpoint::from_shared(format!("https://{authority}"))
                .map_err(|_| bad())?
                .tls_config(tls.tonic_config())
                .map_err(|e| ClientError::Tls(transport::error_chain(&e)))
        }
    }
}

/// `endpoint` with `http://` added if it has no scheme.
fn with_scheme(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

fn parse(endpoint: &str) -> Result<Uri, ClientError> {
    with_scheme(endpoint)
        .parse::<Uri>()
        .map_err(|_| ClientError::Endpoint(endpoint.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_goes_to_loopback_only_unless_insecure() {
        for e in [
            "http://127.0.0.1:9559",
            "127.0.0.1:9559",
            "http://[::1]:9559",
            "http://localhost:9559",
        ] {
            assert!(check_plaintext(e, false).is_ok(), "{e}");
        }
        for e in [
            "http://10.0.0.7:9559",
            "192.0.2.1:9559",
            "http://[2001:db8::1]:9559",
            "http://nic7.example.net:9559",
            "http://0.0.0.0:9559",
        ] {
            let err = check_plaintext(e, false).expect_err(e);
            assert!(matches!(err, ClientError::Plaintext { .. }), "{e}: {err}");
            assert!(err.to_string().contains("--insecure"), "{err}");
            assert!(check_plaintext(e, true).is_ok(), "{e}");
        }
        assert!(matches!(
            check_plaintext("http://", false),
            Err(ClientError::Endpoint(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let tls = ClientTls::new()
            .with_ca_pem("CA")
            .with_identity_pem("CERT", "THE-PRIVATE-KEY")
            .with_domain("nic1");
        let text = format!("{tls:?}");
        assert!(!text.contains("THE-PRIVATE-KEY"), "{text}");
        assert!(text.contains("redacted") && text.contains("nic1"), "{text}");
    }

    #[test]
    fn a_certificate_without_its_key_is_refused() {
        let err = ClientTls::from_files(None, Some(Path::new("c.pem")), None, None)
            .expect_err("cert without key");
        assert!(matches!(err, ClientError::Tls(_)), "{err}");
    }
}
