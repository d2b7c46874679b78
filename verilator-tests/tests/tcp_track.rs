//! `rtl/ztnic_tcp_track.v` alone against the model's `conntrack::tcp_packet` (Linux 6.x
//! nf_conntrack_tcp_packet and tcp_in_window): random live TCP entries and segments
//! whose sequence and acknowledgment numbers are drawn near the entry's own edges
//! (end, maxend, the peer's highest ACK, the last segment's end and ACK), so that every
//! rule is reached: the transition table, reopen from TIME_WAIT / CLOSE, the ignored
//! SYN / SYN/ACK resync, the RST rules, each window verdict. For every segment the
//! outcome must match, and the entry the module returns must be the one the model
//! leaves (for a passing segment the caller's `replied |= reply` included; for an
//! invalid one the model must leave the entry unchanged unless the module asks for
//! the write).

use ztnic_model::Config;
use ztnic_model::conntrack::{
    CtEntry, CtKey, FlagClass, ProtoState, TcpLast, TcpState, TcpStep, TcpWindow, tcp_packet,
};
use ztnic_model::parse::Tcp;
use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::Rng;
use ztnic_verilator_tests::tcp_gen::{CLASSES, FLAGS, STATES, near, pick, window};

fn set_entry(m: &mut ModuleSim, e: &CtEntry) -> Result<(), Error> {
    let ProtoState::Tcp { state, win, last } = e.proto else {
        unreachable!("a TCP entry");
    };
    m.set_u64("state", state as u64)?;
    m.set_bool("assured", e.assured)?;
    m.set_bool("replied", e.replied)?;
    for (d, w) in ["orig", "reply"].iter().zip(win.iter()) {
        m.set_u64(&format!("{d}_end"), u64::from(w.end))?;
        m.set_u64(&format!("{d}_maxend"), u64::from(w.maxend))?;
        m.set_u64(&format!("{d}_maxwin"), u64::from(w.maxwin))?;
        m.set_u64(&format!("{d}_maxack"), u64::from(w.maxack))?;
        m.set_bool(&format!("{d}_maxack_set"), w.maxack_set)?;
        m.set_bool(&format!("{d}_close_init"), w.close_init)?;
    }
    m.set_u64("last_class", last.class as u64)?;
    m.set_bool("last_reply", last.reply)?;
    m.set_u64("last_ack", u64::from(last.ack))?;
    m.set_u64("last_end", u64::from(last.end))?;
    m.set_u64("last_win", u64::from(last.win))?;
    Ok(())
}

/// The entry the module returns (`last.seq`, which the tracker never reads, is not
/// kept by the hardware and is taken from `like`).
fn get_entry(m: &mut ModuleSim, like: &CtEntry) -> Result<CtEntry, Error> {
    let ProtoState::Tcp { last: l0, .. } = like.proto else {
        unreachable!("a TCP entry");
    };
    let mut win = [TcpWindow::default(); 2];
    for (d, w) in ["orig", "reply"].iter().zip(win.iter_mut()) {
        w.end = m.get_u64(&format!("out_{d}_end"))? as u32;
        w.maxend = m.get_u64(&format!("out_{d}_maxend"))? as u32;
        w.maxwin = m.get_u64(&format!("out_{d}_maxwin"))? as u32;
        w.maxack = m.get_u64(&format!("out_{d}_maxack"))? as u32;
        w.maxack_set = m.get_bool(&format!("out_{d}_maxack_set"))?;
        w.close_init = m.get_bool(&format!("out_{d}_close_init"))?;
    }
    let class = m.get_u64("out_last_class")? as usize;
    let last = TcpLast {
        class: *CLASSES.get(class).unwrap_or(&FlagClass::None),
        reply: m.get_bool("out_last_reply")?,
        seq: l0.seq,
        ack: m.get_u64("out_last_ack")? as u32,
        end: m.get_u64("out_last_end")? as u32,
        win: m.get_u64("out_last_win")? as u16,
    };
    let state = m.get_u64("out_state")? as usize;
    Ok(CtEntry {
        proto: ProtoState::Tcp {
            state: *STATES.get(state).unwrap_or(&TcpState::None),
            win,
            last,
        },
        assured: m.get_bool("out_assured")?,
        replied: m.get_bool("out_replied")?,
        ..*like
    })
}

