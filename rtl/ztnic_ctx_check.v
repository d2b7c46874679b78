// TX context check, the verdict pipeline's stage 14 (docs/datapath.md §4,
// ztnic_engine.v): the sender's context must be one the runtime knows.
//
// The ctx_epoch bucket of the source context (read in stage 13) is compared way by way
// (way 0 wins when several match). For a TX packet (from a vport) not yet decided, a
// miss punts it (ctx_unknown) with a ctx_unknown event record (port, context, time);
// a hit gives the sender's epoch for the tag and counts the packet in the context's
// counter. The compare's result (hit, way, entry) is an output for every packet: the
// engine keeps it in the PHV (the RX check of stage 22 uses it) and the tag MAC uses
// the entry's epoch.
//
// A packet already decided, or an RX one, passes with its verdict unchanged. The
// fields this stage writes are zero in the PHV before it (ztnic_phv.vh, phv_live), so
// an output this stage does not write is zero. Combinational: the engine registers
// the PHV after it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ctx_check (
    // time in microseconds (low 32 bits) for the event record
    input  wire [31:0]                ts,

    // {done, verdict kind, reason} of the packet so far
    input  wire [10:0]                s_vd,
    // port class (PORT_CLASS_*)
    input  wire [1:0]                 cls,
    // effective ingress port
    input  wire [15:0]                port,
    // the source context (classify)
    input  wire [23:0]                sctx,

    // the 4 ways read from ctx_epoch at the source context's bucket
    input  wire [4*L_CTX_EPOCH_W-1:0] ce_rd,

    // the compare: a way holds the source context, which, and its entry (zero: none)
    output reg                        ce_hit,
    output reg  [1:0]                 ce_way,
    output reg  [L_CTX_EPOCH_W-1:0]   ce_entry,

    // the fields the ctx check writes
    output reg  [10:0]                m_vd,
    output reg                        m_evp,
    output reg  [127:0]               m_ev,
    output reg  [7:0]                 m_epoch,
    output reg                        m_cecnt
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

// an event record (regmap: event)
function [127:0] event_rec(input [7:0] kind, input [7:0] why_code, input [15:0] ev_port,
                           input [23:0] ctx, input [7:0] ep, input [31:0] hash, input [31:0] now);
    begin
        event_rec = 0;
        event_rec[L_EVENT_KIND_LSB +: 8] = kind;
        event_rec[L_EVENT_REASON_LSB +: 8] = why_code;
        event_rec[L_EVENT_PORT_LSB +: 16] = ev_port;
        event_rec[L_EVENT_CTX_LSB +: 24] = ctx;
        event_rec[L_EVENT_EPOCH_LSB +: 8] = ep;
        event_rec[L_EVENT_HASH_LSB +: 32] = hash;
        event_rec[L_EVENT_TIME_LSB +: 32] = now;
    end
endfunction

integer ci;
always @* begin
    ce_hit = 1'b0; ce_entry = 0; ce_way = 0;
    for (ci = 3; ci >= 0; ci = ci - 1) begin
        if (ce_rd[ci*L_CTX_EPOCH_W + L_CTX_EPOCH_VALID_LSB]
                && ce_rd[ci*L_CTX_EPOCH_W + L_CTX_EPOCH_CTX_LSB +: 24] == sctx) begin
            ce_hit = 1'b1;
            ce_entry = ce_rd[ci*L_CTX_EPOCH_W +: L_CTX_EPOCH_W];
            ce_way = ci[1:0];
        end
    end
end

always @* begin
    m_vd = s_vd;
    m_evp = 1'b0;
    m_ev = 128'd0;
    m_epoch = 8'd0;
    m_cecnt = 1'b0;
    if (!s_vd[10] && cls == PORT_CLASS_VPORT[1:0]) begin
        if (!ce_hit) begin
            m_vd = vd(1'b1, PUNT_CTX_UNKNOWN);
            m_evp = 1'b1;
            m_ev = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, port, sctx, 8'd0, 32'd0, ts);
        end else begin
            m_epoch = ce_entry[L_CTX_EPOCH_EPOCH_LSB +: 8];
            m_cecnt = 1'b1;
        end
    end
end

endmodule

`resetall
