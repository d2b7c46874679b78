// Output side of the OpenNIC wrapper: a store-and-forward frame FIFO that learns each
// frame's length and sends it on one of two AXI4-Stream outputs with tuser_size valid
// and unchanged on every beat, as the OpenNIC shell's 250 MHz interface requires.
//
// Beats from s_axis go into a RAM; a frame becomes visible to the read side only when
// its last beat is written (the write pointer is committed), together with a meta
// entry: its length in bytes (64 per beat, the last beat's tkeep counted) and its
// output (port == UPLINK_PORT: m_tx, any other port: m_c2h). A frame longer than the
// whole RAM (2**DEPTH_LOG2 beats) can never complete: it is dropped (the write pointer
// rewinds to the last commit, the rest of the frame is accepted and discarded) and
// `drop_oversize` pulses, so the FIFO cannot hang. tkeep must be all ones on every
// beat but the last and contiguous from bit 0 on the last (as ztnic's egress makes it).
//
// Frames leave in the order they came in, one beat per clock; a frame waits for its
// last beat to arrive (latency: its length in beats plus 3 clocks).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_opennic_out #(
    // Width of tdata in bits (64..512, a power of two)
    parameter DATA_W = 512,
    // Width of tkeep (one bit per byte)
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser on the input: the output port number
    parameter USER_W = 16,
    // log2 of the beats the frame RAM holds (the longest frame passed, in beats)
    parameter DEPTH_LOG2 = 9,
    // log2 of the frames waiting at most
    parameter META_LOG2 = 5,
    // Port number whose frames leave on m_tx; all others leave on m_c2h
    parameter UPLINK_PORT = 0
) (
    input  wire              clk,
    input  wire              rst,

    // frames from the datapath, the output port in tuser
    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire [KEEP_W-1:0] s_axis_tkeep,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,
    input  wire [USER_W-1:0] s_axis_tuser,

    // frames for the uplink; tuser_port is the output port, tuser_size the length
    output wire [DATA_W-1:0] m_tx_axis_tdata,
    output wire [KEEP_W-1:0] m_tx_axis_tkeep,
    output wire              m_tx_axis_tvalid,
    input  wire              m_tx_axis_tready,
    output wire              m_tx_axis_tlast,
    output wire [15:0]       m_tx_axis_tuser_size,
    output wire [USER_W-1:0] m_tx_axis_tuser_port,

    // frames for every other port
    output wire [DATA_W-1:0] m_c2h_axis_tdata,
    output wire [KEEP_W-1:0] m_c2h_axis_tkeep,
    output wire              m_c2h_axis_tvalid,
    input  wire              m_c2h_axis_tready,
    output wire              m_c2h_axis_tlast,
    output wire [15:0]       m_c2h_axis_tuser_size,
    output wire [USER_W-1:0] m_c2h_axis_tuser_port,

    // one-clock pulse per frame dropped for being longer than the RAM
    output wire              drop_oversize
);

initial begin
    if (DATA_W < 64 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0) begin
        $error("ztnic_opennic_out: DATA_W must be a power of two in 64..512");
        $finish;
    end
    if (KEEP_W * 8 != DATA_W) begin
        $error("ztnic_opennic_out: KEEP_W must be DATA_W / 8");
        $finish;
    end
    if (USER_W < 1 || USER_W > 16) begin
        $error("ztnic_opennic_out: USER_W must be in 1..16");
        $finish;
    end
    if (DEPTH_LOG2 < 2 || (1 << DEPTH_LOG2) * KEEP_W > 65535) begin
        $error("ztnic_opennic_out: DEPTH_LOG2 must be at least 2 and hold at most 65535 bytes");
        $finish;
    end
    if (META_LOG2 < 1 || META_LOG2 > 8) begin
        $error("ztnic_opennic_out: META_LOG2 must be in 1..8");
        $finish;
    end
    if (UPLINK_PORT < 0 || UPLINK_PORT >= (1 << USER_W)) begin
        $error("ztnic_opennic_out: UPLINK_PORT must fit in USER_W bits");
        $finish;
    end
