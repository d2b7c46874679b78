//! bmv2's packet interface over IPC (`simple_switch_grpc --packet-in ipc://PATH`):
//! a nanomsg PAIR socket, spoken here directly over a Unix socket so no C library
//! is needed.
//!
//! nanomsg's SP protocol over IPC: each side first sends an 8-byte header
//! `00 'S' 'P' 00 | protocol (u16 BE, PAIR = 16) | 00 00`, then every message is
//! `01 | length (u64 BE) | payload`. bmv2's payload is a 12-byte header of three
//! native-endian `int`s — type, port, length (3 = packet to the switch, 4 = packet
//! from the switch) — followed by the frame (bmv2 `dev_mgr_packet_in.cpp`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const SP_HEADER_PAIR: [u8; 8] = [0, b'S', b'P', 0, 0, 16, 0, 0];
const SP_MSG_NORMAL: u8 = 1;
const MSG_TYPE_PACKET_IN: i32 = 3;
const MSG_TYPE_PACKET_OUT: i32 = 4;

/// A frame that left the switch on a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortFrame {
    pub port: u16,
    pub frame: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error("connecting to {path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("bmv2 packet socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("bmv2 packet socket: peer is not a nanomsg PAIR socket")]
    Protocol,
}

/// Our end of bmv2's packet socket.
pub struct PacketSocket {
    stream: UnixStream,
    rx: Receiver<PortFrame>,
}

impl PacketSocket {
    /// Connects to the socket bmv2 bound at `path`, retrying until `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, NnError> {
        let deadline = Instant::now() + timeout;
        let mut stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(NnError::Connect {
                        path: path.display().to_string(),
                        source: e,
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream.write_all(&SP_HEADER_PAIR)?;
        let mut peer = [0u8; 8];
        stream.read_exact(&mut peer)?;
        if peer != SP_HEADER_PAIR {
            return Err(NnError::Protocol);
        }
        let mut reader = stream.try_clone()?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            while let Ok(msg) = read_message(&mut reader) {
                if let Some(f) = decode_packet(&msg)
                    && tx.send(f).is_err()
                {
                    break;
                }
            }
        });
        Ok(PacketSocket { stream, rx })
    }

    /// Sends `frame` into the switch on `port`.
    pub fn send(&mut self, port: u16, frame: &[u8]) -> Result<(), NnError> {
        let mut msg = Vec::with_capacity(12 + frame.len());
        msg.extend_from_slice(&MSG_TYPE_PACKET_IN.to_ne_bytes());
        msg.extend_from_slice(&i32::from(port).to_ne_bytes());
        let len = i32::try_from(frame.len())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too long"))?;
        msg.extend_from_slice(&len.to_ne_bytes());
        msg.extend_from_slice(frame);
        let mut hdr = [0u8; 9];
        hdr[0] = SP_MSG_NORMAL;
        hdr[1..].copy_from_slice(&(msg.len() as u64).to_be_bytes());
        self.stream.write_all(&hdr)?;
        self.stream.write_all(&msg)?;
        Ok(())
    }

    /// The next frame the switch sent out of a port, if one comes within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<PortFrame> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next frame already received, without waiting.
    pub fn try_recv(&self) -> Option<PortFrame> {
        self.rx.try_recv().ok()
    }

    /// Frames already received, without waiting.
    pub fn drain(&self) -> Vec<PortFrame> {
        self.rx.try_iter().collect()
    }
}

fn read_message(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut hdr = [0u8; 9];
    r.read_exact(&mut hdr)?;
    let mut len = [0u8; 8];
    len.copy_from_slice(&hdr[1..]);
    let len = usize::try_from(u64::from_be_bytes(len))
        .map_err(|_| std::io::Error::other("message length"))?;
    let mut msg = vec![0u8; len];
    r.read_exact(&mut msg)?;
    Ok(msg)
}

fn decode_packet(msg: &[u8]) -> Option<PortFrame> {
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_ne_bytes(msg.get(at..at + 4)?.try_into().ok()?))
    };
    if int(0)? != MSG_TYPE_PACKET_OUT {
        return None;
    }
    let port = u16::try_from(int(4)?).ok()?;
    let len = usize::try_from(int(8)?).ok()?;
    let frame = msg.get(12..12 + len)?.to_vec();
    Some(PortFrame { port, frame })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_messages_from_the_switch_decode_to_port_and_frame() {
        let mut msg = Vec::new();
        msg.extend_from_slice(&MSG_TYPE_PACKET_OUT.to_ne_bytes());
        msg.extend_from_slice(&7i32.to_ne_bytes());
        msg.extend_from_slice(&3i32.to_ne_bytes());
        msg.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            decode_packet(&msg),
            Some(PortFrame {
                port: 7,
                frame: vec![1, 2, 3]
            })
        );
        // Other message types and short messages are not packets.
        msg[0] = 0;
        assert_eq!(decode_packet(&msg), None);
        assert_eq!(decode_packet(&msg[..5]), None);
    }

    #[test]
    fn sp_messages_are_length_prefixed() {
        let mut wire = vec![SP_MSG_NORMAL];
        wire.extend_from_slice(&4u64.to_be_bytes());
        wire.extend_from_slice(b"abcd");
        let got = read_message(&mut wire.as_slice()).expect("one message");
        assert_eq!(got, b"abcd");
    }
}
