// Iterative SipHash-2-4 (one SipRound per clock) over a message of up to 47 bytes.
// Used for the context tag MAC: the caller takes the low 32 bits of `hash`.
// Latency: 2 * (len / 8 + 1) + 4 clocks from `start` to `done`.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_siphash #(
    // Largest message in bytes (at most 47: six 8-byte blocks including the final one)
    parameter MAX_BYTES = 47
) (
    input  wire                   clk,
    input  wire                   rst,

    input  wire                   start,
    // key bytes little-endian: k0 = key[63:0], k1 = key[127:64]
    input  wire [127:0]           key,
    // message byte i in msg[8*i +: 8]
    input  wire [8*MAX_BYTES-1:0] msg,
    input  wire [5:0]             len,

    output wire                   busy,
    output wire                   done,
    output wire [63:0]            hash
);

initial begin
    if (MAX_BYTES < 1 || MAX_BYTES > 47) begin
        $error("ztnic_siphash: MAX_BYTES must be in 1..47");
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

reg [255:0] v_reg = 0, v_next;
reg [MSG_W-1:0] m_reg = 0, m_next;
reg [2:0] blk_reg = 0, blk_next;
reg [2:0] nblk_reg = 0, nblk_next;
reg [2:0] rnd_reg = 0, rnd_next;
reg fin_reg = 1'b0, fin_next;
reg busy_reg = 1'b0, busy_next;
reg done_reg = 1'b0, done_next;

assign busy = busy_reg;
assign done = done_reg;
assign hash = v_reg[63:0] ^ v_reg[127:64] ^ v_reg[191:128] ^ v_reg[255:192];

wire [63:0] mblk = m_reg[64*blk_reg +: 64];

always @* begin
    v_next = v_reg;
    m_next = m_reg;
    blk_next = blk_reg;
    nblk_next = nblk_reg;
    rnd_next = rnd_reg;
    fin_next = fin_reg;
    busy_next = busy_reg;
    done_next = 1'b0;

    if (start) begin
        v_next = {key[127:64] ^ 64'h7465646279746573, key[63:0] ^ 64'h6c7967656e657261,
                  key[127:64] ^ 64'h646f72616e646f6d, key[63:0] ^ 64'h736f6d6570736575};
        m_next = padded;
        blk_next = 0;
        nblk_next = len[5:3] + 3'd1;
        rnd_next = 0;
        fin_next = 1'b0;
        busy_next = 1'b1;
    end else if (busy_reg) begin
        if (!fin_reg) begin
            if (rnd_reg == 0) begin
                // compression, first round: v3 ^= m
                v_next = sipround({v_reg[255:192] ^ mblk, v_reg[191:0]});
                rnd_next = 1;
            end else begin
                v_next = sipround(v_reg);
                v_next[63:0] = v_next[63:0] ^ mblk;
                rnd_next = 0;
                if (blk_reg + 3'd1 == nblk_reg) begin
                    fin_next = 1'b1;
                end else begin
                    blk_next = blk_reg + 3'd1;
                end
            end
        end else begin
            if (rnd_reg == 0) begin
                v_next = sipround({v_reg[255:192], v_reg[191:128] ^ 64'hff, v_reg[127:0]});
            end else begin
                v_next = sipround(v_reg);
            end
            rnd_next = rnd_reg + 3'd1;
            if (rnd_reg == 3) begin
                busy_next = 1'b0;
                done_next = 1'b1;
            end
        end
    end
end

always @(posedge clk) begin
    v_reg <= v_next;
    m_reg <= m_next;
    blk_reg <= blk_next;
    nblk_reg <= nblk_next;
    rnd_reg <= rnd_next;
    fin_reg <= fin_next;
    busy_reg <= busy_next;
    done_reg <= done_next;
    if (rst) begin
        busy_reg <= 1'b0;
        done_reg <= 1'b0;
    end
end

endmodule

`resetall
