// The verdict pipeline of the datapath (docs/datapath.md §1-§8): for each captured
// frame header it runs parse, classify, context check, conntrack, policy and act, and
// hands the egress a descriptor saying which bytes leave by which port (or that the
// frame is dropped). It owns every table.
//
// A pipeline of 26 named stages (28 clocks: the header passes, named 2-4 and 5-7, take
// four clocks each) that accepts a new packet every clock (docs/rtl.md has the
// diagram). Every stage moves when `adv` is high: the descriptor output is free or
// ready. A packet carries its packet header vector (ztnic_phv.vh) from stage to stage;
// once a stage has decided its verdict (drop, punt, packet-out) the later stages pass
// it on untouched. All table reads are registered (block RAM, read enable = adv):
// lookups use port A; conntrack writes, counter writes, control-plane accesses and the
// aging sweep use port B (the policy's reverse-view lookup reads port B too).
//
// Read-modify-write hazards: the conntrack is read (port A) one stage before the
// decide stage, which writes (port B) when the packet leaves it. The only write the
// read cannot see is the one made in the same clock by the packet just ahead; it is
// captured per way and forwarded into the decide stage, so back-to-back packets of one
// connection, or of connections sharing a bucket, are judged exactly as one at a time.
// The counters use the same scheme (read port A, write port B, forward the last write).
// Control-plane table accesses never stop the data plane, except those of the tables
// the data plane writes itself (conntrack, context and rule counters): every other table
// is looked up on port A and written by the control plane alone on port B (the policy
// is kept twice, one copy per lookup view, so that its port B is free too), so an access
// takes that port for a clock while packets go on. An access of a data-plane-written
// table holds new packets and runs once the pipeline is empty.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_engine #(
    // Width of tuser (port numbers)
    parameter USER_W = 16,
    // Bytes of each frame the ingress captures for parsing
    parameter HDR_BYTES = 320,
    // log2 of the port_class table size (ports at or above it are unclassified)
    parameter PORT_CLASS_LOG2 = 8,
    // log2 of the buckets per way of vport_ctx, local_ep and ctx_epoch
    parameter VPORT_CTX_LOG2 = 6,
    parameter LOCAL_EP_LOG2 = 6,
    parameter CTX_EPOCH_LOG2 = 6,
    // log2 of the buckets per way of each of the 8 policy key variants
    parameter POLICY_LOG2 = 6,
    // Entries of the remote_ep LPM table (compared in parallel)
    parameter REMOTE_EP_N = 16,
    // log2 of buckets per way of remote_host, the full-length routes (exact match
    // on the local_ep hash; a hit wins over the LPM)
    parameter REMOTE_HOST_LOG2 = 6,
    // log2 of the largest conntrack buckets per way (config.ct_buckets)
    parameter CT_LOG2_MAX = 10,
    // log2 of ct_overflow buckets per way
    parameter CT_OVF_LOG2 = 4,
    // Words of the table access window
    parameter TBL_WORDS = 24
) (
    input  wire                     clk,
    input  wire                     rst,

    // time in microseconds (the board's timestamp unit)
    input  wire [63:0]              ts_us,

    // header queue
    input  wire [8*HDR_BYTES-1:0]   hq_hdr,
    input  wire [15:0]              hq_len,
    input  wire [USER_W-1:0]        hq_port,
    input  wire [15:0]              hq_beats,
    // the frame was longer than config.max_frame (cut by the ingress): dropped at stage 1
    input  wire                     hq_oversize,
    input  wire                     hq_valid,
    output wire                     hq_ready,

    // verdict descriptor to the egress
    output wire                     desc_drop,
    output wire [USER_W-1:0]        desc_port,
    output wire [6:0]               desc_plen,
    output wire [511:0]             desc_prefix,
    output wire [15:0]              desc_skip,
    output wire [15:0]              desc_end,
    output wire [15:0]              desc_words,
    output wire                     desc_valid,
    input  wire                     desc_ready,

    // verdict side-band: one pulse per packet
    output wire                     status_valid,
    output wire [1:0]               status_verdict,
    output wire [7:0]               status_reason,
    output wire [USER_W-1:0]        status_port,
    output wire                     status_ct_valid,
    output wire [5:0]               status_ct_state,
    output wire                     status_rule_valid,
    output wire [31:0]              status_rule,
    output wire [15:0]              status_cycles,

    // configuration
    input  wire [15:0]              cfg_uplink_port,
    input  wire [15:0]              cfg_cpu_port,
    input  wire [31:0]              cfg_local_vtep_ip,
    input  wire [47:0]              cfg_local_mac,
    input  wire [47:0]              cfg_gateway_mac,
    input  wire [23:0]              cfg_vni,
    input  wire                     cfg_auth,
    input  wire [127:0]             cfg_auth_key,
    input  wire [4:0]               cfg_ct_log2,
    input  wire [15:0]              cfg_policy_gen,
    input  wire [4:0]               cfg_tcp_wscale,
    input  wire [64*16-1:0]         cfg_timeouts,

    // table access
    input  wire                     tbl_req,
    input  wire                     tbl_write,
    input  wire [7:0]               tbl_select,
    input  wire [31:0]              tbl_index,
    input  wire [32*TBL_WORDS-1:0]  tbl_wdata,
    output wire                     tbl_done,
    output wire                     tbl_err,
    output wire [32*TBL_WORDS-1:0]  tbl_rdata,

    // events
    output wire [127:0]             evt_data,
    output wire                     evt_valid
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

localparam HW = 8 * HDR_BYTES;
localparam TBL_W = 32 * TBL_WORDS;
localparam CT_ADDR_W = CT_LOG2_MAX;
localparam CTR_CE_W = CTX_EPOCH_LOG2 + 2;
localparam POL_IDX_W = POLICY_LOG2 + 2 + 3;
localparam CTR_RULE_W = POL_IDX_W + 2;
localparam REM_IDX_W = $clog2(REMOTE_EP_N);
// the last stage: its registers feed the descriptor
localparam NST = 26;
// the PHV bits live after each stage (ztnic_phv.vh: phv_live)
localparam [PHV_W-1:0] LIVE1 = phv_live(1, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE10 = phv_live(10, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE12 = phv_live(12, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE13 = phv_live(13, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE14 = phv_live(14, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE15 = phv_live(15, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE22 = phv_live(22, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE24 = phv_live(24, CTR_CE_W, CTR_RULE_W);
localparam [PHV_W-1:0] LIVE26 = phv_live(26, CTR_CE_W, CTR_RULE_W);

initial begin
    if (HDR_BYTES < 288 || HDR_BYTES > 512) begin
        $error("ztnic_engine: HDR_BYTES must be in 288..512 (deepest header path is 276 bytes)");
        $finish;
    end
    if (USER_W != 16) begin
        $error("ztnic_engine: USER_W must be 16 (ports are 16 bits)");
        $finish;
    end
    if (PORT_CLASS_LOG2 < 1 || PORT_CLASS_LOG2 > 16) begin
        $error("ztnic_engine: PORT_CLASS_LOG2 must be in 1..16");
        $finish;
    end
    if (CT_LOG2_MAX < 1 || CT_LOG2_MAX > 16) begin
        $error("ztnic_engine: CT_LOG2_MAX must be in 1..16");
        $finish;
    end
    if (POLICY_LOG2 < 1 || POLICY_LOG2 > 9) begin
        $error("ztnic_engine: POLICY_LOG2 must be in 1..9 (rule counter slots are 16 bits)");
        $finish;
    end
    if (CTX_EPOCH_LOG2 < 1 || CTX_EPOCH_LOG2 > 14) begin
        $error("ztnic_engine: CTX_EPOCH_LOG2 must be in 1..14 (ctx counter slots are 16 bits)");
        $finish;
    end
    if (REMOTE_HOST_LOG2 < 1 || REMOTE_HOST_LOG2 > 16) begin
        $error("ztnic_engine: REMOTE_HOST_LOG2 must be in 1..16");
        $finish;
    end
    if (REMOTE_EP_N < 2 || REMOTE_EP_N > 256) begin
        $error("ztnic_engine: REMOTE_EP_N must be in 2..256");
        $finish;
    end
    if (TBL_W < L_CONNTRACK_W || TBL_W < L_POLICY_W) begin
        $error("ztnic_engine: TBL_WORDS too small for the widest entry");
        $finish;
    end
    if (L_POLICY_RULE_COUNT != 4) begin
        $error("ztnic_engine: the policy entry must hold 4 rules");
        $finish;
    end
end

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

// combinational CRC-32/IEEE of a short key (8 bytes at most), big-endian vector
function [31:0] crc32_small(input [63:0] d, input integer n);
    integer i, j;
    reg [31:0] c;
    begin
        c = 32'hffffffff;
        for (i = 0; i < n; i = i + 1) begin
            c = c ^ {24'd0, d[8*(n-1-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ 32'hedb88320) : (c >> 1);
            end
        end
        crc32_small = ~c;
    end
endfunction

// ways 2 and 3 are indexed by the CRC-16 (zero-extended when buckets exceed 2^16)
/* verilator lint_off UNUSEDSIGNAL */
function [CT_ADDR_W-1:0] h16_ext(input [15:0] h);
    reg [31:0] x;
    begin
        x = {16'd0, h};
        h16_ext = x[CT_ADDR_W-1:0];
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// ---------------------------------------------------------------------------
// pipeline control
// ---------------------------------------------------------------------------
// valid bit of each stage register (stages 2..7 live in the parse passes)
reg v1_reg = 1'b0;
reg [NST:8] v_reg = 0;
wire adv = !v_reg[NST] || desc_ready;

// control-plane access (ztnic_table_access): an access of a table the data plane writes
// (conntrack, counters) first holds new packets and waits for the pipeline to drain;
// every other access runs at once.
wire hold;
wire pass0_busy, pass1_busy;
wire pipe_empty = !v1_reg && v_reg == 0 && !pass0_busy && !pass1_busy;

assign hq_ready = adv && !hold;

reg [15:0] clock_reg = 0;
always @(posedge clk) begin
    clock_reg <= clock_reg + 16'd1;
end

// the drop and punt counters live in flip-flops (port_class too, in ztnic_port_class;
// remote_ep in ztnic_remote_ep_lpm)
reg [63:0] drop_cnt [0:DROP_CODES-1];
reg [63:0] punt_cnt [0:PUNT_CODES-1];

integer ii;
initial begin
    for (ii = 0; ii < DROP_CODES; ii = ii + 1) drop_cnt[ii] = 64'd0;
    for (ii = 0; ii < PUNT_CODES; ii = ii + 1) punt_cnt[ii] = 64'd0;
end

// ---------------------------------------------------------------------------
// stage 1: port class, packet_out
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] p1_reg, p1;
reg [HW-1:0] r1_reg, r1;
// the fields stage 1 decides; mode 1 shifts the header by the 4-byte packet_out header
wire [10:0] s1_vd;
wire [15:0] s1_port, s1_pre, s1_oport, s1_skip;
wire [1:0] s1_cls;
wire s1_shift;
// the control window writes and reads port_class at its index (pc_we: ztnic_table_access)
wire pc_we;
wire [1:0] pc_rd;
ztnic_port_class #(.PORT_CLASS_LOG2(PORT_CLASS_LOG2)) port_class_stage (
    .clk(clk),
    .wr_en(pc_we), .wr_index(tbl_index[PORT_CLASS_LOG2-1:0]), .wr_data(tbl_wdata[1:0]),
    .rd_index(tbl_index[PORT_CLASS_LOG2-1:0]), .rd_data(pc_rd),
    .port(hq_port), .len(hq_len), .oversize(hq_oversize), .hdr(hq_hdr[23:0]),
    .m_vd(s1_vd), .m_port(s1_port), .m_cls(s1_cls), .m_pre(s1_pre), .m_oport(s1_oport),
    .m_skip(s1_skip), .m_shift(s1_shift));

always @* begin
    r1 = s1_shift ? hq_hdr >> 32 : hq_hdr;
    p1 = 0;
    p1[F_T0 +: 16] = clock_reg;
    p1[F_LEN +: 16] = hq_len;
    p1[F_BEATS +: 16] = hq_beats;
    p1[F_PORT +: 16] = s1_port;
    p1[F_PRE +: 16] = s1_pre;
    p1[F_CLS +: 2] = s1_cls;
    p1[F_DONE] = s1_vd[10];
    p1[F_VK +: 2] = s1_vd[9:8];
    p1[F_WHY +: 8] = s1_vd[7:0];
    p1[F_OPORT +: 16] = s1_oport;
    p1[F_SKIP +: 16] = s1_skip;
    p1[F_ENDP +: 16] = hq_len;
    p1[F_OFF +: 16] = s1_pre;
    p1[F_LIM +: 16] = hq_len;
end

always @(posedge clk) begin
    if (adv) begin
        p1_reg <= p1 & LIVE1;
        r1_reg <= r1;
    end
end

// ---------------------------------------------------------------------------
// stages 2-4 and 5-7: outer and inner header passes (four clocks each)
// ---------------------------------------------------------------------------
wire pv4, pv7;
wire [PHV_W-1:0] p4_reg, p7_reg;
wire [HW-1:0] r4_reg, r7_reg;

ztnic_parse_pass #(.HDR_BYTES(HDR_BYTES), .OUTER(1)) pass_outer (
    .clk(clk), .adv(adv), .cfg_local_vtep_ip(cfg_local_vtep_ip),
    .s_valid(v1_reg), .s_phv(p1_reg), .s_rem(r1_reg),
    .m_valid(pv4), .m_phv(p4_reg), .m_rem(r4_reg), .busy(pass0_busy));

ztnic_parse_pass #(.HDR_BYTES(HDR_BYTES), .OUTER(0)) pass_inner (
    .clk(clk), .adv(adv), .cfg_local_vtep_ip(cfg_local_vtep_ip),
    .s_valid(pv4), .s_phv(p4_reg), .s_rem(r4_reg),
    .m_valid(pv7), .m_phv(p7_reg), .m_rem(r7_reg), .busy(pass1_busy));

// the valid bits of stages 1 and 8..26 (the passes keep their own)
always @(posedge clk) begin
    if (adv) begin
        v1_reg <= hq_valid && !hold;
        v_reg <= {v_reg[NST-1:8], pv7};
    end
    if (rst) begin
        v1_reg <= 1'b0;
        v_reg <= 0;
    end
end

// ---------------------------------------------------------------------------
// stages 8-9: the flow embedded in an ICMP error
// ---------------------------------------------------------------------------
wire [PHV_W-1:0] p9_reg;

ztnic_parse_embedded #(.HDR_BYTES(HDR_BYTES)) parse_emb (
    .clk(clk), .adv(adv), .s_phv(p7_reg), .s_rem(r7_reg), .m_phv(p9_reg));

// ---------------------------------------------------------------------------
// tables
// ---------------------------------------------------------------------------
// every exact table is a ztnic_hash_table: port A the lookups (read enable = adv),
// port B per way. Port B of the lookup-only tables: control-plane accesses, at the
// window's index and data (ztnic_table_access enables the way)
wire [3:0] vpc_b_en, lep_b_en, rh_b_en, ce_b_en, ovf_b_en;
wire b_we;
/* verilator lint_off UNUSEDSIGNAL */
// port B address and data are shared by tables of different sizes
wire [31:0] b_addr = tbl_index;
wire [TBL_W-1:0] b_wdata = tbl_wdata;
/* verilator lint_on UNUSEDSIGNAL */

wire [VPORT_CTX_LOG2-1:0] vpc_a_addr;
wire [LOCAL_EP_LOG2-1:0] lep_a_addr;
wire [REMOTE_HOST_LOG2-1:0] rh_a_addr;
wire [CTX_EPOCH_LOG2-1:0] ce_a_addr;
wire [CT_ADDR_W-1:0] ct_a_addr_lo, ct_a_addr_hi;
wire [CT_OVF_LOG2-1:0] ovf_a_addr;

wire [4*L_VPORT_CTX_W-1:0] vpc_a_rd, vpc_b_rd;
wire [4*L_LOCAL_EP_W-1:0] lep_a_rd, lep_b_rd;
wire [4*L_REMOTE_HOST_W-1:0] rh_a_rd, rh_b_rd;
wire [4*L_CTX_EPOCH_W-1:0] ce_a_rd, ce_b_rd;
wire [4*L_CT_OVERFLOW_W-1:0] ovf_a_rd, ovf_b_rd;

// conntrack: port B per way (data-plane writes, sweep, control)
reg [3:0] ct_b_en, ct_b_we;
reg [4*CT_ADDR_W-1:0] ct_b_addr;
reg [4*L_CONNTRACK_W-1:0] ct_b_wdata;
wire [4*L_CONNTRACK_W-1:0] ct_a_rd, ct_b_rd;

// policy: 8 variants x 4 ways (way v*4+w of a 32-way table), kept twice: port A of one
// copy looks up the packet's view, port A of the other the reverse view; control writes
// go to port B of both (control reads come from the first), so no lookup ever waits for
// the control plane
wire [31:0] pol_b_en;
wire pol_b_we = b_we;
wire [8*POLICY_LOG2-1:0] pol_a_addr, pol_b_addr;
wire [32*L_POLICY_W-1:0] pol_a_rd, pol_b_rd, pol_ctl_rd;
wire [32*POLICY_LOG2-1:0] pol_a_idx, pol_b_idx;

genvar pv;
generate
    for (pv = 0; pv < 32; pv = pv + 1) begin : g_pol_idx
        assign pol_a_idx[pv*POLICY_LOG2 +: POLICY_LOG2] = pol_a_addr[(pv/4)*POLICY_LOG2 +: POLICY_LOG2];
        assign pol_b_idx[pv*POLICY_LOG2 +: POLICY_LOG2] = pol_b_addr[(pv/4)*POLICY_LOG2 +: POLICY_LOG2];
    end
endgenerate

ztnic_hash_table #(.WAYS(4), .ADDR_W(VPORT_CTX_LOG2), .ENTRY_W(L_VPORT_CTX_W)) vport_ctx_tbl (
    .clk(clk), .a_en(adv), .a_addr({4{vpc_a_addr}}), .a_rdata(vpc_a_rd),
    .b_en(vpc_b_en), .b_we({4{b_we}}), .b_addr({4{b_addr[VPORT_CTX_LOG2-1:0]}}),
    .b_wdata({4{b_wdata[L_VPORT_CTX_W-1:0]}}), .b_rdata(vpc_b_rd));
ztnic_hash_table #(.WAYS(4), .ADDR_W(LOCAL_EP_LOG2), .ENTRY_W(L_LOCAL_EP_W)) local_ep_tbl (
    .clk(clk), .a_en(adv), .a_addr({4{lep_a_addr}}), .a_rdata(lep_a_rd),
    .b_en(lep_b_en), .b_we({4{b_we}}), .b_addr({4{b_addr[LOCAL_EP_LOG2-1:0]}}),
    .b_wdata({4{b_wdata[L_LOCAL_EP_W-1:0]}}), .b_rdata(lep_b_rd));
ztnic_hash_table #(.WAYS(4), .ADDR_W(REMOTE_HOST_LOG2), .ENTRY_W(L_REMOTE_HOST_W)) remote_host_tbl (
    .clk(clk), .a_en(adv), .a_addr({4{rh_a_addr}}), .a_rdata(rh_a_rd),
    .b_en(rh_b_en), .b_we({4{b_we}}), .b_addr({4{b_addr[REMOTE_HOST_LOG2-1:0]}}),
    .b_wdata({4{b_wdata[L_REMOTE_HOST_W-1:0]}}), .b_rdata(rh_b_rd));
ztnic_hash_table #(.WAYS(4), .ADDR_W(CTX_EPOCH_LOG2), .ENTRY_W(L_CTX_EPOCH_W)) ctx_epoch_tbl (
    .clk(clk), .a_en(adv), .a_addr({4{ce_a_addr}}), .a_rdata(ce_a_rd),
    .b_en(ce_b_en), .b_we({4{b_we}}), .b_addr({4{b_addr[CTX_EPOCH_LOG2-1:0]}}),
    .b_wdata({4{b_wdata[L_CTX_EPOCH_W-1:0]}}), .b_rdata(ce_b_rd));
