// Pipelined SipHash-2-4 over a message of up to 47 bytes: a new message every clock,
// the hash 8 clocks later. Stages 0..5 each compress one 8-byte block (two SipRounds;
// a block beyond the message passes unchanged), stages 6 and 7 run the four
// finalisation rounds two by two. Used for the context tag MAC (the low 32 bits).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_siphash_pipe #(
    // Largest message in bytes (at most 47: six 8-byte blocks including the final one)
    parameter MAX_BYTES = 47
) (
    input  wire                   clk,
    // pipeline advance
    input  wire                   en,

    // key bytes little-endian: k0 = key[63:0], k1 = key[127:64]
    input  wire [127:0]           key,
    // message byte i in msg[8*i +: 8]
    input  wire [8*MAX_BYTES-1:0] msg,
    input  wire [5:0]             len,

    // SipHash of the message presented 8 enabled clocks earlier
    output wire [63:0]            hash
);

initial begin
    if (MAX_BYTES < 1 || MAX_BYTES > 47) begin
        $error("ztnic_siphash_pipe: MAX_BYTES must be in 1..47");
        $finish;
    end
end

localparam MSG_W = 8 * 48;

function [63:0] rotl(input [63:0] x, input integer n);
    rotl = (x << n) | (x >> (64 - n));
endfunction

function [255:0] sipround(input [255:0] v);
    reg [63:0] v0, v1, v2, v3;
    begin
        {v3, v2, v1, v0} = v;
        v0 = v0 + v1; v1 = rotl(v1, 13); v1 = v1 ^ v0; v0 = rotl(v0, 32);
        v2 = v2 + v3; v3 = rotl(v3, 16); v3 = v3 ^ v2;
        v0 = v0 + v3; v3 = rotl(v3, 21); v3 = v3 ^ v0;
        v2 = v2 + v1; v1 = rotl(v1, 17); v1 = v1 ^ v2; v2 = rotl(v2, 32);
        sipround = {v3, v2, v1, v0};
    end
endfunction

// one compression: v3 ^= m, two rounds, v0 ^= m
function [255:0] compress(input [255:0] v, input [63:0] m);
    reg [255:0] t;
    begin
        t = sipround({v[255:192] ^ m, v[191:0]});
        t = sipround(t);
        compress = {t[255:64], t[63:0] ^ m};
    end
endfunction

// message padded to six blocks, length byte in the top byte of the final block
reg [MSG_W-1:0] padded;
integer i;
always @* begin
    padded = {MSG_W{1'b0}};
    for (i = 0; i < MAX_BYTES; i = i + 1) begin
        if (i < len) begin
            padded[8*i +: 8] = msg[8*i +: 8];
        end
    end
    padded[{len[5:3], 6'd56} +: 8] = {2'b00, len};
end

wire [255:0] v_init = {key[127:64] ^ 64'h7465646279746573, key[63:0] ^ 64'h6c7967656e657261,
                       key[127:64] ^ 64'h646f72616e646f6d, key[63:0] ^ 64'h736f6d6570736575};

// stage s (a 256-bit slice) holds v after block s (s < 6), then the finalisation;
// the message blocks and the block count travel alongside
reg [8*256-1:0] v_reg;
reg [6*MSG_W-1:0] m_reg;
reg [6*3-1:0] nb_reg;

integer s;
always @(posedge clk) begin
    if (en) begin
        v_reg[0 +: 256] <= compress(v_init, padded[63:0]);
        m_reg[0 +: MSG_W] <= padded;
        nb_reg[0 +: 3] <= len[5:3] + 3'd1;
        for (s = 1; s < 6; s = s + 1) begin
            v_reg[256*s +: 256] <= (s < nb_reg[3*(s-1) +: 3])
                ? compress(v_reg[256*(s-1) +: 256], m_reg[MSG_W*(s-1) + 64*s +: 64])
                : v_reg[256*(s-1) +: 256];
            m_reg[MSG_W*s +: MSG_W] <= m_reg[MSG_W*(s-1) +: MSG_W];
            nb_reg[3*s +: 3] <= nb_reg[3*(s-1) +: 3];
        end
        v_reg[256*6 +: 256] <= sipround(sipround({v_reg[256*5+192 +: 64], v_reg[256*5+128 +: 64] ^ 64'hff,
                                                  v_reg[256*5 +: 128]}));
        v_reg[256*7 +: 256] <= sipround(sipround(v_reg[256*6 +: 256]));
    end
end

wire [255:0] v_fin = v_reg[256*7 +: 256];
assign hash = v_fin[63:0] ^ v_fin[127:64] ^ v_fin[191:128] ^ v_fin[255:192];

endmodule

`resetall
