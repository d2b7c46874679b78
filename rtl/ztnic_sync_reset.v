// Reset synchronizer: rst_out rises as soon as rst_in rises (asynchronously) and falls
// STAGES rising edges of clk after rst_in falls, so the reset ends in step with clk.
// The chain is marked ASYNC_REG. rst_in may come from any clock domain.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_sync_reset #(
    // Flip-flops in the chain (at least 2)
    parameter STAGES = 2
) (
    input  wire clk,
    // active-high reset from any domain
    input  wire rst_in,
    // active-high reset, released synchronously to clk
    output wire rst_out
);

initial begin
    if (STAGES < 2) begin
        $error("ztnic_sync_reset: STAGES must be at least 2");
        $finish;
    end
end

(* ASYNC_REG = "TRUE" *)
reg [STAGES-1:0] sync_reg = {STAGES{1'b1}};

always @(posedge clk or posedge rst_in) begin
    if (rst_in) begin
        sync_reg <= {STAGES{1'b1}};
    end else begin
        sync_reg <= {sync_reg[STAGES-2:0], 1'b0};
    end
end

assign rst_out = sync_reg[STAGES-1];

endmodule

`resetall
