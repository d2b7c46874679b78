// Stage 4, conntrack (design.md section 5, datapath.md section 5), in two halves
// around the policy stage: `conntrack` (CtLookup) reads the hash table, runs the
// TCP state machine and window check and says whether the policy must decide;
// `ct_commit` (CtCommit) writes the entry back, inserts or deletes, and turns the
// outcome into a verdict.
//
// The table lives in three register arrays shared by both halves. Way w, bucket b
// is register index w * CT_BUCKETS_MAX + b; ways 0 and 1 use bucket
// h32 & ct_mask, ways 2 and 3 bucket h16 & ct_mask, where h32 = CRC-32 and
// h16 = CRC-16/ARC of the 39 key bytes (bmv2's crc32 and crc16). Layouts, also
// used by the RTL (docs/p4.md):
//   ct_key  bit<312>: zone 16 | proto 8 | addr_lo 128 | addr_hi 128 | port_lo 16 | port_hi 16
//   ct_info bit<128>: [127:64] last_seen us | [63:48] policy_gen | [47:40] TCP state |
//                     [39:32] kind (0 empty, CT_KIND_*) | [26] assured | [25] replied |
//                     [24] orig_lo | [23:0] zero
//   ct_win  bit<192>: originator end | maxend | maxwin | responder end | maxend | maxwin
//   ct_tcp  bit<160>: the TCP tracker's other state (Linux ip_ct_tcp): [159:128]
//                     originator maxack | [127:96] responder maxack | [95:64] last ack |
//                     [63:32] last end | [31:16] last window | [15:8] last flag class
//                     (CT_FC_*) | [7] last in reply direction | [6] originator maxack
//                     set | [5] responder maxack set | [4] originator close_init |
//                     [3] responder close_init | [2:0] zero. All zero for a new entry
//                     (last class SYN: the SYN that opened it).
#ifndef ZTNIC_CONNTRACK_P4
#define ZTNIC_CONNTRACK_P4

#include "headers.p4"
#include "config.p4"

const bit<8> CT_KIND_EMPTY = 0;
const bit<8> CT_KIND_TCP   = 1;
const bit<8> CT_KIND_UDP   = 2;
const bit<8> CT_KIND_ICMP  = 3;
const bit<8> CT_KIND_OTHER = 4;

// ct_meta_t.op: what ct_commit does.
const bit<8> CT_OP_NONE   = 0;
const bit<8> CT_OP_UPDATE = 1;   // write info/win back to the matched slot
const bit<8> CT_OP_INSERT = 2;   // new connection: insert if the policy allows

// Flag classes (the model's FlagClass), as kept in ct_tcp's last-segment record.
const bit<8> CT_FC_SYN    = 0;
const bit<8> CT_FC_SYNACK = 1;
const bit<8> CT_FC_FIN    = 2;
const bit<8> CT_FC_ACK    = 3;
const bit<8> CT_FC_RST    = 4;
const bit<8> CT_FC_NONE   = 5;

// What the window check concluded (Linux enum nf_ct_tcp_action).
const bit<2> CT_WV_ACCEPT  = 0;   // in the window: the connection moves on
const bit<2> CT_WV_IGNORE  = 1;   // passes, the connection does not move
const bit<2> CT_WV_INVALID = 2;   // out of window

// What the TCP tracker did with a segment of a live entry.
const bit<3> CT_STEP_INVALID = 0;   // dropped ct_invalid
const bit<3> CT_STEP_PASS    = 1;   // passes; state and timer unchanged
const bit<3> CT_STEP_MOVED   = 2;   // passes; state, windows and timer updated
const bit<3> CT_STEP_KILL    = 3;   // passes; the entry is deleted (RST before any reply)
const bit<3> CT_STEP_REOPEN  = 4;   // a SYN reopening a closed connection

// ct_meta_t.ct_state bits (Linux/OVS ct_state).
const bit<8> CS_NEW = 0x01;
const bit<8> CS_EST = 0x02;
const bit<8> CS_REL = 0x04;
const bit<8> CS_RPL = 0x08;
const bit<8> CS_INV = 0x10;
const bit<8> CS_TRK = 0x20;

// The TCP transition table (datapath.md section 5, Linux tcp_conntracks), one
// 40-bit row per (direction, flag class): nibble s is the next state from state
// s (0 NONE .. 9 SYN_SENT2), 0xA invalid, 0xB ignore.
const bit<40> TCP_ROW_ORIG_SYN     = 0x911bbbbb11;
const bit<40> TCP_ROW_ORIG_SYNACK  = 0x2aaaaaa2aa;
const bit<40> TCP_ROW_ORIG_FIN     = 0xa8766644aa;
const bit<40> TCP_ROW_ORIG_ACK     = 0xa8775533a3;
const bit<40> TCP_ROW_RST          = 0x888888888a;
const bit<40> TCP_ROW_REPLY_SYN    = 0x9a1aaaaa9a;
const bit<40> TCP_ROW_REPLY_SYNACK = 0x2bbbbbbb2a;
const bit<40> TCP_ROW_REPLY_FIN    = 0xa8766644aa;
const bit<40> TCP_ROW_REPLY_ACK    = 0xb8775532ba;
const bit<40> TCP_ROW_NONE         = 0xaaaaaaaaaa;

