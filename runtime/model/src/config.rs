//! Datapath configuration: the scalar settings the runtime writes (design §5, §7).
//!
//! Every field has the out-of-the-box value (Linux conntrack defaults for timeouts), so
//! a configuration file names only what it changes.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Port numbers as carried in `tuser` / `standard_metadata` (9 bits on v1model).
pub type Port = u16;

/// An Ethernet MAC address, written `02:00:00:00:00:01` in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// A text that is not a MAC address.
#[derive(Debug, thiserror::Error)]
#[error("not a MAC address (want six hex bytes separated by ':'): {0:?}")]
pub struct BadMac(String);

impl FromStr for MacAddr {
    type Err = BadMac;
    fn from_str(s: &str) -> Result<Self, BadMac> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in &mut out {
            let p = parts.next().ok_or_else(|| BadMac(s.into()))?;
            if p.len() != 2 {
                return Err(BadMac(s.into()));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| BadMac(s.into()))?;
        }
        if parts.next().is_some() {
            return Err(BadMac(s.into()));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The 128-bit SipHash key of the trust domain, written as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthKey(pub [u8; 16]);

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("AuthKey(..)")
    }
}

impl Serialize for AuthKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for AuthKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != 32 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(serde::de::Error::custom(
                "auth_key must be exactly 32 hex digits (128 bits)",
            ));
        }
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(serde::de::Error::custom)?;
        }
        Ok(AuthKey(k))
    }
}

/// Conntrack timeouts in seconds (Linux `nf_conntrack` defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    pub tcp_syn_sent: u32,
    pub tcp_syn_recv: u32,
    pub tcp_established: u32,
    pub tcp_fin_wait: u32,
    pub tcp_close_wait: u32,
    pub tcp_last_ack: u32,
    pub tcp_time_wait: u32,
    pub tcp_close: u32,
    pub tcp_syn_sent2: u32,
    pub udp_unreplied: u32,
    pub udp_replied: u32,
    pub icmp: u32,
    pub generic: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_syn_sent: 120,
            tcp_syn_recv: 60,
            tcp_established: 432_000,
            tcp_fin_wait: 120,
            tcp_close_wait: 60,
            tcp_last_ack: 30,
            tcp_time_wait: 120,
            tcp_close: 10,
            tcp_syn_sent2: 120,
            udp_unreplied: 30,
            udp_replied: 120,
            icmp: 30,
            generic: 600,
        }
    }
}

/// Scalar configuration of one NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The uplink that tunnelled and `world` traffic leaves by.
    pub uplink_port: Port,
    /// The port that reaches the control runtime (punt / inject).
    pub cpu_port: Port,
    /// This NIC's underlay MAC (outer source MAC).
    pub local_mac: MacAddr,
    /// The underlay next hop's MAC (outer destination MAC).
    pub gateway_mac: MacAddr,
    /// This NIC's tunnel endpoint address (outer source IP, and the only outer
    /// destination it decapsulates).
    pub local_vtep_ip: Ipv4Addr,
    /// The 24-bit virtual network identifier written into Geneve and VXLAN headers.
    pub vni: u32,
    /// Authenticate Geneve tags (design §3).
    pub auth: bool,
    /// The trust domain's SipHash key.
    pub auth_key: AuthKey,
    /// Worst-case TCP window scale shift applied to non-SYN windows (0..=14).
    pub tcp_wscale: u8,
    /// Generation of the policy and epochs; entries admitted under another one are
    /// re-checked on their next packet.
    pub policy_gen: u16,
    /// Buckets per conntrack way (a power of two).
    pub ct_buckets: u32,
    /// Conntrack timeouts.
    pub timeouts: Timeouts,
    /// The longest frame accepted on any port, in bytes ([`MAX_FRAME_RANGE`]). A longer
    /// one is dropped as `oversize` before anything else is looked at; hardware cuts it
    /// at this length on arrival, so no frame can fill the NIC's buffers.
    pub max_frame: u16,
}

/// The `max_frame` values every target accepts: from a minimum Ethernet frame to a
/// 16 KiB jumbo (the hardware's frame FIFO holds two such frames).
pub const MAX_FRAME_RANGE: std::ops::RangeInclusive<u16> = 64..=16384;

/// `max_frame` out of the box: a 9,000-byte jumbo payload with its tunnel headers.
pub const MAX_FRAME_DEFAULT: u16 = 9600;

impl Default for Config {
    fn default() -> Self {
        Config {
            uplink_port: 0,
            cpu_port: 255,
            local_mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
            gateway_mac: MacAddr([0x02, 0, 0, 0, 0, 0xfe]),
            local_vtep_ip: Ipv4Addr::new(192, 168, 0, 1),
            vni: 1,
            auth: false,
            auth_key: AuthKey::default(),
            tcp_wscale: 14,
            policy_gen: 1,
            ct_buckets: 1024,
            timeouts: Timeouts::default(),
            max_frame: MAX_FRAME_DEFAULT,
        }
    }
}

/// A configuration the datapath cannot run with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("ct_buckets must be a power of two between 1 and 2^20, got {0}")]
    CtBuckets(u32),
    #[error("tcp_wscale must be at most 14, got {0}")]
    Wscale(u8),
    #[error("vni must fit in 24 bits, got {0}")]
    Vni(u32),
    #[error("uplink_port and cpu_port must differ (both {0})")]
    PortClash(Port),
    #[error("max_frame must be between 64 and 16384 bytes, got {0}")]
    MaxFrame(u16),
}

impl Config {
    /// Checks the invariants the datapath relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.ct_buckets.is_power_of_two() || self.ct_buckets > 1 << 20 {
            return Err(ConfigError::CtBuckets(self.ct_buckets));
        }
        if self.tcp_wscale > 14 {
            return Err(ConfigError::Wscale(self.tcp_wscale));
        }
        if self.vni >= 1 << 24 {
            return Err(ConfigError::Vni(self.vni));
        }
        if self.uplink_port == self.cpu_port {
            return Err(ConfigError::PortClash(self.cpu_port));
        }
        if !MAX_FRAME_RANGE.contains(&self.max_frame) {
            return Err(ConfigError::MaxFrame(self.max_frame));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parses_and_prints_round_trip() {
        let m: MacAddr = "02:0a:ff:00:00:01".parse().unwrap();
        assert_eq!(m.0, [2, 10, 255, 0, 0, 1]);
        assert_eq!(m.to_string(), "02:0a:ff:00:00:01");
        assert!("02:0a:ff:00:00".parse::<MacAddr>().is_err());
        assert!("02:0a:ff:00:00:01:02".parse::<MacAddr>().is_err());
        assert!("2:0a:ff:00:00:01".parse::<MacAddr>().is_err());
    }

    #[test]
    fn default_config_is_valid_and_bad_values_are_rejected() {
        assert_eq!(Config::default().validate(), Ok(()));
        let bad = Config {
            ct_buckets: 1000,
            ..Config::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::CtBuckets(1000)));
        let bad = Config {
            tcp_wscale: 15,
            ..Config::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::Wscale(15)));
        for max_frame in [0, 63, 16385, u16::MAX] {
            let bad = Config {
                max_frame,
                ..Config::default()
            };
            assert_eq!(bad.validate(), Err(ConfigError::MaxFrame(max_frame)));
        }
        for max_frame in [64, 1518, 16384] {
            let ok = Config {
                max_frame,
                ..Config::default()
            };
            assert_eq!(ok.validate(), Ok(()));
        }
    }
}
