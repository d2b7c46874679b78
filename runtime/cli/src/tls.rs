//! The TLS options of the commands: `ztnic agent`'s (its certificate, key and,
//! for mutual TLS, the clients' CA) and those of every command that connects
//! to a NIC (the server's CA, a client certificate, the name to verify). The
//! files are read and checked by the P4Runtime crates (`ServerTls`,
//! `ClientTls`); here they are only options.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ztnic_p4runtime_client::{ClientConfig, ClientTls};
use ztnic_p4runtime_server::{ServerSecurity, ServerTls};

/// `ztnic agent`'s transport security.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerTlsArgs {
    /// Serve P4Runtime over TLS with this certificate (PEM, the chain after the
    /// leaf); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM; never logged; keep it mode 0600).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate signed by this CA
    /// (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Allow plaintext P4Runtime on an address that is not loopback (anyone who
    /// reaches it controls the datapath).
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure: bool,
}

impl ServerTlsArgs {
    /// The listener's security: TLS if a certificate is given, else plaintext
    /// (on loopback only without --insecure).
    pub fn security(&self) -> Result<ServerSecurity> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(ServerSecurity::Tls(
                ServerTls::from_files(cert, key, self.tls_client_ca.as_deref())
                    .context("the agent's TLS files")?,
            )),
            _ => Ok(ServerSecurity::Plaintext {
                insecure: self.insecure,
            }),
        }
    }
}

/// The transport security of a command that connects to a NIC.
#[derive(Args, Debug, Clone, Default)]
pub struct ClientTlsArgs {
    /// Connect over TLS, trusting this CA (PEM) for the NIC's certificate
    /// (an `https://` address without it trusts the system's roots).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Mutual TLS: present this client certificate (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM; never logged; keep it mode 0600).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Verify the NIC's certificate against this name (and send it as SNI)
    /// instead of the address's host.
    #[arg(long, value_name = "NAME")]
    pub tls_domain: Option<String>,
    /// Allow plaintext P4Runtime to an address that is not loopback.
    #[arg(long, conflicts_with_all = ["tls_ca", "tls_cert", "tls_domain"])]
    pub insecure: bool,
}

impl ClientTlsArgs {
    /// The TLS settings if any TLS option is given (files read and checked
    /// once, for every NIC the command connects to).
    pub fn tls(&self) -> Result<Option<ClientTls>> {
        if self.tls_ca.is_none() && self.tls_cert.is_none() && self.tls_domain.is_none() {
            return Ok(None);
        }
        Ok(Some(
            ClientTls::from_files(
                self.tls_ca.as_deref(),
                self.tls_cert.as_deref(),
                self.tls_key.as_deref(),
                self.tls_domain.as_deref(),
            )
            .context("the TLS options")?,
        ))
    }
}

/// A client configuration for `endpoint` with the given TLS settings.
pub fn client_config(
    endpoint: &str,
    device_id: u64,
    election_id: u128,
    tls: Option<&ClientTls>,
    insecure: bool,
) -> ClientConfig {
    ClientConfig {
        tls: tls.cloned(),
        insecure,
        ..ClientConfig::new(endpoint, device_id, election_id)
    }
}