// ways 0-1 at the CRC-32 index, ways 2-3 at the CRC-16 one
ztnic_hash_table #(.WAYS(4), .ADDR_W(CT_ADDR_W), .ENTRY_W(L_CONNTRACK_W)) conntrack_tbl (
    .clk(clk), .a_en(adv), .a_addr({ct_a_addr_hi, ct_a_addr_hi, ct_a_addr_lo, ct_a_addr_lo}),
    .a_rdata(ct_a_rd),
    .b_en(ct_b_en), .b_we(ct_b_we), .b_addr(ct_b_addr), .b_wdata(ct_b_wdata), .b_rdata(ct_b_rd));
ztnic_hash_table #(.WAYS(4), .ADDR_W(CT_OVF_LOG2), .ENTRY_W(L_CT_OVERFLOW_W)) ct_overflow_tbl (
    .clk(clk), .a_en(adv), .a_addr({4{ovf_a_addr}}), .a_rdata(ovf_a_rd),
    .b_en(ovf_b_en), .b_we({4{b_we}}), .b_addr({4{b_addr[CT_OVF_LOG2-1:0]}}),
    .b_wdata({4{b_wdata[L_CT_OVERFLOW_W-1:0]}}), .b_rdata(ovf_b_rd));
ztnic_hash_table #(.WAYS(32), .ADDR_W(POLICY_LOG2), .ENTRY_W(L_POLICY_W)) policy_tbl (
    .clk(clk), .a_en(adv), .a_addr(pol_a_idx), .a_rdata(pol_a_rd),
    .b_en(pol_b_en), .b_we({32{pol_b_we}}), .b_addr({32{b_addr[POLICY_LOG2-1:0]}}),
    .b_wdata({32{b_wdata[L_POLICY_W-1:0]}}), .b_rdata(pol_ctl_rd));
