//! # ztnic-testkit — what the test suites share
//!
//! Test support only (a dev-dependency everywhere but `verilator-tests`' own
//! library): frames built byte by byte, independently of the scenario crate's
//! packet builder, so a test does not check a builder against itself; the small
//! table fixtures several targets are driven with; classic pcap files; and
//! throwaway certificate authorities for the TLS tests ([`pki`]); a throwaway
//! etcd on loopback ([`etcd`]).

pub mod etcd;
pub mod fixtures;
pub mod frames;
pub mod pcap;
pub mod pki;