const bit<32> CT_MAX_ACK_WIN = 66000;

register<bit<312>>(4 * CT_BUCKETS_MAX) ct_key;
register<bit<128>>(4 * CT_BUCKETS_MAX) ct_info;
register<bit<192>>(4 * CT_BUCKETS_MAX) ct_win;
register<bit<160>>(4 * CT_BUCKETS_MAX) ct_tcp;

// One direction's TCP window data (Linux ip_ct_tcp_state without SACK and scaling).
struct ct_dir_t {
    bit<32> end;          // highest sequence number sent plus length
    bit<32> maxend;       // highest right edge this direction may send up to
    bit<32> maxwin;       // largest window advertised (0: nothing seen yet)
    bit<32> maxack;       // highest acknowledgment number sent (once maxack_set)
    bit<1>  maxack_set;
    bit<1>  close_init;   // this direction's FIN moved the connection to FIN_WAIT
}

// Sequence-space comparisons (Linux before/after): a is before b.
bool seq_before(in bit<32> a, in bit<32> b) {
    bit<32> d = a - b;
    return d[31:31] == 1;
}

// Linux tcp_valid_flags: PSH is masked off (ECE and CWR are already, by the
// parser), the rest (FIN SYN RST ACK URG) must be one of Linux's nine sets.
bool tcp_flags_valid(in bit<8> flags) {
    bit<8> f = flags & ~TCP_PSH;
    return f == TCP_SYN || f == (TCP_SYN | TCP_URG) || f == (TCP_SYN | TCP_ACK) ||
           f == TCP_RST || f == (TCP_RST | TCP_ACK) ||
           f == (TCP_FIN | TCP_ACK) || f == (TCP_FIN | TCP_ACK | TCP_URG) ||
           f == TCP_ACK || f == (TCP_ACK | TCP_URG);
}

// The flag class: RST; else SYN+ACK / SYN; else FIN; else ACK; else none.
bit<8> tcp_flag_class(in bit<8> fl) {
    bit<8> c = CT_FC_NONE;
    if ((fl & TCP_RST) != 0) {
        c = CT_FC_RST;
    } else if ((fl & TCP_SYN) != 0) {
        if ((fl & TCP_ACK) != 0) { c = CT_FC_SYNACK; } else { c = CT_FC_SYN; }
    } else if ((fl & TCP_FIN) != 0) {
        c = CT_FC_FIN;
    } else if ((fl & TCP_ACK) != 0) {
        c = CT_FC_ACK;
    }
    return c;
}

// The sequence-space end of a segment: seq + payload + SYN + FIN.
bit<32> tcp_seg_end(in flow_t f) {
    bit<32> end = f.tcp_seq + f.tcp_payload;
    if ((f.tcp_flags & TCP_SYN) != 0) { end = end + 1; }
    if ((f.tcp_flags & TCP_FIN) != 0) { end = end + 1; }
    return end;
}

