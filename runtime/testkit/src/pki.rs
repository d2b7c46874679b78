//! Throwaway certificate authorities and certificates for the TLS tests, made
//! at test time with `rcgen` (nothing checked in, nothing that outlives a test).
//!
//! ```no_run
//! let dir = std::env::temp_dir().join("pki-example");
//! let ca = ztnic_testkit::pki::Ca::new("test CA");
//! let server = ca.issue(&["localhost", "127.0.0.1"], ztnic_testkit::pki::Use::Server);
//! let paths = server.write(&dir, "server");
//! ```

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// A certificate authority: its certificate (PEM) and what signs with it.
pub struct Ca {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// What an issued certificate is for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A TLS server (`serverAuth`).
    Server,
    /// A TLS client (`clientAuth`).
    Client,
}

/// A certificate and its private key, both PEM.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// Where [`Issued::write`] put the certificate and the key.
#[derive(Debug, Clone)]
pub struct Written {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    /// A fresh self-signed CA named `name` (its common name).
    ///
    /// # Panics
    /// If key generation or signing fails (test support only).
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("generating the CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("self-signing the CA");
        Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (DNS names or IP addresses, as subject
    /// alternative names) signed by this CA.
    ///
    /// # Panics
    /// If a name is not a valid DNS name or address, or signing fails.
    pub fn issue(&self, names: &[&str], usage: Use) -> Issued {
        let key = KeyPair::generate().expect("generating a key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("certificate parameters");
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().map_or("ztnic test", |n| n),
        );
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Use::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Use::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        let cert = params.signed_by(&key, &self.issuer).expect("signing");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the CA certificate to `dir/<stem>.pem`; its path.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write(&self, dir: &Path, stem: &str) -> PathBuf {
        let path = dir.join(format!("{stem}.pem"));
        std::fs::write(&path, &self.cert_pem).expect("writing the CA certificate");
        path
    }
}

impl Issued {
    /// Writes `dir/<stem>.pem` (the certificate) and `dir/<stem>.key` (the key,
    /// created with mode 0600 as a key file should be).
    ///
    /// # Panics
    /// If a file cannot be written.
    pub fn write(&self, dir: &Path, stem: &str) -> Written {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let cert = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("writing the certificate");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key)
            .expect("creating the key file");
        f.write_all(self.key_pem.as_bytes())
            .expect("writing the key file");
        Written { cert, key }
    }
}