/* verilator lint_off PINCONNECTEMPTY */
ztnic_hash_table #(.WAYS(32), .ADDR_W(POLICY_LOG2), .ENTRY_W(L_POLICY_W)) policy_rev_tbl (
    .clk(clk), .a_en(adv), .a_addr(pol_b_idx), .a_rdata(pol_b_rd),
    .b_en(pol_b_en), .b_we({32{pol_b_we}}), .b_addr({32{b_addr[POLICY_LOG2-1:0]}}),
    .b_wdata({32{b_wdata[L_POLICY_W-1:0]}}), .b_rdata());
/* verilator lint_on PINCONNECTEMPTY */

// counters: read on port A, written on port B (and control accesses on port B)
reg cec_b_en, cec_b_we, rc_b_en, rc_b_we;
reg [CTR_CE_W-1:0] cec_b_addr;
reg [CTR_RULE_W-1:0] rc_b_addr;
reg [127:0] cec_b_wdata, rc_b_wdata;
wire [127:0] cec_a_rd, rc_a_rd, cec_b_rd, rc_b_rd;
wire [CTR_CE_W-1:0] cec_a_addr;
wire [CTR_RULE_W-1:0] rc_a_addr;

ztnic_ram_dp #(.WIDTH(128), .ADDR_W(CTR_CE_W)) ctx_counter_ram (
    .clk(clk), .a_en(adv), .a_addr(cec_a_addr), .a_rdata(cec_a_rd),
    .b_en(cec_b_en), .b_we(cec_b_we), .b_addr(cec_b_addr), .b_wdata(cec_b_wdata), .b_rdata(cec_b_rd));
