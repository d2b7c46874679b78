// TCP connection tracking of one segment on a live conntrack entry, as Linux 6.x
// nf_conntrack_tcp_packet and tcp_in_window do it (docs/datapath.md §5, the model's
// `conntrack::tcp_packet`): the transition table, the reopen / ignore / SYN/ACK resync
// rules, the RST rules (highest ACK, challenge ACK) and the window check. Purely
// combinational: the conntrack decide stage of ztnic_engine feeds it the entry it read
// (after forwarding) and writes back the entry it returns in the same clock.
//
// The entry's TCP data is given per direction (orig_*: the originator, reply_*: the
// responder) and the last-segment record (last_*); the out_* ports are the same data
// after the segment. outcome: 1 invalid (the entry changes only if inv_write: the
// window check failed after the sender's data was set up, as Linux keeps it), 2 a SYN
// reopening a closed connection, 3 passes without moving the connection (state and
// timer unchanged, out_* hold the last segment / window notes), 4 passes and moved the
// connection (out_state, timer), 5 passes and ends the connection (delete the entry).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_tcp_track (
    // the segment: it comes from the responder; TCP flags URG ACK PSH RST SYN FIN
    input  wire        reply,
    input  wire [5:0]  flags,
    input  wire [31:0] seq,
    input  wire [31:0] ack,
    input  wire [15:0] paylen,
    input  wire [15:0] win,
    // window scale applied to windows of segments without SYN (config.tcp_wscale)
    input  wire [4:0]  wscale,

    // the entry
    input  wire [3:0]  state,
    input  wire        assured,
    input  wire        replied,
    input  wire [31:0] orig_end,
    input  wire [31:0] orig_maxend,
    input  wire [31:0] orig_maxwin,
    input  wire [31:0] orig_maxack,
    input  wire        orig_maxack_set,
    input  wire        orig_close_init,
    input  wire [31:0] reply_end,
    input  wire [31:0] reply_maxend,
    input  wire [31:0] reply_maxwin,
    input  wire [31:0] reply_maxack,
    input  wire        reply_maxack_set,
    input  wire        reply_close_init,
    input  wire [2:0]  last_class,
    input  wire        last_reply,
    input  wire [31:0] last_ack,
    input  wire [31:0] last_end,
    input  wire [15:0] last_win,

    // what the segment does and the entry it leaves
    output reg  [2:0]  outcome,
    output reg         inv_write,
    output reg  [3:0]  out_state,
    output reg         out_assured,
    output reg         out_replied,
    output reg  [31:0] out_orig_end,
    output reg  [31:0] out_orig_maxend,
    output reg  [31:0] out_orig_maxwin,
    output reg  [31:0] out_orig_maxack,
    output reg         out_orig_maxack_set,
    output reg         out_orig_close_init,
    output reg  [31:0] out_reply_end,
    output reg  [31:0] out_reply_maxend,
    output reg  [31:0] out_reply_maxwin,
    output reg  [31:0] out_reply_maxack,
    output reg         out_reply_maxack_set,
    output reg         out_reply_close_init,
    output reg  [2:0]  out_last_class,
    output reg         out_last_reply,
    output reg  [31:0] out_last_ack,
    output reg  [31:0] out_last_end,
    output reg  [15:0] out_last_win
);

// outcomes
localparam [2:0] O_INV = 3'd1, O_REOPEN = 3'd2, O_PASS = 3'd3, O_MOVED = 3'd4, O_KILL = 3'd5;
// window verdicts (Linux nf_ct_tcp_action)
localparam [1:0] WV_ACCEPT = 2'd0, WV_IGNORE = 2'd1, WV_INVALID = 2'd2;
// Linux tcp_conntracks[dir][class][state]: 0..9 a state, 10 invalid, 11 ignore
localparam [3:0] T_IV = 4'd10, T_IG = 4'd11;
localparam [3:0] T_SS = 4'd1, T_SR = 4'd2, T_ES = 4'd3, T_FW = 4'd4;
localparam [3:0] T_CW = 4'd5, T_LA = 4'd6, T_TW = 4'd7, T_CL = 4'd8, T_S2 = 4'd9;
// flag classes (5 is none)
localparam [2:0] C_SYN = 3'd0, C_SYNACK = 3'd1, C_FIN = 3'd2, C_ACK = 3'd3, C_RST = 3'd4;

