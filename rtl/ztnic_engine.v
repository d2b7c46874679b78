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
localparam PR_W = 98;
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
function [5:0] ct_bits(input f_new, input f_est, input f_rel, input f_rpl, input f_inv);
    ct_bits = {1'b1, f_inv, f_rpl, f_rel, f_est, f_new};
endfunction

function [127:0] event_rec(input [7:0] kind, input [7:0] why_code, input [15:0] port,
                           input [23:0] ctx, input [7:0] ep, input [31:0] hash, input [31:0] now);
    begin
        event_rec = 0;
        event_rec[L_EVENT_KIND_LSB +: 8] = kind;
        event_rec[L_EVENT_REASON_LSB +: 8] = why_code;
        event_rec[L_EVENT_PORT_LSB +: 16] = port;
        event_rec[L_EVENT_CTX_LSB +: 24] = ctx;
        event_rec[L_EVENT_EPOCH_LSB +: 8] = ep;
        event_rec[L_EVENT_HASH_LSB +: 32] = hash;
        event_rec[L_EVENT_TIME_LSB +: 32] = now;
    end
endfunction

// TCP state SYN_SENT (enum tcp_state) of a new connection's entry
localparam [3:0] T_SS = 4'd1;

/* verilator lint_off UNUSEDSIGNAL */
// flag class: 0 syn, 1 synack, 2 fin, 3 ack, 4 rst, 5 none (flags: URG ACK PSH RST SYN FIN)
localparam [2:0] C_SYN = 3'd0;
function [2:0] flag_class(input [5:0] f);
    if (f[2]) flag_class = 3'd4;
    else if (f[1]) flag_class = f[4] ? 3'd1 : 3'd0;
    else if (f[0]) flag_class = 3'd2;
    else if (f[4]) flag_class = 3'd3;
    else flag_class = 3'd5;
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// Linux tcp_valid_flags: the nine sets of FIN SYN RST ACK URG, PSH masked off first
function flags_valid(input [5:0] f);
    case (f & 6'h37)
        6'h02, 6'h22, 6'h12, 6'h04, 6'h14, 6'h11, 6'h31, 6'h10, 6'h30: flags_valid = 1'b1;
        default: flags_valid = 1'b0;
    endcase
endfunction

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

// decomposed policy key of variant v: bit0 src any, bit1 dst any, bit2 proto any
function [63:0] pol_key(input [2:0] v, input [23:0] s, input [23:0] d, input [7:0] p);
    pol_key = {5'd0, v, v[0] ? 24'd0 : s, v[1] ? 24'd0 : d, v[2] ? 8'd0 : p};
endfunction

// conntrack: entry timeout and expiry
function [63:0] ct_timeout(input [L_CONNTRACK_W-1:0] e, input [64*16-1:0] t);
    reg [3:0] idx;
    reg [3:0] st;
    begin
        st = e[L_CONNTRACK_STATE_LSB +: 4];
        case (e[L_CONNTRACK_KIND_LSB +: 2])
            CT_KIND_TCP[1:0]: idx = (st <= 4'd1) ? TIMEOUT_TCP_SYN_SENT[3:0] : ((st <= 4'd9) ? st - 4'd1 : TIMEOUT_TCP_SYN_SENT[3:0]);
            CT_KIND_UDP[1:0]: idx = e[L_CONNTRACK_REPLIED_LSB] ? TIMEOUT_UDP_REPLIED[3:0] : TIMEOUT_UDP_UNREPLIED[3:0];
            CT_KIND_ICMP[1:0]: idx = TIMEOUT_ICMP[3:0];
            default: idx = TIMEOUT_OTHER[3:0];
        endcase
        ct_timeout = t[64*idx +: 64];
    end
endfunction

function ct_expired(input [L_CONNTRACK_W-1:0] e, input [63:0] now, input [64*16-1:0] t);
    reg [63:0] last;
    reg [63:0] idle;
    begin
        last = e[L_CONNTRACK_LAST_SEEN_LSB +: 64];
        idle = (now > last) ? now - last : 64'd0;
        ct_expired = idle >= ct_timeout(e, t);
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

function idx_ok(input [31:0] idx, input integer log2, input integer ways);
    idx_ok = (idx >> log2) < ways;
endfunction

// ---------------------------------------------------------------------------
// pipeline control
// ---------------------------------------------------------------------------
// valid bit of each stage register (stages 2..7 live in the parse passes)
reg v1_reg = 1'b0;
reg [NST:8] v_reg = 0;
wire adv = !v_reg[NST] || desc_ready;

// control-plane access: C_CMD uses port B of the table, C_READ takes its data. An access
// of a table the data plane writes (conntrack, counters) first holds new packets and
// waits for the pipeline to drain (C_WAIT); every other access runs at once.
localparam [1:0] C_IDLE = 2'd0, C_WAIT = 2'd1, C_CMD = 2'd2, C_READ = 2'd3;
reg [1:0] cst_reg = C_IDLE, cst_next;
// the access in progress holds new packets
reg drain_reg = 1'b0, drain_next;
wire hold = drain_reg;
wire pass0_busy, pass1_busy;
wire pipe_empty = !v1_reg && v_reg == 0 && !pass0_busy && !pass1_busy;

assign hq_ready = adv && !hold;

reg [15:0] clock_reg = 0;
always @(posedge clk) begin
    clock_reg <= clock_reg + 16'd1;
end

// port_class and remote_ep live in flip-flops
reg [1:0] port_class [0:(1<<PORT_CLASS_LOG2)-1];
reg [L_REMOTE_EP_W-1:0] remote_ep [0:REMOTE_EP_N-1];
reg [63:0] drop_cnt [0:DROP_CODES-1];
reg [63:0] punt_cnt [0:PUNT_CODES-1];

integer ii;
initial begin
    for (ii = 0; ii < (1<<PORT_CLASS_LOG2); ii = ii + 1) port_class[ii] = 2'd0;
    for (ii = 0; ii < REMOTE_EP_N; ii = ii + 1) remote_ep[ii] = {L_REMOTE_EP_W{1'b0}};
    for (ii = 0; ii < REMOTE_EP_N; ii = ii + 1) rem_mask[ii] = 128'd0;
    for (ii = 0; ii < REMOTE_EP_N; ii = ii + 1) rem_fields_d[ii] = {REM_FIELDS_W{1'b0}};
    for (ii = 0; ii < DROP_CODES; ii = ii + 1) drop_cnt[ii] = 64'd0;
    for (ii = 0; ii < PUNT_CODES; ii = ii + 1) punt_cnt[ii] = 64'd0;
end

// port class of the ingress port and of a packet_out's target port
wire [15:0] po_port = {hq_hdr[7:0], hq_hdr[15:8]};
wire [1:0] class_in = (hq_port >> PORT_CLASS_LOG2) == 0 ? port_class[hq_port[PORT_CLASS_LOG2-1:0]] : 2'd0;
wire [1:0] class_po = (po_port >> PORT_CLASS_LOG2) == 0 ? port_class[po_port[PORT_CLASS_LOG2-1:0]] : 2'd0;

// ---------------------------------------------------------------------------
// stage 1: port class, packet_out
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] p1_reg, p1;
reg [HW-1:0] r1_reg, r1;
reg [1:0] c0, c1;
// the fields stage 1 decides; mode 1 shifts the header by the 4-byte packet_out header
reg [10:0] s1_vd;
reg [15:0] s1_port, s1_pre, s1_oport, s1_skip;
reg [1:0] s1_cls;
reg s1_shift;
always @* begin
    s1_vd = 0;
    s1_port = hq_port;
    s1_pre = 0;
    s1_oport = 0;
    s1_skip = 0;
    s1_shift = 1'b0;
    c0 = class_in;
    c1 = class_po;
    s1_cls = c0;
    if (hq_oversize) begin
        s1_vd = vd(1'b0, DROP_OVERSIZE);
    end else if (c0 == PORT_CLASS_NONE[1:0]) begin
        s1_vd = vd(1'b0, DROP_UNKNOWN_PORT);
    end else if (c0 == PORT_CLASS_CPU[1:0]) begin
        if (hq_len < 4) begin
            s1_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
        end else if (hq_hdr[16 +: 8] == 8'd0) begin
            // mode 0: the rest of the packet out of `port` unchanged
            s1_vd = {1'b1, V_FWD, 8'd0};
            s1_oport = po_port;
            s1_skip = 16'd4;
        end else if (hq_hdr[16 +: 8] == 8'd1) begin
            // mode 1: through the pipeline as if it arrived on `port`
            s1_port = po_port;
            s1_pre = 16'd4;
            s1_skip = 16'd4;
            s1_cls = c1;
            s1_shift = 1'b1;
            if (c1 == PORT_CLASS_NONE[1:0]) begin
                s1_vd = vd(1'b0, DROP_UNKNOWN_PORT);
            end else if (c1 == PORT_CLASS_CPU[1:0]) begin
                s1_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
            end
        end else begin
            s1_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
        end
    end
end

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
// port B of the lookup-only tables: control-plane accesses
reg [3:0] vpc_b_en, lep_b_en, rh_b_en, ce_b_en, ovf_b_en;
reg b_we;
/* verilator lint_off UNUSEDSIGNAL */
// port B address and data are shared by tables of different sizes
reg [31:0] b_addr;
reg [TBL_W-1:0] b_wdata;
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

// policy: 8 variants x 4 ways, kept twice: port A of one copy looks up the packet's
// view, port A of the other the reverse view; control writes go to port B of both
// (control reads come from the first), so no lookup ever waits for the control plane
reg [31:0] pol_b_en;
reg pol_b_we;
reg [8*POLICY_LOG2-1:0] pol_a_addr, pol_b_addr;
wire [32*L_POLICY_W-1:0] pol_a_rd, pol_b_rd, pol_ctl_rd;

genvar w, pv;
generate
    for (w = 0; w < 4; w = w + 1) begin : g_way
        ztnic_ram_dp #(.WIDTH(L_VPORT_CTX_W), .ADDR_W(VPORT_CTX_LOG2)) vpc_ram (
            .clk(clk), .a_en(adv), .a_addr(vpc_a_addr), .a_rdata(vpc_a_rd[w*L_VPORT_CTX_W +: L_VPORT_CTX_W]),
            .b_en(vpc_b_en[w]), .b_we(b_we), .b_addr(b_addr[VPORT_CTX_LOG2-1:0]),
            .b_wdata(b_wdata[L_VPORT_CTX_W-1:0]), .b_rdata(vpc_b_rd[w*L_VPORT_CTX_W +: L_VPORT_CTX_W]));
        ztnic_ram_dp #(.WIDTH(L_LOCAL_EP_W), .ADDR_W(LOCAL_EP_LOG2)) lep_ram (
            .clk(clk), .a_en(adv), .a_addr(lep_a_addr), .a_rdata(lep_a_rd[w*L_LOCAL_EP_W +: L_LOCAL_EP_W]),
            .b_en(lep_b_en[w]), .b_we(b_we), .b_addr(b_addr[LOCAL_EP_LOG2-1:0]),
            .b_wdata(b_wdata[L_LOCAL_EP_W-1:0]), .b_rdata(lep_b_rd[w*L_LOCAL_EP_W +: L_LOCAL_EP_W]));
        ztnic_ram_dp #(.WIDTH(L_REMOTE_HOST_W), .ADDR_W(REMOTE_HOST_LOG2)) rh_ram (
            .clk(clk), .a_en(adv), .a_addr(rh_a_addr), .a_rdata(rh_a_rd[w*L_REMOTE_HOST_W +: L_REMOTE_HOST_W]),
            .b_en(rh_b_en[w]), .b_we(b_we), .b_addr(b_addr[REMOTE_HOST_LOG2-1:0]),
            .b_wdata(b_wdata[L_REMOTE_HOST_W-1:0]), .b_rdata(rh_b_rd[w*L_REMOTE_HOST_W +: L_REMOTE_HOST_W]));
        ztnic_ram_dp #(.WIDTH(L_CTX_EPOCH_W), .ADDR_W(CTX_EPOCH_LOG2)) ce_ram (
            .clk(clk), .a_en(adv), .a_addr(ce_a_addr), .a_rdata(ce_a_rd[w*L_CTX_EPOCH_W +: L_CTX_EPOCH_W]),
            .b_en(ce_b_en[w]), .b_we(b_we), .b_addr(b_addr[CTX_EPOCH_LOG2-1:0]),
            .b_wdata(b_wdata[L_CTX_EPOCH_W-1:0]), .b_rdata(ce_b_rd[w*L_CTX_EPOCH_W +: L_CTX_EPOCH_W]));
        ztnic_ram_dp #(.WIDTH(L_CONNTRACK_W), .ADDR_W(CT_ADDR_W)) ct_ram (
            .clk(clk), .a_en(adv), .a_addr(w < 2 ? ct_a_addr_lo : ct_a_addr_hi),
            .a_rdata(ct_a_rd[w*L_CONNTRACK_W +: L_CONNTRACK_W]),
            .b_en(ct_b_en[w]), .b_we(ct_b_we[w]), .b_addr(ct_b_addr[w*CT_ADDR_W +: CT_ADDR_W]),
            .b_wdata(ct_b_wdata[w*L_CONNTRACK_W +: L_CONNTRACK_W]), .b_rdata(ct_b_rd[w*L_CONNTRACK_W +: L_CONNTRACK_W]));
        ztnic_ram_dp #(.WIDTH(L_CT_OVERFLOW_W), .ADDR_W(CT_OVF_LOG2)) ovf_ram (
            .clk(clk), .a_en(adv), .a_addr(ovf_a_addr), .a_rdata(ovf_a_rd[w*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W]),
            .b_en(ovf_b_en[w]), .b_we(b_we), .b_addr(b_addr[CT_OVF_LOG2-1:0]),
            .b_wdata(b_wdata[L_CT_OVERFLOW_W-1:0]), .b_rdata(ovf_b_rd[w*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W]));
        for (pv = 0; pv < 8; pv = pv + 1) begin : g_var
            ztnic_ram_dp #(.WIDTH(L_POLICY_W), .ADDR_W(POLICY_LOG2)) pol_ram (
                .clk(clk), .a_en(adv), .a_addr(pol_a_addr[pv*POLICY_LOG2 +: POLICY_LOG2]),
                .a_rdata(pol_a_rd[(pv*4+w)*L_POLICY_W +: L_POLICY_W]),
                .b_en(pol_b_en[pv*4+w]), .b_we(pol_b_we), .b_addr(b_addr[POLICY_LOG2-1:0]),
                .b_wdata(b_wdata[L_POLICY_W-1:0]), .b_rdata(pol_ctl_rd[(pv*4+w)*L_POLICY_W +: L_POLICY_W]));
            /* verilator lint_off PINCONNECTEMPTY */
            ztnic_ram_dp #(.WIDTH(L_POLICY_W), .ADDR_W(POLICY_LOG2)) pol_rev_ram (
                .clk(clk), .a_en(adv), .a_addr(pol_b_addr[pv*POLICY_LOG2 +: POLICY_LOG2]),
                .a_rdata(pol_b_rd[(pv*4+w)*L_POLICY_W +: L_POLICY_W]),
                .b_en(pol_b_en[pv*4+w]), .b_we(pol_b_we), .b_addr(b_addr[POLICY_LOG2-1:0]),
                .b_wdata(b_wdata[L_POLICY_W-1:0]), .b_rdata());
            /* verilator lint_on PINCONNECTEMPTY */
        end
    end
endgenerate

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

// remote_ep LPM over REMOTE_EP_N entries in flip-flops, in two stages: stage 10 finds
// the matching entries and the winner (the longest prefix, the lowest index among
// equals: entry i wins if it matches and beats every other match), all entries in
// parallel; stage 11 takes the winner's fields. The fields are read from a copy the
// entries' writes reach one advancing clock later, so a packet takes its fields from the
// table it matched against (a control write between its two stages is not seen torn).
localparam REM_FIELDS_W = 2 + 32 + 24;
reg [127:0] rem_mask [0:REMOTE_EP_N-1];
reg [REM_FIELDS_W-1:0] rem_fields_d [0:REMOTE_EP_N-1];
reg [REMOTE_EP_N-1:0] rem_match, rem_win;
reg [REMOTE_EP_N-1:0] rem_win_reg = 0;

// the mask of a prefix length (as the table always defined it: none for length 0)
function [127:0] lpm_mask(input [7:0] len);
    begin
        lpm_mask = ~(128'd0) << (8'd128 - len);
        if (len == 8'd0) begin
            lpm_mask = 128'd0;
        end
    end
endfunction

reg [7:0] rem_len [0:REMOTE_EP_N-1];
integer ri, rj;
always @* begin
    for (ri = 0; ri < REMOTE_EP_N; ri = ri + 1) begin
        rem_len[ri] = remote_ep[ri][L_REMOTE_EP_PREFIX_LEN_LSB +: 8];
        rem_match[ri] = remote_ep[ri][L_REMOTE_EP_VALID_LSB]
            && ((p9_reg[F_DST +: 128] ^ remote_ep[ri][L_REMOTE_EP_PREFIX_LSB +: 128]) & rem_mask[ri]) == 128'd0;
    end
    for (ri = 0; ri < REMOTE_EP_N; ri = ri + 1) begin
        rem_win[ri] = rem_match[ri];
        for (rj = 0; rj < REMOTE_EP_N; rj = rj + 1) begin
            if (rj != ri && rem_match[rj] && !(rem_len[ri] > rem_len[rj]
                    || (rem_len[ri] == rem_len[rj] && ri < rj))) begin
                rem_win[ri] = 1'b0;
            end
        end
    end
end

reg [PHV_W-1:0] p10_reg;
reg [PHV_W-1:0] p11_reg, p11;
reg [REM_FIELDS_W-1:0] rem_sel;
always @* begin
    rem_sel = 0;
    for (ri = 0; ri < REMOTE_EP_N; ri = ri + 1) begin
        if (rem_win_reg[ri]) begin
            rem_sel = rem_sel | rem_fields_d[ri];
        end
    end
    p11 = p10_reg;
    p11[F_REMHIT] = rem_win_reg != 0;
    p11[F_REMKIND +: 2] = rem_sel[56 +: 2];
    p11[F_REMVTEP +: 32] = rem_sel[24 +: 32];
    p11[F_REMCTX +: 24] = rem_sel[0 +: 24];
end

always @(posedge clk) begin
    if (adv) begin
        p10_reg <= p9_reg & LIVE10;
        rem_win_reg <= rem_win;
        p11_reg <= p11 & LIVE10;
        for (ri = 0; ri < REMOTE_EP_N; ri = ri + 1) begin
            rem_fields_d[ri] <= {remote_ep[ri][L_REMOTE_EP_KIND_LSB +: 2],
                remote_ep[ri][L_REMOTE_EP_VTEP_LSB +: 32], remote_ep[ri][L_REMOTE_EP_CTX_LSB +: 24]};
        end
    end
end

// ---------------------------------------------------------------------------
// stage 12: classify (TX: vport_ctx, local_ep / remote_ep; RX: tag, local_ep)
// ---------------------------------------------------------------------------
reg vpc_hit, lep_hit, rh_hit;
/* verilator lint_off UNUSEDSIGNAL */
// the key fields of a hit entry are not needed after the compare
reg [L_VPORT_CTX_W-1:0] vpc_e;
reg [L_LOCAL_EP_W-1:0] lep_e;
reg [L_REMOTE_HOST_W-1:0] rh_e;
/* verilator lint_on UNUSEDSIGNAL */
integer wi;
always @* begin
    vpc_hit = 1'b0; vpc_e = 0;
    lep_hit = 1'b0; lep_e = 0;
    rh_hit = 1'b0; rh_e = 0;
    for (wi = 3; wi >= 0; wi = wi - 1) begin
        if (rh_a_rd[wi*L_REMOTE_HOST_W + L_REMOTE_HOST_VALID_LSB]
                && rh_a_rd[wi*L_REMOTE_HOST_W + L_REMOTE_HOST_ADDR_LSB +: 128] == p11_reg[F_DST +: 128]) begin
            rh_hit = 1'b1;
            rh_e = rh_a_rd[wi*L_REMOTE_HOST_W +: L_REMOTE_HOST_W];
        end
        if (vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VALID_LSB]
                && vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VPORT_LSB +: 16] == p11_reg[F_PORT +: 16]
                && vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_ADDR_LSB +: 128] == p11_reg[F_SRC +: 128]) begin
            vpc_hit = 1'b1;
            vpc_e = vpc_a_rd[wi*L_VPORT_CTX_W +: L_VPORT_CTX_W];
        end
        if (lep_a_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_VALID_LSB]
                && lep_a_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_ADDR_LSB +: 128] == p11_reg[F_DST +: 128]) begin
            lep_hit = 1'b1;
            lep_e = lep_a_rd[wi*L_LOCAL_EP_W +: L_LOCAL_EP_W];
        end
    end
