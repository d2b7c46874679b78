// N-way hash-table storage: the block RAM of one exact-match table of the engine
// (vport_ctx, local_ep, remote_host, ctx_epoch, ct_overflow, each policy variant of
// each policy copy, conntrack). The table is WAYS ways of 2^ADDR_W buckets of one
// ENTRY_W-bit entry each, one ztnic_ram_dp per way (block RAM, true dual port).
//
// Port A is the lookup port: every way is read at once, each at its own bucket index
// (a_addr holds one index per way: a table indexed by one hash repeats it, the
// conntrack gives ways 0-1 the CRC-32 index and ways 2-3 the CRC-16 one), when a_en is
// high (the pipeline's advance). Port B is per way too (enable, write, index, entry):
// control-plane accesses, data-plane writes and the conntrack aging sweep. Both ports
// read synchronously: the entries come out one clock after the index, from the RAM's own
// output registers, and hold while the port is not enabled; port B returns the old
// entry when it writes (READ_FIRST), and port A reading a bucket that port B writes in
// the same clock gets the old entry too. The tables start empty (all entries zero).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_hash_table #(
    // Number of ways (1..32)
    parameter WAYS = 4,
    // log2 of the buckets per way (1..20)
    parameter ADDR_W = 6,
    // Width of one entry in bits
    parameter ENTRY_W = 32
) (
    input  wire                      clk,

    // lookup: one bucket index per way, all ways read
    input  wire                      a_en,
    input  wire [WAYS*ADDR_W-1:0]    a_addr,
    output wire [WAYS*ENTRY_W-1:0]   a_rdata,

    // per-way read or write
    input  wire [WAYS-1:0]           b_en,
    input  wire [WAYS-1:0]           b_we,
    input  wire [WAYS*ADDR_W-1:0]    b_addr,
    input  wire [WAYS*ENTRY_W-1:0]   b_wdata,
    output wire [WAYS*ENTRY_W-1:0]   b_rdata
);

initial begin
    if (WAYS < 1 || WAYS > 32) begin
        $error("ztnic_hash_table: WAYS must be in 1..32");
        $finish;
    end
    if (ADDR_W < 1 || ADDR_W > 20) begin
        $error("ztnic_hash_table: ADDR_W must be in 1..20");
        $finish;
    end
    if (ENTRY_W < 1) begin
        $error("ztnic_hash_table: ENTRY_W must be at least 1");
        $finish;
    end
end

genvar w;
generate
    for (w = 0; w < WAYS; w = w + 1) begin : g_way
        ztnic_ram_dp #(.WIDTH(ENTRY_W), .ADDR_W(ADDR_W)) ram (
            .clk(clk),
            .a_en(a_en), .a_addr(a_addr[w*ADDR_W +: ADDR_W]),
            .a_rdata(a_rdata[w*ENTRY_W +: ENTRY_W]),
            .b_en(b_en[w]), .b_we(b_we[w]), .b_addr(b_addr[w*ADDR_W +: ADDR_W]),
            .b_wdata(b_wdata[w*ENTRY_W +: ENTRY_W]),
            .b_rdata(b_rdata[w*ENTRY_W +: ENTRY_W]));
    end
endgenerate

endmodule

`resetall
