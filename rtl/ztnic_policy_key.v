// Decomposed policy keys, the verdict pipeline's stage 13 (docs/datapath.md §6,
// ztnic_engine.v): the 8 keys the policy looks up for a connection, in both views,
// and their buckets.
//
// A rule is stored under its decomposed key (regmap `policy`, the driver's
// policy_key): flags (bit 0 src any, bit 1 dst any, bit 2 proto any) ‖ src context
// (24 bits) ‖ dst context (24 bits) ‖ proto, the fields of an `any` part zero, as a
// big-endian 64-bit value. Every rule that can match a connection is under one of
// the 8 variants of the connection's own (src, dst, proto): variant v is the key of
// flags v, so the policy reads all 8 at once. The original view is (sctx, dctx); the
// reply view swaps the contexts (the policy of a reply is that of the reversed
// connection). Variant v's bucket is the low POLICY_LOG2 bits of the CRC-32 (IEEE) of
// its 8 key bytes.
//
// Combinational: the engine reads the policy RAMs at the buckets and registers the
// keys and buckets for the compare a stage later.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_policy_key #(
    // log2 of the buckets per way of each of the 8 key variants
    parameter POLICY_LOG2 = 6
) (
    // the connection: source and destination context, protocol
    input  wire [23:0]              sctx,
    input  wire [23:0]              dctx,
    input  wire [7:0]               proto,

    // variant v's key at [64v +: 64] and bucket at [v*POLICY_LOG2 +: POLICY_LOG2]:
    // the original view (sctx to dctx) and the reply view (dctx to sctx)
    output reg  [8*64-1:0]          m_key_f,
    output reg  [8*64-1:0]          m_key_r,
    output reg  [8*POLICY_LOG2-1:0] m_bucket_f,
    output reg  [8*POLICY_LOG2-1:0] m_bucket_r
);

initial begin
    if (POLICY_LOG2 < 1 || POLICY_LOG2 > 32) begin
        $error("ztnic_policy_key: POLICY_LOG2 must be in 1..32 (buckets are CRC-32 bits)");
        $finish;
    end
end

// combinational CRC-32/IEEE of an 8-byte key, big-endian vector
function [31:0] crc32_8(input [63:0] d);
    integer i, j;
    reg [31:0] c;
    begin
        c = 32'hffffffff;
        for (i = 0; i < 8; i = i + 1) begin
            c = c ^ {24'd0, d[8*(7-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ 32'hedb88320) : (c >> 1);
            end
        end
        crc32_8 = ~c;
    end
endfunction

// decomposed policy key of variant v: bit0 src any, bit1 dst any, bit2 proto any
function [63:0] pol_key(input [2:0] v, input [23:0] s, input [23:0] d, input [7:0] p);
    pol_key = {5'd0, v, v[0] ? 24'd0 : s, v[1] ? 24'd0 : d, v[2] ? 8'd0 : p};
endfunction

/* verilator lint_off UNUSEDSIGNAL */
// the bucket is the low bits of the hash
reg [31:0] h_f, h_r;
/* verilator lint_on UNUSEDSIGNAL */
integer vi;
always @* begin
    h_f = 0;
    h_r = 0;
    for (vi = 0; vi < 8; vi = vi + 1) begin
        m_key_f[64*vi +: 64] = pol_key(vi[2:0], sctx, dctx, proto);
        m_key_r[64*vi +: 64] = pol_key(vi[2:0], dctx, sctx, proto);
        h_f = crc32_8(m_key_f[64*vi +: 64]);
        h_r = crc32_8(m_key_r[64*vi +: 64]);
        m_bucket_f[vi*POLICY_LOG2 +: POLICY_LOG2] = h_f[POLICY_LOG2-1:0];
        m_bucket_r[vi*POLICY_LOG2 +: POLICY_LOG2] = h_r[POLICY_LOG2-1:0];
    end
end

endmodule

`resetall
