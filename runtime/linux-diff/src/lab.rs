//! The kernel side: three network namespaces joined by veth pairs,
//! client ⇄ firewall ⇄ server, the firewall forwarding through nf_conntrack with
//! `ct state invalid drop`; packets are injected and observed with AF_PACKET sockets on
//! the client's and the server's ends.

use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ztnic_model::Timeouts;

use crate::packet::{Pkt, signature};

/// Client-side MAC, the firewall's two MACs, server-side MAC.
pub const MAC_C: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x01];
pub const MAC_F0: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x02];
pub const MAC_F1: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x03];
pub const MAC_S: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x04];

/// Hosts behind the client link and behind the server link (static neighbours on the
/// firewall; nothing answers in those namespaces).
pub const CLIENT_HOSTS: [&str; 4] = ["10.77.1.2", "10.77.1.3", "fd77:1::2", "fd77:1::3"];
pub const SERVER_HOSTS: [&str; 4] = ["10.77.2.2", "10.77.2.3", "fd77:2::2", "fd77:2::3"];

/// Why the lab could not be built.
#[derive(Debug)]
pub enum LabError {
    /// Namespaces, nft or conntrack are not available here: the test is skipped.
    Unavailable(String),
    /// Something that should have worked failed.
    Failed(String),
}

impl std::fmt::Display for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabError::Unavailable(s) => write!(f, "unavailable: {s}"),
            LabError::Failed(s) => write!(f, "failed: {s}"),
        }
    }
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs a command; its failure is an error with its stderr.
fn run(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| format!("{}: writing stdin: {e}", args.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An AF_PACKET socket bound to one interface.
struct RawSock {
    fd: OwnedFd,
}

impl RawSock {
    /// Opens the socket inside namespace `ns` (the calling thread enters it and returns).
    fn open(ns: &str, ifname: &str) -> io::Result<RawSock> {
        let home = File::open("/proc/thread-self/ns/net")?;
        let target = File::open(format!("/run/netns/{ns}"))?;
        // SAFETY: setns on descriptors we own; only this thread changes namespace.
        if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let made = Self::open_here(ifname);
        // SAFETY: as above, back to the namespace we came from.
        if unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            panic!(
                "cannot return to the original network namespace: {}",
                io::Error::last_os_error()
            );
        }
        made
    }

    fn open_here(ifname: &str) -> io::Result<RawSock> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the descriptor is owned right away.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let name = std::ffi::CString::new(ifname)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = proto;
        sa.sll_ifindex = index as i32;
        // SAFETY: a valid sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawSock { fd })
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != frame.len() {
            return Err(io::Error::other("short send"));
        }
        Ok(())
    }

    /// One received (not outgoing) frame, waiting at most until `deadline`.
    fn recv(&self, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if rc == 0 {
                return Ok(None);
            }
            let mut buf = vec![0u8; 65536];
            // SAFETY: zeroed sockaddr_ll is valid; sizes are passed.
            let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut salen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: buffer and address valid for the sizes given.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut sa as *mut libc::sockaddr_ll).cast(),
                    &mut salen,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) {
                    continue;
                }
                return Err(e);
            }
            if sa.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
    }

    /// Discards whatever is queued.
    fn drain(&self) -> io::Result<()> {
        while self.recv(Instant::now())?.is_some() {}
        Ok(())
    }
}

static LABS: AtomicU32 = AtomicU32::new(0);

/// The three namespaces; deleted on drop (also when a test panics).
pub struct Lab {
    pub client: String,
    pub fw: String,
    pub server: String,
    created: Vec<String>,
    client_sock: Option<RawSock>,
    server_sock: Option<RawSock>,
    /// How long a packet may take before it counts as dropped.
    pub wait: Duration,
}

impl Lab {
    /// Builds the namespaces, links, addresses, neighbours and the nft ruleset.
    pub fn new() -> Result<Lab, LabError> {
        for tool in [
            ["ip", "-V"],
            ["nft", "--version"],
            ["conntrack", "--version"],
        ] {
            if let Err(e) = run(&tool, None) {
                return Err(LabError::Unavailable(format!(
                    "{} is not usable: {e}",
                    tool[0]
                )));
            }
        }
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let base = format!("ztd{}x{n}", std::process::id());
        let mut lab = Lab {
            client: format!("{base}c"),
            fw: format!("{base}f"),
            server: format!("{base}s"),
            created: Vec::new(),
            client_sock: None,
            server_sock: None,
            wait: Duration::from_millis(150),
        };
        for ns in [lab.client.clone(), lab.fw.clone(), lab.server.clone()] {
            if let Err(e) = run(&["ip", "netns", "add", &ns], None) {
                return Err(LabError::Unavailable(format!(
                    "cannot create a network namespace: {e}"
                )));
            }
            lab.created.push(ns);
        }
        lab.build().map_err(LabError::Failed)?;
        Ok(lab)
    }