// Linux tcp_in_window (6.x, without SACK) for a segment from sender s to receiver r
// of a connection in state `st`. Like Linux (and the model) it updates s and r in place
// whatever it concludes: a direction's first segment initialises it even when the
// segment then fails. Every segment is judged by its sequence numbers, an empty one
// too. One exit (p4c inlines functions).
bit<2> tcp_in_window(inout ct_dir_t s, inout ct_dir_t r, in bit<8> st,
                     in bool reply, in flow_t f, in bit<8> wscale) {
    bit<8> fl = f.tcp_flags;
    bool syn = (fl & TCP_SYN) != 0;
    bool has_ack = (fl & TCP_ACK) != 0;
    bool rst = (fl & TCP_RST) != 0;
    bit<32> seq = f.tcp_seq;
    bit<32> ack = f.tcp_ack;
    bit<32> win = (bit<32>)f.tcp_window;
    bit<32> end = tcp_seg_end(f);
    bit<2> v = CT_WV_ACCEPT;
    bool done = false;
    if (s.maxwin == 0) {
        if (syn) {
            // SYN/ACK answering a SYN, or the responder's SYN of a simultaneous open.
            s.end = end;
            s.maxend = end;
            s.maxwin = win;
            if (win == 0) { s.maxwin = 1; }
            if (!has_ack) { done = true; }
        } else {
            // Picked up mid-stream in this direction.
            bit<32> sw = win << wscale;
            if (sw == 0) { sw = 1; }
            s.end = end;
            s.maxwin = sw;
            s.maxend = end + sw;
            if (r.maxwin == 0) {
                r.end = ack;
                r.maxend = ack;
            } else if (ack == r.end + 1) {
                r.end = r.end + 1;
            }
        }
    } else if (syn && seq_before(s.end, end) &&
               (st == CT_SYN_SENT || st == CT_SYN_RECV)) {
        // RFC 793: a reinitialised TCP only has to use higher sequence numbers.
        s.end = end;
        s.maxend = end;
        s.maxwin = win;
        if (win == 0) { s.maxwin = 1; }
        if (reply && !has_ack) { done = true; }
    }
    if (!done) {
        if (!has_ack || (rst && ack == 0)) { ack = r.end; }
        if (rst && seq == 0 && st == CT_SYN_SENT) {
            // A RST answering a SYN.
            seq = s.end;
            end = s.end;
        }
        bit<32> max_ack_win = s.maxwin;
        if (max_ack_win < CT_MAX_ACK_WIN) { max_ack_win = CT_MAX_ACK_WIN; }
        // ack <= r.end (nothing acknowledged that was not sent) and
        // ack > r.end - max_ack_win - 1 (not an overly delayed ACK)
        bool ack_not_ahead = seq_before(ack, r.end + 1);
        bool ack_not_stale = seq_before(r.end - max_ack_win - 1, ack);
        if (!seq_before(seq, s.maxend + 1)) {
            // seq past the right edge: a small overshoot with a good ACK passes and
            // its end is noted (so that the peer's ACK of it is in the window)
            bit<32> overshot = end - s.maxend + 1;
            bool in_recv_win = r.maxwin != 0 && seq_before(s.end - r.maxwin - 1, end);
            if (in_recv_win && ack_not_stale && overshot <= r.maxwin && ack_not_ahead) {
                s.end = end;
                v = CT_WV_IGNORE;
            } else {
                v = CT_WV_INVALID;
            }
        } else if (!ack_not_ahead) {
            v = CT_WV_INVALID;   // ACK of data not seen yet
        } else if (r.maxwin != 0 && !seq_before(s.end - r.maxwin - 1, end)) {
            v = CT_WV_IGNORE;    // already acknowledged data retransmitted
        } else if (!ack_not_stale) {
            v = CT_WV_IGNORE;    // an overly delayed ACK
        } else {
            if (!syn) { win = win << wscale; }
            if (s.maxwin < win) { s.maxwin = win; }
            if (seq_before(s.end, end)) { s.end = end; }
            if (has_ack) {
                if (s.maxack_set == 0 || seq_before(s.maxack, ack)) { s.maxack = ack; }
                s.maxack_set = 1;
            }
            if (r.maxwin != 0 && seq_before(s.maxend, end)) {
                r.maxwin = r.maxwin + (end - s.maxend);
            }
            bit<32> edge = ack + win;
            if (seq_before(r.maxend - 1, edge)) {
                r.maxend = edge;
                if (win == 0) { r.maxend = edge + 1; }
            }
        }
    }
    return v;
}

// An entry's timeout in us from its info word.
bit<64> ct_timeout(in bit<128> info, in cfg_t c) {
    bit<8> kind = info[39:32];
    bit<8> st = info[47:40];
    bit<64> t = c.to_other;
    if (kind == CT_KIND_TCP) {
        if (st == CT_SYN_RECV) { t = c.to_syn_recv; }
        else if (st == CT_ESTABLISHED) { t = c.to_established; }
        else if (st == CT_FIN_WAIT) { t = c.to_fin_wait; }
        else if (st == CT_CLOSE_WAIT) { t = c.to_close_wait; }
        else if (st == CT_LAST_ACK) { t = c.to_last_ack; }
        else if (st == CT_TIME_WAIT) { t = c.to_time_wait; }
        else if (st == CT_CLOSE) { t = c.to_close; }
        else if (st == CT_SYN_SENT2) { t = c.to_syn_sent2; }
        else { t = c.to_syn_sent; }
    } else if (kind == CT_KIND_UDP) {
        if (info[25:25] == 1) { t = c.to_udp_replied; } else { t = c.to_udp; }
    } else if (kind == CT_KIND_ICMP) {
        t = c.to_icmp;
    }
    return t;
}

// Whether an entry holds a connection that has not timed out at `now`.
bool ct_live(in bit<128> info, in bit<64> now, in cfg_t c) {
    return info[39:32] != CT_KIND_EMPTY && now - info[127:64] < ct_timeout(info, c);
}

