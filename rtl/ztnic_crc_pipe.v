// Two-stage pipelined CRC (reflected, any polynomial) over a byte string given as a
// big-endian vector (byte 0 in the most significant bits). The first SPLIT bytes are
// folded into a registered partial CRC together with the remaining bytes; the second
// stage folds those combinationally, so `crc` is valid one clock after `data` (when
// `en` was high) with half the logic depth of a single-cycle CRC. Used for the
// conntrack hashes: CRC-32/IEEE (bmv2 crc32) and CRC-16/ARC (bmv2 crc16).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_crc_pipe #(
    // Length of the input in bytes
    parameter BYTES = 39,
    // Bytes folded in the first stage (1 .. BYTES-1)
    parameter SPLIT = 20,
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

localparam REST = BYTES - SPLIT;

initial begin
    if (SPLIT < 1 || SPLIT >= BYTES) begin
        $error("ztnic_crc_pipe: SPLIT must be in 1..BYTES-1");
        $finish;
    end
    if (W != 32 && W != 16) begin
        $error("ztnic_crc_pipe: W must be 32 or 16");
        $finish;
    end
end

function [W-1:0] fold_head(input [W-1:0] c0, input [8*SPLIT-1:0] d);
    integer i, j;
    reg [W-1:0] c;
    begin
        c = c0;
        for (i = 0; i < SPLIT; i = i + 1) begin
            c = c ^ {{(W-8){1'b0}}, d[8*(SPLIT-1-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ POLY) : (c >> 1);
            end
        end
        fold_head = c;
    end
endfunction

function [W-1:0] fold_tail(input [W-1:0] c0, input [8*REST-1:0] d);
    integer i, j;
    reg [W-1:0] c;
    begin
        c = c0;
        for (i = 0; i < REST; i = i + 1) begin
            c = c ^ {{(W-8){1'b0}}, d[8*(REST-1-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ POLY) : (c >> 1);
            end
        end
        fold_tail = c;
    end
endfunction

reg [W-1:0] part_reg = 0;
reg [8*REST-1:0] rest_reg = 0;

always @(posedge clk) begin
    if (en) begin
        part_reg <= fold_head(INIT, data[8*BYTES-1 -: 8*SPLIT]);
        rest_reg <= data[8*REST-1:0];
    end
end

assign crc = fold_tail(part_reg, rest_reg) ^ XOROUT;

endmodule

`resetall
