// Egress of the datapath: for each verdict descriptor, reads the frame's beats from the
// frame FIFO and sends `prefix[0 .. plen) ++ frame[skip .. end)` on m_axis with the
// output port in tuser (encapsulation, punt header, decapsulation and packet-out
// stripping are all this one operation), or discards the beats of a dropped frame.
// Stage 1 turns each FIFO word into a chunk of valid bytes (trimmed to [skip, end));
// stage 2, a gearbox of 2 beats, packs chunks into full beats. One word and one beat
// per clock, and the next frame starts in the clock after the previous frame's last
// word, so unmodified frames leave as fast as they arrive.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_egress #(
    // Width of AXI4-Stream tdata in bits (64..512, a power of two)
    parameter DATA_W = 512,
    // Width of tkeep (one bit per byte)
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser: the port number
    parameter USER_W = 16,
    // Largest prefix in bytes
    parameter PREFIX_BYTES = 64
) (
    input  wire                      clk,
    input  wire                      rst,

    // verdict descriptor
    input  wire                      desc_drop,
    input  wire [USER_W-1:0]         desc_port,
    input  wire [6:0]                desc_plen,
    input  wire [8*PREFIX_BYTES-1:0] desc_prefix,
    input  wire [15:0]               desc_skip,
    input  wire [15:0]               desc_end,
    input  wire [15:0]               desc_words,
    input  wire                      desc_valid,
    output wire                      desc_ready,

    // frame FIFO read side
    input  wire [DATA_W-1:0]         data_rd,
    input  wire                      data_rd_valid,
    output wire                      data_rd_ready,

    output wire [DATA_W-1:0]         m_axis_tdata,
    output wire [KEEP_W-1:0]         m_axis_tkeep,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast,
    output wire [USER_W-1:0]         m_axis_tuser,

    // one-cycle pulse per frame sent
    output wire                      frame_done
);

localparam B = KEEP_W;
localparam CW = $clog2(2 * B + 1);
/* verilator lint_off WIDTH */
localparam [16:0] B17 = B;
/* verilator lint_on WIDTH */

initial begin
    if (DATA_W < 64 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0) begin
        $error("ztnic_egress: DATA_W must be a power of two in 64..512");
        $finish;
    end
    if (KEEP_W * 8 != DATA_W) begin
        $error("ztnic_egress: KEEP_W must be DATA_W / 8");
        $finish;
    end
    if (PREFIX_BYTES < 1 || PREFIX_BYTES > 127) begin
        $error("ztnic_egress: PREFIX_BYTES must be in 1..127");
        $finish;
    end
end

// ---- stage 1: current descriptor, words -> chunks ----
reg cur_valid_reg = 1'b0, cur_valid_next;
reg cur_drop_reg = 1'b0, cur_drop_next;
reg [USER_W-1:0] cur_port_reg = 0, cur_port_next;
reg [6:0] cur_plen_reg = 0, cur_plen_next;
reg [8*PREFIX_BYTES-1:0] cur_prefix_reg = 0, cur_prefix_next;
reg [15:0] cur_skip_reg = 0, cur_skip_next;
reg [15:0] cur_end_reg = 0, cur_end_next;
reg [15:0] cur_words_reg = 0, cur_words_next;
reg [15:0] widx_reg = 0, widx_next;
reg [6:0] pofs_reg = 0, pofs_next;
reg started_reg = 1'b0, started_next;         // a chunk of this frame has been offered
reg [16:0] total_reg = 0, total_next;         // bytes this frame sends (prefix + frame part)

// chunk offered to stage 2
reg [DATA_W-1:0] chunk;
reg [CW-1:0] chunk_cnt;
reg chunk_valid;
reg chunk_is_word;
wire chunk_ready;
wire chunk_first = !started_reg;

reg desc_take;
reg word_pop;

