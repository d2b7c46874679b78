// remote_ep: the longest-prefix match of the destination address over N entries in
// flip-flops (stages 10 and 11 of the engine, docs/datapath.md §3).
//
// The table is written and read here by the control plane (wr_* and rd_*; a write
// takes effect at the clock edge, whether or not the pipeline advances). Stage 10
// compares every entry with s_dst at once and finds the winner: the longest prefix,
// the lowest index among equal lengths (entry i wins if it matches and beats every
// other match); the winner is registered when `adv` is high. Stage 11 takes the
// winner's fields (m_*, valid while the packet is in the engine's stage-10 register)
// from a copy of the entries' fields that the writes reach one advancing clock later,
// so a packet takes its fields from the table it matched against: a control write
// between its two stages is not seen torn.
//
// Each entry also keeps the mask of its prefix length, computed when it is written
// (length 0 masks nothing, so it matches every address).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_remote_ep_lpm #(
    // Entries of the table (compared in parallel)
    parameter N = 16,
    // Width of an entry index (the engine's $clog2(N))
    parameter IDX_W = $clog2(N),
    // Width of an entry (L_REMOTE_EP_W of the generated register map)
    parameter ENTRY_W = 195
) (
    input  wire                      clk,
    // advance: the stage registers move
    input  wire                      adv,

    // control-plane write of entry wr_index (layout remote_ep of rtl/regmap.toml)
    input  wire                      wr_en,
    input  wire [IDX_W-1:0]          wr_index,
    input  wire [ENTRY_W-1:0]        wr_data,
    // control-plane read of entry rd_index (combinational)
    input  wire [IDX_W-1:0]          rd_index,
    output wire [ENTRY_W-1:0]        rd_data,

    // stage 10: the destination address (128-bit space, IPv4 v4-mapped)
    input  wire [127:0]              s_dst,

    // stage 11: the winning entry's fields (all zero without a match)
    output wire                      m_hit,
    output wire [1:0]                m_kind,
    output wire [31:0]               m_vtep,
    output wire [23:0]               m_ctx
);

`include "ztnic_regmap.vh"

localparam FIELDS_W = 2 + 32 + 24;

initial begin
    if (N < 2 || N > 256) begin
        $error("ztnic_remote_ep_lpm: N must be in 2..256");
        $finish;
    end
    if (IDX_W != $clog2(N)) begin
        $error("ztnic_remote_ep_lpm: IDX_W must be $clog2(N)");
        $finish;
    end
    if (ENTRY_W != L_REMOTE_EP_W) begin
        $error("ztnic_remote_ep_lpm: ENTRY_W must be L_REMOTE_EP_W (rtl/regmap.toml)");
        $finish;
    end
end

// the mask of a prefix length (as the table always defined it: none for length 0)
// the mask of a prefix length (as the table always defined it: `~0 << (128 - len)` in
// 8-bit arithmetic, none for length 0 or beyond 128), bit by bit as compares of the
// length with constants: two LUT levels, where the shift was a subtractor and a
// barrel shifter (seven)
function [127:0] lpm_mask(input [7:0] len);
    integer b;
    begin
        for (b = 0; b < 128; b = b + 1) begin
            lpm_mask[b] = (len >= 8'd128 - b[7:0]) && (len <= 8'd128);
        end
    end
endfunction

reg [ENTRY_W-1:0] ep_reg [0:N-1];
reg [127:0] mask_reg [0:N-1];
// the entries' fields one advancing clock behind the writes (read by stage 11)
reg [FIELDS_W-1:0] fields_reg [0:N-1];
reg [N-1:0] win_reg = 0;

integer i, j;
initial begin
    for (i = 0; i < N; i = i + 1) begin
        ep_reg[i] = {ENTRY_W{1'b0}};
        mask_reg[i] = 128'd0;
        fields_reg[i] = {FIELDS_W{1'b0}};
    end
end

assign rd_data = ep_reg[rd_index];

// stage 10: every entry compared at once, the longest prefix wins
reg [7:0] len [0:N-1];
reg [N-1:0] match, win;
always @* begin
    for (i = 0; i < N; i = i + 1) begin
        len[i] = ep_reg[i][L_REMOTE_EP_PREFIX_LEN_LSB +: 8];
        match[i] = ep_reg[i][L_REMOTE_EP_VALID_LSB]
            && ((s_dst ^ ep_reg[i][L_REMOTE_EP_PREFIX_LSB +: 128]) & mask_reg[i]) == 128'd0;
    end
    for (i = 0; i < N; i = i + 1) begin
        win[i] = match[i];
        for (j = 0; j < N; j = j + 1) begin
            if (j != i && match[j] && !(len[i] > len[j] || (len[i] == len[j] && i < j))) begin
                win[i] = 1'b0;
            end
        end
    end
end

// stage 11: the winner's fields
reg [FIELDS_W-1:0] sel;
always @* begin
    sel = 0;
    for (i = 0; i < N; i = i + 1) begin
        if (win_reg[i]) begin
            sel = sel | fields_reg[i];
        end
    end
end

assign m_hit = win_reg != 0;
assign m_kind = sel[56 +: 2];
assign m_vtep = sel[24 +: 32];
assign m_ctx = sel[0 +: 24];

always @(posedge clk) begin
    if (adv) begin
        win_reg <= win;
        for (i = 0; i < N; i = i + 1) begin
            fields_reg[i] <= {ep_reg[i][L_REMOTE_EP_KIND_LSB +: 2],
                ep_reg[i][L_REMOTE_EP_VTEP_LSB +: 32], ep_reg[i][L_REMOTE_EP_CTX_LSB +: 24]};
        end
    end
    if (wr_en) begin
        ep_reg[wr_index] <= wr_data;
        mask_reg[wr_index] <= lpm_mask(wr_data[L_REMOTE_EP_PREFIX_LEN_LSB +: 8]);
    end
end

endmodule

`resetall
