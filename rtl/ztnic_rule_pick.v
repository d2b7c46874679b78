// Policy rule pick: the best of N candidate rules, by a pipelined tournament.
//
// A candidate is a rule whose key and port range matched the packet (s_valid), with
// its priority, action, id and a tag carried along (its counter slot). The best is the
// model's evaluation order (runtime/model/src/policy.rs, Rule::order_key): priority
// descending, deny before allow, id ascending. Each candidate is turned into one
// unsigned rank {valid, priority, deny, ~id}, so that one comparison decides between
// two candidates (the larger rank wins; on an equal rank, which only the same rule can
// have, the lower-numbered candidate wins), and log2(N) levels of such comparisons
// pick the best.
//
// Timing: the candidates are registered on entry, then LEVELS_PER_STAGE tournament
// levels are computed between two registers (one level: a 50-bit magnitude compare, a
// carry chain, and the select of the winner). Latency: 1 + ceil(log2(N) /
// LEVELS_PER_STAGE) clocks from s_* to m_*, one new set of candidates every clock `en`
// is high (the registers hold while it is low, as the pipeline around them does).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_rule_pick #(
    // Number of candidates (a power of two, 2..1024)
    parameter N = 128,
    // Width of the tag carried with each candidate (not compared)
    parameter TAG_W = 13,
    // Tournament levels between two registers (1..4); fewer levels, shorter paths
    parameter LEVELS_PER_STAGE = 1
) (
    input  wire               clk,
    // advance: every register of the tournament moves
    input  wire               en,

    input  wire [N-1:0]       s_valid,
    input  wire [N*16-1:0]    s_priority,
    input  wire [N-1:0]       s_allow,
    input  wire [N*32-1:0]    s_id,
    input  wire [N*TAG_W-1:0] s_tag,

    output wire               m_valid,
    output wire               m_allow,
    output wire [15:0]        m_priority,
    output wire [31:0]        m_id,
    output wire [TAG_W-1:0]   m_tag
);

localparam LEVELS = $clog2(N);
// one candidate: {rank, tag}; rank = {valid, priority, deny, ~id}
localparam RANK_W = 1 + 16 + 1 + 32;
localparam CW = RANK_W + TAG_W;

initial begin
    if (N < 2 || N > 1024 || (N & (N - 1)) != 0) begin
        $error("ztnic_rule_pick: N must be a power of two in 2..1024");
        $finish;
    end
    if (TAG_W < 1) begin
        $error("ztnic_rule_pick: TAG_W must be at least 1");
        $finish;
    end
    if (LEVELS_PER_STAGE < 1 || LEVELS_PER_STAGE > 4) begin
        $error("ztnic_rule_pick: LEVELS_PER_STAGE must be in 1..4");
        $finish;
    end
end

// the entry register: every candidate as {rank, tag}, an invalid one as rank 0
reg [N*CW-1:0] in_reg = 0;
integer c;
always @(posedge clk) begin
    if (en) begin
        for (c = 0; c < N; c = c + 1) begin
            in_reg[c*CW +: CW] <= s_valid[c]
                ? {1'b1, s_priority[c*16 +: 16], !s_allow[c], ~s_id[c*32 +: 32], s_tag[c*TAG_W +: TAG_W]}
                : {CW{1'b0}};
        end
    end
end

// level l halves the candidates of level l-1; level 0 is the entry register. The
// levels are laid out in one vector: level l starts at offset CW * (2N - 2N/2^l).
localparam TOTAL = 2 * N - 1;
wire [TOTAL*CW-1:0] lvl;
assign lvl[0 +: N*CW] = in_reg;

genvar l, k;
generate
    for (l = 1; l <= LEVELS; l = l + 1) begin : g_level
        localparam integer NI = N >> (l - 1);
        localparam integer NO = N >> l;
        localparam integer IN_OFF = 2 * N - 2 * NI;
        localparam integer OUT_OFF = 2 * N - 2 * NO;
        wire [NO*CW-1:0] win;
        for (k = 0; k < NO; k = k + 1) begin : g_pick
            wire [CW-1:0] left = lvl[(IN_OFF + 2*k) * CW +: CW];
            wire [CW-1:0] right = lvl[(IN_OFF + 2*k + 1) * CW +: CW];
            // the right one only with a strictly larger rank: ties to the left
            assign win[k*CW +: CW] = (right[TAG_W +: RANK_W] > left[TAG_W +: RANK_W]) ? right : left;
        end
        if (l % LEVELS_PER_STAGE == 0 || l == LEVELS) begin : g_reg
            reg [NO*CW-1:0] win_reg = 0;
            always @(posedge clk) begin
                if (en) begin
                    win_reg <= win;
                end
            end
            assign lvl[OUT_OFF*CW +: NO*CW] = win_reg;
        end else begin : g_comb
            assign lvl[OUT_OFF*CW +: NO*CW] = win;
        end
    end
endgenerate

// no candidate: everything zero
wire [CW-1:0] best = lvl[(TOTAL - 1) * CW +: CW];
assign m_valid = best[CW - 1];
assign m_tag = best[0 +: TAG_W];
assign m_id = m_valid ? ~best[TAG_W +: 32] : 32'd0;
assign m_allow = m_valid && !best[TAG_W + 32];
assign m_priority = best[TAG_W + 33 +: 16];

endmodule

`resetall