// byte offsets of the current word in the frame
wire [31:0] wstart = {16'd0, widx_reg} * B;
reg [31:0] lo, hi, rem;

always @* begin
    chunk = {DATA_W{1'b0}};
    chunk_cnt = 0;
    chunk_valid = 1'b0;
    chunk_is_word = 1'b0;
    lo = 0;
    hi = 0;
    rem = 0;
    if (cur_valid_reg && !cur_drop_reg && pofs_reg < cur_plen_reg) begin
        // prefix bytes, at most one beat per clock
        chunk = desc_prefix_bytes(cur_prefix_reg, pofs_reg);
        rem = {25'd0, cur_plen_reg} - {25'd0, pofs_reg};
        chunk_cnt = (rem > B) ? B[CW-1:0] : rem[CW-1:0];
        chunk_valid = 1'b1;
    end else if (cur_valid_reg && data_rd_valid) begin
        chunk_is_word = 1'b1;
        lo = ({16'd0, cur_skip_reg} > wstart) ? {16'd0, cur_skip_reg} - wstart : 32'd0;
        if (lo > B) begin
            lo = B;
        end
        hi = ({16'd0, cur_end_reg} > wstart) ? {16'd0, cur_end_reg} - wstart : 32'd0;
        if (hi > B) begin
            hi = B;
        end
        chunk = data_rd >> (8 * lo);
        rem = hi - lo;
        chunk_cnt = (hi > lo) ? rem[CW-1:0] : {CW{1'b0}};
        chunk_valid = !cur_drop_reg;
    end
end

/* verilator lint_off UNUSEDSIGNAL */
function [DATA_W-1:0] desc_prefix_bytes(input [8*PREFIX_BYTES-1:0] p, input [6:0] ofs);
    reg [8*PREFIX_BYTES+DATA_W-1:0] wide;
    begin
        wide = {{DATA_W{1'b0}}, p} >> (8 * ofs);
        desc_prefix_bytes = wide[DATA_W-1:0];
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

wire chunk_fire = chunk_valid && chunk_ready;
// a dropped frame's words are discarded at one per clock
wire drop_fire = cur_valid_reg && cur_drop_reg && data_rd_valid;

always @* begin
    cur_valid_next = cur_valid_reg;
    cur_drop_next = cur_drop_reg;
    cur_port_next = cur_port_reg;
    cur_plen_next = cur_plen_reg;
    cur_prefix_next = cur_prefix_reg;
    cur_skip_next = cur_skip_reg;
    cur_end_next = cur_end_reg;
    cur_words_next = cur_words_reg;
    widx_next = widx_reg;
    pofs_next = pofs_reg;
    started_next = started_reg || chunk_fire;
    total_next = total_reg;
    desc_take = 1'b0;
    word_pop = 1'b0;

    if (chunk_fire && !chunk_is_word) begin
        pofs_next = pofs_reg + chunk_cnt[6:0];
    end
    if ((chunk_fire && chunk_is_word) || drop_fire) begin
        word_pop = 1'b1;
        widx_next = widx_reg + 16'd1;
        if (widx_reg + 16'd1 == cur_words_reg) begin
            cur_valid_next = 1'b0;
        end
    end
    if (!cur_valid_next && desc_valid) begin
        // next frame starts right after the last word of this one
        desc_take = 1'b1;
        cur_valid_next = 1'b1;
        cur_drop_next = desc_drop;
        cur_port_next = desc_port;
        cur_plen_next = desc_plen;
        cur_prefix_next = desc_prefix;
        cur_skip_next = desc_skip;
        cur_end_next = desc_end;
        cur_words_next = desc_words;
        widx_next = 0;
        pofs_next = 0;
        started_next = 1'b0;
        total_next = {10'd0, desc_plen} + ((desc_end > desc_skip) ? {1'b0, desc_end - desc_skip} : 17'd0);
    end
end

assign desc_ready = desc_take;
assign data_rd_ready = word_pop;

// ---- stage 2: gearbox ----
// Holds the bytes of one frame at a time; `rem` counts the frame's bytes not sent yet,
// so the beat that carries tlast is known without waiting for a following chunk and a
// frame's first beat leaves as soon as it is full.
reg [2*DATA_W-1:0] acc_reg = 0, acc_next;
reg [CW-1:0] cnt_reg = 0, cnt_next;
reg [16:0] rem_reg = 0, rem_next;
reg [USER_W-1:0] port_reg = 0, port_next;

wire [16:0] cnt17 = {{(17-CW){1'b0}}, cnt_reg};
wire out_valid = (cnt_reg >= B[CW-1:0]) || (cnt_reg != 0 && cnt17 == rem_reg);
wire out_last = cnt17 == rem_reg && rem_reg <= B17;
wire out_fire = out_valid && m_axis_tready;
wire [CW-1:0] out_cnt = (cnt_reg > B[CW-1:0]) ? B[CW-1:0] : cnt_reg;

reg [KEEP_W-1:0] keep;
integer k;
always @* begin
    for (k = 0; k < KEEP_W; k = k + 1) begin
        keep[k] = k < out_cnt;
    end
end

assign m_axis_tdata = acc_reg[DATA_W-1:0];
assign m_axis_tkeep = keep;
assign m_axis_tvalid = out_valid;
assign m_axis_tlast = out_last;
assign m_axis_tuser = port_reg;
assign frame_done = out_fire && out_last;

// state after this clock's output beat
wire [CW-1:0] cnt_after = out_fire ? cnt_reg - out_cnt : cnt_reg;
wire [16:0] rem_after = out_fire ? rem_reg - {{(17-CW){1'b0}}, out_cnt} : rem_reg;
wire [2*DATA_W-1:0] acc_after = out_fire ? (acc_reg >> DATA_W) : acc_reg;

// a chunk joins if it fits; a frame's first chunk only once the previous frame is out
assign chunk_ready = (!chunk_first || rem_after == 0)
    && ({{(32-CW){1'b0}}, cnt_after} + {{(32-CW){1'b0}}, chunk_cnt} <= 2 * B);

reg [2*DATA_W-1:0] chunk_masked;
integer m;
always @* begin
    chunk_masked = {{DATA_W{1'b0}}, chunk};
    for (m = 0; m < B; m = m + 1) begin
        if (m >= chunk_cnt) begin
            chunk_masked[8*m +: 8] = 8'd0;
        end
    end
end

always @* begin
    acc_next = acc_after;
    cnt_next = cnt_after;
    rem_next = rem_after;
    port_next = port_reg;
    if (chunk_fire) begin
        acc_next = acc_after | (chunk_masked << (8 * cnt_after));
        cnt_next = cnt_after + chunk_cnt;
        port_next = cur_port_reg;
        if (chunk_first) begin
            rem_next = total_reg;
        end
    end
end

always @(posedge clk) begin
    cur_valid_reg <= cur_valid_next;
    cur_drop_reg <= cur_drop_next;
    cur_port_reg <= cur_port_next;
    cur_plen_reg <= cur_plen_next;
    cur_prefix_reg <= cur_prefix_next;
    cur_skip_reg <= cur_skip_next;
    cur_end_reg <= cur_end_next;
    cur_words_reg <= cur_words_next;
    widx_reg <= widx_next;
    pofs_reg <= pofs_next;
    started_reg <= started_next;
    total_reg <= total_next;
    acc_reg <= acc_next;
    cnt_reg <= cnt_next;
    rem_reg <= rem_next;
    port_reg <= port_next;
    if (rst) begin
        cur_valid_reg <= 1'b0;
        cnt_reg <= 0;
        rem_reg <= 0;
    end
end

endmodule

`resetall
