// Ingress of the datapath: accepts AXI4-Stream frames one beat per clock, writes every
// beat to the frame FIFO and captures the first HDR_BYTES bytes of each frame with its
// length and input port into the header queue that the pipeline parses. The frame
// is only held back (tready low) when the frame FIFO or the header queue is full.
//
// A frame longer than cfg_max_frame bytes is cut: its beats past the limit are accepted
// and discarded (never written to the frame FIFO), and its header queue entry is
// flagged `hdr_oversize` (the pipeline drops it as `oversize`) with `hdr_beats` the
// beats actually written, so no input, however long, can fill the frame FIFO and hang
// the NIC. The beat counter saturates, so neither can a frame of any length wrap it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ingress #(
    // Width of AXI4-Stream tdata in bits (64..512, a power of two)
    parameter DATA_W = 512,
    // Width of tkeep (one bit per byte)
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser: the port number
    parameter USER_W = 16,
    // Bytes of each frame captured for the parser (a multiple of KEEP_W)
    parameter HDR_BYTES = 320,
    // Beats the frame FIFO holds; a frame is cut at half of that at most, so the FIFO
    // always has room for the frame being received while the egress drains another
    parameter FIFO_BEATS = 512
) (
    input  wire                   clk,
    input  wire                   rst,

    // longest accepted frame in bytes (64..16384)
    input  wire [14:0]            cfg_max_frame,

    input  wire [DATA_W-1:0]      s_axis_tdata,
    input  wire [KEEP_W-1:0]      s_axis_tkeep,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,
    input  wire [USER_W-1:0]      s_axis_tuser,

    // frame FIFO write side
    output wire [DATA_W-1:0]      data_wr,
    output wire                   data_wr_valid,
    input  wire                   data_wr_ready,

    // header queue write side: header bytes, frame length, port, beats in the FIFO
    output wire [8*HDR_BYTES-1:0] hdr_data,
    output wire [15:0]            hdr_len,
    output wire [USER_W-1:0]      hdr_port,
    output wire [15:0]            hdr_beats,
    output wire                   hdr_oversize,
    output wire                   hdr_valid,
    input  wire                   hdr_ready,

    // one-cycle pulse per accepted frame
    output wire                   frame_done
);

localparam HDR_BEATS = HDR_BYTES / KEEP_W;

initial begin
    if (DATA_W < 64 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0) begin
        $error("ztnic_ingress: DATA_W must be a power of two in 64..512");
        $finish;
    end
    if (KEEP_W * 8 != DATA_W) begin
        $error("ztnic_ingress: KEEP_W must be DATA_W / 8");
        $finish;
    end
    if (HDR_BYTES % KEEP_W != 0) begin
        $error("ztnic_ingress: HDR_BYTES must be a multiple of KEEP_W");
        $finish;
    end
    if (FIFO_BEATS < 2 * HDR_BEATS || FIFO_BEATS > 65536) begin
        $error("ztnic_ingress: FIFO_BEATS must be in 2*HDR_BYTES/KEEP_W..65536");
        $finish;
    end
end

localparam KEEP_LOG2 = $clog2(KEEP_W);
// the most beats one frame may write to the frame FIFO
localparam integer CUT_BEATS = FIFO_BEATS / 2;
localparam [15:0] CUT_BEATS_MAX = CUT_BEATS[15:0];

// Every decision of a beat starts from flip-flops: the limit compares are made the clock
// before (`past_reg` says whether the current beat is past the limit), the header slot a
// beat fills is a one-hot register, and a beat's byte count is decoded from tkeep as
// the thermometer code it is (contiguous from byte 0), not summed.

// beats of a frame of cfg_max_frame bytes, at most CUT_BEATS_MAX, and one less
// (registered: the configuration changes rarely)
reg [15:0] max_beats_reg = CUT_BEATS_MAX;
reg [15:0] max_beats_m1_reg = CUT_BEATS_MAX - 16'd1;
wire [15:0] max_beats_cfg = ({1'b0, cfg_max_frame} + (KEEP_W[15:0] - 16'd1)) >> KEEP_LOG2;
always @(posedge clk) begin
    max_beats_reg <= (max_beats_cfg > CUT_BEATS_MAX) ? CUT_BEATS_MAX : max_beats_cfg;
    max_beats_m1_reg <= max_beats_reg - 16'd1;
