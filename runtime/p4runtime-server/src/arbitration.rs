//! Client arbitration (spec §5): per role, the live controller with the
//! highest election id ever seen is primary; the rest are backups. Plain
//! synchronous state so the rules can be tested without a runtime.

use std::collections::HashMap;

use tonic::Code;
use ztnic_p4runtime::ElectionId;
use ztnic_p4runtime::status::rpc_status;
use ztnic_p4runtime::v1::{MasterArbitrationUpdate, Role};

/// Identifies one StreamChannel.
pub(crate) type StreamId = u64;

#[derive(Debug, Default)]
struct RoleState {
    /// Live controllers and their election ids (`None`: unset, never primary).
    controllers: HashMap<StreamId, Option<ElectionId>>,
    primary: Option<StreamId>,
    /// Highest election id ever seen for the role.
    highest: Option<ElectionId>,
    /// Role config last sent by a primary.
    config: Option<prost_types::Any>,
}

/// Arbitration state of one device.
#[derive(Debug)]
pub(crate) struct Arbiter {
    device_id: u64,
    roles: HashMap<String, RoleState>,
    /// Which role each live stream belongs to.
    stream_roles: HashMap<StreamId, String>,
}

/// Notifications to deliver: (stream, message).
pub(crate) type Notices = Vec<(StreamId, MasterArbitrationUpdate)>;

impl Arbiter {
    pub(crate) fn new(device_id: u64) -> Self {
        Arbiter {
            device_id,
            roles: HashMap::new(),
            stream_roles: HashMap::new(),
        }
    }

    fn notice(
        device_id: u64,
        role: &str,
        state: &RoleState,
        to: StreamId,
    ) -> MasterArbitrationUpdate {
        let status = match state.primary {
            Some(p) if p == to => rpc_status(Code::Ok, "primary"),
            Some(_) => rpc_status(Code::AlreadyExists, "backup: another controller is primary"),
            None => rpc_status(Code::NotFound, "backup: no primary"),
        };
        let role = (!role.is_empty() || state.config.is_some()).then(|| Role {
            name: role.to_string(),
            config: state.config.clone(),
            ..Default::default()
        });
        MasterArbitrationUpdate {
            device_id,
            role,
            election_id: state.highest.map(ElectionId::to_proto),
            status: Some(status),
        }
    }

