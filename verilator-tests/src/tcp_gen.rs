//! Random TCP windows and sequence numbers near the edges the tracking rules compare
//! (`ztnic_model::conntrack::tcp_in_window`), shared by the module tests of
//! `ztnic_tcp_track` and `ztnic_ct_decide`, with the states, flag classes and flag sets
//! they draw from.

use ztnic_model::conntrack::{FlagClass, TcpState, TcpWindow};

use crate::Rng;

/// Every TCP state, in the model's order.
pub const STATES: [TcpState; 10] = [
    TcpState::None,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::Established,
    TcpState::FinWait,
    TcpState::CloseWait,
    TcpState::LastAck,
    TcpState::TimeWait,
    TcpState::Close,
    TcpState::SynSent2,
];

/// Every flag class of the transition table.
pub const CLASSES: [FlagClass; 6] = [
    FlagClass::Syn,
    FlagClass::SynAck,
    FlagClass::Fin,
    FlagClass::Ack,
    FlagClass::Rst,
    FlagClass::None,
];

/// Linux's nine flag sets (FIN SYN RST PSH ACK URG), and a few it refuses.
pub const FLAGS: [u8; 12] = [
    0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30, 0x00, 0x01, 0x16,
];

/// A value within `spread` of `base`, wrapping.
pub fn near(rng: &mut Rng, base: u32, spread: u32) -> u32 {
    let d = rng.below(u64::from(spread) * 2 + 1) as u32;
    base.wrapping_add(d).wrapping_sub(spread)
}

/// One direction's window data around `base` (a sixth of them unset).
pub fn window(rng: &mut Rng, base: u32) -> TcpWindow {
    if rng.chance(1, 6) {
        return TcpWindow::default();
    }
    let end = near(rng, base, 3);
    let maxwin = if rng.chance(1, 4) {
        1 + rng.below(3) as u32
    } else {
        1 + rng.below(200_000) as u32
    };
    TcpWindow {
        end,
        maxend: end.wrapping_add(rng.below(u64::from(maxwin) + 2) as u32),
        maxwin,
        maxack: 0,
        maxack_set: false,
        close_init: rng.chance(1, 5),
    }
}

/// A value the TCP rules compare against (near one of `edges`), or anything.
pub fn pick(rng: &mut Rng, edges: &[u32]) -> u32 {
    let edge = edges[rng.below(edges.len() as u64) as usize];
    match rng.below(10) {
        0 => rng.next_u64() as u32,
        1 => 0,
        2 => near(rng, edge, 70_000),
        _ => near(rng, edge, 2),
    }
}
