// RX checks, the verdict pipeline's stage 22 (docs/datapath.md §4, ztnic_engine.v):
// the tag MAC, the local endpoint and the sender's context of a packet from the
// network, in the model's order.
//
// For an RX packet (any port class but vport) not yet decided: a Geneve tag whose MAC
// is not the one computed (SipHash, stages 14-21; with cfg_auth only) is dropped
// (tag_bad_mac); then a local_ep miss flagged by classify is dropped (no_local_ep);
// then, for a tagged packet (Geneve or VXLAN-GBP), the ctx_epoch compare of stage 14
// must have found the tag's context, else the packet is punted (ctx_unknown, with an
// event record), and a Geneve tag must carry the context's current epoch, else it is
// punted (ctx_stale_epoch, with an event record). The context's counter counts every
// tagged packet that found its context, a stale one too.
//
// A packet already decided, or a TX one, passes unchanged (verdict, event, count).
// Combinational: the engine registers the PHV after it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_rx_check (
    // time in microseconds (low 32 bits) for the event record
    input  wire [31:0]  ts,
    // tag authentication on, and the tag MAC computed for the packet
    input  wire         auth,
    input  wire [31:0]  mac,

    // {done, verdict kind, reason} of the packet so far
    input  wire [10:0]  s_vd,
    // an event so far: pending, record
    input  wire         s_evp,
    input  wire [127:0] s_ev,
    // counted in the context counter so far
    input  wire         s_cecnt,
    // port class (PORT_CLASS_*) and tunnel (TUN_*)
    input  wire [1:0]   cls,
    input  wire [1:0]   tun,
    // effective ingress port
    input  wire [15:0]  port,
    // the source context (classify), the tag's epoch and MAC
    input  wire [23:0]  sctx,
    input  wire [7:0]   tepoch,
    input  wire [31:0]  tmac,
    // local_ep missed (classify)
    input  wire         lepmiss,
    // the ctx_epoch compare (stage 14): hit, the entry's epoch
    input  wire         cehit,
    input  wire [7:0]   ceepoch,

    // the fields the RX checks write
    output reg  [10:0]  m_vd,
    output reg          m_evp,
    output reg  [127:0] m_ev,
    output reg          m_cecnt
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

wire is_tagged = tun == TUN_GENEVE || tun == TUN_GBP;

always @* begin
    m_vd = s_vd;
    m_evp = s_evp;
    m_ev = s_ev;
    m_cecnt = s_cecnt;
    if (!s_vd[10] && cls != PORT_CLASS_VPORT[1:0]) begin
        if (tun == TUN_GENEVE && auth && mac != tmac) begin
            m_vd = vd(1'b0, DROP_TAG_BAD_MAC);
        end else if (lepmiss) begin
            m_vd = vd(1'b0, DROP_NO_LOCAL_EP);
        end else if (is_tagged) begin
            if (!cehit) begin
                m_vd = vd(1'b1, PUNT_CTX_UNKNOWN);
                m_evp = 1'b1;
                m_ev = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, port,
                                 sctx, tepoch, 32'd0, ts);
            end else if (tun == TUN_GENEVE && tepoch != ceepoch) begin
                // the context's entry counts every packet that finds it, a stale one too
                m_cecnt = 1'b1;
                m_vd = vd(1'b1, PUNT_CTX_STALE_EPOCH);
                m_evp = 1'b1;
                m_ev = event_rec(EVENT_KIND_CTX_STALE_EPOCH[7:0], PUNT_CTX_STALE_EPOCH, port,
                                 sctx, tepoch, 32'd0, ts);
            end else begin
                m_cecnt = 1'b1;
            end
        end
    end
end

endmodule

`resetall
