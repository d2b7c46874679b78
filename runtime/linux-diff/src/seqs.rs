//! The sequences, written from Linux's `nf_conntrack_proto_tcp.c`,
//! `nf_conntrack_proto_icmp.c` / `_icmpv6.c`, `nf_conntrack_proto_udp.c` and the
//! kernel's `nf_conntrack` packetdrill selftests. Each names what it exercises; what is
//! expected is whatever the kernel does.

use std::net::IpAddr;
use std::time::Duration;

use ztnic_model::Timeouts;

use crate::packet::{L4, Pkt, flags};
use crate::{Seq, Step};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("sequence addresses are valid")
}

/// Addresses of one family: client, server, a second client-side host, a router on
/// the server side.
#[derive(Clone, Copy)]
struct Hosts {
    c: IpAddr,
    s: IpAddr,
    c2: IpAddr,
    r: IpAddr,
}

fn hosts(v6: bool) -> Hosts {
    if v6 {
        Hosts {
            c: ip("fd77:1::2"),
            s: ip("fd77:2::2"),
            c2: ip("fd77:1::3"),
            r: ip("fd77:2::3"),
        }
    } else {
        Hosts {
            c: ip("10.77.1.2"),
            s: ip("10.77.2.2"),
            c2: ip("10.77.1.3"),
            r: ip("10.77.2.3"),
        }
    }
}

/// A TCP conversation; sequence and acknowledgment numbers are relative to the
/// client's (`ci`) and the server's (`si`) initial sequence numbers, as in packetdrill.
#[derive(Clone, Copy)]
struct Conv {
    h: Hosts,
    cp: u16,
    sp: u16,
    ci: u32,
    si: u32,
    cwin: u16,
    swin: u16,
}

impl Conv {
    fn new(v6: bool, cp: u16) -> Conv {
        Conv {
            h: hosts(v6),
            cp,
            sp: 80,
            ci: 1000,
            si: 5000,
            cwin: 64000,
            swin: 64000,
        }
    }

    /// A client segment: `f` flags, relative seq / ack, payload length.
    fn cpkt(&self, f: &str, seq: u32, ack: u32, len: usize) -> Pkt {
        Pkt {
            from_server: false,
            src: self.h.c,
            dst: self.h.s,
            l4: L4::Tcp {
                sport: self.cp,
                dport: self.sp,
                flags: flags(f),
                seq: self.ci.wrapping_add(seq),
                ack: if f.contains('A') {
                    self.si.wrapping_add(ack)
                } else {
                    0
                },
                win: self.cwin,
                len,
            },
        }
    }

    fn spkt(&self, f: &str, seq: u32, ack: u32, len: usize) -> Pkt {
        Pkt {
            from_server: true,
            src: self.h.s,
            dst: self.h.c,
            l4: L4::Tcp {
                sport: self.sp,
                dport: self.cp,
                flags: flags(f),
                seq: self.si.wrapping_add(seq),
                ack: if f.contains('A') {
                    self.ci.wrapping_add(ack)
                } else {
                    0
                },
                win: self.swin,
                len,
            },
        }
    }

    fn c(&self, f: &str, seq: u32, ack: u32, len: usize) -> Step {
        Step::Send(self.cpkt(f, seq, ack, len))
    }

    fn s(&self, f: &str, seq: u32, ack: u32, len: usize) -> Step {
        Step::Send(self.spkt(f, seq, ack, len))
    }

    fn handshake(&self) -> Vec<Step> {
        vec![
            self.c("S", 0, 0, 0),
            self.s("SA", 0, 1, 0),
            self.c("A", 1, 1, 0),
        ]
    }
}

fn udp(h: Hosts, from_server: bool, cp: u16, sp: u16, len: usize) -> Step {
    let (src, dst, sport, dport) = if from_server {
        (h.s, h.c, sp, cp)
    } else {
        (h.c, h.s, cp, sp)
    };
    Step::Send(Pkt {
        from_server,
        src,
        dst,
        l4: L4::Udp { sport, dport, len },
    })
}

