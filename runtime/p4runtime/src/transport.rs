//! What the client and the server agree on about a secured P4Runtime
//! connection: plaintext is for loopback only, and certificates and private
//! keys are read from PEM files the same way on both ends.
//!
//! A private key is never printed or logged: errors name the file, never its
//! contents; a key file that group or others may read is accepted with a
//! warning naming the file and its mode.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Why a PEM file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemFileError {
    /// The file could not be read.
    #[error("reading the {what} {}: {source}", .path.display())]
    Read {
        /// What the file was meant to hold (e.g. "TLS certificate").
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file holds no PEM block of the expected kind.
    #[error("the {what} {} holds no PEM {expected} block", .path.display())]
    NotPem {
        what: &'static str,
        path: PathBuf,
        /// The block label looked for (`CERTIFICATE`, `PRIVATE KEY`).
        expected: &'static str,
    },
}

/// Whether `ip` is a loopback address: 127.0.0.0/8, `::1`, or an IPv4-mapped
/// IPv6 loopback address (`::ffff:127.0.0.1`).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Whether the host part of an address names loopback: a loopback address
/// (IPv6 with or without brackets) or `localhost`. Any other name is not
/// resolved here and does not count.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_loopback(ip),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Reads one or more PEM certificates (a certificate, a chain or a CA bundle).
pub fn read_certificates(path: &Path, what: &'static str) -> Result<Vec<u8>, PemFileError> {
    let pem = read(path, what)?;
    if !contains(&pem, b"-----BEGIN CERTIFICATE-----") {
        return Err(PemFileError::NotPem {
            what,
            path: path.to_path_buf(),
            expected: "CERTIFICATE",
        });
    }
    Ok(pem)
}

/// Reads a PEM private key (PKCS#8, PKCS#1 or SEC1). If group or others may
/// read the file, logs a warning naming the file and its mode (never the
/// key).
pub fn read_private_key(path: &Path) -> Result<Vec<u8>, PemFileError> {
    const WHAT: &str = "TLS private key";
    if let Some(mode) = loose_mode(path) {
        tracing::warn!(
            "the TLS private key {} is readable by group or others (mode {:03o}): chmod 600 it",
            path.display(),
            mode
        );
    }
    let pem = read(path, WHAT)?;
    if !contains(&pem, b"PRIVATE KEY-----") {
        return Err(PemFileError::NotPem {
            what: WHAT,
            path: path.to_path_buf(),
            expected: "PRIVATE KEY",
        });
    }
    Ok(pem)
}

/// The permission bits of `path` if group or others have any access to it.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// An error and its sources, `: `-separated (tonic's transport errors say
/// only "transport error" at the top; a TLS handshake's cause is further
/// down). A source whose text already ends the message is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, PemFileError> {
    std::fs::read(path).map_err(|source| PemFileError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_loopback_addresses_and_localhost_only() {
        for h in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "::",
            "10.0.0.1",
            "192.0.2.1",
            "[2001:db8::1]",
            "::ffff:10.0.0.1",
            "localhost.example.com",
            "example.com",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn a_key_file_without_a_key_is_refused_without_printing_it() {
        let dir = std::env::temp_dir().join(format!("ztnic-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("not-a.key");
        std::fs::write(&path, "secret-looking text").expect("write");
        let err = read_private_key(&path).expect_err("not a key");
        let text = err.to_string();
        assert!(text.contains("PRIVATE KEY"), "{text}");
        assert!(!text.contains("secret-looking"), "{text}");
        let err = read_certificates(&dir.join("missing.pem"), "TLS CA").expect_err("missing");
        assert!(matches!(err, PemFileError::Read { .. }), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
