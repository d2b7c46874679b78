//! Digest buffering (spec §9.9): messages from the data plane are collected
//! per digest into lists of distinct messages, sent when `max_list_size` is
//! reached or `max_timeout_ns` has passed, and remembered until acknowledged
//! or `ack_timeout_ns` old so the same data is not sent twice meanwhile.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use ztnic_p4runtime::v1::{DigestList, P4Data, digest_entry::Config};

#[derive(Debug, Default)]
struct Buffer {
    items: Vec<P4Data>,
    keys: HashSet<Vec<u8>>,
    opened: Option<Instant>,
}

#[derive(Debug)]
struct Sent {
    digest_id: u32,
    keys: Vec<Vec<u8>>,
    at: Instant,
}

/// Digest configuration and in-flight state of one device.
#[derive(Debug, Default)]
pub(crate) struct Digests {
    configs: HashMap<u32, Config>,
    buffers: HashMap<u32, Buffer>,
    /// Data sent but not yet acknowledged, by (digest, encoded data).
    cache: HashSet<(u32, Vec<u8>)>,
    sent: HashMap<(u32, u64), Sent>,
    next_list_id: u64,
}

fn nanos(v: i64) -> Duration {
    Duration::from_nanos(v.max(0).unsigned_abs())
}

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Digests {
    /// Drops all configuration and state (new pipeline).
    pub(crate) fn reset(&mut self) {
        *self = Digests {
            next_list_id: self.next_list_id,
            ..Default::default()
        };
    }

    pub(crate) fn config(&self, digest_id: u32) -> Option<Config> {
        self.configs.get(&digest_id).copied()
    }

    pub(crate) fn configs(&self) -> impl Iterator<Item = (u32, Config)> + '_ {
        self.configs.iter().map(|(k, v)| (*k, *v))
    }

    /// Sets (or with `None` removes) a digest's configuration and returns
    /// the previous one. Removing it discards buffered messages.
    pub(crate) fn configure(&mut self, digest_id: u32, config: Option<Config>) -> Option<Config> {
        match config {
            Some(c) => self.configs.insert(digest_id, c),
            None => {
                self.buffers.remove(&digest_id);
                self.configs.remove(&digest_id)
            }
        }
    }

    /// Takes one message from the data plane; returns a list to send now if
    /// this message filled the buffer (or buffering is off).
    pub(crate) fn offer(
        &mut self,
        digest_id: u32,
        data: P4Data,
        now: Instant,
    ) -> Option<DigestList> {
        let config = self.configs.get(&digest_id).copied()?;
        let key = data.encode_to_vec();
        if self.cache.contains(&(digest_id, key.clone())) {
            return None;
        }
        let buffer = self.buffers.entry(digest_id).or_default();
        if !buffer.keys.insert(key) {
            return None;
        }
        buffer.items.push(data);
        buffer.opened.get_or_insert(now);
        let full = config.max_list_size > 0 && buffer.items.len() >= config.max_list_size as usize;
        if full || config.max_timeout_ns == 0 {
            return self.flush(digest_id, now);
        }
        None
    }

    /// Lists whose `max_timeout_ns` has passed; also forgets sent lists older
    /// than their `ack_timeout_ns`.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<DigestList> {
        let expired: Vec<(u32, u64)> = self
            .sent
            .iter()
            .filter(|((id, _), s)| {
                let ttl = self
                    .configs
                    .get(id)
                    .map_or(Duration::ZERO, |c| nanos(c.ack_timeout_ns));
                now.saturating_duration_since(s.at) >= ttl
            })
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.forget(k);
        }
        let ready: Vec<u32> = self
            .buffers
            .iter()
            .filter(|(id, b)| {
                let timeout = self
                    .configs
                    .get(id)
                    .map_or(Duration::ZERO, |c| nanos(c.max_timeout_ns));
                b.opened
                    .is_some_and(|t| now.saturating_duration_since(t) >= timeout)
            })
            .map(|(id, _)| *id)
            .collect();
        ready
            .into_iter()
            .filter_map(|id| self.flush(id, now))
            .collect()
    }

    /// When [`Digests::due`] next has work: the earliest buffered list's
    /// `max_timeout_ns` or sent list's `ack_timeout_ns`, if any.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let timeout = |id: &u32, f: fn(&Config) -> i64| {
            self.configs.get(id).map_or(Duration::ZERO, |c| nanos(f(c)))
        };
        let buffered = self.buffers.iter().filter_map(|(id, b)| {
            b.opened
                .map(|t| t + timeout(id, |c: &Config| c.max_timeout_ns))
        });
        let sent = self
            .sent
            .iter()
            .map(|((id, _), s)| s.at + timeout(id, |c: &Config| c.ack_timeout_ns));
        buffered.chain(sent).min()
    }

    fn flush(&mut self, digest_id: u32, now: Instant) -> Option<DigestList> {
        let buffer = self.buffers.remove(&digest_id)?;
        if buffer.items.is_empty() {
            return None;
        }
        self.next_list_id += 1;
        let list_id = self.next_list_id;
        let ack_timeout = self.configs.get(&digest_id).map_or(0, |c| c.ack_timeout_ns);
        if ack_timeout > 0 {
            let keys: Vec<Vec<u8>> = buffer.keys.into_iter().collect();
            for k in &keys {
                self.cache.insert((digest_id, k.clone()));
            }
            self.sent.insert(
                (digest_id, list_id),
                Sent {
                    digest_id,
                    keys,
                    at: now,
                },
            );
        }
        Some(DigestList {
            digest_id,
            list_id,
            data: buffer.items,
            timestamp: unix_nanos(),
        })
    }

    fn forget(&mut self, key: (u32, u64)) -> bool {
        let Some(sent) = self.sent.remove(&key) else {
            return false;
        };
        for k in sent.keys {
            self.cache.remove(&(sent.digest_id, k));
        }
        true
    }

    /// Handles a DigestListAck; returns false if no such list is pending.
    pub(crate) fn ack(&mut self, digest_id: u32, list_id: u64) -> bool {
        self.forget((digest_id, list_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztnic_p4runtime::v1::p4_data;

    fn data(v: u8) -> P4Data {
        P4Data {
            data: Some(p4_data::Data::Bitstring(vec![v])),
        }
    }

    fn cfg(timeout: i64, size: i32, ack: i64) -> Config {
        Config {
            max_timeout_ns: timeout,
            max_list_size: size,
            ack_timeout_ns: ack,
        }
    }

    #[test]
    fn unconfigured_digests_are_dropped() {
        let mut d = Digests::default();
        assert!(d.offer(1, data(1), Instant::now()).is_none());
        assert!(d.due(Instant::now() + Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn list_is_sent_when_full_with_distinct_messages_only() {
        let mut d = Digests::default();
        d.configure(1, Some(cfg(1_000_000_000, 2, 0)));
        let now = Instant::now();
        assert!(d.offer(1, data(1), now).is_none());
        assert!(d.offer(1, data(1), now).is_none(), "duplicate in buffer");
        let list = d.offer(1, data(2), now).unwrap();
        assert_eq!(list.data, vec![data(1), data(2)]);
    }

    #[test]
    fn list_is_sent_after_max_timeout() {
        let mut d = Digests::default();
        d.configure(1, Some(cfg(1_000_000, 100, 0)));
        let now = Instant::now();
        d.offer(1, data(1), now);
        assert!(d.due(now).is_empty());
        let lists = d.due(now + Duration::from_millis(2));
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].data.len(), 1);
    }

    #[test]
    fn unacked_data_is_not_resent_until_ack_or_ack_timeout() {
        let mut d = Digests::default();
        d.configure(1, Some(cfg(0, 1, 1_000_000_000)));
        let now = Instant::now();
        let list = d.offer(1, data(7), now).unwrap();
        assert!(d.offer(1, data(7), now).is_none(), "cached until acked");
        assert!(d.ack(1, list.list_id));
        assert!(!d.ack(1, list.list_id), "second ack finds nothing");
        let again = d.offer(1, data(7), now).unwrap();
        assert!(d.offer(1, data(7), now).is_none());
        d.due(now + Duration::from_secs(2));
        assert!(
            d.offer(1, data(7), now + Duration::from_secs(2)).is_some(),
            "cache expired"
        );
        assert_ne!(again.list_id, list.list_id);
    }
}