    fn notify_all(&self, role: &str) -> Notices {
        let Some(state) = self.roles.get(role) else {
            return Vec::new();
        };
        let mut ids: Vec<StreamId> = state.controllers.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|s| (s, Self::notice(self.device_id, role, state, s)))
            .collect()
    }

    /// Handles a MasterArbitrationUpdate received on `stream`. On error the
    /// stream must be closed with the returned code.
    pub(crate) fn update(
        &mut self,
        stream: StreamId,
        msg: &MasterArbitrationUpdate,
    ) -> Result<Notices, (Code, String)> {
        if msg.device_id != self.device_id {
            let code = if self.stream_roles.contains_key(&stream) {
                Code::FailedPrecondition
            } else {
                Code::NotFound
            };
            return Err((code, format!("unknown device id {}", msg.device_id)));
        }
        let role = msg
            .role
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let config = msg.role.as_ref().and_then(|r| r.config.clone());
        if let Some(current) = self.stream_roles.get(&stream) {
            if *current != role {
                return Err((
                    Code::FailedPrecondition,
                    format!(
                        "stream is bound to role '{current}'; open a new stream to change role"
                    ),
                ));
            }
        }
        let election = msg.election_id.as_ref().map(ElectionId::from_proto);
        let state = self.roles.entry(role.clone()).or_default();
        if let Some(e) = election {
            let taken = state
                .controllers
                .iter()
                .any(|(s, id)| *s != stream && *id == Some(e));
            if taken {
                return Err((
                    Code::InvalidArgument,
                    format!(
                        "election id {e} is already used by another controller of role '{role}'"
                    ),
                ));
            }
        }
        self.stream_roles.insert(stream, role.clone());
        state.controllers.insert(stream, election);
        let was_primary = state.primary == Some(stream);
        let wins = match (election, state.highest) {
            (Some(e), Some(h)) => e >= h,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if wins {
            state.primary = Some(stream);
            state.highest = election;
            state.config = config;
            Ok(self.notify_all(&role))
        } else if was_primary {
            state.primary = None;
            Ok(self.notify_all(&role))
        } else {
            let notice = Self::notice(self.device_id, &role, state, stream);
            Ok(vec![(stream, notice)])
        }
    }

    /// Forgets a closed stream; if it was primary, tells the others.
    pub(crate) fn remove(&mut self, stream: StreamId) -> Notices {
        let Some(role) = self.stream_roles.remove(&stream) else {
            return Vec::new();
        };
        let Some(state) = self.roles.get_mut(&role) else {
            return Vec::new();
        };
        state.controllers.remove(&stream);
        if state.primary == Some(stream) {
            state.primary = None;
            return self.notify_all(&role);
        }
        Vec::new()
    }

    /// True when `election_id` identifies the primary of `role`.
    pub(crate) fn is_primary(&self, role: &str, election_id: Option<ElectionId>) -> bool {
        let Some(state) = self.roles.get(role) else {
            return false;
        };
        match (state.primary, election_id) {
            (Some(p), Some(e)) => state.controllers.get(&p) == Some(&Some(e)),
            _ => false,
        }
    }

    /// True when `stream` is the primary of its role.
    pub(crate) fn stream_is_primary(&self, stream: StreamId) -> bool {
        self.stream_roles
            .get(&stream)
            .and_then(|r| self.roles.get(r))
            .is_some_and(|s| s.primary == Some(stream))
    }

    /// True when `stream` has completed arbitration.
    pub(crate) fn is_arbitrated(&self, stream: StreamId) -> bool {
        self.stream_roles.contains_key(&stream)
    }

    /// The primary stream of every role (notifications go to them).
    pub(crate) fn primaries(&self) -> Vec<StreamId> {
        self.roles.values().filter_map(|s| s.primary).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arb(election: Option<u128>, role: &str) -> MasterArbitrationUpdate {
        MasterArbitrationUpdate {
            device_id: 1,
            role: (!role.is_empty()).then(|| Role {
                name: role.into(),
                ..Default::default()
            }),
            election_id: election.map(|e| ElectionId(e).to_proto()),
            status: None,
        }
    }

    fn code_for(notices: &Notices, stream: StreamId) -> Option<i32> {
        notices
            .iter()
            .rev()
            .find(|(s, _)| *s == stream)
            .and_then(|(_, m)| m.status.as_ref().map(|s| s.code))
    }

    #[test]
    fn highest_election_id_becomes_primary_and_everyone_is_told() {
        let mut a = Arbiter::new(1);
        let n = a.update(1, &arb(Some(5), "")).unwrap();
        assert_eq!(code_for(&n, 1), Some(Code::Ok as i32));
        let n = a.update(2, &arb(Some(3), "")).unwrap();
        assert_eq!(n.len(), 1, "a new backup is only told itself");
        assert_eq!(code_for(&n, 2), Some(Code::AlreadyExists as i32));
        let n = a.update(3, &arb(Some(9), "")).unwrap();
        assert_eq!(code_for(&n, 3), Some(Code::Ok as i32));
        assert_eq!(code_for(&n, 1), Some(Code::AlreadyExists as i32));
        assert!(a.is_primary("", Some(ElectionId(9))));
        assert!(!a.is_primary("", Some(ElectionId(5))));
    }

    #[test]
    fn primary_leaving_leaves_backups_without_primary() {
        let mut a = Arbiter::new(1);
        a.update(1, &arb(Some(5), "")).unwrap();
        a.update(2, &arb(Some(3), "")).unwrap();
        let n = a.remove(1);
        assert_eq!(code_for(&n, 2), Some(Code::NotFound as i32));
        assert!(!a.is_primary("", Some(ElectionId(3))));
        // Lower than the highest ever seen: still a backup.
        let n = a.update(2, &arb(Some(4), "")).unwrap();
        assert_eq!(code_for(&n, 2), Some(Code::NotFound as i32));
        // The old primary coming back with its id regains the role.
        let n = a.update(4, &arb(Some(5), "")).unwrap();
        assert_eq!(code_for(&n, 4), Some(Code::Ok as i32));
    }

    #[test]
    fn duplicate_election_id_wrong_device_and_role_change_are_refused() {
        let mut a = Arbiter::new(1);
        a.update(1, &arb(Some(5), "")).unwrap();
        assert_eq!(
            a.update(2, &arb(Some(5), "")).unwrap_err().0,
            Code::InvalidArgument
        );
        let mut wrong = arb(Some(6), "");
        wrong.device_id = 7;
        assert_eq!(a.update(3, &wrong).unwrap_err().0, Code::NotFound);
        assert_eq!(
            a.update(1, &arb(Some(5), "other")).unwrap_err().0,
            Code::FailedPrecondition
        );
    }

    #[test]
    fn roles_elect_independently_and_unset_ids_never_win() {
        let mut a = Arbiter::new(1);
        a.update(1, &arb(None, "")).unwrap();
        assert!(!a.stream_is_primary(1));
        a.update(2, &arb(Some(1), "a")).unwrap();
        a.update(3, &arb(Some(1), "b")).unwrap();
        assert!(a.is_primary("a", Some(ElectionId(1))));
        assert!(a.is_primary("b", Some(ElectionId(1))));
        assert_eq!(a.primaries().len(), 2);
    }

    #[test]
    fn primary_downgrading_itself_notifies_all() {
        let mut a = Arbiter::new(1);
        a.update(1, &arb(Some(5), "")).unwrap();
        a.update(2, &arb(Some(3), "")).unwrap();
        let n = a.update(1, &arb(Some(2), "")).unwrap();
        assert_eq!(n.len(), 2);
        assert!(!a.stream_is_primary(1));
    }
}