end

// the route: a remote_host hit (a full-length route) wins over the remote_ep LPM
wire route_hit = rh_hit || p11_reg[F_REMHIT];
wire [1:0] route_kind = rh_hit ? rh_e[L_REMOTE_HOST_KIND_LSB +: 2] : p11_reg[F_REMKIND +: 2];
wire [31:0] route_vtep = rh_hit ? rh_e[L_REMOTE_HOST_VTEP_LSB +: 32] : p11_reg[F_REMVTEP +: 32];
wire [23:0] route_ctx = rh_hit ? rh_e[L_REMOTE_HOST_CTX_LSB +: 24] : p11_reg[F_REMCTX +: 24];

reg [PHV_W-1:0] p12_reg, p12;
reg tagged12;
// the fields classify writes
reg [10:0] s12_vd;
reg [23:0] s12_sctx, s12_dctx;
reg [15:0] s12_zone, s12_ovport;
reg [1:0] s12_act;
reg [31:0] s12_vtep;
reg s12_lepmiss;
always @* begin
    s12_vd = {p11_reg[F_DONE], p11_reg[F_VK +: 2], p11_reg[F_WHY +: 8]};
    s12_sctx = p11_reg[F_SCTX +: 24];
    s12_dctx = p11_reg[F_DCTX +: 24];
    s12_zone = p11_reg[F_ZONE +: 16];
    s12_ovport = p11_reg[F_OVPORT +: 16];
    s12_act = p11_reg[F_ACT +: 2];
    s12_vtep = p11_reg[F_VTEP +: 32];
    s12_lepmiss = p11_reg[F_LEPMISS];
    tagged12 = p11_reg[F_TUN +: 2] == TUN_GENEVE || p11_reg[F_TUN +: 2] == TUN_GBP;
    if (!p11_reg[F_DONE]) begin
        if (p11_reg[F_CLS +: 2] == PORT_CLASS_VPORT[1:0]) begin
            if (!vpc_hit) begin
                s12_vd = vd(1'b0, DROP_SPOOFED_SOURCE);
            end else begin
                s12_sctx = vpc_e[L_VPORT_CTX_CTX_LSB +: 24];
                s12_zone = vpc_e[L_VPORT_CTX_ZONE_LSB +: 16];
                if (lep_hit) begin
                    s12_dctx = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
                    s12_ovport = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
                    s12_act = A_LOCAL;
                end else if (route_hit) begin
                    s12_vtep = route_vtep;
                    case (route_kind)
                        REMOTE_KIND_GENEVE[1:0]: begin
                            s12_act = A_GENEVE; s12_dctx = route_ctx;
                        end
                        REMOTE_KIND_VXLAN_GBP[1:0]: begin
                            s12_act = A_GBP; s12_dctx = route_ctx;
                        end
                        default: begin
                            s12_act = A_NATIVE; s12_dctx = 24'd2;
                        end
                    endcase
                end else begin
                    s12_vd = vd(1'b0, DROP_NO_ROUTE);
                end
            end
        end else begin
            s12_sctx = tagged12 ? p11_reg[F_TCTX +: 24] : 24'd2;
            if (tagged12 && p11_reg[F_TCTX +: 24] == 0) begin
                s12_vd = vd(1'b0, DROP_TAG_CTX_ZERO);
            end
            // a local_ep miss is judged after the tag MAC (stage 22)
            s12_lepmiss = !lep_hit;
            s12_dctx = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
            s12_ovport = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
            s12_zone = lep_e[L_LOCAL_EP_ZONE_LSB +: 16];
        end
    end
end

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
reg [31:0] ph_f, ph_r;
/* verilator lint_on UNUSEDSIGNAL */
assign ce_a_addr = ce_hash[CTX_EPOCH_LOG2-1:0];

reg [8*64-1:0] pol_key_f, pol_key_r;
integer vi;
always @* begin
    for (vi = 0; vi < 8; vi = vi + 1) begin
        pol_key_f[64*vi +: 64] = pol_key(vi[2:0], p12_reg[F_SCTX +: 24], p12_reg[F_DCTX +: 24], p12_reg[F_PROTO +: 8]);
        pol_key_r[64*vi +: 64] = pol_key(vi[2:0], p12_reg[F_DCTX +: 24], p12_reg[F_SCTX +: 24], p12_reg[F_PROTO +: 8]);
        ph_f = crc32_small(pol_key_f[64*vi +: 64], 8);
        ph_r = crc32_small(pol_key_r[64*vi +: 64], 8);
        pol_a_addr[vi*POLICY_LOG2 +: POLICY_LOG2] = ph_f[POLICY_LOG2-1:0];
        pol_b_addr[vi*POLICY_LOG2 +: POLICY_LOG2] = ph_r[POLICY_LOG2-1:0];
    end
end

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
reg [15:0] pa13, pb13;
reg [2:0] k13;
reg [311:0] okey13, key13;
reg srclo13;
always @* begin
    k13 = p12_reg[F_KIND +: 3];
    pa13 = (k13 == K_TCP || k13 == K_UDP) ? p12_reg[F_SPORT +: 16] : p12_reg[F_ECHO +: 16];
    pb13 = (k13 == K_TCP || k13 == K_UDP) ? p12_reg[F_DPORT +: 16] : p12_reg[F_ECHO +: 16];
    if (k13 != K_TCP && k13 != K_UDP && k13 != K_ECHO_REQ && k13 != K_ECHO_REP) begin
        pa13 = 0; pb13 = 0;
    end
    srclo13 = {p12_reg[F_SRC +: 128], pa13} <= {p12_reg[F_DST +: 128], pb13};
    if (srclo13) begin
        okey13 = {p12_reg[F_ZONE +: 16], p12_reg[F_PROTO +: 8], p12_reg[F_SRC +: 128], p12_reg[F_DST +: 128], pa13, pb13};
    end else begin
        okey13 = {p12_reg[F_ZONE +: 16], p12_reg[F_PROTO +: 8], p12_reg[F_DST +: 128], p12_reg[F_SRC +: 128], pb13, pa13};
    end
    key13 = okey13;
    if (k13 == K_ICMP_ERR) begin
        if ({p12_reg[F_ESRC +: 128], p12_reg[F_ESP +: 16]} <= {p12_reg[F_EDST +: 128], p12_reg[F_EDP +: 16]}) begin
            key13 = {p12_reg[F_ZONE +: 16], p12_reg[F_EPROTO +: 8], p12_reg[F_ESRC +: 128],
                     p12_reg[F_EDST +: 128], p12_reg[F_ESP +: 16], p12_reg[F_EDP +: 16]};
        end else begin
            key13 = {p12_reg[F_ZONE +: 16], p12_reg[F_EPROTO +: 8], p12_reg[F_EDST +: 128],
                     p12_reg[F_ESRC +: 128], p12_reg[F_EDP +: 16], p12_reg[F_ESP +: 16]};
        end
    end
end

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
reg ce_hit;
/* verilator lint_off UNUSEDSIGNAL */
reg [L_CTX_EPOCH_W-1:0] ce_e;
/* verilator lint_on UNUSEDSIGNAL */
reg [1:0] ce_way;
integer ci;
always @* begin
    ce_hit = 1'b0; ce_e = 0; ce_way = 0;
    for (ci = 3; ci >= 0; ci = ci - 1) begin
        if (ce_a_rd[ci*L_CTX_EPOCH_W + L_CTX_EPOCH_VALID_LSB]
                && ce_a_rd[ci*L_CTX_EPOCH_W + L_CTX_EPOCH_CTX_LSB +: 24] == p13_reg[F_SCTX +: 24]) begin
            ce_hit = 1'b1;
            ce_e = ce_a_rd[ci*L_CTX_EPOCH_W +: L_CTX_EPOCH_W];
            ce_way = ci[1:0];
        end
    end
end

// SipHash message: ctx, epoch, inner addresses, proto, ports (datapath.md §3)
reg [23:0] sip_ctx;
reg [7:0] sip_epoch;
reg [8*47-1:0] sip_msg;
reg [5:0] sip_len;
integer si;
always @* begin
    if (p13_reg[F_CLS +: 2] == PORT_CLASS_VPORT[1:0]) begin
        sip_ctx = p13_reg[F_SCTX +: 24];
        sip_epoch = ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8];
    end else begin
        sip_ctx = p13_reg[F_TCTX +: 24];
        sip_epoch = p13_reg[F_TEPOCH +: 8];
    end
    sip_msg = 0;
    sip_msg[0 +: 8] = sip_ctx[23:16];
    sip_msg[8 +: 8] = sip_ctx[15:8];
    sip_msg[16 +: 8] = sip_ctx[7:0];
    sip_msg[24 +: 8] = sip_epoch;
    if (p13_reg[F_V6]) begin
        for (si = 0; si < 16; si = si + 1) begin
            sip_msg[8*(4+si) +: 8] = p13_reg[F_SRC + 8*(15-si) +: 8];
            sip_msg[8*(20+si) +: 8] = p13_reg[F_DST + 8*(15-si) +: 8];
        end
        sip_msg[8*36 +: 8] = p13_reg[F_PROTO +: 8];
        sip_msg[8*37 +: 32] = {p13_reg[F_DPORT +: 8], p13_reg[F_DPORT + 8 +: 8],
                               p13_reg[F_SPORT +: 8], p13_reg[F_SPORT + 8 +: 8]};
        sip_len = 6'd41;
    end else begin
        for (si = 0; si < 4; si = si + 1) begin
            sip_msg[8*(4+si) +: 8] = p13_reg[F_SRC + 8*(3-si) +: 8];
            sip_msg[8*(8+si) +: 8] = p13_reg[F_DST + 8*(3-si) +: 8];
        end
        sip_msg[8*12 +: 8] = p13_reg[F_PROTO +: 8];
        sip_msg[8*13 +: 32] = {p13_reg[F_DPORT +: 8], p13_reg[F_DPORT + 8 +: 8],
                               p13_reg[F_SPORT +: 8], p13_reg[F_SPORT + 8 +: 8]};
        sip_len = 6'd17;
    end
end

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
reg [127:0] cf_valid, cr_valid, cf_allow, cr_allow;
reg [128*16-1:0] cf_prio, cr_prio;
reg [128*32-1:0] cf_id, cr_id;
reg [128*CTR_RULE_W-1:0] cf_slot, cr_slot;

// the 16 candidates of one variant's 4 ways
task automatic cands_of(input [4*L_POLICY_W-1:0] rd, input [63:0] key, input [15:0] pport,
                        input [2:0] vr, input [POLICY_LOG2-1:0] bucket,
                        output [15:0] valid, output [15:0] allow, output [16*16-1:0] prio,
                        output [16*32-1:0] id, output [16*CTR_RULE_W-1:0] slot);
    integer pw, pr;
    reg [L_POLICY_W-1:0] pe;
    reg [PR_W-1:0] rl;
    reg hit;
    begin
        for (pw = 0; pw < 4; pw = pw + 1) begin
            pe = rd[pw*L_POLICY_W +: L_POLICY_W];
            hit = pe[L_POLICY_VALID_LSB] && pe[L_POLICY_KEY_LSB +: 64] == key;
            for (pr = 0; pr < 4; pr = pr + 1) begin
                rl = pe[L_POLICY_RULE_BASE + pr*L_POLICY_RULE_STRIDE +: PR_W];
                valid[pw*4 + pr] = hit && rl[L_POLICY_RULE_VALID_LSB]
                                   && pport >= rl[L_POLICY_RULE_PORT_LO_LSB +: 16]
                                   && pport <= rl[L_POLICY_RULE_PORT_HI_LSB +: 16];
                allow[pw*4 + pr] = rl[L_POLICY_RULE_ALLOW_LSB];
                prio[(pw*4 + pr)*16 +: 16] = rl[L_POLICY_RULE_PRIORITY_LSB +: 16];
                id[(pw*4 + pr)*32 +: 32] = rl[L_POLICY_RULE_ID_LSB +: 32];
                slot[(pw*4 + pr)*CTR_RULE_W +: CTR_RULE_W] = {vr, pw[1:0], bucket, pr[1:0]};
            end
        end
    end
endtask

integer bv_i;
always @* begin
    for (bv_i = 0; bv_i < 8; bv_i = bv_i + 1) begin
        cands_of(pol_a_rd[bv_i*4*L_POLICY_W +: 4*L_POLICY_W], pk_f_reg[64*bv_i +: 64], pport_f_reg,
                 bv_i[2:0], pb_f_reg[bv_i*POLICY_LOG2 +: POLICY_LOG2],
                 cf_valid[bv_i*16 +: 16], cf_allow[bv_i*16 +: 16], cf_prio[bv_i*256 +: 256],
                 cf_id[bv_i*512 +: 512], cf_slot[bv_i*16*CTR_RULE_W +: 16*CTR_RULE_W]);
        cands_of(pol_b_rd[bv_i*4*L_POLICY_W +: 4*L_POLICY_W], pk_r_reg[64*bv_i +: 64], pport_r_reg,
                 bv_i[2:0], pb_r_reg[bv_i*POLICY_LOG2 +: POLICY_LOG2],
                 cr_valid[bv_i*16 +: 16], cr_allow[bv_i*16 +: 16], cr_prio[bv_i*256 +: 256],
                 cr_id[bv_i*512 +: 512], cr_slot[bv_i*16*CTR_RULE_W +: 16*CTR_RULE_W]);
    end
end

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
reg [10:0] s14_vd;
reg s14_evp, s14_cecnt;
reg [127:0] s14_ev;
reg [7:0] s14_epoch;
always @* begin
    s14_vd = {p13_reg[F_DONE], p13_reg[F_VK +: 2], p13_reg[F_WHY +: 8]};
    s14_evp = p13_reg[F_EVP];
    s14_ev = p13_reg[F_EV +: 128];
    s14_epoch = p13_reg[F_EPOCH +: 8];
    s14_cecnt = p13_reg[F_CECNT];
    if (!p13_reg[F_DONE] && p13_reg[F_CLS +: 2] == PORT_CLASS_VPORT[1:0]) begin
        if (!ce_hit) begin
            s14_vd = vd(1'b1, PUNT_CTX_UNKNOWN);
            s14_evp = 1'b1;
            s14_ev = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, p13_reg[F_PORT +: 16],
                               p13_reg[F_SCTX +: 24], 8'd0, 32'd0, ts_us[31:0]);
        end else begin
            s14_epoch = ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8];
            s14_cecnt = 1'b1;
        end
    end
end

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
reg tun22;
// the fields the RX checks write
reg [10:0] s22_vd;
reg s22_evp, s22_cecnt;
reg [127:0] s22_ev;
always @* begin
    s22_vd = {p21_reg[F_DONE], p21_reg[F_VK +: 2], p21_reg[F_WHY +: 8]};
    s22_evp = p21_reg[F_EVP];
    s22_ev = p21_reg[F_EV +: 128];
    s22_cecnt = p21_reg[F_CECNT];
    tun22 = p21_reg[F_TUN +: 2] == TUN_GENEVE || p21_reg[F_TUN +: 2] == TUN_GBP;
    if (!p21_reg[F_DONE] && p21_reg[F_CLS +: 2] != PORT_CLASS_VPORT[1:0]) begin
        if (p21_reg[F_TUN +: 2] == TUN_GENEVE && cfg_auth && sip_hash[31:0] != p21_reg[F_TMAC +: 32]) begin
            s22_vd = vd(1'b0, DROP_TAG_BAD_MAC);
        end else if (p21_reg[F_LEPMISS]) begin
            s22_vd = vd(1'b0, DROP_NO_LOCAL_EP);
        end else if (tun22) begin
            if (!p21_reg[F_CEHIT]) begin
                s22_vd = vd(1'b1, PUNT_CTX_UNKNOWN);
                s22_evp = 1'b1;
                s22_ev = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, p21_reg[F_PORT +: 16],
                                   p21_reg[F_SCTX +: 24], p21_reg[F_TEPOCH +: 8], 32'd0, ts_us[31:0]);
            end else if (p21_reg[F_TUN +: 2] == TUN_GENEVE && p21_reg[F_TEPOCH +: 8] != p21_reg[F_CEEPOCH +: 8]) begin
                // the context's entry counts every packet that finds it, a stale one too
                s22_cecnt = 1'b1;
                s22_vd = vd(1'b1, PUNT_CTX_STALE_EPOCH);
                s22_evp = 1'b1;
                s22_ev = event_rec(EVENT_KIND_CTX_STALE_EPOCH[7:0], PUNT_CTX_STALE_EPOCH, p21_reg[F_PORT +: 16],
                                   p21_reg[F_SCTX +: 24], p21_reg[F_TEPOCH +: 8], 32'd0, ts_us[31:0]);
            end else begin
                s22_cecnt = 1'b1;
            end
        end
    end
end

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
// the write each way received in the clock the packet in stage 23 was read
reg [3:0] ctf_v_reg = 0;
reg [4*CT_ADDR_W-1:0] ctf_a_reg;
reg [4*L_CONNTRACK_W-1:0] ctf_d_reg;

reg [3:0] dp_we;
reg [4*L_CONNTRACK_W-1:0] dp_wd;
wire [CT_ADDR_W-1:0] ct_addr_lo23 = p23_reg[F_H32 +: CT_ADDR_W] & ct_mask;
wire [CT_ADDR_W-1:0] ct_addr_hi23 = h16_ext(p23_reg[F_H16 +: 16]) & ct_mask;
wire [4*CT_ADDR_W-1:0] dp_wa = {ct_addr_hi23, ct_addr_hi23, ct_addr_lo23, ct_addr_lo23};

// the ways as the packet must see them: RAM data, or the write it could not see
reg [4*L_CONNTRACK_W-1:0] ct_view;
integer fw;
always @* begin
    for (fw = 0; fw < 4; fw = fw + 1) begin
        if (ctf_v_reg[fw] && ctf_a_reg[fw*CT_ADDR_W +: CT_ADDR_W] == dp_wa[fw*CT_ADDR_W +: CT_ADDR_W]) begin
            ct_view[fw*L_CONNTRACK_W +: L_CONNTRACK_W] = ctf_d_reg[fw*L_CONNTRACK_W +: L_CONNTRACK_W];
        end else begin
            ct_view[fw*L_CONNTRACK_W +: L_CONNTRACK_W] = ct_a_rd[fw*L_CONNTRACK_W +: L_CONNTRACK_W];
        end
    end
end

reg ct_hit;
reg [1:0] ct_hway;
reg [L_CONNTRACK_W-1:0] ct_he;
reg ct_free;
reg [1:0] ct_fway;
reg ct_evict;
reg [1:0] ct_eway;
reg ovf_hit;
reg ovf_orig_lo;
reg [L_CONNTRACK_W-1:0] cw;
reg [L_CT_OVERFLOW_W-1:0] ow;
integer cj;
always @* begin
    ct_hit = 1'b0; ct_hway = 0; ct_he = 0;
    ct_free = 1'b0; ct_fway = 0;
    ct_evict = 1'b0; ct_eway = 0;
    ovf_hit = 1'b0; ovf_orig_lo = 1'b0;
    cw = 0; ow = 0;
    for (cj = 3; cj >= 0; cj = cj - 1) begin
        cw = ct_view[cj*L_CONNTRACK_W +: L_CONNTRACK_W];
        if (cw[L_CONNTRACK_VALID_LSB] && !ct_expired(cw, ts_us, cfg_timeouts)) begin
            if (cw[L_CONNTRACK_KEY_LSB +: 312] == p23_reg[F_KEY +: 312]) begin
                ct_hit = 1'b1;
                ct_hway = cj[1:0];
                ct_he = cw;
            end
            if (!cw[L_CONNTRACK_ASSURED_LSB]) begin
                ct_evict = 1'b1;
                ct_eway = cj[1:0];
            end
        end else begin
            ct_free = 1'b1;
            ct_fway = cj[1:0];
        end
        ow = ovf_a_rd[cj*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W];
        if (ow[L_CT_OVERFLOW_VALID_LSB] && ow[L_CT_OVERFLOW_KEY_LSB +: 312] == p23_reg[F_KEY +: 312]) begin
            ovf_hit = 1'b1;
            ovf_orig_lo = ow[L_CT_OVERFLOW_ORIG_LO_LSB];
        end
    end
end

// the hit entry after a re-check (generation updated) and the direction
reg ct_stale, ct_reply, ct_view_orig, ct_re_allow, ct_rechk;
reg [L_CONNTRACK_W-1:0] ent;
always @* begin
    ct_reply = p23_reg[F_SRCLO] != ct_he[L_CONNTRACK_ORIG_LO_LSB];
    ct_stale = ct_he[L_CONNTRACK_GEN_LSB +: 16] != cfg_policy_gen;
    // the re-check uses the originator's view of the connection
    ct_view_orig = !ct_reply;
    ct_re_allow = ct_view_orig ? (p23_reg[F_PFV] && p23_reg[F_PFA]) : (p23_reg[F_PRV] && p23_reg[F_PRA]);
    ct_rechk = ct_stale && ct_re_allow;
    ent = ct_he;
    if (ct_rechk) begin
        ent[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
    end
end

// TCP tracking of the hit entry (ztnic_tcp_track: Linux 6.x nf_conntrack_tcp_packet
// and tcp_in_window, datapath.md §5) and the entry the hit becomes (ne).
// outcome: 1 invalid (the entry is written only when ct_inv_wr), 2 reopen, 3 passes
// without moving the connection, 4 passes and moved it, 5 passes and ends it
localparam [2:0] O_INV = 3'd1, O_REOPEN = 3'd2, O_MOVED = 3'd4, O_KILL = 3'd5;
wire [5:0] fl = p23_reg[F_FLAGS +: 6];
wire [2:0] tt_outcome;
wire tt_inv_write;
wire [3:0] tt_state;
wire tt_assured, tt_replied;
wire [31:0] tt_orig_end;
wire [31:0] tt_orig_maxend;
wire [31:0] tt_orig_maxwin;
wire [31:0] tt_orig_maxack;
wire tt_orig_maxack_set;
wire tt_orig_close_init;
wire [31:0] tt_reply_end;
wire [31:0] tt_reply_maxend;
wire [31:0] tt_reply_maxwin;
wire [31:0] tt_reply_maxack;
wire tt_reply_maxack_set;
wire tt_reply_close_init;
wire [2:0] tt_last_class;
wire tt_last_reply;
wire [31:0] tt_last_ack;
wire [31:0] tt_last_end;
wire [15:0] tt_last_win;

ztnic_tcp_track tcp_track_inst (
    .reply(ct_reply),
    .flags(fl),
    .seq(p23_reg[F_SEQ +: 32]),
    .ack(p23_reg[F_ACK +: 32]),
    .paylen(p23_reg[F_PAYLEN +: 16]),
    .win(p23_reg[F_WIN +: 16]),
    .wscale(cfg_tcp_wscale),
    .state(ent[L_CONNTRACK_STATE_LSB +: 4]),
    .assured(ent[L_CONNTRACK_ASSURED_LSB]),
    .replied(ent[L_CONNTRACK_REPLIED_LSB]),
    .orig_end(ent[L_CONNTRACK_ORIG_END_LSB +: 32]),
    .orig_maxend(ent[L_CONNTRACK_ORIG_MAXEND_LSB +: 32]),
    .orig_maxwin(ent[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32]),
    .orig_maxack(ent[L_CONNTRACK_ORIG_MAXACK_LSB +: 32]),
    .orig_maxack_set(ent[L_CONNTRACK_ORIG_MAXACK_SET_LSB]),
    .orig_close_init(ent[L_CONNTRACK_ORIG_CLOSE_INIT_LSB]),
    .reply_end(ent[L_CONNTRACK_REPLY_END_LSB +: 32]),
    .reply_maxend(ent[L_CONNTRACK_REPLY_MAXEND_LSB +: 32]),
    .reply_maxwin(ent[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32]),
    .reply_maxack(ent[L_CONNTRACK_REPLY_MAXACK_LSB +: 32]),
    .reply_maxack_set(ent[L_CONNTRACK_REPLY_MAXACK_SET_LSB]),
    .reply_close_init(ent[L_CONNTRACK_REPLY_CLOSE_INIT_LSB]),
    .last_class(ent[L_CONNTRACK_LAST_CLASS_LSB +: 3]),
    .last_reply(ent[L_CONNTRACK_LAST_REPLY_LSB]),
    .last_ack(ent[L_CONNTRACK_LAST_ACK_LSB +: 32]),
    .last_end(ent[L_CONNTRACK_LAST_END_LSB +: 32]),
    .last_win(ent[L_CONNTRACK_LAST_WIN_LSB +: 16]),
    .outcome(tt_outcome),
    .inv_write(tt_inv_write),
    .out_state(tt_state),
    .out_assured(tt_assured),
    .out_replied(tt_replied),
    .out_orig_end(tt_orig_end),
    .out_orig_maxend(tt_orig_maxend),
    .out_orig_maxwin(tt_orig_maxwin),
    .out_orig_maxack(tt_orig_maxack),
    .out_orig_maxack_set(tt_orig_maxack_set),
    .out_orig_close_init(tt_orig_close_init),
    .out_reply_end(tt_reply_end),
    .out_reply_maxend(tt_reply_maxend),
    .out_reply_maxwin(tt_reply_maxwin),
    .out_reply_maxack(tt_reply_maxack),
    .out_reply_maxack_set(tt_reply_maxack_set),
    .out_reply_close_init(tt_reply_close_init),
    .out_last_class(tt_last_class),
    .out_last_reply(tt_last_reply),
    .out_last_ack(tt_last_ack),
    .out_last_end(tt_last_end),
    .out_last_win(tt_last_win)
);

reg [2:0] outcome;
reg ct_inv_wr;
reg [L_CONNTRACK_W-1:0] ne;
always @* begin
    ne = ent;
    outcome = O_MOVED;
    ct_inv_wr = 1'b0;
    if (ent[L_CONNTRACK_KIND_LSB +: 2] == CT_KIND_TCP[1:0]) begin
        outcome = tt_outcome;
        ct_inv_wr = tt_inv_write;
        ne[L_CONNTRACK_STATE_LSB +: 4] = tt_state;
        ne[L_CONNTRACK_ASSURED_LSB] = tt_assured;
        ne[L_CONNTRACK_REPLIED_LSB] = tt_replied;
        ne[L_CONNTRACK_ORIG_END_LSB +: 32] = tt_orig_end;
        ne[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = tt_orig_maxend;
        ne[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = tt_orig_maxwin;
        ne[L_CONNTRACK_ORIG_MAXACK_LSB +: 32] = tt_orig_maxack;
        ne[L_CONNTRACK_ORIG_MAXACK_SET_LSB] = tt_orig_maxack_set;
        ne[L_CONNTRACK_ORIG_CLOSE_INIT_LSB] = tt_orig_close_init;
        ne[L_CONNTRACK_REPLY_END_LSB +: 32] = tt_reply_end;
        ne[L_CONNTRACK_REPLY_MAXEND_LSB +: 32] = tt_reply_maxend;
        ne[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32] = tt_reply_maxwin;
        ne[L_CONNTRACK_REPLY_MAXACK_LSB +: 32] = tt_reply_maxack;
        ne[L_CONNTRACK_REPLY_MAXACK_SET_LSB] = tt_reply_maxack_set;
        ne[L_CONNTRACK_REPLY_CLOSE_INIT_LSB] = tt_reply_close_init;
        ne[L_CONNTRACK_LAST_CLASS_LSB +: 3] = tt_last_class;
        ne[L_CONNTRACK_LAST_REPLY_LSB] = tt_last_reply;
        ne[L_CONNTRACK_LAST_ACK_LSB +: 32] = tt_last_ack;
        ne[L_CONNTRACK_LAST_END_LSB +: 32] = tt_last_end;
        ne[L_CONNTRACK_LAST_WIN_LSB +: 16] = tt_last_win;
        if (tt_outcome == O_MOVED) begin
            ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
        end
    end else begin
        ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
        if (ct_reply) begin
            ne[L_CONNTRACK_REPLIED_LSB] = 1'b1;
            if (ent[L_CONNTRACK_KIND_LSB +: 2] != CT_KIND_ICMP[1:0]) begin
                ne[L_CONNTRACK_ASSURED_LSB] = 1'b1;
            end
        end
    end
end

// the entry a new connection inserts (used when the decide stage inserts)
reg [2:0] k24;
reg [L_CONNTRACK_W-1:0] ins;
always @* begin
    k24 = p23_reg[F_KIND +: 3];
    ins = 0;
    ins[L_CONNTRACK_VALID_LSB] = 1'b1;
    ins[L_CONNTRACK_KEY_LSB +: 312] = p23_reg[F_KEY +: 312];
    ins[L_CONNTRACK_ORIG_LO_LSB] = p23_reg[F_SRCLO];
    ins[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
    ins[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
    case (k24)
        K_TCP: begin
            ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_TCP[1:0];
            ins[L_CONNTRACK_STATE_LSB +: 4] = T_SS;
            ins[L_CONNTRACK_ORIG_END_LSB +: 32] = p23_reg[F_SEQ +: 32] + {16'd0, p23_reg[F_PAYLEN +: 16]} + 32'd1 + {31'd0, fl[0]};
            ins[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = p23_reg[F_SEQ +: 32] + {16'd0, p23_reg[F_PAYLEN +: 16]} + 32'd1 + {31'd0, fl[0]};
            ins[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = (p23_reg[F_WIN +: 16] == 0) ? 32'd1 : {16'd0, p23_reg[F_WIN +: 16]};
        end
        K_UDP: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_UDP[1:0];
        K_ECHO_REQ: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_ICMP[1:0];
        default: ins[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_OTHER[1:0];
    endcase
end

// the decision: verdict, ct_state, rule, event, and which writes to make
reg [PHV_W-1:0] p24_reg, p24;
reg go_new, fr24;
reg [1:0] fw24, iw;
reg del24, upd24, ins24, upd_ne;
reg [L_CONNTRACK_W-1:0] upd_d;
reg [7:0] why24;
reg [10:0] s24_vd;
reg s24_ctv, s24_rulev, s24_evp;
reg [5:0] s24_cts;
reg [31:0] s24_rule;
reg [15:0] s24_rslot;
reg [127:0] s24_ev;
always @* begin
    s24_vd = {p23_reg[F_DONE], p23_reg[F_VK +: 2], p23_reg[F_WHY +: 8]};
    s24_ctv = p23_reg[F_CTV];
    s24_cts = p23_reg[F_CTS +: 6];
    s24_rulev = p23_reg[F_RULEV];
    s24_rule = p23_reg[F_RULE +: 32];
    s24_rslot = p23_reg[F_RSLOT +: 16];
    s24_evp = p23_reg[F_EVP];
    s24_ev = p23_reg[F_EV +: 128];
    del24 = 1'b0;
    upd24 = 1'b0;
    ins24 = 1'b0;
    upd_ne = 1'b0;
    go_new = 1'b0;
    fr24 = ct_free;
    fw24 = ct_fway;
    iw = 0;
    why24 = 0;
    if (v_reg[23] && !p23_reg[F_DONE]) begin
        s24_ctv = 1'b1;
        if (k24 == K_ICMP_OTHER || (k24 == K_TCP && !flags_valid(fl))) begin
            s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
            s24_vd = vd(1'b0, DROP_CT_INVALID);
        end else if (k24 == K_ICMP_ERR) begin
            // Linux: an error about a flow must go to the flow's own address, the
            // source of the quoted packet
            if ((ct_hit || ovf_hit) && p23_reg[F_DST +: 128] == p23_reg[F_ESRC +: 128]) begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b1, 1'b0, 1'b0);
            end else begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                s24_vd = vd(1'b0, DROP_CT_INVALID);
            end
        end else if (ct_hit && ct_stale && !ct_re_allow && outcome != O_REOPEN) begin
            // revoked by a policy change: delete the entry, drop with the policy's reason
            // (a SYN reopening a closed connection is not: only the new one is checked)
            s24_rulev = ct_view_orig ? p23_reg[F_PFV] : p23_reg[F_PRV];
            s24_rule = ct_view_orig ? p23_reg[F_PFID +: 32] : p23_reg[F_PRID +: 32];
            s24_rslot = ct_view_orig ? p23_reg[F_PFSLOT +: 16] : p23_reg[F_PRSLOT +: 16];
            del24 = 1'b1;
            s24_cts = ct_bits(!ct_he[L_CONNTRACK_REPLIED_LSB] && !ct_reply, ct_he[L_CONNTRACK_REPLIED_LSB],
                              1'b0, ct_reply, 1'b0);
            why24 = s24_rulev ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY;
            s24_vd = vd(1'b0, why24);
            s24_evp = 1'b1;
            s24_ev = event_rec(EVENT_KIND_CT_DELETE[7:0], why24, p23_reg[F_PORT +: 16],
                               p23_reg[F_SCTX +: 24], 8'd0, p23_reg[F_H32 +: 32], ts_us[31:0]);
        end else if (ct_hit) begin
            if (ct_rechk) begin
                s24_rulev = ct_view_orig ? p23_reg[F_PFV] : p23_reg[F_PRV];
                s24_rule = ct_view_orig ? p23_reg[F_PFID +: 32] : p23_reg[F_PRID +: 32];
                s24_rslot = ct_view_orig ? p23_reg[F_PFSLOT +: 16] : p23_reg[F_PRSLOT +: 16];
            end
            case (outcome)
                O_INV: begin
                    // invalid: a re-check's generation update is kept, and the window
                    // data a failing segment set up (ct_inv_wr, as Linux does)
                    if (ct_rechk || ct_inv_wr) begin
                        upd24 = 1'b1;
                        upd_ne = ct_inv_wr;
                    end
                    s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                    s24_vd = vd(1'b0, DROP_CT_INVALID);
                end
                O_KILL: begin
                    // a RST before any reply: passes, and the entry is deleted
                    del24 = 1'b1;
                    s24_cts = ct_bits(!ct_reply, 1'b0, 1'b0, ct_reply, 1'b0);
                end
                O_REOPEN: begin
                    // a SYN reopening TIME_WAIT / CLOSE: delete, then as a new connection
                    del24 = 1'b1;
                    if (!fr24 || ct_hway < fw24) begin
                        fr24 = 1'b1;
                        fw24 = ct_hway;
                    end
                    go_new = 1'b1;
                end
                default: begin
                    // passes: the entry as the tracker left it (last segment, replied,
                    // and for a moved connection state, windows and timer)
                    upd24 = 1'b1;
                    upd_ne = 1'b1;
                    s24_cts = ct_bits(!ne[L_CONNTRACK_REPLIED_LSB] && !ct_reply, ne[L_CONNTRACK_REPLIED_LSB],
                                      1'b0, ct_reply, 1'b0);
                    if (!ne[L_CONNTRACK_REPLIED_LSB] && !ct_reply && !ct_rechk) begin
                        // still `new`: the policy decides this packet too
                        s24_rulev = p23_reg[F_PFV];
                        s24_rule = p23_reg[F_PFID +: 32];
                        s24_rslot = p23_reg[F_PFSLOT +: 16];
                        if (!(p23_reg[F_PFV] && p23_reg[F_PFA])) begin
                            s24_vd = vd(1'b0, p23_reg[F_PFV] ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY);
                        end
                    end
                end
            endcase
        end else if (ovf_hit) begin
            s24_cts = ct_bits(1'b0, 1'b1, 1'b0, p23_reg[F_SRCLO] != ovf_orig_lo, 1'b0);
        end else begin
            go_new = 1'b1;
        end
        if (go_new) begin
            s24_cts = ct_bits(1'b1, 1'b0, 1'b0, 1'b0, 1'b0);
            if ((k24 == K_TCP && flag_class(fl) != C_SYN) || k24 == K_ECHO_REP) begin
                s24_cts = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                s24_vd = vd(1'b0, DROP_CT_INVALID);
            end else begin
                s24_rulev = p23_reg[F_PFV];
                s24_rule = p23_reg[F_PFID +: 32];
                s24_rslot = p23_reg[F_PFSLOT +: 16];
                iw = fr24 ? fw24 : ct_eway;
                if (!(p23_reg[F_PFV] && p23_reg[F_PFA])) begin
                    s24_vd = vd(1'b0, p23_reg[F_PFV] ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY);
                end else if (fr24 || ct_evict) begin
                    ins24 = 1'b1;
                    s24_evp = 1'b1;
                    // the record names the slot: ways 2 and 3 are indexed by the CRC-16,
                    // which the runtime cannot derive from anything else it is told
                    s24_ev = event_rec(EVENT_KIND_CT_NEW[7:0], 8'd0, p23_reg[F_PORT +: 16],
                                       p23_reg[F_SCTX +: 24], 8'd0,
                                       {{(30 - CT_ADDR_W){1'b0}}, iw, iw[1] ? ct_addr_hi23 : ct_addr_lo23},
                                       ts_us[31:0]);
                end else begin
                    s24_vd = vd(1'b1, PUNT_CT_FULL);
                    s24_evp = 1'b1;
                    s24_ev = event_rec(EVENT_KIND_CT_FULL[7:0], PUNT_CT_FULL, p23_reg[F_PORT +: 16],
                                       p23_reg[F_SCTX +: 24], 8'd0, p23_reg[F_H32 +: 32], ts_us[31:0]);
                end
            end
        end
    end
end

always @* begin
    // an update writes the hit entry as updated (or only re-checked: generation)
    upd_d = upd_ne ? ne : ent;
    p24 = p23_reg;
    p24[F_DONE] = s24_vd[10];
    p24[F_VK +: 2] = s24_vd[9:8];
    p24[F_WHY +: 8] = s24_vd[7:0];
    p24[F_CTV] = s24_ctv;
    p24[F_CTS +: 6] = s24_cts;
    p24[F_RULEV] = s24_rulev;
    p24[F_RULE +: 32] = s24_rule;
    p24[F_RSLOT +: 16] = s24_rslot;
    p24[F_EVP] = s24_evp;
    p24[F_EV +: 128] = s24_ev;
end

// the writes of the decide stage, way by way: a delete, an update of the hit entry,
// an insert (an insert into the way just deleted replaces the delete)
integer dw;
always @* begin
    for (dw = 0; dw < 4; dw = dw + 1) begin
        dp_we[dw] = adv && (((del24 || upd24) && ct_hway == dw[1:0]) || (ins24 && iw == dw[1:0]));
        if (ins24 && iw == dw[1:0]) begin
            dp_wd[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = ins;
        end else if (upd24 && ct_hway == dw[1:0]) begin
            dp_wd[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = upd_d;
        end else begin
            dp_wd[dw*L_CONNTRACK_W +: L_CONNTRACK_W] = 0;
        end
    end
end

always @(posedge clk) begin
    if (adv) begin
        p24_reg <= p24 & LIVE24;
        ctf_v_reg <= dp_we;
        ctf_a_reg <= dp_wa;
        ctf_d_reg <= dp_wd;
    end
    if (rst) begin
        ctf_v_reg <= 0;
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

// the last write of each counter RAM (made in the clock stage 25 was read)
reg cef_v_reg = 1'b0, rcf_v_reg = 1'b0;
reg [CTR_CE_W-1:0] cef_a_reg;
reg [CTR_RULE_W-1:0] rcf_a_reg;
reg [127:0] cef_d_reg, rcf_d_reg;

wire [15:0] bytes25 = p25_reg[F_LEN +: 16] - p25_reg[F_PRE +: 16];
wire [127:0] cec_old = (cef_v_reg && cef_a_reg == p25_reg[F_CESLOT +: CTR_CE_W]) ? cef_d_reg : cec_a_rd;
wire [127:0] rc_old = (rcf_v_reg && rcf_a_reg == p25_reg[F_RSLOT +: CTR_RULE_W]) ? rcf_d_reg : rc_a_rd;
wire cec_dp_we = adv && v_reg[25] && p25_reg[F_CECNT];
wire rc_dp_we = adv && v_reg[25] && p25_reg[F_RULEV];
wire [127:0] cec_new = {cec_old[127:64] + {48'd0, bytes25}, cec_old[63:0] + 64'd1};
wire [127:0] rc_new = {rc_old[127:64] + {48'd0, bytes25}, rc_old[63:0] + 64'd1};

always @(posedge clk) begin
    if (adv) begin
        cef_v_reg <= cec_dp_we;
        cef_a_reg <= p25_reg[F_CESLOT +: CTR_CE_W];
        cef_d_reg <= cec_new;
        rcf_v_reg <= rc_dp_we;
        rcf_a_reg <= p25_reg[F_RSLOT +: CTR_RULE_W];
        rcf_d_reg <= rc_new;
    end
    if (rst) begin
        cef_v_reg <= 1'b0;
        rcf_v_reg <= 1'b0;
    end
end

// act (datapath.md §7)
reg [PHV_W-1:0] p26_reg, p26;
// the fields act writes
reg [15:0] s26_oport, s26_skip, s26_endp;
reg [6:0] s26_plen;
reg [31:0] s26_mac;
always @* begin
    s26_oport = p25_reg[F_OPORT +: 16];
    s26_plen = p25_reg[F_PLEN +: 7];
    s26_skip = p25_reg[F_SKIP +: 16];
    s26_endp = p25_reg[F_ENDP +: 16];
    s26_mac = p25_reg[F_MAC +: 32];
    if (!p25_reg[F_DONE]) begin
        if (p25_reg[F_CLS +: 2] == PORT_CLASS_VPORT[1:0]) begin
            case (p25_reg[F_ACT +: 2])
                A_LOCAL: s26_oport = p25_reg[F_OVPORT +: 16];
                A_NATIVE: s26_oport = cfg_uplink_port;
                default: begin
                    s26_oport = cfg_uplink_port;
                    s26_plen = (p25_reg[F_ACT +: 2] == A_GENEVE) ? 7'd62 : 7'd50;
                end
            endcase
            if (!cfg_auth) begin
                s26_mac = 32'd0;
            end
        end else begin
            s26_oport = p25_reg[F_OVPORT +: 16];
            if (p25_reg[F_TUN +: 2] != TUN_NONE) begin
                s26_skip = p25_reg[F_INS +: 16];
                s26_endp = p25_reg[F_INE +: 16];
            end
        end
    end else if (p25_reg[F_VK +: 2] == V_PUNT) begin
        s26_oport = cfg_cpu_port;
        s26_plen = 7'd4;
        s26_skip = p25_reg[F_PRE +: 16];
        s26_endp = p25_reg[F_LEN +: 16];
    end
end

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
reg [511:0] encap;
reg [15:0] e_inner, e_udp, e_ip;
reg [31:0] e_sum;
reg [15:0] e_csum;
reg [15:0] e_sport;
reg [1:0] e_act;
reg [31:0] e_vtep, e_mac;
reg [23:0] e_ctx;
reg [7:0] e_epoch;
always @* begin
    e_act = p26_reg[F_ACT +: 2];
    e_vtep = p26_reg[F_VTEP +: 32];
    e_mac = p26_reg[F_MAC +: 32];
    e_ctx = p26_reg[F_SCTX +: 24];
    e_epoch = p26_reg[F_EPOCH +: 8];
    e_inner = p26_reg[F_LEN +: 16] - p26_reg[F_PRE +: 16];
    e_udp = 16'd8 + ((e_act == A_GENEVE) ? 16'd20 : 16'd8) + e_inner;
    e_ip = 16'd20 + e_udp;
    e_sport = 16'hc000 | (p26_reg[F_H16OWN +: 16] & 16'h3fff);
    e_sum = 32'h4500 + {16'd0, e_ip} + 32'h4000 + 32'h4011
        + {16'd0, cfg_local_vtep_ip[31:16]} + {16'd0, cfg_local_vtep_ip[15:0]}
        + {16'd0, e_vtep[31:16]} + {16'd0, e_vtep[15:0]};
    e_sum = {16'd0, e_sum[15:0]} + {16'd0, e_sum[31:16]};
    e_sum = {16'd0, e_sum[15:0]} + {16'd0, e_sum[31:16]};
    e_csum = ~e_sum[15:0];
    encap = 0;
    encap[0 +: 48] = {cfg_gateway_mac[7:0], cfg_gateway_mac[15:8], cfg_gateway_mac[23:16],
                      cfg_gateway_mac[31:24], cfg_gateway_mac[39:32], cfg_gateway_mac[47:40]};
    encap[48 +: 48] = {cfg_local_mac[7:0], cfg_local_mac[15:8], cfg_local_mac[23:16],
                       cfg_local_mac[31:24], cfg_local_mac[39:32], cfg_local_mac[47:40]};
    encap[96 +: 16] = 16'h0008;
    encap[112 +: 16] = 16'h0045;
    encap[128 +: 16] = {e_ip[7:0], e_ip[15:8]};
    encap[144 +: 16] = 16'h0000;
    encap[160 +: 16] = 16'h0040;
    encap[176 +: 16] = 16'h1140;
    encap[192 +: 16] = {e_csum[7:0], e_csum[15:8]};
    encap[208 +: 32] = {cfg_local_vtep_ip[7:0], cfg_local_vtep_ip[15:8], cfg_local_vtep_ip[23:16], cfg_local_vtep_ip[31:24]};
    encap[240 +: 32] = {e_vtep[7:0], e_vtep[15:8], e_vtep[23:16], e_vtep[31:24]};
    encap[272 +: 16] = {e_sport[7:0], e_sport[15:8]};
    encap[288 +: 16] = (e_act == A_GENEVE) ? 16'hc117 : 16'hb512;
    encap[304 +: 16] = {e_udp[7:0], e_udp[15:8]};
    encap[320 +: 16] = 16'h0000;
    if (e_act == A_GENEVE) begin
        encap[336 +: 32] = 32'h58654003;
        encap[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
        encap[400 +: 32] = 32'h0281f0ff;
        encap[432 +: 32] = {e_epoch, e_ctx[7:0], e_ctx[15:8], e_ctx[23:16]};
        encap[464 +: 32] = {e_mac[7:0], e_mac[15:8], e_mac[23:16], e_mac[31:24]};
    end else begin
        encap[336 +: 32] = {e_ctx[7:0], e_ctx[15:8], 16'h0088};
        encap[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
    end
end

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
reg [TBL_W-1:0] crd_reg = 0, crd_next;
reg cdone_reg = 1'b0, cdone_next;
reg cerr_reg = 1'b0, cerr_next;
reg [CT_ADDR_W+1:0] sweep_reg = 0, sweep_next;
reg swchk_reg = 1'b0, swchk_next;
reg evo_valid_reg = 1'b0, evo_valid_next;
reg [127:0] evo_reg = 0, evo_next;
reg [TBL_W-1:0] tsel;
reg pc_we;
reg [PORT_CLASS_LOG2-1:0] pc_waddr;
reg [1:0] pc_wdata;
reg rem_we;
reg [REM_IDX_W-1:0] rem_waddr;
reg [L_REMOTE_EP_W-1:0] rem_wdata;

wire [1:0] sw_way = sweep_reg[CT_ADDR_W +: 2];
wire [L_CONNTRACK_W-1:0] sweep_entry = ct_b_rd[sw_way*L_CONNTRACK_W +: L_CONNTRACK_W];
wire [2:0] tbl_var = tbl_index[POLICY_LOG2+2 +: 3];
wire [1:0] tbl_pway = tbl_index[POLICY_LOG2 +: 2];

integer bw;
always @* begin
    cst_next = cst_reg;
    crd_next = crd_reg;
    cdone_next = 1'b0;
    cerr_next = cerr_reg;
    sweep_next = sweep_reg;
    swchk_next = 1'b0;
    evo_valid_next = 1'b0;
    evo_next = evo_reg;
    tsel = 0;

    vpc_b_en = 0; lep_b_en = 0; rh_b_en = 0; ce_b_en = 0; ovf_b_en = 0;
    b_we = 1'b0; b_addr = tbl_index; b_wdata = tbl_wdata;
    pc_we = 1'b0; pc_waddr = 0; pc_wdata = 0;
    rem_we = 1'b0; rem_waddr = 0; rem_wdata = 0;

    // the data plane owns port B of the conntrack, counters and policy while it runs
    for (bw = 0; bw < 4; bw = bw + 1) begin
        ct_b_en[bw] = dp_we[bw];
        ct_b_we[bw] = dp_we[bw];
        ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = dp_wa[bw*CT_ADDR_W +: CT_ADDR_W];
        ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = dp_wd[bw*L_CONNTRACK_W +: L_CONNTRACK_W];
    end
    cec_b_en = cec_dp_we; cec_b_we = cec_dp_we;
    cec_b_addr = p25_reg[F_CESLOT +: CTR_CE_W]; cec_b_wdata = cec_new;
    rc_b_en = rc_dp_we; rc_b_we = rc_dp_we;
    rc_b_addr = p25_reg[F_RSLOT +: CTR_RULE_W]; rc_b_wdata = rc_new;
    pol_b_en = 0;
    pol_b_we = 1'b0;
    drain_next = drain_reg;

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
        end else if (!swchk_reg) begin
            // aging sweep: read one slot when the data plane leaves its way alone
            if (!dp_we[sw_way]) begin
                for (bw = 0; bw < 4; bw = bw + 1) begin
                    if (sw_way == bw[1:0]) begin
                        ct_b_en[bw] = 1'b1;
                        ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = sweep_reg[CT_ADDR_W-1:0];
                    end
                end
                swchk_next = 1'b1;
            end
        end else begin
            // ... and remove it the next clock if it expired (else retry the slot)
            if (!dp_we[sw_way] && !pkt_evt) begin
                if (sweep_entry[L_CONNTRACK_VALID_LSB] && ct_expired(sweep_entry, ts_us, cfg_timeouts)) begin
                    for (bw = 0; bw < 4; bw = bw + 1) begin
                        if (sw_way == bw[1:0]) begin
                            ct_b_en[bw] = 1'b1;
                            ct_b_we[bw] = 1'b1;
                            ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = sweep_reg[CT_ADDR_W-1:0];
                            ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = 0;
                        end
                    end
                    evo_valid_next = 1'b1;
                    // the record names the slot, as ct_new's does (regmap `event.hash`)
                    evo_next = event_rec(EVENT_KIND_CT_EXPIRED[7:0], 8'd0, 16'd0, 24'd0, 8'd0,
                                         {{(30 - CT_ADDR_W){1'b0}}, sw_way, sweep_reg[CT_ADDR_W-1:0]},
                                         ts_us[31:0]);
                end
                sweep_next = sweep_reg + 1'b1;
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
        pol_b_we = tbl_write;
        case (tbl_select)
            TABLE_PORT_CLASS[7:0]: begin
                if ((tbl_index >> PORT_CLASS_LOG2) != 0) cerr_next = 1'b1;
                else begin
                    pc_we = tbl_write; pc_waddr = tbl_index[PORT_CLASS_LOG2-1:0]; pc_wdata = tbl_wdata[1:0];
                end
            end
            TABLE_VPORT_CTX[7:0]: begin
                if (!idx_ok(tbl_index, VPORT_CTX_LOG2, 4)) cerr_next = 1'b1;
                else vpc_b_en = 4'd1 << tbl_index[VPORT_CTX_LOG2 +: 2];
            end
            TABLE_LOCAL_EP[7:0]: begin
                if (!idx_ok(tbl_index, LOCAL_EP_LOG2, 4)) cerr_next = 1'b1;
                else lep_b_en = 4'd1 << tbl_index[LOCAL_EP_LOG2 +: 2];
            end
            TABLE_CTX_EPOCH[7:0]: begin
                if (!idx_ok(tbl_index, CTX_EPOCH_LOG2, 4)) cerr_next = 1'b1;
                else ce_b_en = 4'd1 << tbl_index[CTX_EPOCH_LOG2 +: 2];
            end
            TABLE_REMOTE_HOST[7:0]: begin
                if (!idx_ok(tbl_index, REMOTE_HOST_LOG2, 4)) cerr_next = 1'b1;
                else rh_b_en = 4'd1 << tbl_index[REMOTE_HOST_LOG2 +: 2];
            end
            TABLE_REMOTE_EP[7:0]: begin
                if (tbl_index >= REMOTE_EP_N) cerr_next = 1'b1;
                else begin rem_we = tbl_write; rem_waddr = tbl_index[REM_IDX_W-1:0]; rem_wdata = tbl_wdata[L_REMOTE_EP_W-1:0]; end
            end
            TABLE_POLICY[7:0]: begin
                if (!idx_ok(tbl_index, POLICY_LOG2, 32)) cerr_next = 1'b1;
                else pol_b_en = 32'd1 << {tbl_var, tbl_pway};
            end
            TABLE_CT_OVERFLOW[7:0]: begin
                if (!idx_ok(tbl_index, CT_OVF_LOG2, 4)) cerr_next = 1'b1;
                else ovf_b_en = 4'd1 << tbl_index[CT_OVF_LOG2 +: 2];
            end
            TABLE_CONNTRACK[7:0]: begin
                if (!idx_ok(tbl_index, CT_ADDR_W, 4)) cerr_next = 1'b1;
                else begin
                    for (bw = 0; bw < 4; bw = bw + 1) begin
                        if (tbl_index[CT_ADDR_W +: 2] == bw[1:0]) begin
                            ct_b_en[bw] = 1'b1;
                            ct_b_we[bw] = tbl_write;
                            ct_b_addr[bw*CT_ADDR_W +: CT_ADDR_W] = tbl_index[CT_ADDR_W-1:0];
                            ct_b_wdata[bw*L_CONNTRACK_W +: L_CONNTRACK_W] = tbl_wdata[L_CONNTRACK_W-1:0];
                        end
                    end
                end
            end
            TABLE_CTX_COUNTER[7:0]: begin
                if ((tbl_index >> CTR_CE_W) != 0) cerr_next = 1'b1;
                else begin cec_b_en = 1'b1; cec_b_we = tbl_write; cec_b_addr = tbl_index[CTR_CE_W-1:0]; cec_b_wdata = tbl_wdata[127:0]; end
            end
            TABLE_RULE_COUNTER[7:0]: begin
                if ((tbl_index >> CTR_RULE_W) != 0) cerr_next = 1'b1;
                else begin rc_b_en = 1'b1; rc_b_we = tbl_write; rc_b_addr = tbl_index[CTR_RULE_W-1:0]; rc_b_wdata = tbl_wdata[127:0]; end
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
            TABLE_PORT_CLASS[7:0]: tsel[1:0] = port_class[tbl_index[PORT_CLASS_LOG2-1:0]];
            TABLE_VPORT_CTX[7:0]: tsel[L_VPORT_CTX_W-1:0] = vpc_b_rd[tbl_index[VPORT_CTX_LOG2 +: 2]*L_VPORT_CTX_W +: L_VPORT_CTX_W];
            TABLE_LOCAL_EP[7:0]: tsel[L_LOCAL_EP_W-1:0] = lep_b_rd[tbl_index[LOCAL_EP_LOG2 +: 2]*L_LOCAL_EP_W +: L_LOCAL_EP_W];
            TABLE_REMOTE_HOST[7:0]: tsel[L_REMOTE_HOST_W-1:0] = rh_b_rd[tbl_index[REMOTE_HOST_LOG2 +: 2]*L_REMOTE_HOST_W +: L_REMOTE_HOST_W];
            TABLE_CTX_EPOCH[7:0]: tsel[L_CTX_EPOCH_W-1:0] = ce_b_rd[tbl_index[CTX_EPOCH_LOG2 +: 2]*L_CTX_EPOCH_W +: L_CTX_EPOCH_W];
            TABLE_REMOTE_EP[7:0]: tsel[L_REMOTE_EP_W-1:0] = remote_ep[tbl_index[REM_IDX_W-1:0]];
            TABLE_POLICY[7:0]: tsel[L_POLICY_W-1:0] = pol_ctl_rd[{tbl_var, tbl_pway}*L_POLICY_W +: L_POLICY_W];
            TABLE_CT_OVERFLOW[7:0]: tsel[L_CT_OVERFLOW_W-1:0] = ovf_b_rd[tbl_index[CT_OVF_LOG2 +: 2]*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W];
            TABLE_CONNTRACK[7:0]: tsel[L_CONNTRACK_W-1:0] = ct_b_rd[tbl_index[CT_ADDR_W +: 2]*L_CONNTRACK_W +: L_CONNTRACK_W];
            TABLE_CTX_COUNTER[7:0]: tsel[127:0] = cec_b_rd;
            TABLE_RULE_COUNTER[7:0]: tsel[127:0] = rc_b_rd;
            TABLE_DROP_COUNTER[7:0]: tsel[63:0] = drop_cnt[tbl_index < DROP_CODES ? tbl_index[4:0] : 5'd0];
            TABLE_PUNT_COUNTER[7:0]: tsel[63:0] = punt_cnt[tbl_index[2:0]];
            default: tsel = 0;
        endcase
        crd_next = tsel;
        cdone_next = 1'b1;
        cst_next = C_IDLE;
        drain_next = 1'b0;
    end
    default: cst_next = C_IDLE;
    endcase

    // packet events leave with the verdict; the sweep's only in clocks without one
    if (pkt_evt) begin
        evo_valid_next = 1'b1;
        evo_next = p26_reg[F_EV +: 128];
    end
end

assign tbl_done = cdone_reg;
assign tbl_err = cerr_reg;
assign tbl_rdata = crd_reg;
assign evt_data = evo_reg;
assign evt_valid = evo_valid_reg;

always @(posedge clk) begin
    if (pc_we) port_class[pc_waddr] <= pc_wdata;
    if (rem_we) begin
        remote_ep[rem_waddr] <= rem_wdata;
        rem_mask[rem_waddr] <= lpm_mask(rem_wdata[L_REMOTE_EP_PREFIX_LEN_LSB +: 8]);
    end
    if (out_fire && out_vk == V_DROP) drop_cnt[p26_reg[F_WHY +: 5]] <= drop_cnt[p26_reg[F_WHY +: 5]] + 64'd1;
    if (out_fire && out_vk == V_PUNT) punt_cnt[p26_reg[F_WHY +: 3]] <= punt_cnt[p26_reg[F_WHY +: 3]] + 64'd1;
    if (cst_reg == C_READ && tbl_write) begin
        if (tbl_select == TABLE_DROP_COUNTER[7:0] && tbl_index < DROP_CODES) drop_cnt[tbl_index[4:0]] <= tbl_wdata[63:0];
        if (tbl_select == TABLE_PUNT_COUNTER[7:0] && tbl_index < PUNT_CODES) punt_cnt[tbl_index[2:0]] <= tbl_wdata[63:0];
    end

    cst_reg <= cst_next;
    drain_reg <= drain_next;
    crd_reg <= crd_next;
    cdone_reg <= cdone_next;
    cerr_reg <= cerr_next;
    sweep_reg <= sweep_next;
    swchk_reg <= swchk_next;
    evo_valid_reg <= evo_valid_next;
    evo_reg <= evo_next;

    if (rst) begin
        cst_reg <= C_IDLE;
        drain_reg <= 1'b0;
        cdone_reg <= 1'b0;
        swchk_reg <= 1'b0;
        evo_valid_reg <= 1'b0;
        sweep_reg <= 0;
    end
end

endmodule

`resetall
