// Conntrack decide and write: stage 24 of ztnic_engine (docs/datapath.md §5, the
// model's `CtTable::track`). The packet in stage 23 (s_phv) and the four ways of its
// conntrack bucket and of its ct_overflow bucket, read one clock earlier (ct_rd,
// ovf_rd), give the packet's conntrack verdict: the ct_state, the verdict (ct_invalid,
// policy deny, ct_full punt), the rule that decided, the event (ct_new, ct_delete,
// ct_full), and the writes of the conntrack ways (an insert, an update of the entry hit,
// a delete). A packet whose verdict is already decided, or a bubble, passes unchanged.
//
// The search: the lowest live way holding the key hits; the lowest empty or expired way
// is free, else the lowest live non-assured way is evicted; the overflow ways are a hit
// when no way hits. A TCP hit runs ztnic_tcp_track (Linux 6.x nf_conntrack_tcp_packet).
// An entry of a stale policy generation is re-checked against the policy's view of the
// originator (pf_* / pr_* fields of the PHV): allowed, it takes the current generation;
// denied, it is deleted and the packet dropped.
//
// Read-modify-write: the only write the read of stage 23 cannot see is the one this
// stage made in the same clock (the packet just ahead). It is kept per way (the only
// registers here, loaded when adv is high) and replaces the RAM data of a way whose
// address matches, so back-to-back packets of one bucket are judged as one at a time.
//
// Combinational from s_* to m_phv and wr_*; wr_en is high only while adv is.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ct_decide #(
    // Width of a conntrack bucket address (the engine's CT_LOG2_MAX, 1..16)
    parameter CT_ADDR_W = 10
) (
    input  wire                          clk,
    input  wire                          rst,

    // pipeline advance: the writes are made and the packet leaves the stage
    input  wire                          adv,

    // time in microseconds
    input  wire [63:0]                   ts_us,
    // configuration: policy generation, TCP window scale, timeouts (enum `timeout`, us)
    input  wire [15:0]                   cfg_policy_gen,
    input  wire [4:0]                    cfg_tcp_wscale,
    input  wire [64*16-1:0]              cfg_timeouts,

    // the packet in stage 23 (s_valid: not a bubble) and its bucket addresses (ways 0-1
    // indexed by the CRC-32, ways 2-3 by the CRC-16, masked to config.ct_buckets)
    input  wire                          s_valid,
    /* verilator lint_off UNUSEDSIGNAL */
    // only the conntrack, policy and verdict fields are read
    input  wire [PHV_W-1:0]              s_phv,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [CT_ADDR_W-1:0]          addr_lo,
    input  wire [CT_ADDR_W-1:0]          addr_hi,

    // the conntrack and ct_overflow ways read for it
    input  wire [4*L_CONNTRACK_W-1:0]    ct_rd,
    input  wire [4*L_CT_OVERFLOW_W-1:0]  ovf_rd,

    // the packet after the stage
    output reg  [PHV_W-1:0]              m_phv,

    // the conntrack writes, way by way
    output reg  [3:0]                    wr_en,
    output wire [4*CT_ADDR_W-1:0]        wr_addr,
    output reg  [4*L_CONNTRACK_W-1:0]    wr_data
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

initial begin
    if (CT_ADDR_W < 1 || CT_ADDR_W > 16) begin
        $error("ztnic_ct_decide: CT_ADDR_W must be in 1..16");
        $finish;
    end
end

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------
function [5:0] ct_bits(input f_new, input f_est, input f_rel, input f_rpl, input f_inv);
    ct_bits = {1'b1, f_inv, f_rpl, f_rel, f_est, f_new};
endfunction

function [127:0] event_rec(input [7:0] kind, input [7:0] why_code, input [15:0] port,
                           input [23:0] ctx, input [7:0] ep, input [31:0] hash, input [31:0] now);
    begin
        event_rec = 0;
        event_rec[L_EVENT_KIND_LSB +: 8] = kind;
        event_rec[L_EVENT_REASON_LSB +: 8] = why_code;
        event_rec[L_EVENT_PORT_LSB +: 16] = port;
        event_rec[L_EVENT_CTX_LSB +: 24] = ctx;
        event_rec[L_EVENT_EPOCH_LSB +: 8] = ep;
        event_rec[L_EVENT_HASH_LSB +: 32] = hash;
        event_rec[L_EVENT_TIME_LSB +: 32] = now;
    end
endfunction

// TCP state SYN_SENT (enum tcp_state) of a new connection's entry
localparam [3:0] T_SS = 4'd1;

/* verilator lint_off UNUSEDSIGNAL */
// flag class: 0 syn, 1 synack, 2 fin, 3 ack, 4 rst, 5 none (flags: URG ACK PSH RST SYN FIN)
localparam [2:0] C_SYN = 3'd0;
function [2:0] flag_class(input [5:0] f);
    if (f[2]) flag_class = 3'd4;
    else if (f[1]) flag_class = f[4] ? 3'd1 : 3'd0;
    else if (f[0]) flag_class = 3'd2;
    else if (f[4]) flag_class = 3'd3;
    else flag_class = 3'd5;
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// Linux tcp_valid_flags: the nine sets of FIN SYN RST ACK URG, PSH masked off first
function flags_valid(input [5:0] f);
    case (f & 6'h37)
        6'h02, 6'h22, 6'h12, 6'h04, 6'h14, 6'h11, 6'h31, 6'h10, 6'h30: flags_valid = 1'b1;
        default: flags_valid = 1'b0;
    endcase
endfunction

// entry timeout and expiry
function [63:0] ct_timeout(input [L_CONNTRACK_W-1:0] e, input [64*16-1:0] t);
    reg [3:0] idx;
    reg [3:0] st;
    begin
        st = e[L_CONNTRACK_STATE_LSB +: 4];
        case (e[L_CONNTRACK_KIND_LSB +: 2])
            CT_KIND_TCP[1:0]: idx = (st <= 4'd1) ? TIMEOUT_TCP_SYN_SENT[3:0] : ((st <= 4'd9) ? st - 4'd1 : TIMEOUT_TCP_SYN_SENT[3:0]);
            CT_KIND_UDP[1:0]: idx = e[L_CONNTRACK_REPLIED_LSB] ? TIMEOUT_UDP_REPLIED[3:0] : TIMEOUT_UDP_UNREPLIED[3:0];
            CT_KIND_ICMP[1:0]: idx = TIMEOUT_ICMP[3:0];
            default: idx = TIMEOUT_OTHER[3:0];
        endcase
        ct_timeout = t[64*idx +: 64];
    end
endfunction

function ct_expired(input [L_CONNTRACK_W-1:0] e, input [63:0] now, input [64*16-1:0] t);
    reg [63:0] last;
    reg [63:0] idle;
    begin
        last = e[L_CONNTRACK_LAST_SEEN_LSB +: 64];
        idle = (now > last) ? now - last : 64'd0;
        ct_expired = idle >= ct_timeout(e, t);
    end
endfunction

// ---------------------------------------------------------------------------
// the ways as the packet must see them
// ---------------------------------------------------------------------------
// the write each way received in the clock the packet in stage 23 was read
reg [3:0] ctf_v_reg = 0;
reg [4*CT_ADDR_W-1:0] ctf_a_reg;
reg [4*L_CONNTRACK_W-1:0] ctf_d_reg;

assign wr_addr = {addr_hi, addr_hi, addr_lo, addr_lo};

// RAM data, or the write it could not see
reg [4*L_CONNTRACK_W-1:0] ct_view;
integer fw;
always @* begin
    for (fw = 0; fw < 4; fw = fw + 1) begin
        if (ctf_v_reg[fw] && ctf_a_reg[fw*CT_ADDR_W +: CT_ADDR_W] == wr_addr[fw*CT_ADDR_W +: CT_ADDR_W]) begin
            ct_view[fw*L_CONNTRACK_W +: L_CONNTRACK_W] = ctf_d_reg[fw*L_CONNTRACK_W +: L_CONNTRACK_W];
        end else begin
            ct_view[fw*L_CONNTRACK_W +: L_CONNTRACK_W] = ct_rd[fw*L_CONNTRACK_W +: L_CONNTRACK_W];
        end
    end
end

// ---------------------------------------------------------------------------
// the search: hit, free way, way to evict, overflow hit
// ---------------------------------------------------------------------------
reg ct_hit;
reg [1:0] ct_hway;
reg [L_CONNTRACK_W-1:0] ct_he;
reg ct_free;
reg [1:0] ct_fway;
reg ct_evict;
reg [1:0] ct_eway;
reg ovf_hit;
reg ovf_orig_lo;
reg [L_CONNTRACK_W-1:0] cw;
reg [L_CT_OVERFLOW_W-1:0] ow;
integer cj;
always @* begin
    ct_hit = 1'b0; ct_hway = 0; ct_he = 0;
    ct_free = 1'b0; ct_fway = 0;
    ct_evict = 1'b0; ct_eway = 0;
    ovf_hit = 1'b0; ovf_orig_lo = 1'b0;
    cw = 0; ow = 0;
    for (cj = 3; cj >= 0; cj = cj - 1) begin
        cw = ct_view[cj*L_CONNTRACK_W +: L_CONNTRACK_W];
        if (cw[L_CONNTRACK_VALID_LSB] && !ct_expired(cw, ts_us, cfg_timeouts)) begin
            if (cw[L_CONNTRACK_KEY_LSB +: 312] == s_phv[F_KEY +: 312]) begin
                ct_hit = 1'b1;
                ct_hway = cj[1:0];
                ct_he = cw;
            end
            if (!cw[L_CONNTRACK_ASSURED_LSB]) begin
                ct_evict = 1'b1;
                ct_eway = cj[1:0];
            end
        end else begin
            ct_free = 1'b1;
            ct_fway = cj[1:0];
        end
        ow = ovf_rd[cj*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W];
        if (ow[L_CT_OVERFLOW_VALID_LSB] && ow[L_CT_OVERFLOW_KEY_LSB +: 312] == s_phv[F_KEY +: 312]) begin
            ovf_hit = 1'b1;
            ovf_orig_lo = ow[L_CT_OVERFLOW_ORIG_LO_LSB];
        end
    end
end

// the hit entry after a re-check (generation updated) and the direction
reg ct_stale, ct_reply, ct_view_orig, ct_re_allow, ct_rechk;
reg [L_CONNTRACK_W-1:0] ent;
always @* begin
    ct_reply = s_phv[F_SRCLO] != ct_he[L_CONNTRACK_ORIG_LO_LSB];
    ct_stale = ct_he[L_CONNTRACK_GEN_LSB +: 16] != cfg_policy_gen;
    // the re-check uses the originator's view of the connection
    ct_view_orig = !ct_reply;
    ct_re_allow = ct_view_orig ? (s_phv[F_PFV] && s_phv[F_PFA]) : (s_phv[F_PRV] && s_phv[F_PRA]);
    ct_rechk = ct_stale && ct_re_allow;
    ent = ct_he;
    if (ct_rechk) begin
        ent[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
    end
end

// ---------------------------------------------------------------------------
// TCP tracking of the hit entry (ztnic_tcp_track: Linux 6.x nf_conntrack_tcp_packet
// and tcp_in_window, datapath.md §5) and the entry the hit becomes (ne).
// outcome: 1 invalid (the entry is written only when ct_inv_wr), 2 reopen, 3 passes
// without moving the connection, 4 passes and moved it, 5 passes and ends it
// ---------------------------------------------------------------------------
localparam [2:0] O_INV = 3'd1, O_REOPEN = 3'd2, O_MOVED = 3'd4, O_KILL = 3'd5;
wire [5:0] fl = s_phv[F_FLAGS +: 6];
wire [2:0] tt_outcome;
wire tt_inv_write;
wire [3:0] tt_state;
wire tt_assured, tt_replied;
wire [31:0] tt_orig_end;
wire [31:0] tt_orig_maxend;
wire [31:0] tt_orig_maxwin;
wire [31:0] tt_orig_maxack;
wire tt_orig_maxack_set;
wire tt_orig_close_init;
wire [31:0] tt_reply_end;
wire [31:0] tt_reply_maxend;
wire [31:0] tt_reply_maxwin;
wire [31:0] tt_reply_maxack;
wire tt_reply_maxack_set;
wire tt_reply_close_init;
wire [2:0] tt_last_class;
wire tt_last_reply;
wire [31:0] tt_last_ack;
wire [31:0] tt_last_end;
wire [15:0] tt_last_win;

ztnic_tcp_track tcp_track_inst (
    .reply(ct_reply),
    .flags(fl),
    .seq(s_phv[F_SEQ +: 32]),
    .ack(s_phv[F_ACK +: 32]),
    .paylen(s_phv[F_PAYLEN +: 16]),
    .win(s_phv[F_WIN +: 16]),
    .wscale(cfg_tcp_wscale),
    .state(ent[L_CONNTRACK_STATE_LSB +: 4]),
    .assured(ent[L_CONNTRACK_ASSURED_LSB]),
    .replied(ent[L_CONNTRACK_REPLIED_LSB]),
    .orig_end(ent[L_CONNTRACK_ORIG_END_LSB +: 32]),
    .orig_maxend(ent[L_CONNTRACK_ORIG_MAXEND_LSB +: 32]),
    .orig_maxwin(ent[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32]),
    .orig_maxack(ent[L_CONNTRACK_ORIG_MAXACK_LSB +: 32]),
    .orig_maxack_set(ent[L_CONNTRACK_ORIG_MAXACK_SET_LSB]),
    .orig_close_init(ent[L_CONNTRACK_ORIG_CLOSE_INIT_LSB]),
    .reply_end(ent[L_CONNTRACK_REPLY_END_LSB +: 32]),
    .reply_maxend(ent[L_CONNTRACK_REPLY_MAXEND_LSB +: 32]),
    .reply_maxwin(ent[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32]),
    .reply_maxack(ent[L_CONNTRACK_REPLY_MAXACK_LSB +: 32]),
    .reply_maxack_set(ent[L_CONNTRACK_REPLY_MAXACK_SET_LSB]),
    .reply_close_init(ent[L_CONNTRACK_REPLY_CLOSE_INIT_LSB]),
    .last_class(ent[L_CONNTRACK_LAST_CLASS_LSB +: 3]),
    .last_reply(ent[L_CONNTRACK_LAST_REPLY_LSB]),
    .last_ack(ent[L_CONNTRACK_LAST_ACK_LSB +: 32]),
    .last_end(ent[L_CONNTRACK_LAST_END_LSB +: 32]),
    .last_win(ent[L_CONNTRACK_LAST_WIN_LSB +: 16]),
    .outcome(tt_outcome),
    .inv_write(tt_inv_write),
    .out_state(tt_state),
    .out_assured(tt_assured),
    .out_replied(tt_replied),
    .out_orig_end(tt_orig_end),
    .out_orig_maxend(tt_orig_maxend),
    .out_orig_maxwin(tt_orig_maxwin),
    .out_orig_maxack(tt_orig_maxack),
    .out_orig_maxack_set(tt_orig_maxack_set),
    .out_orig_close_init(tt_orig_close_init),
    .out_reply_end(tt_reply_end),
    .out_reply_maxend(tt_reply_maxend),
    .out_reply_maxwin(tt_reply_maxwin),
    .out_reply_maxack(tt_reply_maxack),
    .out_reply_maxack_set(tt_reply_maxack_set),
    .out_reply_close_init(tt_reply_close_init),
    .out_last_class(tt_last_class),
    .out_last_reply(tt_last_reply),
    .out_last_ack(tt_last_ack),
    .out_last_end(tt_last_end),
    .out_last_win(tt_last_win)
);

reg [2:0] outcome;
reg ct_inv_wr;
reg [L_CONNTRACK_W-1:0] ne;
always @* begin
    ne = ent;
    outcome = O_MOVED;
    ct_inv_wr = 1'b0;
    if (ent[L_CONNTRACK_KIND_LSB +: 2] == CT_KIND_TCP[1:0]) begin
        outcome = tt_outcome;
        ct_inv_wr = tt_inv_write;
        ne[L_CONNTRACK_STATE_LSB +: 4] = tt_state;
        ne[L_CONNTRACK_ASSURED_LSB] = tt_assured;
        ne[L_CONNTRACK_REPLIED_LSB] = tt_replied;
        ne[L_CONNTRACK_ORIG_END_LSB +: 32] = tt_orig_end;
        ne[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = tt_orig_maxend;
        ne[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = tt_orig_maxwin;
        ne[L_CONNTRACK_ORIG_MAXACK_LSB +: 32] = tt_orig_maxack;
        ne[L_CONNTRACK_ORIG_MAXACK_SET_LSB] = tt_orig_maxack_set;
        ne[L_CONNTRACK_ORIG_CLOSE_INIT_LSB] = tt_orig_close_init;
        ne[L_CONNTRACK_REPLY_END_LSB +: 32] = tt_reply_end;
        ne[L_CONNTRACK_REPLY_MAXEND_LSB +: 32] = tt_reply_maxend;
        ne[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32] = tt_reply_maxwin;
        ne[L_CONNTRACK_REPLY_MAXACK_LSB +: 32] = tt_reply_maxack;
        ne[L_CONNTRACK_REPLY_MAXACK_SET_LSB] = tt_reply_maxack_set;
        ne[L_CONNTRACK_REPLY_CLOSE_INIT_LSB] = tt_reply_close_init;
        ne[L_CONNTRACK_LAST_CLASS_LSB +: 3] = tt_last_class;
        ne[L_CONNTRACK_LAST_REPLY_LSB] = tt_last_reply;
        ne[L_CONNTRACK_LAST_ACK_LSB +: 32] = tt_last_ack;
        ne[L_CONNTRACK_LAST_END_LSB +: 32] = tt_last_end;
        ne[L_CONNTRACK_LAST_WIN_LSB +: 16] = tt_last_win;
        if (tt_outcome == O_MOVED) begin
            ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
        end
    end else begin
        ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
        if (ct_reply) begin
            ne[L_CONNTRACK_REPLIED_LSB] = 1'b1;
            if (ent[L_CONNTRACK_KIND_LSB +: 2] != CT_KIND_ICMP[1:0]) begin
                ne[L_CONNTRACK_ASSURED_LSB] = 1'b1;
            end
        end
    end
end

// ---------------------------------------------------------------------------
// the new entry and the decision
// ---------------------------------------------------------------------------
// the entry a new connection inserts (used when the decide stage inserts)
reg [2:0] k24;
reg [L_CONNTRACK_W-1:0] ins;
always @* begin
    k24 = s_phv[F_KIND +: 3];
    ins = 0;
    ins[L_CONNTRACK_VALID_LSB] = 1'b1;
    ins[L_CONNTRACK_KEY_LSB +: 312] = s_phv[F_KEY +: 312];
    ins[L_CONNTRACK_ORIG_LO_LSB] = s_phv[F_SRCLO];
    ins[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
    ins[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
    case (k24)
        K_TCP: begin
            ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_TCP[1:0];
            ins[L_CONNTRACK_STATE_LSB +: 4] = T_SS;
            ins[L_CONNTRACK_ORIG_END_LSB +: 32] = s_phv[F_SEQ +: 32] + {16'd0, s_phv[F_PAYLEN +: 16]} + 32'd1 + {31'd0, fl[0]};
            ins[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = s_phv[F_SEQ +: 32] + {16'd0, s_phv[F_PAYLEN +: 16]} + 32'd1 + {31'd0, fl[0]};
            ins[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = (s_phv[F_WIN +: 16] == 0) ? 32'd1 : {16'd0, s_phv[F_WIN +: 16]};
        end
        K_UDP: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_UDP[1:0];
        K_ECHO_REQ: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_ICMP[1:0];
        default: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_OTHER[1:0];
    endcase
end

// the decision: verdict, ct_state, rule, event, and which writes to make
reg go_new, fr24;
reg [1:0] fw24, iw;
reg del24, upd24, ins24, upd_ne;
reg [L_CONNTRACK_W-1:0] upd_d;
reg [7:0] why24;
reg [10:0] s24_vd;
reg s24_ctv, s24_rulev, s24_evp;
reg [5:0] s24_cts;
reg [31:0] s24_rule;
reg [15:0] s24_rslot;
reg [127:0] s24_ev;
always @* begin
    s24_vd = {s_phv[F_DONE], s_phv[F_VK +: 2], s_phv[F_WHY +: 8]};
    s24_ctv = s_phv[F_CTV];
    s24_cts = s_phv[F_CTS +: 6];
    s24_rulev = s_phv[F_RULEV];
    s24_rule = s_phv[F_RULE +: 32];
    s24_rslot = s_phv[F_RSLOT +: 16];
    s24_evp = s_phv[F_EVP];
    s24_ev = s_phv[F_EV +: 128];
    del24 = 1'b0;
    upd24 = 1'b0;
    ins24 = 1'b0;
    upd_ne = 1'b0;
    go_new = 1'b0;
    fr24 = ct_free;
    fw24 = ct_fway;
    iw = 0;
    why24 = 0;
    if (s_valid && !s_phv[F_DONE]) begin
        s24_ctv = 1'b1;
        if (k24 == K_ICMP_OTHER || (k24 == K_TCP && !flags_valid(fl))) begin
            s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
            s24_vd = vd(1'b0, DROP_CT_INVALID);
        end else if (k24 == K_ICMP_ERR) begin
            // Linux: an error about a flow must go to the flow's own address, the
            // source of the quoted packet
            if ((ct_hit || ovf_hit) && s_phv[F_DST +: 128] == s_phv[F_ESRC +: 128]) begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b1, 1'b0, 1'b0);
            end else begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                s24_vd = vd(1'b0, DROP_CT_INVALID);
            end
        end else if (ct_hit && ct_stale && !ct_re_allow && outcome != O_REOPEN) begin
            // revoked by a policy change: delete the entry, drop with the policy's reason
            // (a SYN reopening a closed connection is not: only the new one is checked)
            s24_rulev = ct_view_orig ? s_phv[F_PFV] : s_phv[F_PRV];
            s24_rule = ct_view_orig ? s_phv[F_PFID +: 32] : s_phv[F_PRID +: 32];
            s24_rslot = ct_view_orig ? s_phv[F_PFSLOT +: 16] : s_phv[F_PRSLOT +: 16];
            del24 = 1'b1;
            s24_cts = ct_bits(!ct_he[L_CONNTRACK_REPLIED_LSB] && !ct_reply, ct_he[L_CONNTRACK_REPLIED_LSB],
                              1'b0, ct_reply, 1'b0);
            why24 = s24_rulev ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY;
            s24_vd = vd(1'b0, why24);
            s24_evp = 1'b1;
            s24_ev = event_rec(EVENT_KIND_CT_DELETE[7:0], why24, s_phv[F_PORT +: 16],
                               s_phv[F_SCTX +: 24], 8'd0, s_phv[F_H32 +: 32], ts_us[31:0]);
        end else if (ct_hit) begin
            if (ct_rechk) begin
                s24_rulev = ct_view_orig ? s_phv[F_PFV] : s_phv[F_PRV];
                s24_rule = ct_view_orig ? s_phv[F_PFID +: 32] : s_phv[F_PRID +: 32];
                s24_rslot = ct_view_orig ? s_phv[F_PFSLOT +: 16] : s_phv[F_PRSLOT +: 16];
            end
            case (outcome)
                O_INV: begin
                    // invalid: a re-check's generation update is kept, and the window
                    // data a failing segment set up (ct_inv_wr, as Linux does)
                    if (ct_rechk || ct_inv_wr) begin
                        upd24 = 1'b1;
                        upd_ne = ct_inv_wr;
                    end
                    s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                    s24_vd = vd(1'b0, DROP_CT_INVALID);
                end
                O_KILL: begin
                    // a RST before any reply: passes, and the entry is deleted
                    del24 = 1'b1;
                    s24_cts = ct_bits(!ct_reply, 1'b0, 1'b0, ct_reply, 1'b0);
                end
                O_REOPEN: begin
                    // a SYN reopening TIME_WAIT / CLOSE: delete, then as a new connection
                    del24 = 1'b1;
                    if (!fr24 || ct_hway < fw24) begin
                        fr24 = 1'b1;
                        fw24 = ct_hway;
                    end
                    go_new = 1'b1;
                end
                default: begin
                    // passes: the entry as the tracker left it (last segment, replied,
                    // and for a moved connection state, windows and timer)
                    upd24 = 1'b1;
                    upd_ne = 1'b1;
                    s24_cts = ct_bits(!ne[L_CONNTRACK_REPLIED_LSB] && !ct_reply, ne[L_CONNTRACK_REPLIED_LSB],
                                      1'b0, ct_reply, 1'b0);
                    if (!ne[L_CONNTRACK_REPLIED_LSB] && !ct_reply && !ct_rechk) begin
                        // still `new`: the policy decides this packet too
                        s24_rulev = s_phv[F_PFV];
                        s24_rule = s_phv[F_PFID +: 32];
                        s24_rslot = s_phv[F_PFSLOT +: 16];
                        if (!(s_phv[F_PFV] && s_phv[F_PFA])) begin
                            s24_vd = vd(1'b0, s_phv[F_PFV] ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY);
                        end
                    end
                end
            endcase
        end else if (ovf_hit) begin
            s24_cts = ct_bits(1'b0, 1'b1, 1'b0, s_phv[F_SRCLO] != ovf_orig_lo, 1'b0);
        end else begin
            go_new = 1'b1;
        end
        if (go_new) begin
            s24_cts = ct_bits(1'b1, 1'b0, 1'b0, 1'b0, 1'b0);
            if ((k24 == K_TCP && flag_class(fl) != C_SYN) || k24 == K_ECHO_REP) begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                s24_vd = vd(1'b0, DROP_CT_INVALID);
            end else begin
                s24_rulev = s_phv[F_PFV];
                s24_rule = s_phv[F_PFID +: 32];
                s24_rslot = s_phv[F_PFSLOT +: 16];
                iw = fr24 ? fw24 : ct_eway;
                if (!(s_phv[F_PFV] && s_phv[F_PFA])) begin
                    s24_vd = vd(1'b0, s_phv[F_PFV] ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY);
                end else if (fr24 || ct_evict) begin
                    ins24 = 1'b1;
                    s24_evp = 1'b1;
                    // the record names the slot: ways 2 and 3 are indexed by the CRC-16,
                    // which the runtime cannot derive from anything else it is told
                    s24_ev = event_rec(EVENT_KIND_CT_NEW[7:0], 8'd0, s_phv[F_PORT +: 16],
                                       s_phv[F_SCTX +: 24], 8'd0,
                                       {{(30 - CT_ADDR_W){1'b0}}, iw, iw[1] ? addr_hi : addr_lo},
                                       ts_us[31:0]);
                end else begin
                    s24_vd = vd(1'b1, PUNT_CT_FULL);
                    s24_evp = 1'b1;
                    s24_ev = event_rec(EVENT_KIND_CT_FULL[7:0], PUNT_CT_FULL, s_phv[F_PORT +: 16],
                                       s_phv[F_SCTX +: 24], 8'd0, s_phv[F_H32 +: 32], ts_us[31:0]);
                end
            end
        end
    end
end

always @* begin
    // an update writes the hit entry as updated (or only re-checked: generation)
    upd_d = upd_ne ? ne : ent;
    m_phv = s_phv;
    m_phv[F_DONE] = s24_vd[10];
    m_phv[F_VK +: 2] = s24_vd[9:8];
    m_phv[F_WHY +: 8] = s24_vd[7:0];
    m_phv[F_CTV] = s24_ctv;
    m_phv[F_CTS +: 6] = s24_cts;
    m_phv[F_RULEV] = s24_rulev;
    m_phv[F_RULE +: 32] = s24_rule;
    m_phv[F_RSLOT +: 16] = s24_rslot;
    m_phv[F_EVP] = s24_evp;
    m_phv[F_EV +: 128] = s24_ev;
end

// the writes of the decide stage, way by way: a delete, an update of the hit entry,
// an insert (an insert into the way just deleted replaces the delete)
integer dw;
always @* begin
    for (dw = 0; dw < 4; dw = dw + 1) begin
        wr_en[dw] = adv && (((del24 || upd24) && ct_hway == dw[1:0]) || (ins24 && iw == dw[1:0]));
        if (ins24 && iw == dw[1:0]) begin
            wr_data[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = ins;
        end else if (upd24 && ct_hway == dw[1:0]) begin
            wr_data[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = upd_d;
        end else begin
            wr_data[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = 0;
        end
    end
end

always @(posedge clk) begin
    if (adv) begin
        ctf_v_reg <= wr_en;
        ctf_a_reg <= wr_addr;
        ctf_d_reg <= wr_data;
    end
    if (rst) begin
        ctf_v_reg <= 0;
    end
end

endmodule

`resetall
