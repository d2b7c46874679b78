// Two AXI4-Stream inputs merged into one, a whole frame at a time: when both inputs
// offer a frame, the one not granted last goes first (round robin per frame); a frame,
// once started, keeps the grant until its last beat. Each input has its own tuser (the
// port number the frame carries on). The output is a skid buffer (registered tvalid,
// tdata and tready, one beat per clock), so no combinational path runs from m_axis_tready
// to the inputs' tready.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_opennic_arb #(
    // Width of tdata in bits (a multiple of 8)
    parameter DATA_W = 512,
    // Width of tkeep (one bit per byte)
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser
    parameter USER_W = 16
) (
    input  wire              clk,
    input  wire              rst,

    // input 0
    input  wire [DATA_W-1:0] s0_axis_tdata,
    input  wire [KEEP_W-1:0] s0_axis_tkeep,
    input  wire              s0_axis_tvalid,
    output wire              s0_axis_tready,
    input  wire              s0_axis_tlast,
    input  wire [USER_W-1:0] s0_axis_tuser,

    // input 1
    input  wire [DATA_W-1:0] s1_axis_tdata,
    input  wire [KEEP_W-1:0] s1_axis_tkeep,
    input  wire              s1_axis_tvalid,
    output wire              s1_axis_tready,
    input  wire              s1_axis_tlast,
    input  wire [USER_W-1:0] s1_axis_tuser,

    // merged output
    output wire [DATA_W-1:0] m_axis_tdata,
    output wire [KEEP_W-1:0] m_axis_tkeep,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready,
    output wire              m_axis_tlast,
    output wire [USER_W-1:0] m_axis_tuser
);

initial begin
    if (DATA_W < 8 || DATA_W % 8 != 0) begin
        $error("ztnic_opennic_arb: DATA_W must be a positive multiple of 8");
        $finish;
    end
    if (KEEP_W * 8 != DATA_W) begin
        $error("ztnic_opennic_arb: KEEP_W must be DATA_W / 8");
        $finish;
    end
    if (USER_W < 1) begin
        $error("ztnic_opennic_arb: USER_W must be at least 1");
        $finish;
    end
end

localparam BEAT_W = DATA_W + KEEP_W + 1 + USER_W;

// ---- arbitration ----
reg locked_reg = 1'b0, locked_next;      // inside a frame: sel_reg holds the grant
reg sel_reg = 1'b0, sel_next;            // input of the frame in progress
reg last_reg = 1'b1, last_next;          // input granted the last frame

reg sel;                                 // input offered to the skid buffer this clock

always @* begin
    if (locked_reg) begin
        sel = sel_reg;
    end else if (s0_axis_tvalid && s1_axis_tvalid) begin
        sel = !last_reg;
    end else begin
        sel = s1_axis_tvalid;
    end
end

wire in_valid = sel ? s1_axis_tvalid : s0_axis_tvalid;
wire in_last = sel ? s1_axis_tlast : s0_axis_tlast;
wire [BEAT_W-1:0] in_beat = sel
    ? {s1_axis_tdata, s1_axis_tkeep, s1_axis_tlast, s1_axis_tuser}
    : {s0_axis_tdata, s0_axis_tkeep, s0_axis_tlast, s0_axis_tuser};

// ---- skid buffer ----
reg s_ready_reg = 1'b0;
reg out_valid_reg = 1'b0, out_valid_next;
reg temp_valid_reg = 1'b0, temp_valid_next;
reg [BEAT_W-1:0] out_beat_reg, temp_beat_reg;
reg store_in_to_out, store_in_to_temp, store_temp_to_out;

wire s_ready_early = m_axis_tready || (!temp_valid_reg && (!out_valid_reg || !in_valid));
wire accept = in_valid && s_ready_reg;

assign s0_axis_tready = s_ready_reg && !sel;
assign s1_axis_tready = s_ready_reg && sel;

assign m_axis_tvalid = out_valid_reg;
assign {m_axis_tdata, m_axis_tkeep, m_axis_tlast, m_axis_tuser} = out_beat_reg;

always @* begin
    locked_next = locked_reg;
    sel_next = sel_reg;
    last_next = last_reg;
    if (accept) begin
        locked_next = !in_last;
        sel_next = sel;
        if (in_last) begin
            last_next = sel;
        end
    end

    out_valid_next = out_valid_reg;
    temp_valid_next = temp_valid_reg;
    store_in_to_out = 1'b0;
    store_in_to_temp = 1'b0;
    store_temp_to_out = 1'b0;
    if (s_ready_reg) begin
        if (m_axis_tready || !out_valid_reg) begin
            out_valid_next = in_valid;
            store_in_to_out = 1'b1;
        end else begin
            temp_valid_next = in_valid;
            store_in_to_temp = 1'b1;
        end
    end else if (m_axis_tready) begin
        out_valid_next = temp_valid_reg;
        temp_valid_next = 1'b0;
        store_temp_to_out = 1'b1;
    end
end

always @(posedge clk) begin
    locked_reg <= locked_next;
    sel_reg <= sel_next;
    last_reg <= last_next;
    s_ready_reg <= s_ready_early;
    out_valid_reg <= out_valid_next;
    temp_valid_reg <= temp_valid_next;
    if (store_in_to_out) begin
        out_beat_reg <= in_beat;
    end else if (store_temp_to_out) begin
        out_beat_reg <= temp_beat_reg;
    end
    if (store_in_to_temp) begin
        temp_beat_reg <= in_beat;
    end
    if (rst) begin
        locked_reg <= 1'b0;
        sel_reg <= 1'b0;
        last_reg <= 1'b1;
        s_ready_reg <= 1'b0;
        out_valid_reg <= 1'b0;
        temp_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
