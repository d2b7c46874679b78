// Synchronizer of level signals into the clock domain of clk: STAGES flip-flops in a
// row per bit, marked ASYNC_REG so that the tools place them together and leave them
// out of timing analysis of the first stage. Each bit is synchronized on its own, so
// only signals that change one bit at a time (toggle flags, Gray codes) may be carried
// as a vector.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_sync_bit #(
    // Number of bits synchronized (each independently)
    parameter WIDTH = 1,
    // Flip-flops in each synchronizer chain (at least 2)
    parameter STAGES = 2
) (
    input  wire             clk,
    input  wire             rst,

    // asynchronous input (from another clock domain)
    input  wire [WIDTH-1:0] in,
    // the input after STAGES flip-flops of clk
    output wire [WIDTH-1:0] out
);

initial begin
    if (WIDTH < 1) begin
        $error("ztnic_sync_bit: WIDTH must be at least 1");
        $finish;
    end
    if (STAGES < 2) begin
        $error("ztnic_sync_bit: STAGES must be at least 2");
        $finish;
    end
end

(* ASYNC_REG = "TRUE" *)
reg [WIDTH-1:0] sync_reg [0:STAGES-1];

integer k;

always @(posedge clk) begin
    sync_reg[0] <= in;
    for (k = 1; k < STAGES; k = k + 1) begin
        sync_reg[k] <= sync_reg[k-1];
    end
    if (rst) begin
        for (k = 0; k < STAGES; k = k + 1) begin
            sync_reg[k] <= {WIDTH{1'b0}};
        end
    end
end

assign out = sync_reg[STAGES-1];

endmodule

`resetall
