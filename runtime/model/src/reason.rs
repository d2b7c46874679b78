//! Drop and punt reasons: the one source of their names and numeric codes.
//!
//! The P4 program counts drops in `drops[code]` and punts in `punts[code]`, the RTL
//! uses the same codes in its counters and event FIFO, and the runtime prints the
//! names. Their constants in P4 and Verilog are generated from these enums.

use serde::{Deserialize, Serialize};

macro_rules! reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)*
        }

        impl $name {
            /// Every reason, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The numeric code carried in counters, packet-in headers and events.
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The snake_case name used in scenario files, CLI output and P4/Verilog constants.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The reason with this code, if any.
            pub fn from_code(code: u8) -> Option<Self> {
                Self::ALL.iter().copied().find(|r| r.code() == code)
            }

            /// The reason with this name, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|r| r.name() == name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

reasons! {
    /// Why the datapath dropped a packet (docs/datapath.md §9).
    DropReason {
        /// The ingress port has no entry in `port_class`.
        UnknownPort = 1 => "unknown_port",
        /// Fewer than 14 bytes of Ethernet header.
        EthTruncated = 2 => "eth_truncated",
        /// A VLAN tag cut short.
        VlanTruncated = 3 => "vlan_truncated",
        /// More than two VLAN tags.
        TooManyVlans = 4 => "too_many_vlans",
        /// Neither IPv4, IPv6 nor ARP.
        UnsupportedEthertype = 5 => "unsupported_ethertype",
        /// IPv4 header or payload beyond the end of the frame.
        Ipv4Truncated = 6 => "ipv4_truncated",
        /// IPv4 version, IHL or total length inconsistent.
        Ipv4Malformed = 7 => "ipv4_malformed",
        /// IPv4 header checksum wrong.
        Ipv4BadChecksum = 8 => "ipv4_bad_checksum",
        /// IPv6 header or payload beyond the end of the frame.
        Ipv6Truncated = 9 => "ipv6_truncated",
        /// IPv6 version field is not 6.
        Ipv6Malformed = 10 => "ipv6_malformed",
        /// TCP header beyond the end of the IP payload.
        TcpTruncated = 11 => "tcp_truncated",
        /// TCP data offset below 5.
        TcpMalformed = 12 => "tcp_malformed",
        /// UDP header or length beyond the end of the IP payload.
        UdpTruncated = 13 => "udp_truncated",
        /// UDP length field below 8.
        UdpMalformed = 14 => "udp_malformed",
        /// ICMP header, or an ICMP error's embedded header, cut short.
        IcmpTruncated = 15 => "icmp_truncated",
        /// An ICMP error whose embedded packet is not a valid IP header.
        IcmpMalformed = 16 => "icmp_malformed",
        /// A Geneve or VXLAN header cut short.
        TunnelTruncated = 17 => "tunnel_truncated",
        /// A Geneve header other than the one ztnic option of design §3.
        GeneveMalformed = 18 => "geneve_malformed",
        /// A VXLAN header without the I flag.
        VxlanMalformed = 19 => "vxlan_malformed",
        /// A tunnel packet not addressed to this NIC's VTEP.
        VtepMismatch = 20 => "vtep_mismatch",
        /// A tag carrying the reserved context 0.
        TagCtxZero = 21 => "tag_ctx_zero",
        /// A Geneve tag whose MAC does not authenticate it.
        TagBadMac = 22 => "tag_bad_mac",
        /// A vport sent from an address it does not own (`vport_ctx` miss).
        SpoofedSource = 23 => "spoofed_source",
        /// TX to an address neither local nor in `remote_ep`.
        NoRoute = 24 => "no_route",
        /// RX to an address that is not a local endpoint.
        NoLocalEp = 25 => "no_local_ep",
        /// Conntrack marked the packet invalid.
        CtInvalid = 26 => "ct_invalid",
        /// A deny rule matched.
        PolicyDeny = 27 => "policy_deny",
        /// No rule matched (default deny).
        PolicyDefaultDeny = 28 => "policy_default_deny",
        /// A packet from the CPU port with a short or unknown `packet_out` header.
        BadPacketOut = 29 => "bad_packet_out",
        /// A frame longer than `config.max_frame` (cut on arrival, never parsed).
        Oversize = 30 => "oversize",
    }
}

reasons! {
    /// Why the datapath sent a packet to the control runtime (docs/datapath.md §9).
    PuntReason {
        /// ARP, answered by the runtime as a proxy.
        Arp = 1 => "arp",
        /// IPv6 neighbour discovery, answered by the runtime as a proxy.
        Nd = 2 => "nd",
        /// An IPv4 fragment.
        IpFragment = 3 => "ip_fragment",
        /// An IPv6 extension header.
        Ipv6ExtHeader = 4 => "ipv6_ext_header",
        /// The source context is not in `ctx_epoch`.
        CtxUnknown = 5 => "ctx_unknown",
        /// The tag's epoch differs from `ctx_epoch`.
        CtxStaleEpoch = 6 => "ctx_stale_epoch",
        /// A new allowed connection found no conntrack slot.
        CtFull = 7 => "ct_full",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_unique_and_round_trip() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.code() as usize, i + 1);
            assert_eq!(DropReason::from_code(r.code()), Some(*r));
            assert_eq!(DropReason::from_name(r.name()), Some(*r));
        }
        for (i, r) in PuntReason::ALL.iter().enumerate() {
            assert_eq!(r.code() as usize, i + 1);
            assert_eq!(PuntReason::from_name(r.name()), Some(*r));
        }
        assert_eq!(DropReason::from_code(0), None);
    }
}
