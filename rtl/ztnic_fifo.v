// Synchronous first-word-fall-through FIFO: one write and one read per clock, the
// head visible on m_data whenever m_valid is high. Storage is a RAM with a registered
// read (block RAM on FPGAs) followed by one output register.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_fifo #(
    // Width of one entry in bits
    parameter WIDTH = 8,
    // log2 of the number of entries in the RAM (the output register holds one more)
    parameter DEPTH_LOG2 = 4
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready,

    // entries held (RAM and output register)
    output wire [DEPTH_LOG2+1:0] count
);

initial begin
    if (WIDTH < 1) begin
        $error("ztnic_fifo: WIDTH must be at least 1");
        $finish;
    end
    if (DEPTH_LOG2 < 1 || DEPTH_LOG2 > 16) begin
        $error("ztnic_fifo: DEPTH_LOG2 must be in 1..16");
        $finish;
    end
end

reg [WIDTH-1:0] mem [0:(1<<DEPTH_LOG2)-1];

reg [DEPTH_LOG2:0] wr_ptr_reg = 0, wr_ptr_next;
reg [DEPTH_LOG2:0] rd_ptr_reg = 0, rd_ptr_next;
reg [WIDTH-1:0] out_data_reg;
reg out_valid_reg = 1'b0, out_valid_next;

wire full = (wr_ptr_reg ^ rd_ptr_reg) == {1'b1, {DEPTH_LOG2{1'b0}}};
wire empty = wr_ptr_reg == rd_ptr_reg;
wire [DEPTH_LOG2:0] mem_count = wr_ptr_reg - rd_ptr_reg;

wire wr_en = s_valid && !full;
wire rd_en = !empty && (!out_valid_reg || m_ready);

assign s_ready = !full;
assign m_data = out_data_reg;
assign m_valid = out_valid_reg;
assign count = {1'b0, mem_count} + {{(DEPTH_LOG2+1){1'b0}}, out_valid_reg};

always @* begin
    wr_ptr_next = wr_ptr_reg;
    rd_ptr_next = rd_ptr_reg;
    out_valid_next = out_valid_reg;
    if (wr_en) begin
        wr_ptr_next = wr_ptr_reg + 1;
    end
    if (m_ready) begin
        out_valid_next = 1'b0;
    end
    if (rd_en) begin
        rd_ptr_next = rd_ptr_reg + 1;
        out_valid_next = 1'b1;
    end
end

always @(posedge clk) begin
    if (wr_en) begin
        mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= s_data;
    end
    if (rd_en) begin
        out_data_reg <= mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
    end
    wr_ptr_reg <= wr_ptr_next;
    rd_ptr_reg <= rd_ptr_next;
    out_valid_reg <= out_valid_next;
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
