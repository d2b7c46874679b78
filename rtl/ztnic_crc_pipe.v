// Pipelined CRC (reflected, any polynomial) over a byte string given as a big-endian
// vector (byte 0 in the most significant bits), `crc` valid one clock after `data`
// (when `en` was high). Used for the conntrack and table hashes: CRC-32/IEEE (bmv2
// crc32) and CRC-16/ARC (bmv2 crc16).
//
// A CRC is linear: every output bit is the XOR of a fixed set of input bits and a
// constant (the initial value's contribution and the final xor). The sets are computed
// at elaboration (`crc_masks`, the CRC run over symbolic bits), so the logic is a
// balanced XOR tree per output bit instead of a byte-serial chain: the input is cut into
// chunks of CHUNK bits, each chunk's share of every output bit is XORed and registered
// (CHUNK = 36: two LUT6 levels), and the output XORs the registered shares (at most
// ceil(8*BYTES/CHUNK) of them: two levels for up to 36 shares, 1,296 input bits).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_crc_pipe #(
    // Length of the input in bytes
    parameter BYTES = 39,
    // Input bits per registered share (6: one LUT level, 36: two, 216: three)
    parameter CHUNK = 36,
    // CRC width: 32 or 16
    parameter W = 32,
    // Reflected polynomial, initial value and final xor
    parameter [W-1:0] POLY = 32'hedb88320,
    parameter [W-1:0] INIT = 32'hffffffff,
    parameter [W-1:0] XOROUT = 32'hffffffff
) (
    input  wire               clk,
    input  wire               en,
    input  wire [8*BYTES-1:0] data,
    output wire [W-1:0]       crc
);

localparam N = 8 * BYTES;
// shares per output bit, and the input padded to whole chunks
localparam G = (N + CHUNK - 1) / CHUNK;
localparam NP = G * CHUNK;

initial begin
    if (BYTES < 1 || BYTES > 512) begin
        $error("ztnic_crc_pipe: BYTES must be in 1..512");
        $finish;
    end
    if (CHUNK < 2 || CHUNK > 216) begin
        $error("ztnic_crc_pipe: CHUNK must be in 2..216");
        $finish;
    end
    if (W != 32 && W != 16) begin
        $error("ztnic_crc_pipe: W must be 32 or 16");
        $finish;
    end
end

// Row k (bits [k*NP +: NP]): the input bits whose XOR is output bit k's linear part.
// The CRC register is run over symbolic input bits: each register bit holds the set of
// input bits it is the XOR of.
function [W*NP-1:0] crc_masks(input [W-1:0] poly);
    integer i, t, j;
    reg [W*NP-1:0] c;
    reg [NP-1:0] low;
    begin
        c = 0;
        for (i = 0; i < BYTES; i = i + 1) begin
            // byte i (data[8*(BYTES-1-i) +: 8]) is xored into the register's low byte
            for (t = 0; t < 8; t = t + 1) begin
                c[t*NP + 8*(BYTES-1-i) + t] = ~c[t*NP + 8*(BYTES-1-i) + t];
            end
            // eight reflected shifts: bit j takes bit j+1, and bit 0 where POLY[j] is set
            for (t = 0; t < 8; t = t + 1) begin
                low = c[0 +: NP];
                for (j = 0; j < W; j = j + 1) begin
                    c[j*NP +: NP] = (j + 1 < W ? c[(j+1)*NP +: NP] : {NP{1'b0}})
                        ^ (poly[j] ? low : {NP{1'b0}});
                end
            end
        end
        crc_masks = c;
    end
endfunction

// The CRC of all-zero input from INIT: the constant part of every output bit
function [W-1:0] crc_zero(input [W-1:0] init);
    integer i;
    reg [W-1:0] c;
    begin
        c = init;
        for (i = 0; i < 8 * BYTES; i = i + 1) begin
            c = c[0] ? ((c >> 1) ^ POLY) : (c >> 1);
        end
        crc_zero = c;
    end
endfunction

localparam [W*NP-1:0] MASKS = crc_masks(POLY);
localparam [W-1:0] CONST = crc_zero(INIT) ^ XOROUT;

wire [NP-1:0] data_pad = {{(NP-N){1'b0}}, data};
reg [W*G-1:0] share_reg = 0;

genvar k, g;
generate
    for (k = 0; k < W; k = k + 1) begin : out_bit
        for (g = 0; g < G; g = g + 1) begin : share
            always @(posedge clk) begin
                if (en) begin
                    share_reg[k*G + g] <= ^(data_pad[g*CHUNK +: CHUNK] & MASKS[k*NP + g*CHUNK +: CHUNK]);
                end
            end
        end
        assign crc[k] = ^share_reg[k*G +: G] ^ CONST[k];
    end
endgenerate

endmodule

`resetall
