// Dual-port RAM for table storage: port A is the lookup port (read only), port B
// serves control access, data-plane inserts and counter updates (read or write).
// Both ports read synchronously (data one clock after the address), as block RAM does:
// each port's output register is the RAM's own, port B reads the old word when it
// writes (READ_FIRST), so synthesis maps the array to block RAM (true dual port).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ram_dp #(
    // Width of one word in bits
    parameter WIDTH = 32,
    // log2 of the number of words
    parameter ADDR_W = 6
) (
    input  wire              clk,

    input  wire              a_en,
    input  wire [ADDR_W-1:0] a_addr,
    output reg  [WIDTH-1:0]  a_rdata,

    input  wire              b_en,
    input  wire              b_we,
    input  wire [ADDR_W-1:0] b_addr,
    input  wire [WIDTH-1:0]  b_wdata,
    output reg  [WIDTH-1:0]  b_rdata
);

initial begin
    if (WIDTH < 1) begin
        $error("ztnic_ram_dp: WIDTH must be at least 1");
        $finish;
    end
    if (ADDR_W < 1 || ADDR_W > 20) begin
        $error("ztnic_ram_dp: ADDR_W must be in 1..20");
        $finish;
    end
end

// the tables are wide and shallow: block RAM rather than LUTRAM or flip-flops
(* ram_style = "block" *)
reg [WIDTH-1:0] mem [0:(1<<ADDR_W)-1];

integer i;
initial begin
    // tables start empty (valid bits clear); block RAM initialises to zero too
    for (i = 0; i < (1<<ADDR_W); i = i + 1) begin
        mem[i] = {WIDTH{1'b0}};
    end
end

always @(posedge clk) begin
    if (a_en) begin
        a_rdata <= mem[a_addr];
    end
end

always @(posedge clk) begin
    if (b_en) begin
        if (b_we) begin
            mem[b_addr] <= b_wdata;
        end
        b_rdata <= mem[b_addr];
    end
end

endmodule

`resetall