end

reg [8*HDR_BYTES-1:0] hdr_reg = 0, hdr_next;
// beat index in the frame (saturating), and that plus one
reg [15:0] beat_reg = 0, beat_p1_reg = 16'd1;
// the header slot the beat fills (one-hot; none past the header)
reg [HDR_BEATS-1:0] slot_reg = 1;
reg first_reg = 1'b1;
reg [USER_W-1:0] port_reg = 0;
// the frame has passed the limit: its later beats are discarded
reg cut_reg = 1'b0;
// the current beat is past the limit
reg past_reg = 1'b0;
// beats of this frame written to the frame FIFO so far
reg [15:0] wr_reg = 0;

wire fire = s_axis_tvalid && s_axis_tready;
wire past = past_reg;

assign s_axis_tready = hdr_ready && (data_wr_ready || past);
assign data_wr = s_axis_tdata;
assign data_wr_valid = s_axis_tvalid && hdr_ready && !past;

// bytes in this beat mod KEEP_W (tkeep is a thermometer code: bit j of the count is set
// where the code ends at a count with bit j set), and whether the beat is full
reg [KEEP_LOG2-1:0] beat_low;
integer i, j;
always @* begin
    beat_low = 0;
    for (j = 0; j < KEEP_LOG2; j = j + 1) begin
        for (i = 1; i < KEEP_W; i = i + 1) begin
            if (((i >> j) & 1) != 0) begin
                beat_low[j] = beat_low[j] | (s_axis_tkeep[i-1] & !s_axis_tkeep[i]);
            end
        end
    end
end
wire beat_full = s_axis_tkeep[KEEP_W-1];

always @* begin
    hdr_next = first_reg ? {8*HDR_BYTES{1'b0}} : hdr_reg;
    for (i = 0; i < HDR_BEATS; i = i + 1) begin
        if (slot_reg[i]) begin
            hdr_next[DATA_W*i +: DATA_W] = s_axis_tdata;
        end
    end
end

// a frame within max_beats_reg beats may still be longer than cfg_max_frame bytes;
// its length is exact then (at most 16384 + KEEP_W bytes, no 16-bit overflow)
wire [15:0] len_last = beat_full ? {beat_p1_reg[15-KEEP_LOG2:0], {KEEP_LOG2{1'b0}}}
    : {beat_reg[15-KEEP_LOG2:0], beat_low};

assign hdr_data = hdr_next;
assign hdr_len = past ? {1'b0, cfg_max_frame} : len_last;
assign hdr_port = first_reg ? s_axis_tuser : port_reg;
assign hdr_beats = wr_reg + {15'd0, !past};
assign hdr_oversize = past || len_last > {1'b0, cfg_max_frame};
assign hdr_valid = fire && s_axis_tlast;
assign frame_done = hdr_valid;

always @(posedge clk) begin
    if (fire) begin
        hdr_reg <= hdr_next;
        if (s_axis_tlast) begin
            wr_reg <= 16'd0;
            beat_reg <= 16'd0;
            beat_p1_reg <= 16'd1;
            slot_reg <= 1;
            first_reg <= 1'b1;
            cut_reg <= 1'b0;
            past_reg <= 1'b0;  // beat 0 is within any limit (at least one beat)
        end else begin
            wr_reg <= wr_reg + {15'd0, !past};
            // saturates: a frame of any length never looks like a new one
            if (beat_reg != 16'hffff) begin
                beat_reg <= beat_p1_reg;
                beat_p1_reg <= beat_p1_reg + 16'd1;
            end
            slot_reg <= slot_reg << 1;
            first_reg <= 1'b0;
            cut_reg <= past;
            past_reg <= past || beat_reg >= max_beats_m1_reg;
        end
        if (first_reg) begin
            port_reg <= s_axis_tuser;
        end
    end else begin
        // the limit may change between beats
        past_reg <= cut_reg || beat_reg >= max_beats_reg;
    end
    if (rst) begin
        beat_reg <= 0;
        beat_p1_reg <= 16'd1;
        slot_reg <= 1;
        first_reg <= 1'b1;
        cut_reg <= 1'b0;
        past_reg <= 1'b0;
        wr_reg <= 0;
    end
end

endmodule

`resetall