fn echo(h: Hosts, request: bool, id: u16, seq: u16) -> Step {
    let (from_server, src, dst) = if request {
        (false, h.c, h.s)
    } else {
        (true, h.s, h.c)
    };
    Step::Send(Pkt {
        from_server,
        src,
        dst,
        l4: L4::Echo { request, id, seq },
    })
}

/// An ICMP error sent from the server side, from `src` to `dst`, quoting `quote`.
fn unreachable(src: IpAddr, dst: IpAddr, quote: Pkt) -> Step {
    Step::Send(Pkt {
        from_server: true,
        src,
        dst,
        l4: L4::Unreachable {
            quote: Box::new(quote),
        },
    })
}

fn sleep_ms(ms: u64) -> Step {
    Step::Sleep(Duration::from_millis(ms))
}

fn seq(name: &str, steps: Vec<Step>) -> Seq {
    Seq {
        name: name.into(),
        timeouts: Timeouts::default(),
        steps,
    }
}

fn cat(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

/// Short timeouts for the sequences that cross them (seconds).
pub fn short_timeouts() -> Timeouts {
    Timeouts {
        tcp_syn_sent: 2,
        tcp_syn_recv: 2,
        tcp_established: 5,
        tcp_fin_wait: 2,
        tcp_close_wait: 2,
        tcp_last_ack: 2,
        tcp_time_wait: 2,
        tcp_close: 2,
        udp_unreplied: 2,
        udp_replied: 10,
        icmp: 2,
        generic: 2,
        ..Timeouts::default()
    }
}

/// Every sequence.
pub fn all() -> Vec<Seq> {
    let mut v = Vec::new();
    for v6 in [false, true] {
        let fam = if v6 { "v6" } else { "v4" };
        let base: u16 = if v6 { 20000 } else { 10000 };
        let n = |s: &str| format!("{s}_{fam}");

        // A whole connection: handshake, data both ways, FIN from each side.
        let t = Conv::new(v6, base + 1);
        v.push(seq(
            &n("tcp_lifecycle"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                    t.s("PA", 1, 101, 200),
                    t.c("A", 101, 201, 0),
                    t.c("FA", 101, 201, 0),
                    t.s("A", 201, 102, 0),
                    t.s("FA", 201, 102, 0),
                    t.c("A", 102, 202, 0),
                ],
            ]),
        ));

        // An exact RST closes; segments after it are judged in CLOSE.
        let t = Conv::new(v6, base + 2);
        v.push(seq(
            &n("tcp_rst_exact"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                    t.s("RA", 1, 101, 0),
                    t.c("PA", 101, 1, 10),
                ],
            ]),
        ));

        // Issue 15: an in-window RST that is not the next expected sequence number on
        // ESTABLISHED keeps the connection (the peer answers with a challenge ACK, and
        // the exact RST that follows closes it).
        let t = Conv::new(v6, base + 3);
        v.push(seq(
            &n("tcp_inexact_rst_established"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                    t.s("R", 500, 0, 0),
                    t.c("A", 101, 1, 0),
                    t.c("PA", 101, 1, 10),
                    t.s("A", 1, 111, 0),
                ],
            ]),
        ));

        // packetdrill conntrack_rst_invalid: out-of-window and below-max-ACK RSTs are
        // invalid; the connection stays ESTABLISHED until the exact RST.
        let t = Conv::new(v6, base + 4);
        v.push(seq(
            &n("tcp_rst_invalid"),
            cat(vec![
                t.handshake(),
                vec![
                    t.s("A", 1, 1, 1000),
                    t.s("A", 1001, 1, 1000),
                    t.s("A", 2001, 1, 1000),
                    t.c("A", 1, 1001, 0),
                    t.c("A", 1, 2001, 0),
                    t.c("A", 1, 3001, 0),
                    t.s("R", 0, 0, 0),
                    t.s("R", 1_000_000, 0, 0),
                    t.s("R", 42, 0, 0),
                    t.c("PA", 1, 3001, 1000),
                    t.s("A", 3001, 1001, 0),
                    t.s("RA", 3000, 1001, 0),
                    t.s("RA", 3001, 1001, 0),
                ],
            ]),
        ));

        // packetdrill conntrack_inexact_rst: once closing, an inexact RST still closes,
        // and a late spurious RST from the peer is not invalid.
        let t = Conv::new(v6, base + 5);
        v.push(seq(
            &n("tcp_inexact_rst_closing"),
            cat(vec![
                t.handshake(),
                vec![
                    t.s("A", 1, 1, 1000),
                    t.s("A", 1001, 1, 1000),
                    t.s("A", 2001, 1, 1000),
                    t.c("A", 1, 1001, 0),
                    t.c("A", 1, 2001, 0),
                    t.c("A", 1, 3001, 0),
                    t.c("PA", 1, 3001, 1000),
                    t.s("FA", 3001, 1001, 0),
                    t.c("A", 1001, 3002, 0),
                    t.c("RA", 1001, 3002, 0),
                    t.s("R", 2001, 0, 0),
                ],
            ]),
        ));

        // packetdrill conntrack_syn_challenge_ack: a SYN met by a challenge ACK of an
        // old incarnation; the RST answering it passes and the retried SYN opens.
        let t = Conv::new(v6, base + 6);
        let old = Conv {
            ci: 643_160_522,
            si: 145_824_452,
            ..t
        };
        v.push(seq(
            &n("tcp_syn_challenge_ack"),
            cat(vec![vec![
                t.c("S", 0, 0, 0),
                old.s("A", 1, 1, 0),
                old.c("R", 1, 0, 0),
                t.c("S", 0, 0, 0),
                t.s("SA", 0, 1, 0),
                t.c("A", 1, 1, 0),
            ]]),
        ));

        // packetdrill conntrack_synack_old: a SYN/ACK of an old incarnation (bad ACK)
        // is invalid; the right one after the SYN retransmit still opens.
        let t = Conv::new(v6, base + 7);
        let old = Conv {
            ci: 643_160_522,
            si: 145_824_452,
            ..t
        };
        let right = Conv {
            si: 145_758_917,
            ..t
        };
        v.push(seq(
            &n("tcp_synack_old"),
            vec![
                t.c("S", 0, 0, 0),
                old.s("SA", 1, 1, 0),
                t.c("S", 0, 0, 0),
                right.s("SA", 1, 1, 0),
                right.c("A", 1, 2, 0),
                right.c("PA", 1, 2, 1),
            ],
        ));

        // packetdrill conntrack_synack_reuse: a new SYN on an ESTABLISHED connection
        // passes, the challenge ACK passes, the RST clears, the SYN retry opens anew.
        let t = Conv::new(v6, base + 8);
        let again = Conv { ci: 2000, ..t };
        v.push(seq(
            &n("tcp_synack_reuse"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                    again.c("S", 0, 0, 0),
                    t.s("A", 1, 101, 0),
                    t.c("RA", 101, 1, 0),
                    again.c("S", 0, 0, 0),
                    again.s("SA", 0, 1, 0),
                ],
            ]),
        ));

        // Issue 15: an empty ACK whose sequence number is far outside the window.
        let t = Conv::new(v6, base + 9);
        v.push(seq(
            &n("tcp_empty_ack_seq_out_of_window"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("A", 10_000_000, 1, 0),
                    t.c("A", 1u32.wrapping_sub(10_000_000), 1, 0),
                    t.c("PA", 1, 1, 10),
                    t.s("A", 1, 11, 0),
                ],
            ]),
        ));

        // Issue 15 (Linux >= 6.1): a retransmission entirely below the receiver's
        // window and an ACK far below the lower bound pass without changing state.
        let t = Conv {
            swin: 1000,
            ..Conv::new(v6, base + 10)
        };
        v.push(seq(
            &n("tcp_below_lower_bound"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 1000),
                    t.s("A", 1, 1001, 0),
                    t.c("PA", 1001, 1, 1000),
                    t.s("A", 1, 2001, 0),
                    t.c("PA", 2001, 1, 1000),
                    t.s("A", 1, 3001, 0),
                    t.c("PA", 1, 1, 100),
                    t.c("A", 3001, 1u32.wrapping_sub(100_000), 0),
                    t.c("PA", 3001, 1, 500),
                    t.s("A", 1, 3501, 0),
                ],
            ]),
        ));

        // Issue 15: PSH, ECE and CWR do not make a flag set invalid.
        let t = Conv::new(v6, base + 11);
        v.push(seq(
            &n("tcp_flags_psh_ece_cwr"),
            vec![
                t.c("SPEC", 0, 0, 0),
                t.s("SAPE", 0, 1, 0),
                t.c("AC", 1, 1, 0),
                t.c("PAEC", 1, 1, 10),
                t.s("PAE", 1, 11, 0),
                t.c("RP", 11, 0, 0),
            ],
        ));

        // Flag sets Linux never accepts, on a live connection (which must survive).
        let t = Conv::new(v6, base + 12);
        v.push(seq(
            &n("tcp_flags_invalid"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("", 1, 1, 0),
                    t.c("SF", 1, 1, 0),
                    t.c("SR", 1, 1, 0),
                    t.c("F", 1, 1, 0),
                    t.c("FSRPAU", 1, 1, 0),
                    t.c("SAU", 1, 1, 0),
                    t.c("RU", 1, 1, 0),
                    t.c("FAU", 1, 1, 0),
                    t.c("AU", 1, 1, 0),
                    t.c("PA", 1, 1, 10),
                    t.s("A", 1, 11, 0),
                ],
            ]),
        ));

        // Issue 15: simultaneous open.
        let t = Conv::new(v6, base + 13);
        v.push(seq(
            &n("tcp_simultaneous_open"),
            vec![
                t.c("S", 0, 0, 0),
                t.s("S", 0, 0, 0),
                t.c("SA", 0, 1, 0),
                t.s("SA", 0, 1, 0),
                t.c("A", 1, 1, 0),
                t.s("PA", 1, 1, 10),
                t.c("A", 1, 11, 0),
            ],
        ));

        // Simultaneous open, stopped half-way: the state after each side's SYN/ACK.
        for (k, stop) in [
            (2usize, "syn_sent2"),
            (3, "synack_orig"),
            (4, "synack_reply"),
        ] {
            let t = Conv::new(v6, base + 22 + k as u16);
            let all = [
                t.c("S", 0, 0, 0),
                t.s("S", 0, 0, 0),
                t.c("SA", 0, 1, 0),
                t.s("SA", 0, 1, 0),
            ];
            v.push(seq(
                &n(&format!("tcp_simultaneous_open_{stop}")),
                all[..k].to_vec(),
            ));
        }

        // No SYN seen: with nf_conntrack_tcp_loose=0 nothing is picked up mid-stream.
        let t = Conv::new(v6, base + 14);
        v.push(seq(
            &n("tcp_midstream"),
            vec![
                t.c("PA", 1, 1, 10),
                t.s("A", 1, 11, 0),
                t.s("SA", 0, 1, 0),
                t.c("FA", 11, 1, 0),
                t.c("R", 11, 0, 0),
            ],
        ));

        // Retransmitted SYN and SYN/ACK, a duplicate ACK, then a data retransmission.
        let t = Conv::new(v6, base + 15);
        v.push(seq(
            &n("tcp_retransmits"),
            vec![
                t.c("S", 0, 0, 0),
                t.c("S", 0, 0, 0),
                t.s("SA", 0, 1, 0),
                t.s("SA", 0, 1, 0),
                t.c("A", 1, 1, 0),
                t.c("A", 1, 1, 0),
                t.c("PA", 1, 1, 100),
                t.c("PA", 1, 1, 100),
                t.s("A", 1, 101, 0),
                t.s("A", 1, 101, 0),
            ],
        ));

        // Reopen from TIME_WAIT with a new SYN.
        let t = Conv::new(v6, base + 16);
        let again = Conv {
            ci: 90_000,
            si: 70_000,
            ..t
        };
        v.push(seq(
            &n("tcp_reopen_time_wait"),
            cat(vec![
                t.handshake(),
                vec![t.c("FA", 1, 1, 0), t.s("FA", 1, 2, 0), t.c("A", 2, 2, 0)],
                again.handshake(),
                vec![again.c("PA", 1, 1, 5)],
            ]),
        ));

        // Data beyond the receiver's window, and an ACK of data never sent.
        let t = Conv::new(v6, base + 17);
        v.push(seq(
            &n("tcp_out_of_window_data"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 200_000, 1, 100),
                    t.c("PA", 1, 50_000, 100),
                    t.s("A", 1, 5_000, 0),
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                ],
            ]),
        ));

        // A small advertised window: a segment past its right edge.
        let t = Conv {
            swin: 100,
            ..Conv::new(v6, base + 18)
        };
        v.push(seq(
            &n("tcp_small_window"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 100),
                    t.s("A", 1, 101, 0),
                    t.c("PA", 301, 1, 50),
                    t.c("PA", 101, 1, 100),
                    t.s("A", 1, 201, 0),
                ],
            ]),
        ));

        // Sequence numbers wrapping around 2^32.
        let t = Conv {
            ci: 0xffff_ff00,
            si: 0xffff_fff0,
            ..Conv::new(v6, base + 19)
        };
        v.push(seq(
            &n("tcp_seq_wrap"),
            cat(vec![
                t.handshake(),
                vec![
                    t.c("PA", 1, 1, 500),
                    t.s("A", 1, 501, 0),
                    t.s("PA", 1, 501, 100),
                    t.c("A", 501, 101, 0),
                    t.c("PA", 501, 101, 500),
                    t.s("A", 101, 1001, 0),
                ],
            ]),
        ));

        // A RST answering a SYN (no connection was ever replied to).
        let t = Conv::new(v6, base + 20);
        v.push(seq(
            &n("tcp_syn_refused"),
            vec![
                t.c("S", 0, 0, 0),
                t.s("RA", 0, 1, 0),
                t.c("A", 1, 1, 0),
                t.c("S", 0, 0, 0),
                t.s("SA", 0, 1, 0),
            ],
        ));

        // A reply ACK while only the SYN has been seen, and a SYN/ACK from the
        // originator.
        let t = Conv::new(v6, base + 21);
        v.push(seq(
            &n("tcp_syn_sent_odd_replies"),
            vec![
                t.c("S", 0, 0, 0),
                t.s("A", 0, 1, 0),
                t.c("SA", 0, 1, 0),
                t.s("SA", 0, 1, 0),
                t.c("A", 1, 1, 0),
            ],
        ));

        // UDP: request / reply / more; a datagram from the server to a fresh port.
        let h = hosts(v6);
        v.push(seq(
            &n("udp_basic"),
            vec![
                udp(h, false, base + 30, 53, 20),
                udp(h, true, base + 30, 53, 40),
                udp(h, false, base + 30, 53, 20),
                udp(h, true, base + 31, 5353, 10),
                udp(h, false, base + 31, 5353, 10),
            ],
        ));

        // ICMP echo: request, reply, duplicate reply; a reply with no request.
        v.push(seq(
            &n("icmp_echo"),
            vec![
                echo(h, true, base + 40, 1),
                echo(h, false, base + 40, 1),
                echo(h, false, base + 40, 1),
                echo(h, true, base + 40, 2),
                echo(h, false, base + 41, 1),
            ],
        ));

        // ICMP errors quoting a tracked flow: from the server and from a router, to the
        // flow's own address (related), and to another address (issue 15: invalid).
        let t = Conv::new(v6, base + 42);
        let syn = t.cpkt("S", 0, 0, 0);
        let dns = Pkt {
            from_server: false,
            src: h.c,
            dst: h.s,
            l4: L4::Udp {
                sport: base + 43,
                dport: 53,
                len: 20,
            },
        };
        let unknown = Pkt {
            l4: L4::Udp {
                sport: base + 44,
                dport: 53,
                len: 20,
            },
            ..dns.clone()
        };
        v.push(seq(
            &n("icmp_error_related"),
            vec![
                Step::Send(syn.clone()),
                unreachable(h.r, h.c, syn.clone()),
                unreachable(h.s, h.c, syn.clone()),
                unreachable(h.r, h.c2, syn.clone()),
                unreachable(h.s, h.c2, syn),
                Step::Send(dns.clone()),
                unreachable(h.s, h.c, dns.clone()),
                unreachable(h.s, h.c2, dns),
                unreachable(h.s, h.c, unknown),
            ],
        ));

        // ICMP types other than echo and errors.
        let other = |ty: u8| {
            Step::Send(Pkt {
                from_server: false,
                src: h.c,
                dst: h.s,
                l4: L4::IcmpRaw {
                    ty,
                    code: 0,
                    rest: [0, 9, 0, 1],
                    len: 12,
                },
            })
        };
        v.push(seq(
            &n("icmp_other_types"),
            if v6 {
                vec![other(139), other(200), other(129)]
            } else {
                vec![other(13), other(15), other(17), other(42)]
            },
        ));

        // Timeouts, several flows crossing them in one sequence.
        let a = Conv::new(v6, base + 50);
        let b = Conv::new(v6, base + 51);
        let c = Conv::new(v6, base + 52);
        let d = Conv::new(v6, base + 53);
        let e = Conv::new(v6, base + 54);
        let mut steps = vec![a.c("S", 0, 0, 0)];
        steps.extend(b.handshake());
        steps.extend(c.handshake());
        steps.push(c.c("RA", 1, 1, 0));
        steps.extend(d.handshake());
        steps.extend(vec![
            d.c("FA", 1, 1, 0),
            d.s("FA", 1, 2, 0),
            d.c("A", 2, 2, 0),
        ]);
        steps.extend(e.handshake());
        steps.push(e.c("FA", 1, 1, 0));
        steps.push(udp(h, false, base + 55, 53, 10));
        steps.push(udp(h, false, base + 56, 53, 10));
        steps.push(udp(h, true, base + 56, 53, 10));
        steps.push(echo(h, true, base + 57, 1));
        steps.push(sleep_ms(3000));
        steps.extend(vec![
            a.s("SA", 0, 1, 0),
            b.c("PA", 1, 1, 10),
            c.c("A", 1, 1, 0),
            d.c("A", 2, 2, 0),
            e.s("A", 1, 2, 0),
            udp(h, true, base + 55, 53, 10),
            udp(h, true, base + 56, 53, 10),
            echo(h, false, base + 57, 1),
        ]);
        v.push(Seq {
            name: n("timeouts_short"),
            timeouts: short_timeouts(),
            steps,
        });

        // UDP becomes a stream (the replied timeout) only when still active 2 s after
        // it was created; ESTABLISHED idles out.
        let f = Conv::new(v6, base + 60);
        let mut steps = f.handshake();
        steps.extend(vec![
            udp(h, false, base + 61, 53, 10),
            udp(h, true, base + 61, 53, 10),
            udp(h, false, base + 62, 53, 10),
            udp(h, true, base + 62, 53, 10),
            sleep_ms(1500),
            udp(h, false, base + 61, 53, 10),
            sleep_ms(1500),
            udp(h, false, base + 61, 53, 10),
            udp(h, true, base + 61, 53, 10),
            sleep_ms(3000),
            udp(h, true, base + 61, 53, 10),
            udp(h, true, base + 62, 53, 10),
            f.c("PA", 1, 1, 10),
        ]);
        v.push(Seq {
            name: n("timeouts_udp_stream_established"),
            timeouts: short_timeouts(),
            steps,
        });
    }
    v
}