/* verilator lint_off UNUSEDSIGNAL */
function before32(input [31:0] a, input [31:0] b);
    reg [31:0] d;
    begin
        d = a - b;
        before32 = d[31];
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

function [31:0] max32(input [31:0] a, input [31:0] b);
    max32 = (a > b) ? a : b;
endfunction

function [31:0] max1(input [31:0] a);
    max1 = (a == 0) ? 32'd1 : a;
endfunction

function [3:0] tcp_next(input dir, input [2:0] cls, input [3:0] st);
    reg [39:0] row;
    begin
        // rows list the states NO SS SR ES FW CW LA TW CL S2 from the left
        case ({dir, cls})
            4'b0_000: row = {T_SS, T_SS, T_IG, T_IG, T_IG, T_IG, T_IG, T_SS, T_SS, T_S2};
            4'b0_001: row = {T_IV, T_IV, T_SR, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_SR};
            4'b0_010: row = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV};
            4'b0_011: row = {T_ES, T_IV, T_ES, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IV};
            4'b0_100: row = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL};
            4'b1_000: row = {T_IV, T_S2, T_IV, T_IV, T_IV, T_IV, T_IV, T_SS, T_IV, T_S2};
            4'b1_001: row = {T_IV, T_SR, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_SR};
            4'b1_010: row = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV};
            4'b1_011: row = {T_IV, T_IG, T_SR, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IG};
            4'b1_100: row = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL};
            default: row = {10{T_IV}};
        endcase
        tcp_next = (st <= 4'd9) ? row[4*(9-st) +: 4] : T_IV;
    end
endfunction

/* verilator lint_off UNUSEDSIGNAL */
// flag class (flags: URG ACK PSH RST SYN FIN)
function [2:0] flag_class(input [5:0] f);
    if (f[2]) flag_class = C_RST;
    else if (f[1]) flag_class = f[4] ? C_SYNACK : C_SYN;
    else if (f[0]) flag_class = C_FIN;
    else if (f[4]) flag_class = C_ACK;
    else flag_class = 3'd5;
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// the sender's (s_) and receiver's (r_) window data and the last segment (l_)
reg [31:0] s_end, s_maxend, s_maxwin, s_maxack, r_end, r_maxend, r_maxwin, r_maxack;
reg s_mset, s_ci, r_mset, r_ci;
reg [2:0] l_cls;
reg l_rpl;
reg [31:0] l_ack, l_end;
reg [15:0] l_win;
reg [31:0] t_seq, t_ack, t_end, t_win, t_end0, mawin, overshot, wedge;
reg [2:0] cls;
reg [3:0] tnext, ost;
reg skip_w, keep_c, is_est, exact, wv_done;
reg [1:0] wv;

always @* begin
    cls = flag_class(flags);
    if (!reply) begin
        s_end = orig_end; s_maxend = orig_maxend; s_maxwin = orig_maxwin;
        s_maxack = orig_maxack; s_mset = orig_maxack_set; s_ci = orig_close_init;
        r_end = reply_end; r_maxend = reply_maxend; r_maxwin = reply_maxwin;
        r_maxack = reply_maxack; r_mset = reply_maxack_set; r_ci = reply_close_init;
    end else begin
        s_end = reply_end; s_maxend = reply_maxend; s_maxwin = reply_maxwin;
        s_maxack = reply_maxack; s_mset = reply_maxack_set; s_ci = reply_close_init;
        r_end = orig_end; r_maxend = orig_maxend; r_maxwin = orig_maxwin;
        r_maxack = orig_maxack; r_mset = orig_maxack_set; r_ci = orig_close_init;
    end
    l_cls = last_class;
    l_rpl = last_reply;
    l_ack = last_ack;
    l_end = last_end;
    l_win = last_win;
    t_end0 = seq + {16'd0, paylen} + {31'd0, flags[1]} + {31'd0, flags[0]};
    t_seq = seq;
    t_ack = ack;
    t_end = t_end0;
    t_win = {16'd0, win};
    mawin = 0;
    overshot = 0;
    wedge = 0;
    ost = state;
    skip_w = 1'b0;
    keep_c = 1'b0;
    is_est = 1'b0;
    exact = 1'b0;
    wv_done = 1'b0;
    wv = WV_ACCEPT;
    inv_write = 1'b0;
    outcome = 0;
    out_assured = assured;
    out_replied = replied;

    tnext = tcp_next(reply, cls, state);
    if (tnext == T_SS && (state == T_TW || state == T_CL)) begin
        // reopen only a connection closed by a FIN or aborted by this side's RST
        if (s_ci || r_ci || (l_rpl == reply && l_cls == C_RST)) begin
            outcome = O_REOPEN;
        end else begin
            tnext = T_IG;
        end
    end
    if (outcome == 0) begin
        if (tnext == T_IV) begin
            outcome = O_INV;
        end else if (tnext == T_IG) begin
            if (cls == C_SYNACK && l_cls == C_SYN && l_rpl != reply && ack == l_end) begin
                // a SYN/ACK answering a SYN that was ignored: resync from that SYN,
                // whose sender is this segment's receiver
                ost = T_SS;
                tnext = T_SR;
                r_end = l_end;
                r_maxend = l_end;
                r_maxwin = max1({16'd0, l_win});
                r_maxack = 0;
                r_mset = 1'b0;
                r_ci = 1'b0;
                s_end = 0;
                s_maxend = 0;
                s_maxwin = 0;
                s_maxack = 0;
                s_mset = 1'b0;
                s_ci = 1'b0;
            end else begin
                l_cls = cls;
                l_rpl = reply;
                l_end = t_end0;
                l_win = win;
                if (state == T_SS && cls == C_ACK && reply) begin
                    // a possible challenge ACK answering the SYN
                    l_ack = ack;
                end
                outcome = O_PASS;
            end
        end else if (tnext == T_CL && cls == C_RST) begin
            if (state == T_FW || state == T_LA || state == T_TW || state == T_CL || state == T_CW) begin
                // already closing: no sequence check
                skip_w = 1'b1;
            end else if (r_mset && l_cls != C_SYN) begin
                is_est = state == T_ES && assured;
                if (seq != 0 || is_est) begin
                    exact = seq == r_maxack || (l_cls == C_ACK && l_rpl == reply && seq == l_end);
                    if (before32(seq, r_maxack)) begin
                        // below what the peer acknowledged: a blind RST
                        outcome = O_INV;
                    end else if (is_est && !exact) begin
                        // inexact but in the window: kept for the challenge ACK
                        keep_c = 1'b1;
                    end
                end
            end
            if (!skip_w) begin
                if (((replied && l_cls == C_SYN) || (!assured && l_cls == C_ACK)) && ack == l_end) begin
                    // a RST to a SYN or ACK that was let through unchecked
                    skip_w = 1'b1;
                end else if (state == T_SS && l_cls == C_ACK && l_rpl && seq == l_ack) begin
                    // a RST answering a challenge ACK let through earlier
                    skip_w = 1'b1;
                end
            end
            if (keep_c) begin
                tnext = state;
            end
        end
    end

    // the window check (tcp_in_window) in state ost
    if (outcome == 0 && !skip_w) begin
        if (s_maxwin == 0) begin
            if (flags[1]) begin
                // a SYN/ACK answering a SYN, or the responder's SYN of a simultaneous open
                s_end = t_end;
                s_maxend = t_end;
                s_maxwin = max1(t_win);
                wv_done = !flags[4];
            end else begin
                // picked up mid-stream in this direction
                s_end = t_end;
                s_maxwin = max1(t_win << wscale);
                s_maxend = t_end + s_maxwin;
                if (r_maxwin == 0) begin
                    r_end = t_ack;
                    r_maxend = t_ack;
                end else if (t_ack == r_end + 32'd1) begin
                    r_end = r_end + 32'd1;
                end
            end
        end else if (flags[1] && before32(s_end, t_end) && (ost == T_SS || ost == T_SR)) begin
            // a reinitialised TCP only has to use higher sequence numbers
            s_end = t_end;
            s_maxend = t_end;
            s_maxwin = max1(t_win);
            wv_done = reply && !flags[4];
        end
        if (!wv_done) begin
            if (!flags[4] || (flags[2] && t_ack == 0)) begin
                t_ack = r_end;
            end
            if (flags[2] && t_seq == 0 && ost == T_SS) begin
                // a RST answering a SYN
                t_seq = s_end;
                t_end = s_end;
            end
            mawin = max32(s_maxwin, 32'd66000);
            if (!before32(t_seq, s_maxend + 32'd1)) begin
                overshot = t_end - s_maxend + 32'd1;
                if (r_maxwin != 0 && before32(s_end - r_maxwin - 32'd1, t_end)
                        && before32(r_end - mawin - 32'd1, t_ack)
                        && overshot <= r_maxwin && before32(t_ack, r_end + 32'd1)) begin
                    // a few bytes past the window: passes, its end noted
                    s_end = t_end;
                    wv = WV_IGNORE;
                end else begin
                    wv = WV_INVALID;
                end
            end else if (!before32(t_ack, r_end + 32'd1)) begin
                // ACK of data not seen yet
                wv = WV_INVALID;
            end else if (r_maxwin != 0 && !before32(s_end - r_maxwin - 32'd1, t_end)) begin
                // already acknowledged data retransmitted
                wv = WV_IGNORE;
            end else if (!before32(r_end - mawin - 32'd1, t_ack)) begin
                // an overly delayed ACK
                wv = WV_IGNORE;
            end else begin
                if (!flags[1]) begin
                    t_win = t_win << wscale;
                end
                s_maxwin = max32(s_maxwin, t_win);
                if (before32(s_end, t_end)) begin
                    s_end = t_end;
                end
                if (flags[4]) begin
                    if (!s_mset) begin
                        s_maxack = t_ack;
                        s_mset = 1'b1;
                    end else if (before32(s_maxack, t_ack)) begin
                        s_maxack = t_ack;
                    end
                end
                if (r_maxwin != 0 && before32(s_maxend, t_end)) begin
                    r_maxwin = r_maxwin + (t_end - s_maxend);
                end
                wedge = t_ack + t_win;
                if (before32(r_maxend - 32'd1, wedge)) begin
                    r_maxend = wedge + {31'd0, t_win == 0};
                end
            end
        end
        if (wv == WV_IGNORE) begin
            outcome = O_PASS;
        end else if (wv == WV_INVALID) begin
            if (assured && (cls == C_RST || cls == C_FIN)
                    && !(l_rpl != reply && (l_cls == C_FIN || l_cls == C_RST))) begin
                l_cls = cls;
                l_rpl = reply;
            end
            // Linux keeps the sender's data set up by the failing segment
            inv_write = 1'b1;
            outcome = O_INV;
        end
    end
    if (outcome == 0) begin
        l_cls = cls;
        l_rpl = reply;
        if (ost != tnext && tnext == T_FW) begin
            s_ci = 1'b1;
        end
        if (!replied && cls == C_RST) begin
            // the only answer was a RST: nothing was established
            outcome = O_KILL;
        end else begin
            outcome = O_MOVED;
        end
    end

    out_state = (outcome == O_MOVED || outcome == O_KILL) ? tnext : state;
    if (outcome == O_PASS || outcome == O_MOVED) begin
        out_replied = replied | reply;
    end
    if (outcome == O_MOVED && (ost == T_SR || ost == T_ES) && tnext == T_ES) begin
        out_assured = 1'b1;
    end
    if (!reply) begin
        out_orig_end = s_end; out_orig_maxend = s_maxend; out_orig_maxwin = s_maxwin;
        out_orig_maxack = s_maxack; out_orig_maxack_set = s_mset; out_orig_close_init = s_ci;
        out_reply_end = r_end; out_reply_maxend = r_maxend; out_reply_maxwin = r_maxwin;
        out_reply_maxack = r_maxack; out_reply_maxack_set = r_mset; out_reply_close_init = r_ci;
    end else begin
        out_reply_end = s_end; out_reply_maxend = s_maxend; out_reply_maxwin = s_maxwin;
        out_reply_maxack = s_maxack; out_reply_maxack_set = s_mset; out_reply_close_init = s_ci;
        out_orig_end = r_end; out_orig_maxend = r_maxend; out_orig_maxwin = r_maxwin;
        out_orig_maxack = r_maxack; out_orig_maxack_set = r_mset; out_orig_close_init = r_ci;
    end
    out_last_class = l_cls;
    out_last_reply = l_rpl;
    out_last_ack = l_ack;
    out_last_end = l_end;
    out_last_win = l_win;
end

endmodule

`resetall
