// Control-plane table access (the table window of rtl/regmap.toml, docs/regmap.md): one
// read or write of one entry of one table, addressed by table select and index, through
// port B of the table's storage, while packets go on.
//
// A request (tbl_req, held by the control block until tbl_done) runs as: C_CMD, a clock
// that checks the index and drives port B of the selected table (one way of a hash
// table: index = way * buckets + bucket; the policy: index = (variant * 4 + way) *
// buckets + bucket), writing when tbl_write; C_READ, a clock that takes the entry read
// back (the old entry on a write, READ_FIRST) into tbl_rdata and pulses tbl_done, with
// tbl_err set in C_CMD for an index out of range or an unknown table (nothing accessed).
// The tables the data plane writes itself (conntrack, context and rule counters) are
// accessed only with the pipeline empty: such a request first raises `hold` (the engine
// takes no new packet) and waits in C_WAIT for `pipe_empty`; `hold` falls with tbl_done.
// The drop and punt counters (flip-flops) are written in C_READ, after their old value
// was read. A request seen in the clock of its own tbl_done is not started again.
//
// `idle` is high in the clocks no access uses port B (the conntrack aging sweep may).
// Table data is read from and written to the engine's storage through per-table port-B
// enables (pipeline-written tables: the engine gives the enabled way to the access);
// the address and write data of port B are tbl_index and tbl_wdata, taken directly by
// the engine. Latency: tbl_done comes 3 clocks after tbl_req rises for a lookup-only
// table; for a data-plane-written one, 3 clocks after the first clock of C_WAIT (the one
// after tbl_req) that sees pipe_empty.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_table_access #(
    // log2 of the port_class table size
    parameter PORT_CLASS_LOG2 = 8,
    // log2 of the buckets per way of vport_ctx, local_ep, ctx_epoch, remote_host
    parameter VPORT_CTX_LOG2 = 6,
    parameter LOCAL_EP_LOG2 = 6,
    parameter CTX_EPOCH_LOG2 = 6,
    parameter REMOTE_HOST_LOG2 = 6,
    // Entries of the remote_ep LPM table (2..256)
    parameter REMOTE_EP_N = 16,
    // log2 of the buckets per way of each policy key variant (8 variants x 4 ways)
    parameter POLICY_LOG2 = 6,
    // log2 of the conntrack buckets per way (the RAM's size)
    parameter CT_ADDR_W = 10,
    // log2 of the ct_overflow buckets per way
    parameter CT_OVF_LOG2 = 4,
    // Address widths of the context and rule counter RAMs
    parameter CTR_CE_W = 8,
    parameter CTR_RULE_W = 13,
    // Words of the table access window
    parameter TBL_WORDS = 24,
    // Entry widths (must be the regmap's L_<TABLE>_W)
    parameter VPC_W = 185,
    parameter LEP_W = 185,
    parameter CE_W = 33,
    parameter RH_W = 187,
    parameter REM_W = 195,
    parameter POL_W = 457,
    parameter OVF_W = 314,
    parameter CT_W = 762
) (
    input  wire                     clk,
    input  wire                     rst,

    // the table window (control block)
    input  wire                     tbl_req,
    input  wire                     tbl_write,
    input  wire [7:0]               tbl_select,
    input  wire [31:0]              tbl_index,
    output wire                     tbl_done,
    output wire                     tbl_err,
    output wire [32*TBL_WORDS-1:0]  tbl_rdata,

    // pipeline: hold new packets; the pipeline holds none
    output wire                     hold,
    input  wire                     pipe_empty,
    // no access uses port B this clock
    output wire                     idle,

    // port B: enables (per way), and the write of the enabled ones
    output reg                      b_we,
    output reg  [3:0]               vpc_en,
    output reg  [3:0]               lep_en,
    output reg  [3:0]               ce_en,
    output reg  [3:0]               rh_en,
    output reg  [3:0]               ovf_en,
    output reg  [31:0]              pol_en,
    output reg  [3:0]               ct_en,
    output reg                      cec_en,
    output reg                      rc_en,
    // writes of the flip-flop tables (port_class, remote_ep in C_CMD; counters in C_READ)
    output reg                      pc_we,
    output reg                      rem_we,
    output reg                      drop_we,
    output reg                      punt_we,

    // read data: port B of each RAM table (all ways), the flip-flop entry at tbl_index
    input  wire [1:0]               pc_rd,
    input  wire [4*VPC_W-1:0]       vpc_rd,
    input  wire [4*LEP_W-1:0]       lep_rd,
    input  wire [4*CE_W-1:0]        ce_rd,
    input  wire [4*RH_W-1:0]        rh_rd,
    input  wire [REM_W-1:0]         rem_rd,
    input  wire [32*POL_W-1:0]      pol_rd,
    input  wire [4*OVF_W-1:0]       ovf_rd,
    input  wire [4*CT_W-1:0]        ct_rd,
    input  wire [127:0]             cec_rd,
    input  wire [127:0]             rc_rd,
    input  wire [63:0]              drop_rd,
    input  wire [63:0]              punt_rd
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"

localparam TBL_W = 32 * TBL_WORDS;

initial begin
    if (PORT_CLASS_LOG2 < 1 || PORT_CLASS_LOG2 > 16) begin
        $error("ztnic_table_access: PORT_CLASS_LOG2 must be in 1..16");
        $finish;
    end
    if (VPORT_CTX_LOG2 < 1 || LOCAL_EP_LOG2 < 1 || CTX_EPOCH_LOG2 < 1 || REMOTE_HOST_LOG2 < 1
            || VPORT_CTX_LOG2 > 20 || LOCAL_EP_LOG2 > 20 || CTX_EPOCH_LOG2 > 20 || REMOTE_HOST_LOG2 > 20) begin
        $error("ztnic_table_access: VPORT_CTX_LOG2, LOCAL_EP_LOG2, CTX_EPOCH_LOG2 and REMOTE_HOST_LOG2 must be in 1..20");
        $finish;
    end
    if (REMOTE_EP_N < 2 || REMOTE_EP_N > 256) begin
        $error("ztnic_table_access: REMOTE_EP_N must be in 2..256");
        $finish;
    end
    if (POLICY_LOG2 < 1 || POLICY_LOG2 > 9) begin
        $error("ztnic_table_access: POLICY_LOG2 must be in 1..9");
        $finish;
    end
    if (CT_ADDR_W < 1 || CT_ADDR_W > 16 || CT_OVF_LOG2 < 1 || CT_OVF_LOG2 > 16) begin
        $error("ztnic_table_access: CT_ADDR_W and CT_OVF_LOG2 must be in 1..16");
        $finish;
    end
    if (CTR_CE_W < 1 || CTR_CE_W > 20 || CTR_RULE_W < 1 || CTR_RULE_W > 20) begin
        $error("ztnic_table_access: CTR_CE_W and CTR_RULE_W must be in 1..20");
        $finish;
    end
    if (VPC_W != L_VPORT_CTX_W || LEP_W != L_LOCAL_EP_W || CE_W != L_CTX_EPOCH_W
            || RH_W != L_REMOTE_HOST_W || REM_W != L_REMOTE_EP_W || POL_W != L_POLICY_W
            || OVF_W != L_CT_OVERFLOW_W || CT_W != L_CONNTRACK_W) begin
        $error("ztnic_table_access: VPC_W, LEP_W, CE_W, RH_W, REM_W, POL_W, OVF_W and CT_W must be the regmap's entry widths");
        $finish;
    end
    if (TBL_W < CT_W || TBL_W < POL_W || TBL_W < REM_W || TBL_W < 128) begin
        $error("ztnic_table_access: TBL_WORDS too small for the widest entry");
        $finish;
    end
end

// the index is below ways * 2^log2
function idx_ok(input [31:0] idx, input integer log2, input integer ways);
    idx_ok = (idx >> log2) < ways;
endfunction

localparam [1:0] C_IDLE = 2'd0, C_WAIT = 2'd1, C_CMD = 2'd2, C_READ = 2'd3;
reg [1:0] cst_reg = C_IDLE, cst_next;
// the access in progress holds new packets
reg drain_reg = 1'b0, drain_next;
reg [TBL_W-1:0] crd_reg = 0, crd_next;
reg cdone_reg = 1'b0, cdone_next;
reg cerr_reg = 1'b0, cerr_next;
reg [TBL_W-1:0] tsel;

wire [2:0] tbl_var = tbl_index[POLICY_LOG2+2 +: 3];
wire [1:0] tbl_pway = tbl_index[POLICY_LOG2 +: 2];
wire [1:0] vpc_way = tbl_index[VPORT_CTX_LOG2 +: 2];
wire [1:0] lep_way = tbl_index[LOCAL_EP_LOG2 +: 2];
wire [1:0] ce_way = tbl_index[CTX_EPOCH_LOG2 +: 2];
wire [1:0] rh_way = tbl_index[REMOTE_HOST_LOG2 +: 2];
wire [1:0] ovf_way = tbl_index[CT_OVF_LOG2 +: 2];
wire [1:0] ct_way = tbl_index[CT_ADDR_W +: 2];

assign hold = drain_reg;
assign idle = cst_reg == C_IDLE && !(tbl_req && !cdone_reg);
assign tbl_done = cdone_reg;
assign tbl_err = cerr_reg;
assign tbl_rdata = crd_reg;

// the ways' read data as arrays: a selection by way is a multiplexer (an index
// multiplied by the entry width would be a multiplier and a barrel shifter)
wire [VPC_W-1:0] vpc_w [0:3];
wire [LEP_W-1:0] lep_w [0:3];
wire [RH_W-1:0] rh_w [0:3];
wire [CE_W-1:0] ce_w [0:3];
wire [OVF_W-1:0] ovf_w [0:3];
wire [CT_W-1:0] ct_w [0:3];
wire [POL_W-1:0] pol_w [0:31];
genvar gw;
generate
    for (gw = 0; gw < 4; gw = gw + 1) begin : g_way
        assign vpc_w[gw] = vpc_rd[gw*VPC_W +: VPC_W];
        assign lep_w[gw] = lep_rd[gw*LEP_W +: LEP_W];
        assign rh_w[gw] = rh_rd[gw*RH_W +: RH_W];
        assign ce_w[gw] = ce_rd[gw*CE_W +: CE_W];
        assign ovf_w[gw] = ovf_rd[gw*OVF_W +: OVF_W];
        assign ct_w[gw] = ct_rd[gw*CT_W +: CT_W];
    end
    for (gw = 0; gw < 32; gw = gw + 1) begin : g_pol
        assign pol_w[gw] = pol_rd[gw*POL_W +: POL_W];
    end
endgenerate

always @* begin
    cst_next = cst_reg;
    drain_next = drain_reg;
    crd_next = crd_reg;
    cdone_next = 1'b0;
    cerr_next = cerr_reg;
    tsel = 0;

    b_we = 1'b0;
    vpc_en = 0; lep_en = 0; ce_en = 0; rh_en = 0; ovf_en = 0; pol_en = 0; ct_en = 0;
    cec_en = 1'b0; rc_en = 1'b0;
    pc_we = 1'b0; rem_we = 1'b0; drop_we = 1'b0; punt_we = 1'b0;

    case (cst_reg)
    C_IDLE: begin
        if (tbl_req && !cdone_reg) begin
            if (tbl_select == TABLE_CONNTRACK[7:0] || tbl_select == TABLE_CTX_COUNTER[7:0]
                    || tbl_select == TABLE_RULE_COUNTER[7:0]) begin
                cst_next = C_WAIT;
                drain_next = 1'b1;
            end else begin
                cst_next = C_CMD;
            end
        end
    end
    C_WAIT: begin
        if (pipe_empty) begin
            cst_next = C_CMD;
        end
    end
    C_CMD: begin
        cst_next = C_READ;
        b_we = tbl_write;
        cerr_next = 1'b0;
        case (tbl_select)
            TABLE_PORT_CLASS[7:0]: begin
                if ((tbl_index >> PORT_CLASS_LOG2) != 0) cerr_next = 1'b1;
                else pc_we = tbl_write;
            end
            TABLE_VPORT_CTX[7:0]: begin
                if (!idx_ok(tbl_index, VPORT_CTX_LOG2, 4)) cerr_next = 1'b1;
                else vpc_en = 4'd1 << vpc_way;
            end
            TABLE_LOCAL_EP[7:0]: begin
                if (!idx_ok(tbl_index, LOCAL_EP_LOG2, 4)) cerr_next = 1'b1;
                else lep_en = 4'd1 << lep_way;
            end
            TABLE_CTX_EPOCH[7:0]: begin
                if (!idx_ok(tbl_index, CTX_EPOCH_LOG2, 4)) cerr_next = 1'b1;
                else ce_en = 4'd1 << ce_way;
            end
            TABLE_REMOTE_HOST[7:0]: begin
                if (!idx_ok(tbl_index, REMOTE_HOST_LOG2, 4)) cerr_next = 1'b1;
                else rh_en = 4'd1 << rh_way;
            end
            TABLE_REMOTE_EP[7:0]: begin
                if (tbl_index >= REMOTE_EP_N) cerr_next = 1'b1;
                else rem_we = tbl_write;
            end
            TABLE_POLICY[7:0]: begin
                if (!idx_ok(tbl_index, POLICY_LOG2, 32)) cerr_next = 1'b1;
                else pol_en = 32'd1 << {tbl_var, tbl_pway};
            end
            TABLE_CT_OVERFLOW[7:0]: begin
                if (!idx_ok(tbl_index, CT_OVF_LOG2, 4)) cerr_next = 1'b1;
                else ovf_en = 4'd1 << ovf_way;
            end
            TABLE_CONNTRACK[7:0]: begin
                if (!idx_ok(tbl_index, CT_ADDR_W, 4)) cerr_next = 1'b1;
                else ct_en = 4'd1 << ct_way;
            end
            TABLE_CTX_COUNTER[7:0]: begin
                if ((tbl_index >> CTR_CE_W) != 0) cerr_next = 1'b1;
                else cec_en = 1'b1;
            end
            TABLE_RULE_COUNTER[7:0]: begin
                if ((tbl_index >> CTR_RULE_W) != 0) cerr_next = 1'b1;
                else rc_en = 1'b1;
            end
            TABLE_DROP_COUNTER[7:0]: begin
                if (tbl_index >= DROP_CODES) cerr_next = 1'b1;
            end
            TABLE_PUNT_COUNTER[7:0]: begin
                if (tbl_index >= PUNT_CODES) cerr_next = 1'b1;
            end
            default: cerr_next = 1'b1;
        endcase
    end
    C_READ: begin
        case (tbl_select)
            TABLE_PORT_CLASS[7:0]: tsel[1:0] = pc_rd;
            TABLE_VPORT_CTX[7:0]: tsel[VPC_W-1:0] = vpc_w[vpc_way];
            TABLE_LOCAL_EP[7:0]: tsel[LEP_W-1:0] = lep_w[lep_way];
            TABLE_REMOTE_HOST[7:0]: tsel[RH_W-1:0] = rh_w[rh_way];
            TABLE_CTX_EPOCH[7:0]: tsel[CE_W-1:0] = ce_w[ce_way];
            TABLE_REMOTE_EP[7:0]: tsel[REM_W-1:0] = rem_rd;
            TABLE_POLICY[7:0]: tsel[POL_W-1:0] = pol_w[{tbl_var, tbl_pway}];
            TABLE_CT_OVERFLOW[7:0]: tsel[OVF_W-1:0] = ovf_w[ovf_way];
            TABLE_CONNTRACK[7:0]: tsel[CT_W-1:0] = ct_w[ct_way];
            TABLE_CTX_COUNTER[7:0]: tsel[127:0] = cec_rd;
            TABLE_RULE_COUNTER[7:0]: tsel[127:0] = rc_rd;
            TABLE_DROP_COUNTER[7:0]: tsel[63:0] = drop_rd;
            TABLE_PUNT_COUNTER[7:0]: tsel[63:0] = punt_rd;
            default: tsel = 0;
        endcase
        drop_we = tbl_write && tbl_select == TABLE_DROP_COUNTER[7:0] && tbl_index < DROP_CODES;
        punt_we = tbl_write && tbl_select == TABLE_PUNT_COUNTER[7:0] && tbl_index < PUNT_CODES;
        crd_next = tsel;
        cdone_next = 1'b1;
        cst_next = C_IDLE;
        drain_next = 1'b0;
    end
    default: cst_next = C_IDLE;
    endcase
end

always @(posedge clk) begin
    cst_reg <= cst_next;
    drain_reg <= drain_next;
    crd_reg <= crd_next;
    cdone_reg <= cdone_next;
    cerr_reg <= cerr_next;

    if (rst) begin
        cst_reg <= C_IDLE;
        drain_reg <= 1'b0;
        cdone_reg <= 1'b0;
    end
end

endmodule

`resetall