end

localparam DEPTH = 1 << DEPTH_LOG2;
localparam KEEP_LOG2 = $clog2(KEEP_W);
localparam [USER_W-1:0] UPLINK = UPLINK_PORT;
// meta entry: {to_tx, port, length}
localparam META_W = 1 + USER_W + 16;

// bytes of a beat whose tkeep is contiguous from bit 0
function [KEEP_LOG2:0] keep_bytes(input [KEEP_W-1:0] keep);
    integer i;
    begin
        keep_bytes = 0;
        for (i = 0; i < KEEP_W; i = i + 1) begin
            if (keep[i]) begin
                keep_bytes = i[KEEP_LOG2:0] + 1'b1;
            end
        end
    end
endfunction

// ---- write side ----
reg [DATA_W+KEEP_W:0] mem [0:DEPTH-1];
reg [META_W-1:0] meta_mem [0:(1<<META_LOG2)-1];

reg [DEPTH_LOG2:0] wr_ptr_reg = 0, wr_ptr_next;
reg [DEPTH_LOG2:0] wr_commit_reg = 0, wr_commit_next;
reg [DEPTH_LOG2:0] frame_beats_reg = 0, frame_beats_next;
reg [15:0] frame_bytes_reg = 0, frame_bytes_next;
reg drop_reg = 1'b0, drop_next;
reg drop_oversize_reg = 1'b0, drop_oversize_next;
reg [META_LOG2:0] meta_wr_ptr_reg = 0, meta_wr_ptr_next;
reg [META_LOG2:0] meta_rd_ptr_reg = 0, meta_rd_ptr_next;
reg mem_wr_en, meta_wr_en;

reg [DEPTH_LOG2:0] rd_ptr_reg = 0, rd_ptr_next;

wire full = (wr_ptr_reg ^ rd_ptr_reg) == {1'b1, {DEPTH_LOG2{1'b0}}};
wire meta_full = (meta_wr_ptr_reg ^ meta_rd_ptr_reg) == {1'b1, {META_LOG2{1'b0}}};
// the whole RAM holds the frame being written: it can never complete
wire overflow = frame_beats_reg == DEPTH[DEPTH_LOG2:0];

assign s_axis_tready = drop_reg || overflow || (!full && !meta_full);
assign drop_oversize = drop_oversize_reg;