    fn build(&mut self) -> Result<(), String> {
        let (c, f, s) = (self.client.clone(), self.fw.clone(), self.server.clone());
        let m = |x| mac_text(x);
        run(
            &[
                "ip",
                "link",
                "add",
                "c0",
                "address",
                &m(MAC_C),
                "netns",
                &c,
                "type",
                "veth",
                "peer",
                "name",
                "f0",
                "address",
                &m(MAC_F0),
                "netns",
                &f,
            ],
            None,
        )?;
        run(
            &[
                "ip",
                "link",
                "add",
                "s0",
                "address",
                &m(MAC_S),
                "netns",
                &s,
                "type",
                "veth",
                "peer",
                "name",
                "f1",
                "address",
                &m(MAC_F1),
                "netns",
                &f,
            ],
            None,
        )?;
        // The end namespaces have no addresses and no IPv6: their stacks stay silent.
        for (ns, dev) in [(&c, "c0"), (&s, "s0")] {
            self.sysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1")?;
            self.sysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1")?;
            run(&["ip", "-n", ns, "link", "set", dev, "up"], None)?;
        }
        for (k, v) in [
            ("net/ipv4/ip_forward", "1"),
            ("net/ipv6/conf/all/forwarding", "1"),
            ("net/ipv4/conf/all/rp_filter", "0"),
            ("net/ipv4/conf/default/rp_filter", "0"),
            ("net/ipv4/conf/all/send_redirects", "0"),
            ("net/ipv4/conf/default/send_redirects", "0"),
            ("net/ipv6/conf/default/accept_dad", "0"),
        ] {
            self.sysctl(&f, k, v)?;
        }
        for (dev, a4, a6) in [
            ("f0", "10.77.1.1/24", "fd77:1::1/64"),
            ("f1", "10.77.2.1/24", "fd77:2::1/64"),
        ] {
            run(&["ip", "-n", &f, "addr", "add", a4, "dev", dev], None)?;
            run(
                &["ip", "-n", &f, "addr", "add", a6, "dev", dev, "nodad"],
                None,
            )?;
            run(&["ip", "-n", &f, "link", "set", dev, "up"], None)?;
        }
        for (hosts, dev, mac) in [(CLIENT_HOSTS, "f0", MAC_C), (SERVER_HOSTS, "f1", MAC_S)] {
            for h in hosts {
                run(
                    &[
                        "ip",
                        "-n",
                        &f,
                        "neigh",
                        "replace",
                        h,
                        "lladdr",
                        &m(mac),
                        "dev",
                        dev,
                        "nud",
                        "permanent",
                    ],
                    None,
                )?;
            }
        }
        let rules = "table inet ztnic_diff {\n  chain forward_filter {\n    type filter hook forward priority filter; policy accept;\n    ct state invalid counter drop\n  }\n}\n";
        run(&["ip", "netns", "exec", &f, "nft", "-f", "-"], Some(rules))?;
        for (k, v) in [
            ("net/netfilter/nf_conntrack_tcp_loose", "0"),
            ("net/netfilter/nf_conntrack_tcp_be_liberal", "0"),
            ("net/netfilter/nf_conntrack_tcp_ignore_invalid_rst", "0"),
            ("net/netfilter/nf_conntrack_checksum", "1"),
        ] {
            self.sysctl(&f, k, v)?;
        }
        self.client_sock =
            Some(RawSock::open(&c, "c0").map_err(|e| format!("AF_PACKET on c0: {e}"))?);
        self.server_sock =
            Some(RawSock::open(&s, "s0").map_err(|e| format!("AF_PACKET on s0: {e}"))?);
        Ok(())
    }

    fn sysctl(&self, ns: &str, key: &str, value: &str) -> Result<(), String> {
        let dotted = key.replace('/', ".");
        run(
            &[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                &format!("{dotted}={value}"),
            ],
            None,
        )
        .map(|_| ())
    }

    /// Sets the firewall's conntrack timeouts (seconds) and empties its table.
    pub fn reset(&self, t: &Timeouts) -> Result<(), String> {
        let pairs = [
            ("tcp_timeout_syn_sent", t.tcp_syn_sent),
            ("tcp_timeout_syn_recv", t.tcp_syn_recv),
            ("tcp_timeout_established", t.tcp_established),
            ("tcp_timeout_fin_wait", t.tcp_fin_wait),
            ("tcp_timeout_close_wait", t.tcp_close_wait),
            ("tcp_timeout_last_ack", t.tcp_last_ack),
            ("tcp_timeout_time_wait", t.tcp_time_wait),
            ("tcp_timeout_close", t.tcp_close),
            ("udp_timeout", t.udp_unreplied),
            ("udp_timeout_stream", t.udp_replied),
            ("icmp_timeout", t.icmp),
            ("icmpv6_timeout", t.icmp),
            ("generic_timeout", t.generic),
        ];
        let mut script = String::new();
        for (k, v) in pairs {
            script.push_str(&format!(
                "echo {v} > /proc/sys/net/netfilter/nf_conntrack_{k} || exit 1\n"
            ));
        }
        script.push_str(
            "conntrack -F >/dev/null 2>&1; conntrack -f ipv6 -F >/dev/null 2>&1; exit 0\n",
        );
        run(
            &["ip", "netns", "exec", &self.fw, "sh", "-s"],
            Some(&script),
        )
        .map(|_| ())
    }