control CtLookup(inout headers_t hdr, inout meta_t meta,
                 in standard_metadata_t std) {
    // Controller-managed entries for connections whose four slots were full.
    action track(bit<1> orig_lo) {
        meta.ct.ovf_hit = 1;
        meta.ct.ovf_orig_lo = orig_lo;
    }
    table ct_overflow {
        key = {
            meta.ct.zone: exact @name("zone");
            meta.ct.proto: exact @name("proto");
            meta.ct.addr_lo: exact @name("addr_lo");
            meta.ct.addr_hi: exact @name("addr_hi");
            meta.ct.port_lo: exact @name("port_lo");
            meta.ct.port_hi: exact @name("port_hi");
        }
        actions = { track; @defaultonly NoAction; }
        default_action = NoAction;
        support_timeout = true;
        size = 1024;
    }

    @hidden

    action invalid() {
        meta.ct.ct_state = CS_TRK | CS_INV;
        meta.v.drop = DROP_CT_INVALID;
        meta.v.stop = true;
    }

    apply {
        bit<64> now = (bit<64>)std.ingress_global_timestamp;
        flow_t f = meta.flow;

        // -- the packet's own key (also the tunnel's UDP source-port entropy)
        bool src_lo = f.src < f.dst || (f.src == f.dst && f.sport <= f.dport);
        meta.ct.zone = meta.cls.zone;
        meta.ct.proto = f.proto;
        if (src_lo) {
            meta.ct.addr_lo = f.src; meta.ct.port_lo = f.sport;
            meta.ct.addr_hi = f.dst; meta.ct.port_hi = f.dport;
        } else {
            meta.ct.addr_lo = f.dst; meta.ct.port_lo = f.dport;
            meta.ct.addr_hi = f.src; meta.ct.port_hi = f.sport;
        }
        meta.ct.from_lo = src_lo ? 1w1 : 1w0;
        hash(meta.ct.pkt_h16, HashAlgorithm.crc16, (bit<16>)0,
             { meta.ct.zone, meta.ct.proto, meta.ct.addr_lo, meta.ct.addr_hi,
               meta.ct.port_lo, meta.ct.port_hi }, (bit<32>)65536);

        bool icmp_error = f.l4 == L4_ICMP && f.icmp_kind == ICMP_ERROR;
        meta.ct.ct_state = CS_TRK;
        if (f.l4 == L4_ICMP && f.icmp_kind == ICMP_OTHER) {
            invalid();
        } else if (f.l4 == L4_TCP && !tcp_flags_valid(f.tcp_flags)) {
            invalid();
        } else if (icmp_error && f.dst != f.emb_src) {
            // Linux: an error about a flow goes to the flow's own address, the
            // source of the quoted packet; sent anywhere else it is invalid.
            invalid();
        } else {
            // -- the key to look up: the packet's, or the embedded packet's for an ICMP error
            if (icmp_error) {
                bool e_lo = f.emb_src < f.emb_dst ||
                            (f.emb_src == f.emb_dst && f.emb_sport <= f.emb_dport);
                meta.ct.proto = f.emb_proto;
                if (e_lo) {
                    meta.ct.addr_lo = f.emb_src; meta.ct.port_lo = f.emb_sport;
                    meta.ct.addr_hi = f.emb_dst; meta.ct.port_hi = f.emb_dport;
                } else {
                    meta.ct.addr_lo = f.emb_dst; meta.ct.port_lo = f.emb_dport;
                    meta.ct.addr_hi = f.emb_src; meta.ct.port_hi = f.emb_sport;
                }
            }
            bit<312> ckey = meta.ct.zone ++ meta.ct.proto ++ meta.ct.addr_lo ++
                           meta.ct.addr_hi ++ meta.ct.port_lo ++ meta.ct.port_hi;
            bit<32> h32;
            bit<16> h16;
            hash(h32, HashAlgorithm.crc32, (bit<32>)0,
                 { meta.ct.zone, meta.ct.proto, meta.ct.addr_lo, meta.ct.addr_hi,
                   meta.ct.port_lo, meta.ct.port_hi }, (bit<64>)4294967296);
            hash(h16, HashAlgorithm.crc16, (bit<16>)0,
                 { meta.ct.zone, meta.ct.proto, meta.ct.addr_lo, meta.ct.addr_hi,
                   meta.ct.port_lo, meta.ct.port_hi }, (bit<32>)65536);
            bit<32> b32 = h32 & meta.cfg.ct_mask;
            bit<32> b16 = (bit<32>)h16 & meta.cfg.ct_mask;
            bit<32> s0 = b32;
            bit<32> s1 = CT_BUCKETS_MAX + b32;
            bit<32> s2 = 2 * CT_BUCKETS_MAX + b16;
            bit<32> s3 = 3 * CT_BUCKETS_MAX + b16;
            bit<312> k0; bit<312> k1; bit<312> k2; bit<312> k3;
            bit<128> i0; bit<128> i1; bit<128> i2; bit<128> i3;
            ct_key.read(k0, s0); ct_info.read(i0, s0);
            ct_key.read(k1, s1); ct_info.read(i1, s1);
            ct_key.read(k2, s2); ct_info.read(i2, s2);
            ct_key.read(k3, s3); ct_info.read(i3, s3);
            bool l0 = ct_live(i0, now, meta.cfg);
            bool l1 = ct_live(i1, now, meta.cfg);
            bool l2 = ct_live(i2, now, meta.cfg);
            bool l3 = ct_live(i3, now, meta.cfg);
            bit<8> way = 4;
            bit<128> info = 0;
            if (l0 && k0 == ckey) { way = 0; meta.ct.slot = s0; info = i0; }
            else if (l1 && k1 == ckey) { way = 1; meta.ct.slot = s1; info = i1; }
            else if (l2 && k2 == ckey) { way = 2; meta.ct.slot = s2; info = i2; }
            else if (l3 && k3 == ckey) { way = 3; meta.ct.slot = s3; info = i3; }
            if (way == 4) {
                ct_overflow.apply();
            }

            if (icmp_error) {
                // Related to a tracked flow, or invalid; no state changes.
                if (way != 4 || meta.ct.ovf_hit == 1) {
                    meta.ct.ct_state = CS_TRK | CS_REL;
                } else {
                    invalid();
                }
            } else if (way == 4 && meta.ct.ovf_hit == 1) {
                meta.ct.ct_state = CS_TRK | CS_EST;
                if (src_lo != (meta.ct.ovf_orig_lo == 1)) {
                    meta.ct.ct_state = meta.ct.ct_state | CS_RPL;
                }
            } else {
                bool open = way == 4;
                if (way != 4) {
                    // -- an entry: re-check, then the protocol's state machine
                    bool reply = src_lo != (info[24:24] == 1);
                    bool replied = info[25:25] == 1;
                    bit<8> kind = info[39:32];
                    bit<8> tcp_st = info[47:40];
                    bit<192> win;
                    bit<160> tw;
                    ct_win.read(win, meta.ct.slot);
                    ct_tcp.read(tw, meta.ct.slot);
                    meta.ct.reply = reply ? 1w1 : 1w0;
                    if (info[63:48] != meta.cfg.policy_gen) {
                        meta.ct.recheck = 1;
                        meta.ct.policy = 1;
                        info[63:48] = meta.cfg.policy_gen;
                    }
                    meta.ct.op = CT_OP_UPDATE;
                    bit<3> step = CT_STEP_MOVED;
                    if (kind == CT_KIND_TCP) {
                        // -- Linux nf_conntrack_tcp_packet (6.x)
                        bool assured = info[26:26] == 1;
                        bit<8> fl = f.tcp_flags;
                        bit<8> fc = tcp_flag_class(fl);
                        // the two directions, as sender s and receiver r
                        ct_dir_t w0;
                        w0.end = win[191:160]; w0.maxend = win[159:128]; w0.maxwin = win[127:96];
                        w0.maxack = tw[159:128]; w0.maxack_set = tw[6:6];
                        w0.close_init = tw[4:4];
                        ct_dir_t w1;
                        w1.end = win[95:64]; w1.maxend = win[63:32]; w1.maxwin = win[31:0];
                        w1.maxack = tw[127:96]; w1.maxack_set = tw[5:5];
                        w1.close_init = tw[3:3];
                        ct_dir_t s;
                        ct_dir_t r;
                        if (reply) { s = w1; r = w0; } else { s = w0; r = w1; }
                        // the last segment that moved or was ignored by the tracker
                        bit<32> l_ack = tw[95:64];
                        bit<32> l_end = tw[63:32];
                        bit<16> l_win = tw[31:16];
                        bit<8> l_class = tw[15:8];
                        bool l_reply = tw[7:7] == 1;

                        bit<40> row = TCP_ROW_NONE;
                        if (fc == CT_FC_RST) {
                            row = TCP_ROW_RST;
                        } else if (fc == CT_FC_SYNACK) {
                            row = reply ? TCP_ROW_REPLY_SYNACK : TCP_ROW_ORIG_SYNACK;
                        } else if (fc == CT_FC_SYN) {
                            row = reply ? TCP_ROW_REPLY_SYN : TCP_ROW_ORIG_SYN;
                        } else if (fc == CT_FC_FIN) {
                            row = reply ? TCP_ROW_REPLY_FIN : TCP_ROW_ORIG_FIN;
                        } else if (fc == CT_FC_ACK) {
                            row = reply ? TCP_ROW_REPLY_ACK : TCP_ROW_ORIG_ACK;
                        }
                        bit<40> shifted = row >> (tcp_st << 2);
                        bit<8> next = (bit<8>)shifted[3:0];
                        bit<8> old_state = tcp_st;
                        bool decided = false;      // step is final, no window check
                        bool write_back = false;   // windows and ct_tcp are written
                        bool skip_window = false;
                        bool keep = false;
                        if (next == CT_SYN_SENT &&
                            (tcp_st == CT_TIME_WAIT || tcp_st == CT_CLOSE)) {
                            // Reopen only a connection closed by a FIN or aborted by a
                            // RST from this direction; else the SYN is ignored.
                            if (w0.close_init == 1 || w1.close_init == 1 ||
                                (l_reply == reply && l_class == CT_FC_RST)) {
                                step = CT_STEP_REOPEN;
                                decided = true;
                            } else {
                                next = CT_IGNORE;
                            }
                        }
                        if (decided) {
                            // reopen: handled below
                        } else if (next == CT_INVALID) {
                            step = CT_STEP_INVALID;
                            decided = true;
                        } else if (next == CT_IGNORE) {
                            if (fc == CT_FC_SYNACK && l_class == CT_FC_SYN &&
                                l_reply != reply && f.tcp_ack == l_end) {
                                // This SYN/ACK answers a SYN that was ignored: client
                                // and server are in sync, the tracker is not. Resync
                                // from the SYN (its sender is r).
                                old_state = CT_SYN_SENT;
                                next = CT_SYN_RECV;
                                r.end = l_end;
                                r.maxend = l_end;
                                r.maxwin = (bit<32>)l_win;
                                if (l_win == 0) { r.maxwin = 1; }
                                r.maxack = 0;
                                r.maxack_set = 0;
                                r.close_init = 0;
                                s.end = 0;
                                s.maxend = 0;
                                s.maxwin = 0;
                                s.maxack = 0;
                                s.maxack_set = 0;
                                s.close_init = 0;
                            } else {
                                // ignored: passes; remembered for a later resync or RST
                                l_class = fc;
                                l_reply = reply;
                                l_end = tcp_seg_end(f);
                                l_win = f.tcp_window;
                                if (tcp_st == CT_SYN_SENT && fc == CT_FC_ACK && reply) {
                                    l_ack = f.tcp_ack;   // a possible challenge ACK
                                }
                                step = CT_STEP_PASS;
                                decided = true;
                                write_back = true;
                            }
                        } else if (next == CT_CLOSE && fc == CT_FC_RST) {
                            if (tcp_st == CT_FIN_WAIT || tcp_st == CT_LAST_ACK ||
                                tcp_st == CT_TIME_WAIT || tcp_st == CT_CLOSE ||
                                tcp_st == CT_CLOSE_WAIT) {
                                skip_window = true;   // already closing
                            } else if (r.maxack_set == 1 && l_class != CT_FC_SYN) {
                                bool established = tcp_st == CT_ESTABLISHED && assured;
                                if (f.tcp_seq != 0 || established) {
                                    if (seq_before(f.tcp_seq, r.maxack)) {
                                        // below what the peer acknowledged: blind
                                        step = CT_STEP_INVALID;
                                        decided = true;
                                    } else if (established && f.tcp_seq != r.maxack &&
                                               !(l_class == CT_FC_ACK && l_reply == reply &&
                                                 f.tcp_seq == l_end)) {
                                        // inexact but in the window: the connection
                                        // stays for the peer's challenge ACK
                                        keep = true;
                                    }
                                }
                            }
                            if (!decided && !skip_window) {
                                if (((replied && l_class == CT_FC_SYN) ||
                                     (!assured && l_class == CT_FC_ACK)) &&
                                    f.tcp_ack == l_end) {
                                    // a RST to a SYN or ACK let through unchecked
                                    skip_window = true;
                                } else if (tcp_st == CT_SYN_SENT && l_class == CT_FC_ACK &&
                                           l_reply && f.tcp_seq == l_ack) {
                                    // a RST answering a challenge ACK let through
                                    skip_window = true;
                                }
                            }
                            if (keep) { next = tcp_st; }
                        }
                        if (!decided) {
                            bit<2> wv = CT_WV_ACCEPT;
                            if (!skip_window) {
                                wv = tcp_in_window(s, r, old_state, reply, f,
                                                   meta.cfg.tcp_wscale);
                            }
                            write_back = true;
                            if (wv == CT_WV_IGNORE) {
                                step = CT_STEP_PASS;
                            } else if (wv == CT_WV_INVALID) {
                                if (assured && (fc == CT_FC_RST || fc == CT_FC_FIN)) {
                                    bool answers_close = l_reply != reply &&
                                        (l_class == CT_FC_FIN || l_class == CT_FC_RST);
                                    if (!answers_close) {
                                        l_class = fc;
                                        l_reply = reply;
                                    }
                                }
                                step = CT_STEP_INVALID;
                            } else {
                                l_class = fc;
                                l_reply = reply;
                                if (old_state != next && next == CT_FIN_WAIT) {
                                    s.close_init = 1;
                                }
                                info[47:40] = next;
                                if (!replied && fc == CT_FC_RST) {
                                    step = CT_STEP_KILL;   // the only answer was a RST
                                } else {
                                    step = CT_STEP_MOVED;
                                    if ((old_state == CT_SYN_RECV ||
                                         old_state == CT_ESTABLISHED) &&
                                        next == CT_ESTABLISHED) {
                                        info[26:26] = 1;
                                    }
                                }
                            }
                        }
                        if (write_back) {
                            if (reply) { w1 = s; w0 = r; } else { w0 = s; w1 = r; }
                            win = w0.end ++ w0.maxend ++ w0.maxwin ++
                                  w1.end ++ w1.maxend ++ w1.maxwin;
                            tw = w0.maxack ++ w1.maxack ++ l_ack ++ l_end ++ l_win ++
                                 l_class ++ (l_reply ? 1w1 : 1w0) ++
                                 w0.maxack_set ++ w1.maxack_set ++
                                 w0.close_init ++ w1.close_init ++
                                 3w0;
                        }
                        if (step == CT_STEP_REOPEN) {
                            // A SYN reopening a closed connection: delete, then as new.
                            meta.ct.reopen = 1;
                            open = true;
                            if (way == 0) { l0 = false; }
                            else if (way == 1) { l1 = false; }
                            else if (way == 2) { l2 = false; }
                            else { l3 = false; }
                        } else if (step == CT_STEP_KILL) {
                            meta.ct.kill = 1;
                        } else if (step == CT_STEP_MOVED) {
                            info[127:64] = now;
                            if (reply) { info[25:25] = 1; }
                        } else if (step == CT_STEP_PASS) {
                            if (reply) { info[25:25] = 1; }
                        }
                    } else if (kind == CT_KIND_ICMP) {
                        info[127:64] = now;
                        if (reply) { info[25:25] = 1; }
                    } else {
                        info[127:64] = now;
                        if (reply) { info[25:25] = 1; info[26:26] = 1; }
                    }
                    meta.ct.info = info;
                    meta.ct.win = win;
                    meta.ct.tcp = tw;
                    if (!open) {
                        if (step == CT_STEP_INVALID) {
                            meta.ct.invalid = 1;
                        } else if (step == CT_STEP_KILL) {
                            // passes without the policy (unless re-checked); the entry goes
                            if (reply) {
                                meta.ct.ct_state = meta.ct.ct_state | CS_RPL;
                            } else {
                                meta.ct.ct_state = meta.ct.ct_state | CS_NEW;
                            }
                        } else {
                            replied = info[25:25] == 1;
                            if (replied) {
                                meta.ct.ct_state = meta.ct.ct_state | CS_EST;
                            } else if (!reply) {
                                meta.ct.ct_state = meta.ct.ct_state | CS_NEW;
                                meta.ct.policy = 1;   // new packets ask the policy
                            }
                            if (reply) {
                                meta.ct.ct_state = meta.ct.ct_state | CS_RPL;
                            }
                        }
                    }
                }
                if (open) {
                    // -- no entry: only a SYN (flag class SYN: SYN, maybe URG or
                    // PSH), UDP, an echo request or another protocol opens one
                    bool syn_class = tcp_flag_class(f.tcp_flags) == CT_FC_SYN;
                    if ((f.l4 == L4_TCP && !syn_class) ||
                        (f.l4 == L4_ICMP && f.icmp_kind == ICMP_ECHO_REPLY)) {
                        meta.ct.invalid = 1;
                    } else {
                        meta.ct.ct_state = CS_TRK | CS_NEW;
                        meta.ct.policy = 1;
                        meta.ct.op = CT_OP_INSERT;
                        bit<8> kind = CT_KIND_OTHER;
                        bit<192> win = 0;
                        if (f.l4 == L4_TCP) {
                            kind = CT_KIND_TCP;
                            bit<32> end = tcp_seg_end(f);
                            bit<32> mw = (bit<32>)f.tcp_window;
                            if (mw == 0) { mw = 1; }
                            win = end ++ end ++ mw ++ 96w0;
                        } else if (f.l4 == L4_UDP) {
                            kind = CT_KIND_UDP;
                        } else if (f.l4 == L4_ICMP) {
                            kind = CT_KIND_ICMP;
                        }
                        bit<8> st = CT_NONE;
                        if (kind == CT_KIND_TCP) { st = CT_SYN_SENT; }
                        meta.ct.new_info = now ++ meta.cfg.policy_gen ++ st ++ kind ++
                                           5w0 ++ 2w0 ++ meta.ct.from_lo ++ 24w0;
                        meta.ct.new_win = win;
                        meta.ct.new_key = ckey;
                        // The slot: the first empty or expired way, else the first
                        // live non-assured one (evicted), else none (ct_full).
                        meta.ct.new_slot_ok = 1;
                        if (!l0) { meta.ct.new_slot = s0; }
                        else if (!l1) { meta.ct.new_slot = s1; }
                        else if (!l2) { meta.ct.new_slot = s2; }
                        else if (!l3) { meta.ct.new_slot = s3; }
                        else {
                            meta.ct.evict = 1;
                            if (i0[26:26] == 0) { meta.ct.new_slot = s0; }
                            else if (i1[26:26] == 0) { meta.ct.new_slot = s1; }
                            else if (i2[26:26] == 0) { meta.ct.new_slot = s2; }
                            else if (i3[26:26] == 0) { meta.ct.new_slot = s3; }
                            else { meta.ct.new_slot_ok = 0; meta.ct.evict = 0; }
                        }
                    }
                }
                // The policy query: the originator's contexts and destination port.
                if (meta.ct.reply == 1 && meta.ct.recheck == 1 && !open) {
                    meta.pol.src_ctx = meta.cls.dst_ctx;
                    meta.pol.dst_ctx = meta.cls.src_ctx;
                    meta.pol.port = f.l4_sport;
                } else {
                    meta.pol.src_ctx = meta.cls.src_ctx;
                    meta.pol.dst_ctx = meta.cls.dst_ctx;
                    meta.pol.port = f.l4_dport;
                }
                meta.pol.proto = f.proto;
            }
        }
    }
}

