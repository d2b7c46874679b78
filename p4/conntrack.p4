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

// Sequence-space comparisons (Linux before/after): a is before b.
bool seq_before(in bit<32> a, in bit<32> b) {
    bit<32> d = a - b;
    return d[31:31] == 1;
}

// Linux tcp_valid_flags over FIN SYN RST PSH ACK URG.
bool tcp_flags_valid(in bit<8> f) {
    return f == TCP_SYN || f == (TCP_SYN | TCP_URG) || f == (TCP_SYN | TCP_ACK) ||
           f == TCP_RST || f == (TCP_RST | TCP_ACK) || f == (TCP_RST | TCP_ACK | TCP_PSH) ||
           f == (TCP_FIN | TCP_ACK) || f == (TCP_FIN | TCP_ACK | TCP_URG) ||
           f == (TCP_FIN | TCP_ACK | TCP_PSH) || f == (TCP_FIN | TCP_ACK | TCP_PSH | TCP_URG) ||
           f == TCP_ACK || f == (TCP_ACK | TCP_URG) || f == (TCP_ACK | TCP_PSH) ||
           f == (TCP_ACK | TCP_PSH | TCP_URG);
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
                    ct_win.read(win, meta.ct.slot);
                    meta.ct.reply = reply ? 1w1 : 1w0;
                    if (info[63:48] != meta.cfg.policy_gen) {
                        meta.ct.recheck = 1;
                        meta.ct.policy = 1;
                        info[63:48] = meta.cfg.policy_gen;
                    }
                    meta.ct.op = CT_OP_UPDATE;
                    bool accepted = true;
                    if (kind == CT_KIND_TCP) {
                        bit<8> fl = f.tcp_flags;
                        bit<40> row = TCP_ROW_NONE;
                        if ((fl & TCP_RST) != 0) {
                            row = TCP_ROW_RST;
                        } else if ((fl & TCP_SYN) != 0) {
                            if ((fl & TCP_ACK) != 0) {
                                row = reply ? TCP_ROW_REPLY_SYNACK : TCP_ROW_ORIG_SYNACK;
                            } else {
                                row = reply ? TCP_ROW_REPLY_SYN : TCP_ROW_ORIG_SYN;
                            }
                        } else if ((fl & TCP_FIN) != 0) {
                            row = reply ? TCP_ROW_REPLY_FIN : TCP_ROW_ORIG_FIN;
                        } else if ((fl & TCP_ACK) != 0) {
                            row = reply ? TCP_ROW_REPLY_ACK : TCP_ROW_ORIG_ACK;
                        }
                        bit<40> shifted = row >> (tcp_st << 2);
                        bit<8> next = (bit<8>)shifted[3:0];
                        if (next == CT_INVALID) {
                            accepted = false;
                        } else if (next == CT_SYN_SENT &&
                                   (tcp_st == CT_TIME_WAIT || tcp_st == CT_CLOSE)) {
                            // A SYN reopening a closed connection: delete, then as new.
                            meta.ct.reopen = 1;
                            open = true;
                            if (way == 0) { l0 = false; }
                            else if (way == 1) { l1 = false; }
                            else if (way == 2) { l2 = false; }
                            else { l3 = false; }
                        } else if (next != CT_IGNORE) {
                            // Window tracking (Linux tcp_in_window without SACK).
                            bit<96> sw = reply ? win[95:0] : win[191:96];
                            bit<96> rw = reply ? win[191:96] : win[95:0];
                            bit<32> s_end = sw[95:64];
                            bit<32> s_maxend = sw[63:32];
                            bit<32> s_maxwin = sw[31:0];
                            bit<32> r_end = rw[95:64];
                            bit<32> r_maxend = rw[63:32];
                            bit<32> r_maxwin = rw[31:0];
                            bool syn = (fl & TCP_SYN) != 0;
                            bool fin = (fl & TCP_FIN) != 0;
                            bool has_ack = (fl & TCP_ACK) != 0;
                            bool rst = (fl & TCP_RST) != 0;
                            bit<32> wnd = (bit<32>)f.tcp_window;
                            if (!syn) {
                                wnd = wnd << meta.cfg.tcp_wscale;
                            }
                            bit<32> seq = f.tcp_seq;
                            bit<32> end = seq + f.tcp_payload;
                            if (syn) { end = end + 1; }
                            if (fin) { end = end + 1; }
                            if (s_maxwin == 0) {
                                s_end = end;
                                s_maxend = end;
                                s_maxwin = wnd;
                                if (wnd == 0) { s_maxwin = 1; }
                            }
                            bit<32> ack = r_end;
                            if (has_ack) { ack = f.tcp_ack; }
                            if (seq == end && !rst) {
                                seq = s_end;
                                end = s_end;
                            }
                            bit<32> max_ack_win = s_maxwin;
                            if (max_ack_win < CT_MAX_ACK_WIN) { max_ack_win = CT_MAX_ACK_WIN; }
                            bool ok = !seq_before(s_maxend, seq) &&
                                      seq_before(s_end - r_maxwin - 1, end) &&
                                      !seq_before(r_end, ack) &&
                                      seq_before(r_end - max_ack_win - 1, ack);
                            if (!ok) {
                                accepted = false;
                            } else {
                                if (s_maxwin < wnd) { s_maxwin = wnd; }
                                if (seq_before(s_end, end)) { s_end = end; }
                                bit<32> edge = ack + wnd;
                                if (!seq_before(edge, r_maxend)) {
                                    r_maxend = edge;
                                    if (wnd == 0) { r_maxend = edge + 1; }
                                }
                                sw = s_end ++ s_maxend ++ s_maxwin;
                                rw = r_end ++ r_maxend ++ r_maxwin;
                                if (reply) {
                                    win = rw ++ sw;
                                } else {
                                    win = sw ++ rw;
                                }
                                info[47:40] = next;
                                info[127:64] = now;
                                if (reply) { info[25:25] = 1; }
                                if (next == CT_ESTABLISHED) { info[26:26] = 1; }
                            }
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
                    if (!open) {
                        if (!accepted) {
                            meta.ct.invalid = 1;
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
                    // -- no entry: only a pure SYN, UDP, an echo request or another
                    // protocol opens one
                    bool pure_syn = (f.tcp_flags & ~TCP_URG) == TCP_SYN;
                    if ((f.l4 == L4_TCP && !pure_syn) ||
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
                            bit<32> end = f.tcp_seq + f.tcp_payload + 1;
                            if ((f.tcp_flags & TCP_FIN) != 0) { end = end + 1; }
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
            } else if (meta.ct.op == CT_OP_UPDATE) {
                ct_info.write(meta.ct.slot, meta.ct.info);
                ct_win.write(meta.ct.slot, meta.ct.win);
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
