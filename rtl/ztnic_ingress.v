// Ingress of the datapath: accepts AXI4-Stream frames one beat per clock, writes every
// beat to the frame FIFO and captures the first HDR_BYTES bytes of each frame with its
// length and input port into the header queue that the pipeline parses. The frame
// is only held back (tready low) when the frame FIFO or the header queue is full.

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
    parameter HDR_BYTES = 320
) (
    input  wire                   clk,
    input  wire                   rst,

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
end

reg [8*HDR_BYTES-1:0] hdr_reg = 0, hdr_next;
reg [15:0] beat_reg = 0, beat_next;
reg [USER_W-1:0] port_reg = 0, port_next;

wire fire = s_axis_tvalid && s_axis_tready;

assign s_axis_tready = data_wr_ready && hdr_ready;
assign data_wr = s_axis_tdata;
assign data_wr_valid = s_axis_tvalid && hdr_ready;

// bytes in this beat (tkeep is contiguous from byte 0)
reg [15:0] beat_bytes;
integer i;
always @* begin
    beat_bytes = 0;
    for (i = 0; i < KEEP_W; i = i + 1) begin
        beat_bytes = beat_bytes + {15'd0, s_axis_tkeep[i]};
    end
end

wire first = beat_reg == 0;

always @* begin
    hdr_next = first ? {8*HDR_BYTES{1'b0}} : hdr_reg;
    if ({16'd0, beat_reg} < HDR_BEATS) begin
        hdr_next[DATA_W*beat_reg[7:0] +: DATA_W] = s_axis_tdata;
    end
    beat_next = beat_reg;
    port_next = port_reg;
    if (fire) begin
        beat_next = s_axis_tlast ? 16'd0 : beat_reg + 16'd1;
        if (first) begin
            port_next = s_axis_tuser;
        end
    end
end

assign hdr_data = hdr_next;
assign hdr_len = beat_reg * KEEP_W[15:0] + beat_bytes;
assign hdr_port = first ? s_axis_tuser : port_reg;
assign hdr_beats = beat_reg + 16'd1;
assign hdr_valid = fire && s_axis_tlast;
assign frame_done = hdr_valid;

always @(posedge clk) begin
    if (fire) begin
        hdr_reg <= hdr_next;
    end
    beat_reg <= beat_next;
    port_reg <= port_next;
    if (rst) begin
        beat_reg <= 0;
    end
end

endmodule

`resetall