// Writes what CtLookup prepared, according to the policy's decision, and sets the
// verdict: a re-check deny deletes the entry; a deny or default deny drops with
// its reason; an invalid packet drops with ct_invalid; an allowed new connection
// is inserted, or punted (ct_full) when its four slots hold assured connections.
control CtCommit(inout headers_t hdr, inout meta_t meta) {
    @hidden
    action drop_with(in bit<8> reason) {
        meta.v.drop = reason;
        meta.v.stop = true;
    }

    apply {
        bool denied = meta.ct.policy == 1 && meta.pol.allow == 0;
        bit<8> deny_reason = DROP_POLICY_DEFAULT_DENY;
        if (meta.pol.hit == 1) {
            deny_reason = DROP_POLICY_DENY;
        }
        if (meta.ct.recheck == 1 && denied) {
            // A revoked connection: delete the entry and drop.
            ct_info.write(meta.ct.slot, 0);
            digest<ct_event>(1, { CT_EVENT_DELETE, meta.ct.zone, meta.ct.proto,
                                    meta.ct.addr_lo, meta.ct.addr_hi, meta.ct.port_lo,
                                    meta.ct.port_hi, meta.ct.slot });
            drop_with(deny_reason);
        } else {
            if (meta.ct.reopen == 1) {
                ct_info.write(meta.ct.slot, 0);
            } else if (meta.ct.kill == 1) {
                // A RST before any reply: the connection never existed.
                ct_info.write(meta.ct.slot, 0);
                digest<ct_event>(1, { CT_EVENT_DELETE, meta.ct.zone, meta.ct.proto,
                                        meta.ct.addr_lo, meta.ct.addr_hi, meta.ct.port_lo,
                                        meta.ct.port_hi, meta.ct.slot });
            } else if (meta.ct.op == CT_OP_UPDATE) {
                ct_info.write(meta.ct.slot, meta.ct.info);
                ct_win.write(meta.ct.slot, meta.ct.win);
                ct_tcp.write(meta.ct.slot, meta.ct.tcp);
            }
            if (meta.ct.invalid == 1) {
                drop_with(DROP_CT_INVALID);
            } else if (denied) {
                drop_with(deny_reason);
            } else if (meta.ct.op == CT_OP_INSERT) {
                if (meta.ct.new_slot_ok == 1) {
                    ct_key.write(meta.ct.new_slot, meta.ct.new_key);
                    ct_info.write(meta.ct.new_slot, meta.ct.new_info);
                    ct_win.write(meta.ct.new_slot, meta.ct.new_win);
                    ct_tcp.write(meta.ct.new_slot, 0);
                    bit<8> event = CT_EVENT_INSERT;
                    if (meta.ct.evict == 1) {
                        event = CT_EVENT_EVICT;
                    }
                    digest<ct_event>(1, { event, meta.ct.zone, meta.ct.proto,
                                            meta.ct.addr_lo, meta.ct.addr_hi,
                                            meta.ct.port_lo, meta.ct.port_hi,
                                            meta.ct.new_slot });
                } else {
                    meta.v.punt = PUNT_CT_FULL;
                    meta.v.stop = true;
                }
            }
        }
    }
}

#endif
