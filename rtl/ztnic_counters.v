// Counter read-modify-write of the engine's stages 25-26 (docs/datapath.md §8): one
// packet-and-byte counter RAM, read on port A one stage ahead (the engine addresses
// it with the packet in stage 24), written on port B when the packet leaves stage 25.
// The only write the read cannot see is the one made in the clock the read was made,
// by the packet just ahead; it is captured here and forwarded, so back-to-back packets
// counting one slot are counted exactly as one at a time.
//
// A counter is {bytes[127:64], packets[63:0]}; a counted packet adds 1 and s_bytes.
// m_we is high in the clock the write must be made (the pipeline advances and the
// packet in stage 25 counts), m_data is the slot's new value; the engine writes it to
// s_slot on port B. The forwarding registers move when `adv` is high, as the stage
// registers do.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_counters #(
    // log2 of the counter slots (width of a slot address)
    parameter ADDR_W = 8
) (
    input  wire              clk,
    input  wire              rst,
    // advance: the pipeline moves
    input  wire              adv,

    // the packet in stage 25: it counts, its slot and its byte count
    input  wire              s_count,
    input  wire [ADDR_W-1:0] s_slot,
    input  wire [15:0]       s_bytes,
    // the slot's value as port A read it (addressed the clock the packet entered)
    input  wire [127:0]      rd_data,

    // the write of the slot's new value
    output wire              m_we,
    output wire [127:0]      m_data
);

initial begin
    if (ADDR_W < 1 || ADDR_W > 20) begin
        $error("ztnic_counters: ADDR_W must be in 1..20");
        $finish;
    end
end

// the last write (made in the clock the packet now in stage 25 was read)
reg fwd_v_reg = 1'b0;
reg [ADDR_W-1:0] fwd_a_reg;
reg [127:0] fwd_d_reg;

wire [127:0] old = (fwd_v_reg && fwd_a_reg == s_slot) ? fwd_d_reg : rd_data;
assign m_we = adv && s_count;
assign m_data = {old[127:64] + {48'd0, s_bytes}, old[63:0] + 64'd1};

always @(posedge clk) begin
    if (adv) begin
        fwd_v_reg <= m_we;
        fwd_a_reg <= s_slot;
        fwd_d_reg <= m_data;
    end
    if (rst) begin
        fwd_v_reg <= 1'b0;
    end
end

endmodule

`resetall
