//! How a P4Runtime server's listener is secured: TLS with the server's
//! certificate and key, optionally mutual TLS (every client must present a
//! certificate signed by a given CA), or plaintext — which a server accepts on
//! a loopback address only, unless the operator explicitly allows it.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use ztnic_p4runtime::transport::{self, PemFileError};

/// How long a client gets to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A server's TLS identity and, for mutual TLS, the CA its clients' certificates
/// must chain to. `Debug` never shows the key.
#[derive(Clone)]
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("key", &"<redacted>")
            .field("mutual", &self.is_mutual())
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// TLS with this certificate (chain) and private key, both PEM.
    pub fn from_pem(cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> ServerTls {
        ServerTls {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
        }
    }

    /// Mutual TLS: clients must present a certificate signed by this CA (PEM).
    pub fn with_client_ca_pem(self, ca_pem: impl Into<Vec<u8>>) -> ServerTls {
        ServerTls {
            client_ca_pem: Some(ca_pem.into()),
            ..self
        }
    }

    /// Reads the certificate, the key and, for mutual TLS, the client CA from
    /// PEM files (the key's file is checked for loose permissions).
    pub fn from_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<ServerTls, PemFileError> {
        let tls = ServerTls::from_pem(
            transport::read_certificates(cert, "TLS certificate")?,
            transport::read_private_key(key)?,
        );
        Ok(match client_ca {
            Some(ca) => tls.with_client_ca_pem(transport::read_certificates(ca, "TLS client CA")?),
            None => tls,
        })
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    /// The tonic configuration (`Server::builder().tls_config(..)`); the PEM
    /// is parsed there, which reports a certificate or key it cannot use.
    pub fn tonic_config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.client_ca_pem {
            Some(ca) => config
                .client_ca_root(Certificate::from_pem(ca))
                .client_auth_optional(false),
            None => config,
        }
    }
}

/// How a server's listener is secured.
#[derive(Clone, Debug)]
pub enum ServerSecurity {
    /// Plaintext gRPC. Without `insecure` only on a loopback address.
    Plaintext {
        /// Allow plaintext on any address (the operator's `--insecure`).
        insecure: bool,
    },
    /// TLS, mutual if the [`ServerTls`] has a client CA.
    Tls(ServerTls),
}

impl Default for ServerSecurity {
    /// Plaintext on loopback only.
    fn default() -> Self {
        ServerSecurity::Plaintext { insecure: false }
    }
}

/// A plaintext listener on a non-loopback address without `insecure`.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to serve P4Runtime in plaintext on {addr}, which is not a loopback address: \
     serve TLS (a certificate and key: --tls-cert FILE --tls-key FILE) or allow plaintext \
     explicitly (--insecure)"
)]
pub struct InsecureListen {
    /// The address asked for.
    pub addr: SocketAddr,
}

impl ServerSecurity {
    /// Whether listening on `addr` is allowed: TLS anywhere, plaintext on
    /// loopback, or anywhere with `insecure`.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<(), InsecureListen> {
        match self {
            ServerSecurity::Plaintext { insecure: false } if !transport::is_loopback(addr.ip()) => {
                Err(InsecureListen { addr })
            }
            _ => Ok(()),
        }
    }

    /// A tonic server builder with this security's TLS configured (the PEM is
    /// parsed here: a certificate or key it cannot use is an error).
    pub fn server_builder(&self) -> Result<tonic::transport::Server, tonic::transport::Error> {
        let builder = tonic::transport::Server::builder();
        match self {
            ServerSecurity::Plaintext { .. } => Ok(builder),
            ServerSecurity::Tls(tls) => builder.tls_config(tls.tonic_config()),
        }
    }

    /// The URI scheme clients reach this server with: `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        match self {
            ServerSecurity::Plaintext { .. } => "http",
            ServerSecurity::Tls(_) => "https",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn plaintext_listens_on_loopback_only_unless_insecure() {
        let plain = ServerSecurity::default();
        assert!(plain.check_listen(addr("127.0.0.1:9559")).is_ok());
        assert!(plain.check_listen(addr("[::1]:9559")).is_ok());
        for a in [
            "0.0.0.0:9559",
            "[::]:9559",
            "10.1.2.3:9559",
            "[::ffff:10.0.0.1]:1",
        ] {
            let err = plain.check_listen(addr(a)).expect_err(a);
            assert!(err.to_string().contains("--insecure"), "{err}");
        }
        let insecure = ServerSecurity::Plaintext { insecure: true };
        assert!(insecure.check_listen(addr("0.0.0.0:9559")).is_ok());
        let tls = ServerSecurity::Tls(ServerTls::from_pem("cert", "key"));
        assert!(tls.check_listen(addr("0.0.0.0:9559")).is_ok());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let tls = ServerTls::from_pem("CERT", "THE-PRIVATE-KEY").with_client_ca_pem("CA");
        let text = format!("{tls:?} {:?}", ServerSecurity::Tls(tls.clone()));
        assert!(!text.contains("THE-PRIVATE-KEY"), "{text}");
        assert!(
            text.contains("redacted") && text.contains("mutual: true"),
            "{text}"
        );
    }
}
