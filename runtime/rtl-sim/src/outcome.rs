//! A verdict record and its frame as the reference model's [`Outcome`], so the
//! Verilated NIC is compared with the model (and reported) in the model's terms.

use ztnic_model::{CtState, DropReason, Outcome, PuntReason, Verdict};

use crate::{Frame, SimError, Status, regmap};

/// The outcome of one packet: its verdict record `st` and the frame it left
/// (none for a drop). A punt's frame must leave on `cpu_port` with the 4-byte
/// `packet_in` header (whose reason must equal the record's); the outcome carries
/// the frame without it.
pub fn outcome(st: &Status, frame: Option<Frame>, cpu_port: u16) -> Result<Outcome, SimError> {
    let bad = |m: String| SimError::Mismatch(m);
    let ct_state = st.ct_state.map(|b| CtState {
        new: b & 1 != 0,
        est: b & 2 != 0,
        rel: b & 4 != 0,
        rpl: b & 8 != 0,
        inv: b & 16 != 0,
        trk: b & 32 != 0,
    });
    let verdict = match u32::from(st.verdict) {
        regmap::verdict_enum::DROP => Verdict::Drop(
            DropReason::from_code(st.reason)
                .ok_or_else(|| bad(format!("unknown drop code {}", st.reason)))?,
        ),
        regmap::verdict_enum::PUNT => {
            let f = frame.ok_or_else(|| bad("a punt left no frame".into()))?;
            if f.port != cpu_port || f.data.len() < 4 {
                return Err(bad(format!(
                    "punt on port {} of {} bytes",
                    f.port,
                    f.data.len()
                )));
            }
            if f.data[2] != st.reason {
                return Err(bad("packet_in reason differs from the verdict".into()));
            }
            Verdict::Punt {
                reason: PuntReason::from_code(st.reason)
                    .ok_or_else(|| bad(format!("unknown punt code {}", st.reason)))?,
                frame: f.data[4..].to_vec(),
            }
        }
        _ => {
            let f = frame.ok_or_else(|| bad("a forward left no frame".into()))?;
            if f.port != st.port {
                return Err(bad(format!(
                    "frame on port {} for a verdict to port {}",
                    f.port, st.port
                )));
            }
            Verdict::Forward {
                port: f.port,
                frame: f.data,
            }
        }
    };
    Ok(Outcome {
        verdict,
        ct_state,
        rule: st.rule,
    })
}