ztnic_ram_dp #(.WIDTH(128), .ADDR_W(CTR_RULE_W)) rule_counter_ram (
    .clk(clk), .a_en(adv), .a_addr(rc_a_addr), .a_rdata(rc_a_rd),
    .b_en(rc_b_en), .b_we(rc_b_we), .b_addr(rc_b_addr), .b_wdata(rc_b_wdata), .b_rdata(rc_b_rd));

// ---------------------------------------------------------------------------
// stage 10: vport_ctx / local_ep hashes (read in stage 10, data in stage 11);
// remote_ep: every entry compared at once, the longest prefix wins
// ---------------------------------------------------------------------------
/* verilator lint_off UNUSEDSIGNAL */
// table indexes use the low bits of the hashes
wire [31:0] vpc_hash, lep_hash;
/* verilator lint_on UNUSEDSIGNAL */
ztnic_crc_pipe #(.BYTES(18)) vpc_crc (
    .clk(clk), .en(adv), .data({p9_reg[F_PORT +: 16], p9_reg[F_SRC +: 128]}), .crc(vpc_hash));
ztnic_crc_pipe #(.BYTES(16)) lep_crc (
    .clk(clk), .en(adv), .data(p9_reg[F_DST +: 128]), .crc(lep_hash));
assign vpc_a_addr = vpc_hash[VPORT_CTX_LOG2-1:0];
assign lep_a_addr = lep_hash[LOCAL_EP_LOG2-1:0];
assign rh_a_addr = lep_hash[REMOTE_HOST_LOG2-1:0];

// remote_ep LPM over REMOTE_EP_N entries in flip-flops, in two stages (the table, its
// control-plane write and read ports are in the module): stage 10 finds the winner,
// stage 11 takes its fields, from the table the packet matched against.
// the control window writes and reads the table at its index (rem_we: ztnic_table_access)
wire rem_we;
wire [REM_IDX_W-1:0] rem_waddr = tbl_index[REM_IDX_W-1:0];
wire [L_REMOTE_EP_W-1:0] rem_wdata = tbl_wdata[L_REMOTE_EP_W-1:0];
wire [L_REMOTE_EP_W-1:0] rem_rdata;
wire rem_hit;
wire [1:0] rem_kind;
wire [31:0] rem_vtep;
wire [23:0] rem_ctx;

ztnic_remote_ep_lpm #(.N(REMOTE_EP_N), .IDX_W(REM_IDX_W), .ENTRY_W(L_REMOTE_EP_W)) remote_ep_lpm (
    .clk(clk), .adv(adv),
    .wr_en(rem_we), .wr_index(rem_waddr), .wr_data(rem_wdata),
    .rd_index(tbl_index[REM_IDX_W-1:0]), .rd_data(rem_rdata),
    .s_dst(p9_reg[F_DST +: 128]),
    .m_hit(rem_hit), .m_kind(rem_kind), .m_vtep(rem_vtep), .m_ctx(rem_ctx));

reg [PHV_W-1:0] p10_reg;
reg [PHV_W-1:0] p11_reg, p11;
always @* begin
    p11 = p10_reg;
    p11[F_REMHIT] = rem_hit;
    p11[F_REMKIND +: 2] = rem_kind;
    p11[F_REMVTEP +: 32] = rem_vtep;
    p11[F_REMCTX +: 24] = rem_ctx;
end

always @(posedge clk) begin
    if (adv) begin
        p10_reg <= p9_reg & LIVE10;
        p11_reg <= p11 & LIVE10;
    end
end

// ---------------------------------------------------------------------------
// stage 12: classify (TX: vport_ctx, local_ep / remote_ep; RX: tag, local_ep)
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] p12_reg, p12;
// the fields classify writes
wire [10:0] s12_vd;
wire [23:0] s12_sctx, s12_dctx;
wire [15:0] s12_zone, s12_ovport;
wire [1:0] s12_act;
wire [31:0] s12_vtep;
wire s12_lepmiss;
ztnic_classify classify (
    .s_vd({p11_reg[F_DONE], p11_reg[F_VK +: 2], p11_reg[F_WHY +: 8]}),
    .cls(p11_reg[F_CLS +: 2]), .tun(p11_reg[F_TUN +: 2]), .port(p11_reg[F_PORT +: 16]),
    .src(p11_reg[F_SRC +: 128]), .dst(p11_reg[F_DST +: 128]), .tctx(p11_reg[F_TCTX +: 24]),
    .rem_hit(p11_reg[F_REMHIT]), .rem_kind(p11_reg[F_REMKIND +: 2]),
    .rem_vtep(p11_reg[F_REMVTEP +: 32]), .rem_ctx(p11_reg[F_REMCTX +: 24]),
    .vpc_rd(vpc_a_rd), .lep_rd(lep_a_rd), .rh_rd(rh_a_rd),
    .m_vd(s12_vd), .m_sctx(s12_sctx), .m_dctx(s12_dctx), .m_zone(s12_zone),
    .m_ovport(s12_ovport), .m_act(s12_act), .m_vtep(s12_vtep), .m_lepmiss(s12_lepmiss));

always @* begin
    p12 = p11_reg;
    p12[F_DONE] = s12_vd[10];
    p12[F_VK +: 2] = s12_vd[9:8];
    p12[F_WHY +: 8] = s12_vd[7:0];
    p12[F_SCTX +: 24] = s12_sctx;
    p12[F_DCTX +: 24] = s12_dctx;
    p12[F_ZONE +: 16] = s12_zone;
    p12[F_OVPORT +: 16] = s12_ovport;
    p12[F_ACT +: 2] = s12_act;
    p12[F_VTEP +: 32] = s12_vtep;
    p12[F_LEPMISS] = s12_lepmiss;