    /// Injects `p` on its side and reports whether it came out on the other side
    /// within [`Lab::wait`].
    pub fn forwarded(&self, p: &Pkt) -> Result<bool, String> {
        let (tx, rx, src_mac, dst_mac) = match (&self.client_sock, &self.server_sock) {
            (Some(c), Some(s)) if p.from_server => (s, c, MAC_S, MAC_F1),
            (Some(c), Some(s)) => (c, s, MAC_C, MAC_F0),
            _ => return Err("the lab's sockets are not open".into()),
        };
        let frame = p.frame(src_mac, dst_mac);
        let want = signature(&frame).ok_or("a sequence packet has no signature")?;
        rx.drain().map_err(|e| e.to_string())?;
        tx.send(&frame).map_err(|e| format!("inject: {e}"))?;
        let deadline = Instant::now() + self.wait;
        while let Some(got) = rx.recv(deadline).map_err(|e| e.to_string())? {
            if signature(&got).as_ref() == Some(&want) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The firewall's conntrack entries, one canonical line each, sorted.
    pub fn states(&self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let text = run(
                &[
                    "ip",
                    "netns",
                    "exec",
                    &self.fw,
                    "conntrack",
                    "-L",
                    "-f",
                    fam,
                    "-o",
                    "extended",
                ],
                None,
            )?;
            out.extend(text.lines().filter_map(parse_conntrack_line));
        }
        out.sort();
        Ok(out)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.client_sock = None;
        self.server_sock = None;
        for ns in self.created.drain(..) {
            if let Err(e) = run(&["ip", "netns", "del", &ns], None) {
                eprintln!("warning: could not delete network namespace {ns}: {e}");
            }
        }
    }
}

/// One entry in the canonical form both sides are printed in:
/// `tcp 10.77.1.2:40000>10.77.2.2:80 ESTABLISHED`, `udp …:…>…:… REPLIED`,
/// `icmp 10.77.1.2>10.77.2.2 type 8 id 7 UNREPLIED` (`ports` is (type, id) for ICMP).
pub fn canonical(proto: &str, src: IpAddr, dst: IpAddr, ports: (u16, u16), state: &str) -> String {
    match proto {
        "tcp" | "udp" => format!("{proto} {src}:{}>{dst}:{} {state}", ports.0, ports.1),
        "icmp" | "icmpv6" => format!("icmp {src}>{dst} type {} id {} {state}", ports.0, ports.1),
        _ => format!("{proto} {src}>{dst} {state}"),
    }
}

/// Parses one line of `conntrack -L -o extended`.
fn parse_conntrack_line(line: &str) -> Option<String> {
    let tok: Vec<&str> = line.split_whitespace().collect();
    let proto = *tok.get(2)?;
    let field = |name: &str| {
        tok.iter()
            .find_map(|t| t.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let src: IpAddr = field("src")?.parse().ok()?;
    let dst: IpAddr = field("dst")?.parse().ok()?;
    let ours = |a: &IpAddr| {
        CLIENT_HOSTS
            .iter()
            .chain(SERVER_HOSTS.iter())
            .any(|h| h.parse::<IpAddr>().ok().as_ref() == Some(a))
    };
    if !ours(&src) || !ours(&dst) {
        return None;
    }
    let unreplied = tok.contains(&"[UNREPLIED]");
    let port = |n: &str| field(n).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
    let (ports, state) = match proto {
        "tcp" => ((port("sport"), port("dport")), (*tok.get(5)?).to_string()),
        "udp" => (
            (port("sport"), port("dport")),
            if unreplied { "UNREPLIED" } else { "REPLIED" }.to_string(),
        ),
        "icmp" | "icmpv6" => (
            (port("type"), port("id")),
            if unreplied { "UNREPLIED" } else { "REPLIED" }.to_string(),
        ),
        _ => ((0, 0), String::new()),
    };
    Some(canonical(proto, src, dst, ports, &state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conntrack_lines_are_canonicalised() {
        let tcp = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.77.1.2 dst=10.77.2.2 sport=40000 dport=80 src=10.77.2.2 dst=10.77.1.2 sport=80 dport=40000 [ASSURED] mark=0 use=1";
        assert_eq!(
            parse_conntrack_line(tcp).as_deref(),
            Some("tcp 10.77.1.2:40000>10.77.2.2:80 ESTABLISHED")
        );
        let icmp = "ipv6     10 icmpv6   58 29 src=fd77:1::2 dst=fd77:2::2 type=128 code=0 id=7 [UNREPLIED] src=fd77:2::2 dst=fd77:1::2 type=129 code=0 id=7 mark=0 use=1";
        assert_eq!(
            parse_conntrack_line(icmp).as_deref(),
            Some("icmp fd77:1::2>fd77:2::2 type 128 id 7 UNREPLIED")
        );
        let other = "ipv4     2 udp      17 28 src=192.0.2.1 dst=10.77.2.2 sport=1 dport=2 [UNREPLIED] src=10.77.2.2 dst=192.0.2.1 sport=2 dport=1 mark=0 use=1";
        assert_eq!(parse_conntrack_line(other), None);
    }
}
