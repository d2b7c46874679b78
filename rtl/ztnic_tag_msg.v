// The tag MAC's message, the verdict pipeline's stage 14 (docs/datapath.md §3,
// ztnic_engine.v): the bytes ztnic_siphash_pipe hashes under the authentication key.
//
// ctx (3 bytes) ‖ epoch (1) ‖ inner src address ‖ inner dst address ‖ proto (1) ‖
// src port (2) ‖ dst port (2), every field big-endian, the addresses 4 bytes for IPv4
// (17 bytes in all) or 16 for IPv6 (41): the model's tag_mac. A TX packet (from a
// vport) is tagged with its source context and that context's current epoch (the
// ctx_epoch entry stage 14 found); an RX packet's tag is checked against the context
// and epoch it carries. The ports are the parsed TCP/UDP ports (zero for other
// protocols). Byte i of the message is at [8i +: 8]; bytes at or above the length
// are zero.
//
// Combinational: the engine feeds it to the SipHash pipeline.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_tag_msg (
    // port class (PORT_CLASS_*): a vport's packets are tagged, the others checked
    input  wire [1:0]   cls,
    // TX: the source context and its epoch (ctx_epoch)
    input  wire [23:0]  sctx,
    input  wire [7:0]   ce_epoch,
    // RX: the context and epoch of the tag
    input  wire [23:0]  tctx,
    input  wire [7:0]   tepoch,
    // the inner packet: IPv6, addresses (IPv4 in the low 32 bits), proto, ports
    input  wire         v6,
    input  wire [127:0] src,
    input  wire [127:0] dst,
    input  wire [7:0]   proto,
    input  wire [15:0]  sport,
    input  wire [15:0]  dport,

    // the message and its length in bytes (17 or 41)
    output reg  [8*47-1:0] m_msg,
    output reg  [5:0]   m_len
);

`include "ztnic_regmap.vh"

reg [23:0] ctx;
reg [7:0] epoch;
integer si;
always @* begin
    if (cls == PORT_CLASS_VPORT[1:0]) begin
        ctx = sctx;
        epoch = ce_epoch;
    end else begin
        ctx = tctx;
        epoch = tepoch;
    end
    m_msg = 0;
    m_msg[0 +: 8] = ctx[23:16];
    m_msg[8 +: 8] = ctx[15:8];
    m_msg[16 +: 8] = ctx[7:0];
    m_msg[24 +: 8] = epoch;
    if (v6) begin
        for (si = 0; si < 16; si = si + 1) begin
            m_msg[8*(4+si) +: 8] = src[8*(15-si) +: 8];
            m_msg[8*(20+si) +: 8] = dst[8*(15-si) +: 8];
        end
        m_msg[8*36 +: 8] = proto;
        m_msg[8*37 +: 32] = {dport[7:0], dport[15:8], sport[7:0], sport[15:8]};
        m_len = 6'd41;
    end else begin
        for (si = 0; si < 4; si = si + 1) begin
            m_msg[8*(4+si) +: 8] = src[8*(3-si) +: 8];
            m_msg[8*(8+si) +: 8] = dst[8*(3-si) +: 8];
        end
        m_msg[8*12 +: 8] = proto;
        m_msg[8*13 +: 32] = {dport[7:0], dport[15:8], sport[7:0], sport[15:8]};
        m_len = 6'd17;
    end
end

endmodule

`resetall