end

always @(posedge clk) begin
    if (adv) begin
        p12_reg <= p12 & LIVE12;
    end
end

// ---------------------------------------------------------------------------
// stage 13: conntrack keys; ctx_epoch and the 8 + 8 policy lookups are read
// ---------------------------------------------------------------------------
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] ce_hash = crc32_small({40'd0, p12_reg[F_SCTX +: 24]}, 3);
/* verilator lint_on UNUSEDSIGNAL */
assign ce_a_addr = ce_hash[CTX_EPOCH_LOG2-1:0];

// the 8 decomposed policy keys of each view and their buckets
wire [8*64-1:0] pol_key_f, pol_key_r;
ztnic_policy_key #(.POLICY_LOG2(POLICY_LOG2)) policy_key (
    .sctx(p12_reg[F_SCTX +: 24]), .dctx(p12_reg[F_DCTX +: 24]), .proto(p12_reg[F_PROTO +: 8]),
    .m_key_f(pol_key_f), .m_key_r(pol_key_r), .m_bucket_f(pol_a_addr), .m_bucket_r(pol_b_addr));

// keys and buckets of the policy reads whose data arrives in stage 13
reg [8*64-1:0] pk_f_reg, pk_r_reg;
reg [8*POLICY_LOG2-1:0] pb_f_reg, pb_r_reg;
reg [CTX_EPOCH_LOG2-1:0] ce_addr_reg;
reg [15:0] pport_f_reg, pport_r_reg;
always @(posedge clk) begin
    if (adv) begin
        pk_f_reg <= pol_key_f;
        pk_r_reg <= pol_key_r;
        pb_f_reg <= pol_a_addr;
        pb_r_reg <= pol_b_addr;
        ce_addr_reg <= ce_a_addr;
        pport_f_reg <= p12_reg[F_DPORT +: 16];
        pport_r_reg <= p12_reg[F_SPORT +: 16];
    end
end

reg [PHV_W-1:0] p13_reg, p13;
wire [311:0] okey13, key13;
wire srclo13;
ztnic_ct_key ct_key (
    .kind(p12_reg[F_KIND +: 3]), .zone(p12_reg[F_ZONE +: 16]), .proto(p12_reg[F_PROTO +: 8]),
    .src(p12_reg[F_SRC +: 128]), .dst(p12_reg[F_DST +: 128]),
    .sport(p12_reg[F_SPORT +: 16]), .dport(p12_reg[F_DPORT +: 16]), .echo(p12_reg[F_ECHO +: 16]),
    .eproto(p12_reg[F_EPROTO +: 8]), .esrc(p12_reg[F_ESRC +: 128]), .edst(p12_reg[F_EDST +: 128]),
    .esp(p12_reg[F_ESP +: 16]), .edp(p12_reg[F_EDP +: 16]),
    .m_okey(okey13), .m_srclo(srclo13), .m_key(key13));

always @* begin
    p13 = p12_reg;
    p13[F_OKEY +: 312] = okey13;
    p13[F_SRCLO] = srclo13;
    p13[F_KEY +: 312] = key13;
end

always @(posedge clk) begin
    if (adv) begin
        p13_reg <= p13 & LIVE13;
    end
end

// ---------------------------------------------------------------------------
// stage 14: ctx check (TX), the policy candidates of every variant; the tag MAC
// (SipHash, 8 stages) and the conntrack hashes start
// ---------------------------------------------------------------------------
// the ctx_epoch compare (ztnic_ctx_check below)
wire ce_hit;
/* verilator lint_off UNUSEDSIGNAL */
wire [L_CTX_EPOCH_W-1:0] ce_e;
/* verilator lint_on UNUSEDSIGNAL */
wire [1:0] ce_way;

// SipHash message: ctx, epoch, inner addresses, proto, ports (datapath.md §3)
wire [8*47-1:0] sip_msg;
wire [5:0] sip_len;
ztnic_tag_msg tag_msg (
    .cls(p13_reg[F_CLS +: 2]), .sctx(p13_reg[F_SCTX +: 24]),
    .ce_epoch(ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8]),
    .tctx(p13_reg[F_TCTX +: 24]), .tepoch(p13_reg[F_TEPOCH +: 8]),
    .v6(p13_reg[F_V6]), .src(p13_reg[F_SRC +: 128]), .dst(p13_reg[F_DST +: 128]),
    .proto(p13_reg[F_PROTO +: 8]), .sport(p13_reg[F_SPORT +: 16]), .dport(p13_reg[F_DPORT +: 16]),
    .m_msg(sip_msg), .m_len(sip_len));

/* verilator lint_off UNUSEDSIGNAL */
// the tag MAC is the low 32 bits
wire [63:0] sip_hash;
/* verilator lint_on UNUSEDSIGNAL */
ztnic_siphash_pipe #(.MAX_BYTES(47)) siphash (
    .clk(clk), .en(adv), .key(cfg_auth_key), .msg(sip_msg), .len(sip_len), .hash(sip_hash));

// conntrack hashes of the lookup key and the packet's own key (valid in stage 14)
/* verilator lint_off UNUSEDSIGNAL */
// the bucket index uses the low bits
wire [31:0] ct_h32;
/* verilator lint_on UNUSEDSIGNAL */
wire [15:0] ct_h16, ct_h16own;
ztnic_crc_pipe #(.BYTES(39)) ct_crc32 (
    .clk(clk), .en(adv), .data(p13_reg[F_KEY +: 312]), .crc(ct_h32));
ztnic_crc_pipe #(.BYTES(39), .W(16), .POLY(16'ha001), .INIT(16'h0000), .XOROUT(16'h0000)) ct_crc16 (
    .clk(clk), .en(adv), .data(p13_reg[F_KEY +: 312]), .crc(ct_h16));
ztnic_crc_pipe #(.BYTES(39), .W(16), .POLY(16'ha001), .INIT(16'h0000), .XOROUT(16'h0000)) ct_crc16own (
    .clk(clk), .en(adv), .data(p13_reg[F_OKEY +: 312]), .crc(ct_h16own));

// The policy candidates of both views: each of the 8 variants x 4 ways x 4 rules whose
// key and port range match (candidate vr*16 + way*4 + rule, the order a scan would
// take), with its priority, action, id and counter slot {variant, way, bucket, rule}.
// ztnic_rule_pick registers them here and picks the best over stages 15..21 (one
// tournament level a stage), in the clocks the packet waits for its tag MAC anyway;
// the winners join the packet in stage 22.
wire [127:0] cf_valid, cr_valid, cf_allow, cr_allow;
wire [128*16-1:0] cf_prio, cr_prio;
wire [128*32-1:0] cf_id, cr_id;
wire [128*CTR_RULE_W-1:0] cf_slot, cr_slot;

ztnic_policy_match #(.POLICY_LOG2(POLICY_LOG2), .ENTRY_W(L_POLICY_W), .SLOT_W(CTR_RULE_W)) match_orig (
    .rd(pol_a_rd), .key(pk_f_reg), .bucket(pb_f_reg), .port(pport_f_reg),
    .m_valid(cf_valid), .m_allow(cf_allow), .m_priority(cf_prio), .m_id(cf_id), .m_slot(cf_slot));