wire [15:0] frame_len = frame_bytes_reg + {{(15-KEEP_LOG2){1'b0}}, keep_bytes(s_axis_tkeep)};

always @* begin
    wr_ptr_next = wr_ptr_reg;
    wr_commit_next = wr_commit_reg;
    frame_beats_next = frame_beats_reg;
    frame_bytes_next = frame_bytes_reg;
    drop_next = drop_reg;
    drop_oversize_next = 1'b0;
    meta_wr_ptr_next = meta_wr_ptr_reg;
    mem_wr_en = 1'b0;
    meta_wr_en = 1'b0;

    if (s_axis_tvalid && s_axis_tready) begin
        if (drop_reg) begin
            drop_next = !s_axis_tlast;
        end else if (overflow) begin
            wr_ptr_next = wr_commit_reg;
            frame_beats_next = 0;
            frame_bytes_next = 0;
            drop_next = !s_axis_tlast;
            drop_oversize_next = 1'b1;
        end else begin
            mem_wr_en = 1'b1;
            wr_ptr_next = wr_ptr_reg + 1;
            if (s_axis_tlast) begin
                meta_wr_en = 1'b1;
                meta_wr_ptr_next = meta_wr_ptr_reg + 1;
                wr_commit_next = wr_ptr_reg + 1;
                frame_beats_next = 0;
                frame_bytes_next = 0;
            end else begin
                frame_beats_next = frame_beats_reg + 1;
                frame_bytes_next = frame_bytes_reg + KEEP_W[15:0];
            end
        end
    end
end

always @(posedge clk) begin
    if (mem_wr_en) begin
        mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= {s_axis_tdata, s_axis_tkeep, s_axis_tlast};
    end
    if (meta_wr_en) begin
        meta_mem[meta_wr_ptr_reg[META_LOG2-1:0]] <= {s_axis_tuser == UPLINK, s_axis_tuser, frame_len};
    end
    wr_ptr_reg <= wr_ptr_next;
    wr_commit_reg <= wr_commit_next;
    frame_beats_reg <= frame_beats_next;
    frame_bytes_reg <= frame_bytes_next;
    drop_reg <= drop_next;
    drop_oversize_reg <= drop_oversize_next;
    meta_wr_ptr_reg <= meta_wr_ptr_next;
    if (rst) begin
        wr_ptr_reg <= 0;
        wr_commit_reg <= 0;
        frame_beats_reg <= 0;
        frame_bytes_reg <= 0;
        drop_reg <= 1'b0;
        drop_oversize_reg <= 1'b0;
        meta_wr_ptr_reg <= 0;
    end
end

// ---- read side: registered RAM read into one output register ----
reg [DATA_W+KEEP_W:0] out_beat_reg;
reg out_valid_reg = 1'b0, out_valid_next;

wire meta_valid = meta_wr_ptr_reg != meta_rd_ptr_reg;
wire [META_W-1:0] meta_head = meta_mem[meta_rd_ptr_reg[META_LOG2-1:0]];
wire head_to_tx = meta_head[META_W-1];
wire out_last = out_beat_reg[0];
wire head_valid = out_valid_reg && meta_valid;
wire out_ready = head_to_tx ? m_tx_axis_tready : m_c2h_axis_tready;
wire out_fire = head_valid && out_ready;
wire rd_en = rd_ptr_reg != wr_commit_reg && (!out_valid_reg || out_fire);

always @* begin
    rd_ptr_next = rd_ptr_reg;
    out_valid_next = out_valid_reg;
    meta_rd_ptr_next = meta_rd_ptr_reg;
    if (out_fire) begin
        out_valid_next = 1'b0;
        if (out_last) begin
            meta_rd_ptr_next = meta_rd_ptr_reg + 1;
        end
    end
    if (rd_en) begin
        rd_ptr_next = rd_ptr_reg + 1;
        out_valid_next = 1'b1;
    end
end

always @(posedge clk) begin
    if (rd_en) begin
        out_beat_reg <= mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
    end
    rd_ptr_reg <= rd_ptr_next;
    out_valid_reg <= out_valid_next;
    meta_rd_ptr_reg <= meta_rd_ptr_next;
    if (rst) begin
        rd_ptr_reg <= 0;
        out_valid_reg <= 1'b0;
        meta_rd_ptr_reg <= 0;
    end
end

assign m_tx_axis_tdata = out_beat_reg[DATA_W+KEEP_W -: DATA_W];
assign m_tx_axis_tkeep = out_beat_reg[KEEP_W:1];
assign m_tx_axis_tvalid = head_valid && head_to_tx;
assign m_tx_axis_tlast = out_last;
assign m_tx_axis_tuser_size = meta_head[15:0];
assign m_tx_axis_tuser_port = meta_head[16 +: USER_W];

assign m_c2h_axis_tdata = out_beat_reg[DATA_W+KEEP_W -: DATA_W];
assign m_c2h_axis_tkeep = out_beat_reg[KEEP_W:1];
assign m_c2h_axis_tvalid = head_valid && !head_to_tx;
assign m_c2h_axis_tlast = out_last;
assign m_c2h_axis_tuser_size = meta_head[15:0];
assign m_c2h_axis_tuser_port = meta_head[16 +: USER_W];

endmodule

`resetall