#[test]
fn tcp_track_matches_the_model() -> Result<(), Error> {
    let mut m = ModuleSim::build("ztnic_tcp_track", &[])?;
    let mut rng = Rng::new(0x7c9_0015);
    let mut cfg = Config::default();
    // outcomes seen: invalid (no write), invalid (write), reopen, pass, moved, kill
    let mut seen = [0u32; 6];
    let mut resyncs = 0u32;
    let mut kept = 0u32;
    let mut exact_by_last_ack = 0u32;
    for i in 0..60_000u32 {
        // a third of the segments are RSTs on an assured ESTABLISHED connection, with
        // sequence numbers at the values the RST rules compare against
        let focus = rng.chance(1, 3);
        let reply = rng.chance(1, 2);
        let base_o = rng.next_u64() as u32;
        let base_r = if rng.chance(1, 8) {
            base_o
        } else {
            rng.next_u64() as u32
        };
        let mut win = [window(&mut rng, base_o), window(&mut rng, base_r)];
        // each side's highest ACK near the other side's end
        for d in 0..2 {
            if rng.chance(2, 3) {
                let peer_end = win[1 - d].end;
                win[d].maxack = near(&mut rng, peer_end, 3);
                win[d].maxack_set = true;
            }
        }
        let state = if focus {
            TcpState::Established
        } else {
            STATES[if rng.chance(1, 20) {
                0
            } else {
                1 + rng.below(9) as usize
            }]
        };
        let edges = [
            win[0].end,
            win[0].maxend,
            win[1].end,
            win[1].maxend,
            win[0].maxack,
            win[1].maxack,
        ];
        let last = TcpLast {
            class: if focus && rng.chance(1, 2) {
                FlagClass::Ack
            } else {
                CLASSES[rng.below(6) as usize]
            },
            reply: if focus { reply } else { rng.chance(1, 2) },
            seq: rng.next_u64() as u32,
            ack: pick(&mut rng, &edges),
            end: pick(&mut rng, &edges),
            win: rng.next_u64() as u16,
        };
        let replied = focus || rng.chance(2, 3);
        let before = CtEntry {
            key: CtKey {
                zone: 0,
                proto: 6,
                lo_addr: 1,
                hi_addr: 2,
                lo_port: 1000,
                hi_port: 80,
            },
            orig_lo: true,
            proto: ProtoState::Tcp { state, win, last },
            replied,
            assured: focus || (replied && rng.chance(1, 2)),
            last_seen: 0,
            policy_gen: 0,
        };
        let mut flags = if focus {
            [0x04, 0x14][rng.below(2) as usize]
        } else {
            FLAGS[rng.below(FLAGS.len() as u64) as usize]
        };
        if rng.chance(1, 4) {
            flags |= 0x08;
        }
        let (s, r) = if reply { (1, 0) } else { (0, 1) };
        let mut seg_edges = edges.to_vec();
        seg_edges.extend([last.end, last.ack, win[s].end, win[r].maxack]);
        let seg = Tcp {
            sport: 1000,
            dport: 80,
            seq: if focus {
                match rng.below(3) {
                    0 => win[r].maxack,
                    1 => last.end,
                    _ => near(&mut rng, win[r].maxack, 3),
                }
            } else {
                pick(&mut rng, &seg_edges)
            },
            ack: pick(&mut rng, &seg_edges),
            flags,
            window: if rng.chance(1, 5) {
                0
            } else {
                rng.next_u64() as u16
            },
            payload_len: match rng.below(4) {
                0 => rng.below(65_536) as u32,
                1 => rng.below(3) as u32,
                _ => 0,
            },
        };
        cfg.tcp_wscale = rng.below(15) as u8;

        let mut after = before;
        let step = tcp_packet(&mut after, reply, &seg, &cfg);
        if matches!(step, TcpStep::Pass | TcpStep::Moved) {
            after.replied |= reply;
        }

        set_entry(&mut m, &before)?;
        m.set_bool("reply", reply)?;
        m.set_u64("flags", u64::from(seg.flags))?;
        m.set_u64("seq", u64::from(seg.seq))?;
        m.set_u64("ack", u64::from(seg.ack))?;
        m.set_u64("paylen", u64::from(seg.payload_len))?;
        m.set_u64("win", u64::from(seg.window))?;
        m.set_u64("wscale", u64::from(cfg.tcp_wscale))?;
        m.eval()?;

        let wscale = cfg.tcp_wscale;
        // only formatted when an assertion fails
        let ctx = || format!("#{i}: {before:?} reply {reply} {seg:?} wscale {wscale}");
        let outcome = m.get_u64("outcome")?;
        let inv_write = m.get_bool("inv_write")?;
        let want = match step {
            TcpStep::Invalid => 1,
            TcpStep::Reopen => 2,
            TcpStep::Pass => 3,
            TcpStep::Moved => 4,
            TcpStep::Kill => 5,
        };
        assert_eq!(outcome, want, "{}: outcome ({step:?})", ctx());
        match step {
            TcpStep::Reopen => {}
            TcpStep::Invalid if !inv_write => {
                assert_eq!(
                    after,
                    before,
                    "{}: the model changed an entry the RTL keeps",
                    ctx()
                );
            }
            _ => {
                let got = get_entry(&mut m, &after)?;
                assert_eq!(got, after, "{}: the entry after {step:?}", ctx());
            }
        }
        if let (ProtoState::Tcp { state: s0, .. }, ProtoState::Tcp { state: s1, .. }) =
            (before.proto, after.proto)
        {
            if step == TcpStep::Moved
                && s1 == TcpState::SynRecv
                && s0 != TcpState::SynSent
                && s0 != TcpState::SynRecv
                && s0 != TcpState::SynSent2
            {
                resyncs += 1;
            }
            if step == TcpStep::Moved && FlagClass::of(seg.flags) == FlagClass::Rst {
                if s1 != TcpState::Close {
                    kept += 1;
                } else if s0 == TcpState::Established
                    && before.assured
                    && seg.seq == last.end
                    && seg.seq != win[r].maxack
                    && win[r].maxack_set
                {
                    // exact because it ends this direction's last ACK segment
                    exact_by_last_ack += 1;
                }
            }
        }
        let k = match (step, inv_write) {
            (TcpStep::Invalid, false) => 0,
            (TcpStep::Invalid, true) => 1,
            (TcpStep::Reopen, _) => 2,
            (TcpStep::Pass, _) => 3,
            (TcpStep::Moved, _) => 4,
            (TcpStep::Kill, _) => 5,
        };
        seen[k] += 1;
    }
    for (k, n) in seen.iter().enumerate() {
        assert!(*n >= 20, "outcome kind {k} seen only {n} times: {seen:?}");
    }
    assert!(resyncs > 0, "no SYN/ACK resync reached");
    assert!(kept > 0, "no inexact RST kept a connection");
    assert!(
        exact_by_last_ack > 0,
        "no RST made exact by the end of the last ACK"
    );
    Ok(())
}