ztnic_policy_match #(.POLICY_LOG2(POLICY_LOG2), .ENTRY_W(L_POLICY_W), .SLOT_W(CTR_RULE_W)) match_reply (
    .rd(pol_b_rd), .key(pk_r_reg), .bucket(pb_r_reg), .port(pport_r_reg),
    .m_valid(cr_valid), .m_allow(cr_allow), .m_priority(cr_prio), .m_id(cr_id), .m_slot(cr_slot));

// the winners, with the packet in stage 21
wire win_f_valid, win_f_allow, win_r_valid, win_r_allow;
wire [31:0] win_f_id, win_r_id;
wire [CTR_RULE_W-1:0] win_f_slot, win_r_slot;

/* verilator lint_off PINCONNECTEMPTY */
ztnic_rule_pick #(.N(128), .TAG_W(CTR_RULE_W), .LEVELS_PER_STAGE(1)) pick_orig (
    .clk(clk), .en(adv),
    .s_valid(cf_valid), .s_priority(cf_prio), .s_allow(cf_allow), .s_id(cf_id), .s_tag(cf_slot),
    .m_valid(win_f_valid), .m_allow(win_f_allow), .m_priority(), .m_id(win_f_id), .m_tag(win_f_slot));
ztnic_rule_pick #(.N(128), .TAG_W(CTR_RULE_W), .LEVELS_PER_STAGE(1)) pick_reply (
    .clk(clk), .en(adv),
    .s_valid(cr_valid), .s_priority(cr_prio), .s_allow(cr_allow), .s_id(cr_id), .s_tag(cr_slot),
    .m_valid(win_r_valid), .m_allow(win_r_allow), .m_priority(), .m_id(win_r_id), .m_tag(win_r_slot));
/* verilator lint_on PINCONNECTEMPTY */

reg [PHV_W-1:0] p14_reg, p14;
// the fields the ctx check writes
wire [10:0] s14_vd;
wire s14_evp, s14_cecnt;
wire [127:0] s14_ev;
wire [7:0] s14_epoch;
ztnic_ctx_check ctx_check (
    .ts(ts_us[31:0]),
    .s_vd({p13_reg[F_DONE], p13_reg[F_VK +: 2], p13_reg[F_WHY +: 8]}),
    .cls(p13_reg[F_CLS +: 2]), .port(p13_reg[F_PORT +: 16]), .sctx(p13_reg[F_SCTX +: 24]),
    .ce_rd(ce_a_rd),
    .ce_hit(ce_hit), .ce_way(ce_way), .ce_entry(ce_e),
    .m_vd(s14_vd), .m_evp(s14_evp), .m_ev(s14_ev), .m_epoch(s14_epoch), .m_cecnt(s14_cecnt));

always @* begin
    p14 = p13_reg;
    p14[F_CEHIT] = ce_hit;
    p14[F_CEEPOCH +: 8] = ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8];
    p14[F_CESLOT +: 16] = {{(16-CTR_CE_W){1'b0}}, ce_way, ce_addr_reg};
    p14[F_DONE] = s14_vd[10];
    p14[F_VK +: 2] = s14_vd[9:8];
    p14[F_WHY +: 8] = s14_vd[7:0];
    p14[F_EVP] = s14_evp;
    p14[F_EV +: 128] = s14_ev;
    p14[F_EPOCH +: 8] = s14_epoch;
    p14[F_CECNT] = s14_cecnt;
end

always @(posedge clk) begin
    if (adv) begin
        p14_reg <= p14 & LIVE14;
    end
end

// ---------------------------------------------------------------------------
// stage 15: the conntrack hashes
// ---------------------------------------------------------------------------

reg [PHV_W-1:0] p15_reg, p15;
always @* begin
    p15 = p14_reg;
    p15[F_H32 +: 32] = ct_h32;
    p15[F_H16 +: 16] = ct_h16;
    p15[F_H16OWN +: 16] = ct_h16own;
end

always @(posedge clk) begin
    if (adv) begin
        p15_reg <= p15 & LIVE15;
    end
end

// ---------------------------------------------------------------------------
// stages 16-21: the packet waits for its tag MAC
// ---------------------------------------------------------------------------
reg [6*PHV_W-1:0] pd_reg;
always @(posedge clk) begin
    if (adv) begin
        pd_reg <= {pd_reg[5*PHV_W-1:0], p15_reg} & {6{LIVE15}};
    end
end
wire [PHV_W-1:0] p21_reg = pd_reg[5*PHV_W +: PHV_W];

// ---------------------------------------------------------------------------
// stage 22: RX tag MAC, local_ep and ctx check; TX tag MAC for the encapsulation
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] p22_reg, p22;
// the fields the RX checks write
wire [10:0] s22_vd;
wire s22_evp, s22_cecnt;
wire [127:0] s22_ev;
ztnic_rx_check rx_check (
    .ts(ts_us[31:0]), .auth(cfg_auth), .mac(sip_hash[31:0]),
    .s_vd({p21_reg[F_DONE], p21_reg[F_VK +: 2], p21_reg[F_WHY +: 8]}),
    .s_evp(p21_reg[F_EVP]), .s_ev(p21_reg[F_EV +: 128]), .s_cecnt(p21_reg[F_CECNT]),
    .cls(p21_reg[F_CLS +: 2]), .tun(p21_reg[F_TUN +: 2]), .port(p21_reg[F_PORT +: 16]),
    .sctx(p21_reg[F_SCTX +: 24]), .tepoch(p21_reg[F_TEPOCH +: 8]), .tmac(p21_reg[F_TMAC +: 32]),
    .lepmiss(p21_reg[F_LEPMISS]), .cehit(p21_reg[F_CEHIT]), .ceepoch(p21_reg[F_CEEPOCH +: 8]),
    .m_vd(s22_vd), .m_evp(s22_evp), .m_ev(s22_ev), .m_cecnt(s22_cecnt));

always @* begin
    p22 = p21_reg;
    p22[F_MAC +: 32] = sip_hash[31:0];
    p22[F_DONE] = s22_vd[10];
    p22[F_VK +: 2] = s22_vd[9:8];
    p22[F_WHY +: 8] = s22_vd[7:0];
    p22[F_EVP] = s22_evp;
    p22[F_EV +: 128] = s22_ev;
    p22[F_CECNT] = s22_cecnt;
    p22[F_PFV] = win_f_valid;
    p22[F_PFA] = win_f_allow;
    p22[F_PFID +: 32] = win_f_id;
    p22[F_PFSLOT +: 16] = {{(16-CTR_RULE_W){1'b0}}, win_f_slot};
    p22[F_PRV] = win_r_valid;
    p22[F_PRA] = win_r_allow;
    p22[F_PRID +: 32] = win_r_id;
    p22[F_PRSLOT +: 16] = {{(16-CTR_RULE_W){1'b0}}, win_r_slot};
end

always @(posedge clk) begin
    if (adv) begin
        p22_reg <= p22 & LIVE22;
    end
end

// conntrack and ct_overflow read (data in stage 23)
wire [CT_ADDR_W-1:0] ct_mask = ~({CT_ADDR_W{1'b1}} << cfg_ct_log2);
assign ct_a_addr_lo = p22_reg[F_H32 +: CT_ADDR_W] & ct_mask;
assign ct_a_addr_hi = h16_ext(p22_reg[F_H16 +: 16]) & ct_mask;
assign ovf_a_addr = p22_reg[F_H32 +: CT_OVF_LOG2];

reg [PHV_W-1:0] p23_reg;
always @(posedge clk) begin
    if (adv) begin
        p23_reg <= p22_reg & LIVE22;
    end
end

// ---------------------------------------------------------------------------
// stage 24: conntrack decide and write (datapath.md §5)
// ---------------------------------------------------------------------------
// ztnic_ct_decide: the ways as the packet must see them (the write of the packet just
// ahead forwarded), the hit search, TCP tracking, the decision and the way writes
wire [CT_ADDR_W-1:0] ct_addr_lo23 = p23_reg[F_H32 +: CT_ADDR_W] & ct_mask;
wire [CT_ADDR_W-1:0] ct_addr_hi23 = h16_ext(p23_reg[F_H16 +: 16]) & ct_mask;
wire [3:0] dp_we;
wire [4*CT_ADDR_W-1:0] dp_wa;
wire [4*L_CONNTRACK_W-1:0] dp_wd;
wire [PHV_W-1:0] p24;
reg [PHV_W-1:0] p24_reg;

ztnic_ct_decide #(
    .CT_ADDR_W(CT_ADDR_W)
)
ct_decide_inst (
    .clk(clk),
    .rst(rst),
    .adv(adv),
    .ts_us(ts_us),
    .cfg_policy_gen(cfg_policy_gen),
    .cfg_tcp_wscale(cfg_tcp_wscale),
    .cfg_timeouts(cfg_timeouts),
    .s_valid(v_reg[23]),
    .s_phv(p23_reg),
    .addr_lo(ct_addr_lo23),
    .addr_hi(ct_addr_hi23),
    .ct_rd(ct_a_rd),
    .ovf_rd(ovf_a_rd),
    .m_phv(p24),
    .wr_en(dp_we),
    .wr_addr(dp_wa),
    .wr_data(dp_wd)
);

always @(posedge clk) begin
    if (adv) begin
        p24_reg <= p24 & LIVE24;
    end
end

// ---------------------------------------------------------------------------
// stages 25-26: counters (read in 25, written in 26) and the descriptor
// ---------------------------------------------------------------------------
assign cec_a_addr = p24_reg[F_CESLOT +: CTR_CE_W];
assign rc_a_addr = p24_reg[F_RSLOT +: CTR_RULE_W];

reg [PHV_W-1:0] p25_reg;
always @(posedge clk) begin
    if (adv) begin
        p25_reg <= p24_reg & LIVE24;
    end
end

// the read-modify-write of each counter RAM, forwarding the last write
wire [15:0] bytes25 = p25_reg[F_LEN +: 16] - p25_reg[F_PRE +: 16];
wire cec_dp_we, rc_dp_we;
wire [127:0] cec_new, rc_new;

ztnic_counters #(.ADDR_W(CTR_CE_W)) ctx_counters (
    .clk(clk), .rst(rst), .adv(adv),
    .s_count(v_reg[25] && p25_reg[F_CECNT]), .s_slot(p25_reg[F_CESLOT +: CTR_CE_W]),
    .s_bytes(bytes25), .rd_data(cec_a_rd), .m_we(cec_dp_we), .m_data(cec_new));
ztnic_counters #(.ADDR_W(CTR_RULE_W)) rule_counters (
    .clk(clk), .rst(rst), .adv(adv),
    .s_count(v_reg[25] && p25_reg[F_RULEV]), .s_slot(p25_reg[F_RSLOT +: CTR_RULE_W]),
    .s_bytes(bytes25), .rd_data(rc_a_rd), .m_we(rc_dp_we), .m_data(rc_new));

// act (datapath.md §7)
reg [PHV_W-1:0] p26_reg, p26;
// the fields act writes
wire [15:0] s26_oport, s26_skip, s26_endp;
wire [6:0] s26_plen;
wire [31:0] s26_mac;

ztnic_act act_26 (
    .cfg_uplink_port(cfg_uplink_port), .cfg_cpu_port(cfg_cpu_port), .cfg_auth(cfg_auth),
    .done(p25_reg[F_DONE]), .vk(p25_reg[F_VK +: 2]), .cls(p25_reg[F_CLS +: 2]),
    .act(p25_reg[F_ACT +: 2]), .tun(p25_reg[F_TUN +: 2]), .ovport(p25_reg[F_OVPORT +: 16]),
    .pre(p25_reg[F_PRE +: 16]), .len(p25_reg[F_LEN +: 16]),
    .ins(p25_reg[F_INS +: 16]), .ine(p25_reg[F_INE +: 16]),
    .oport(p25_reg[F_OPORT +: 16]), .plen(p25_reg[F_PLEN +: 7]), .skip(p25_reg[F_SKIP +: 16]),
    .endp(p25_reg[F_ENDP +: 16]), .mac(p25_reg[F_MAC +: 32]),
    .m_oport(s26_oport), .m_plen(s26_plen), .m_skip(s26_skip), .m_endp(s26_endp), .m_mac(s26_mac));

always @* begin
    p26 = p25_reg;
    p26[F_OPORT +: 16] = s26_oport;
    p26[F_PLEN +: 7] = s26_plen;
    p26[F_SKIP +: 16] = s26_skip;
    p26[F_ENDP +: 16] = s26_endp;
    p26[F_MAC +: 32] = s26_mac;
end

always @(posedge clk) begin
    if (adv) begin
        p26_reg <= p26 & LIVE26;
    end
end

// ---------------------------------------------------------------------------
// encapsulation header (Ethernet + IPv4 + UDP + Geneve/VXLAN), byte i at [8i +: 8]
// ---------------------------------------------------------------------------
wire [511:0] encap;
ztnic_encap encap_hdr (
    .cfg_local_vtep_ip(cfg_local_vtep_ip), .cfg_local_mac(cfg_local_mac),
    .cfg_gateway_mac(cfg_gateway_mac), .cfg_vni(cfg_vni),
    .geneve(p26_reg[F_ACT +: 2] == A_GENEVE), .vtep(p26_reg[F_VTEP +: 32]),
    .ctx(p26_reg[F_SCTX +: 24]), .epoch(p26_reg[F_EPOCH +: 8]), .mac(p26_reg[F_MAC +: 32]),
    .h16(p26_reg[F_H16OWN +: 16]), .inner_len(p26_reg[F_LEN +: 16] - p26_reg[F_PRE +: 16]),
    .hdr(encap));

wire [15:0] out_port = p26_reg[F_PORT +: 16];
wire [511:0] punt_hdr = {480'd0, 8'h00, p26_reg[F_WHY +: 8], out_port[7:0], out_port[15:8]};

// ---------------------------------------------------------------------------
// outputs
// ---------------------------------------------------------------------------
wire out_fire = v_reg[NST] && desc_ready;
wire [1:0] out_vk = p26_reg[F_VK +: 2];

assign desc_valid = v_reg[NST];
assign desc_drop = out_vk == V_DROP;
assign desc_port = p26_reg[F_OPORT +: 16];
assign desc_plen = p26_reg[F_PLEN +: 7];
assign desc_prefix = out_vk == V_PUNT ? punt_hdr : encap;
assign desc_skip = p26_reg[F_SKIP +: 16];
assign desc_end = p26_reg[F_ENDP +: 16];
assign desc_words = p26_reg[F_BEATS +: 16];

assign status_valid = out_fire;
assign status_verdict = out_vk;
assign status_reason = p26_reg[F_WHY +: 8];
assign status_port = p26_reg[F_OPORT +: 16];
assign status_ct_valid = p26_reg[F_CTV];
assign status_ct_state = p26_reg[F_CTS +: 6];
assign status_rule_valid = p26_reg[F_RULEV];
assign status_rule = p26_reg[F_RULE +: 32];
assign status_cycles = clock_reg - p26_reg[F_T0 +: 16];

wire pkt_evt = out_fire && p26_reg[F_EVP];

// ---------------------------------------------------------------------------
// control-plane table access and the conntrack aging sweep (port B)
// ---------------------------------------------------------------------------
// ztnic_table_access runs the window's accesses; ztnic_ct_sweep ages the conntrack in
// the clocks no access uses port B. Port B of the conntrack: the data plane's writes,
// overridden on a way by the sweep, or by an access (which runs with the pipeline
// empty); of the counters: the data plane's writes or an access.
wire ac_idle;
wire [3:0] ac_ct_en;
wire ac_cec_en, ac_rc_en;
wire drop_we, punt_we;
wire [3:0] sw_en;
wire sw_clear;
wire [CT_ADDR_W-1:0] sw_addr;
wire sw_evt_valid;
wire [127:0] sw_evt;
reg evo_valid_reg = 1'b0, evo_valid_next;
reg [127:0] evo_reg = 0, evo_next;

// the flip-flop tables' entries at the window's index
wire [L_REMOTE_EP_W-1:0] rem_rd = rem_rdata;
wire [63:0] drop_rd = drop_cnt[tbl_index < DROP_CODES ? tbl_index[4:0] : 5'd0];
wire [63:0] punt_rd = punt_cnt[tbl_index[2:0]];

ztnic_table_access #(
    .PORT_CLASS_LOG2(PORT_CLASS_LOG2), .VPORT_CTX_LOG2(VPORT_CTX_LOG2),
    .LOCAL_EP_LOG2(LOCAL_EP_LOG2), .CTX_EPOCH_LOG2(CTX_EPOCH_LOG2),
    .REMOTE_HOST_LOG2(REMOTE_HOST_LOG2), .REMOTE_EP_N(REMOTE_EP_N), .POLICY_LOG2(POLICY_LOG2),
    .CT_ADDR_W(CT_ADDR_W), .CT_OVF_LOG2(CT_OVF_LOG2), .CTR_CE_W(CTR_CE_W), .CTR_RULE_W(CTR_RULE_W),
    .TBL_WORDS(TBL_WORDS), .VPC_W(L_VPORT_CTX_W), .LEP_W(L_LOCAL_EP_W), .CE_W(L_CTX_EPOCH_W),
    .RH_W(L_REMOTE_HOST_W), .REM_W(L_REMOTE_EP_W), .POL_W(L_POLICY_W), .OVF_W(L_CT_OVERFLOW_W),
    .CT_W(L_CONNTRACK_W)
) table_access (
    .clk(clk), .rst(rst),
    .tbl_req(tbl_req), .tbl_write(tbl_write), .tbl_select(tbl_select), .tbl_index(tbl_index),
    .tbl_done(tbl_done), .tbl_err(tbl_err), .tbl_rdata(tbl_rdata),
    .hold(hold), .pipe_empty(pipe_empty), .idle(ac_idle),
    .b_we(b_we), .vpc_en(vpc_b_en), .lep_en(lep_b_en), .ce_en(ce_b_en), .rh_en(rh_b_en),
    .ovf_en(ovf_b_en), .pol_en(pol_b_en), .ct_en(ac_ct_en), .cec_en(ac_cec_en), .rc_en(ac_rc_en),
    .pc_we(pc_we), .rem_we(rem_we), .drop_we(drop_we), .punt_we(punt_we),
    .pc_rd(pc_rd), .vpc_rd(vpc_b_rd), .lep_rd(lep_b_rd), .ce_rd(ce_b_rd), .rh_rd(rh_b_rd),
    .rem_rd(rem_rd), .pol_rd(pol_ctl_rd), .ovf_rd(ovf_b_rd), .ct_rd(ct_b_rd),
    .cec_rd(cec_b_rd), .rc_rd(rc_b_rd), .drop_rd(drop_rd), .punt_rd(punt_rd));

ztnic_ct_sweep #(.CT_ADDR_W(CT_ADDR_W), .CT_W(L_CONNTRACK_W)) ct_sweep (
    .clk(clk), .rst(rst), .ts_us(ts_us), .cfg_timeouts(cfg_timeouts),
    .en(ac_idle), .dp_we(dp_we), .evt_busy(pkt_evt),
    .b_en(sw_en), .b_clear(sw_clear), .b_addr(sw_addr), .b_rdata(ct_b_rd),
    .evt_data(sw_evt), .evt_valid(sw_evt_valid));

integer bw;
always @* begin
    for (bw = 0; bw < 4; bw = bw + 1) begin
        ct_b_en[bw] = dp_we[bw];
        ct_b_we[bw] = dp_we[bw];
        ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = dp_wa[bw*CT_ADDR_W +: CT_ADDR_W];
        ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = dp_wd[bw*L_CONNTRACK_W +: L_CONNTRACK_W];
        if (sw_en[bw]) begin
            ct_b_en[bw] = 1'b1;
            ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = sw_addr;
            if (sw_clear) begin
                ct_b_we[bw] = 1'b1;
                ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = 0;
            end
        end
        if (ac_ct_en[bw]) begin
            ct_b_en[bw] = 1'b1;
            ct_b_we[bw] = b_we;
            ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = b_addr[CT_ADDR_W-1:0];
            ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = b_wdata[L_CONNTRACK_W-1:0];
        end
    end
    cec_b_en = cec_dp_we; cec_b_we = cec_dp_we;
    cec_b_addr = p25_reg[F_CESLOT +: CTR_CE_W]; cec_b_wdata = cec_new;
    if (ac_cec_en) begin
        cec_b_en = 1'b1; cec_b_we = b_we; cec_b_addr = b_addr[CTR_CE_W-1:0]; cec_b_wdata = b_wdata[127:0];
    end
    rc_b_en = rc_dp_we; rc_b_we = rc_dp_we;
    rc_b_addr = p25_reg[F_RSLOT +: CTR_RULE_W]; rc_b_wdata = rc_new;
    if (ac_rc_en) begin
        rc_b_en = 1'b1; rc_b_we = b_we; rc_b_addr = b_addr[CTR_RULE_W-1:0]; rc_b_wdata = b_wdata[127:0];
    end

    // packet events leave with the verdict; the sweep's only in clocks without one
    evo_valid_next = sw_evt_valid;
    evo_next = sw_evt_valid ? sw_evt : evo_reg;
    if (pkt_evt) begin
        evo_valid_next = 1'b1;
        evo_next = p26_reg[F_EV +: 128];
    end
end

assign evt_data = evo_reg;
assign evt_valid = evo_valid_reg;

always @(posedge clk) begin
    if (out_fire && out_vk == V_DROP) drop_cnt[p26_reg[F_WHY +: 5]] <= drop_cnt[p26_reg[F_WHY +: 5]] + 64'd1;
    if (out_fire && out_vk == V_PUNT) punt_cnt[p26_reg[F_WHY +: 3]] <= punt_cnt[p26_reg[F_WHY +: 3]] + 64'd1;
    if (drop_we) drop_cnt[tbl_index[4:0]] <= tbl_wdata[63:0];
    if (punt_we) punt_cnt[tbl_index[2:0]] <= tbl_wdata[63:0];

    evo_valid_reg <= evo_valid_next;
    evo_reg <= evo_next;

    if (rst) begin
        evo_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
