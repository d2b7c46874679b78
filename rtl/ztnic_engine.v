// The verdict pipeline of the datapath (docs/datapath.md §1-§8): for each captured
// frame header it runs parse, classify, context check, conntrack, policy and act, and
// hands the egress a descriptor saying which bytes leave by which port (or that the
// frame is dropped). It owns every table: lookups use port A of the dual-port RAMs;
// conntrack inserts and updates, counter updates, the aging sweep and control-plane
// table accesses use port B. Control accesses and the sweep run between packets.
//
// The stages run one after another on one packet at a time; the number of clocks a
// packet takes depends only on its header path (parse depth, conntrack outcome), never
// on table contents: the policy always takes the same number of clocks (eight
// decomposed-key lookups, port ranges compared in parallel within each hit).

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
    // log2 of the buckets per way of vport_ctx, local_ep, ctx_epoch and policy
    parameter VPORT_CTX_LOG2 = 6,
    parameter LOCAL_EP_LOG2 = 6,
    parameter CTX_EPOCH_LOG2 = 6,
    parameter POLICY_LOG2 = 6,
    // Entries of the remote_ep LPM table (compared in parallel)
    parameter REMOTE_EP_N = 16,
    // log2 of the largest conntrack buckets per way (config.ct_buckets)
    parameter CT_LOG2_MAX = 10,
    // log2 of ct_overflow buckets per way
    parameter CT_OVF_LOG2 = 4,
    // Words of the table access window
    parameter TBL_WORDS = 20
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

localparam HDR_W = 8 * HDR_BYTES;
localparam TBL_W = 32 * TBL_WORDS;
localparam CT_ADDR_W = CT_LOG2_MAX;
localparam CTR_CE_W = CTX_EPOCH_LOG2 + 2;
localparam CTR_RULE_W = POLICY_LOG2 + 2 + 2;
localparam REM_IDX_W = $clog2(REMOTE_EP_N);

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
// byte helpers on a 64-byte view (byte k in v[8k +: 8])
// ---------------------------------------------------------------------------
function [7:0] b8(input [511:0] v, input integer k);
    b8 = v[8*k +: 8];
endfunction

function [15:0] b16(input [511:0] v, input integer k);
    b16 = {v[8*k +: 8], v[8*(k+1) +: 8]};
endfunction

function [31:0] b32(input [511:0] v, input integer k);
    b32 = {v[8*k +: 8], v[8*(k+1) +: 8], v[8*(k+2) +: 8], v[8*(k+3) +: 8]};
endfunction

function [127:0] b128(input [511:0] v, input integer k);
    integer i;
    begin
        for (i = 0; i < 16; i = i + 1) begin
            b128[8*(15-i) +: 8] = v[8*(k+i) +: 8];
        end
    end
endfunction

function [127:0] v4map(input [31:0] a);
    v4map = {80'd0, 16'hffff, a};
endfunction

// sequence-space comparisons (Linux before/after)
/* verilator lint_off UNUSEDSIGNAL */
function before32(input [31:0] a, input [31:0] b);
    reg [31:0] d;
    begin
        d = a - b;
        before32 = d[31];
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

function [31:0] max32(input [31:0] a, input [31:0] b);
    max32 = (a > b) ? a : b;
endfunction

// Linux tcp_conntracks[dir][class][state]: 0..9 a state, 10 invalid, 11 ignore
localparam [3:0] T_IV = 4'd10, T_IG = 4'd11;
localparam [3:0] T_SS = 4'd1, T_SR = 4'd2, T_ES = 4'd3, T_FW = 4'd4;
localparam [3:0] T_CW = 4'd5, T_LA = 4'd6, T_TW = 4'd7, T_CL = 4'd8, T_S2 = 4'd9;

function [3:0] tcp_next(input reply, input [2:0] cls, input [3:0] st);
    reg [39:0] row;
    begin
        // rows list the states NO SS SR ES FW CW LA TW CL S2 from the left
        case ({reply, cls})
            4'b0_000: row = {T_SS, T_SS, T_IG, T_IG, T_IG, T_IG, T_IG, T_SS, T_SS, T_S2};
            4'b0_001: row = {T_IV, T_IV, T_SR, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_SR};
            4'b0_010: row = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV};
            4'b0_011: row = {T_ES, T_IV, T_ES, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IV};
            4'b0_100: row = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL};
            4'b1_000: row = {T_IV, T_S2, T_IV, T_IV, T_IV, T_IV, T_IV, T_SS, T_IV, T_S2};
            4'b1_001: row = {T_IV, T_SR, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_SR};
            4'b1_010: row = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV};
            4'b1_011: row = {T_IV, T_IG, T_SR, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IG};
            4'b1_100: row = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL};
            default: row = {10{T_IV}};
        endcase
        tcp_next = (st <= 4'd9) ? row[4*(9-st) +: 4] : T_IV;
    end
endfunction

/* verilator lint_off UNUSEDSIGNAL */
// flag class: 0 syn, 1 synack, 2 fin, 3 ack, 4 rst, 5 none (flags: URG ACK PSH RST SYN FIN)
function [2:0] flag_class(input [5:0] f);
    if (f[2]) flag_class = 3'd4;
    else if (f[1]) flag_class = f[4] ? 3'd1 : 3'd0;
    else if (f[0]) flag_class = 3'd2;
    else if (f[4]) flag_class = 3'd3;
    else flag_class = 3'd5;
endfunction

/* verilator lint_on UNUSEDSIGNAL */
function flags_valid(input [5:0] f);
    case (f)
        6'h02, 6'h22, 6'h12, 6'h04, 6'h14, 6'h1c, 6'h11, 6'h31, 6'h19, 6'h39,
        6'h10, 6'h30, 6'h18, 6'h38: flags_valid = 1'b1;
        default: flags_valid = 1'b0;
    endcase
endfunction

// ---------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------
localparam [5:0]
    S_IDLE = 6'd0, S_CLASS = 6'd1, S_PKTOUT = 6'd2, S_ETH = 6'd3, S_VLAN = 6'd4,
    S_IPV4 = 6'd5, S_IPV6 = 6'd6, S_L4 = 6'd7, S_EMB_IP = 6'd8, S_EMB_L4 = 6'd9,
    S_TUN = 6'd10, S_TX_VPC = 6'd11, S_TX_LEP = 6'd12, S_TX_CE = 6'd13,
    S_RX_TAG = 6'd14, S_RX_MAC = 6'd15, S_RX_LEP = 6'd16, S_RX_CE = 6'd17,
    S_CT_KEY = 6'd18, S_CT_EMB = 6'd19, S_CT_RD = 6'd20, S_CT_CMP = 6'd21,
    S_CT_RECHK = 6'd22, S_CT_HIT = 6'd23, S_CT_NEWCHK = 6'd24, S_CT_NEW = 6'd25,
    S_CT_INS = 6'd26, S_POL = 6'd27, S_ACT = 6'd28, S_MAC_WAIT = 6'd29,
    S_DONE = 6'd30, S_CNT_RD = 6'd31, S_CNT_WR = 6'd32, S_CMD = 6'd33,
    S_CMD_WAIT = 6'd34, S_SWEEP = 6'd35, S_SWEEP_CHK = 6'd36, S_RX_LEP_RD = 6'd37,
    S_TX_LEP_RD = 6'd38, S_TX_CE_RD = 6'd39, S_RX_CE_RD = 6'd40;

localparam [1:0] V_FWD = VERDICT_FORWARD[1:0], V_DROP = VERDICT_DROP[1:0], V_PUNT = VERDICT_PUNT[1:0];
localparam [2:0] K_OTHER = 3'd0, K_TCP = 3'd1, K_UDP = 3'd2, K_ECHO_REQ = 3'd3, K_ECHO_REP = 3'd4,
                 K_ICMP_ERR = 3'd5, K_ICMP_OTHER = 3'd6;
localparam [1:0] A_LOCAL = 2'd0, A_NATIVE = 2'd1, A_GENEVE = 2'd2, A_GBP = 2'd3;
localparam [1:0] TUN_NONE = 2'd0, TUN_GENEVE = 2'd1, TUN_GBP = 2'd2, TUN_UNTAGGED = 2'd3;

reg [5:0] state_reg = S_IDLE, state_next;
reg [5:0] ret_reg = S_IDLE, ret_next;         // state after the policy subroutine
reg [15:0] cycles_reg = 0, cycles_next;       // clocks spent on the current packet

// packet
reg [15:0] off_reg = 0, off_next;             // parse offset in the header window
reg [15:0] lim_reg = 0, lim_next;             // end of the frame being parsed
reg [15:0] pre_reg = 0, pre_next;             // start of the frame (4 after packet_out)
reg [15:0] port_reg = 0, port_next;           // effective ingress port
reg [1:0] cls_reg = 0, cls_next;
reg inner_reg = 1'b0, inner_next;             // parsing the inner frame of a tunnel
reg [1:0] vlans_reg = 0, vlans_next;
reg [15:0] et_reg = 0, et_next;

reg v6_reg = 1'b0, v6_next;
reg [127:0] src_reg = 0, src_next;
reg [127:0] dst_reg = 0, dst_next;
reg [7:0] proto_reg = 0, proto_next;
reg [15:0] l4s_reg = 0, l4s_next;             // L4 start
reg [15:0] l4e_reg = 0, l4e_next;             // L4 end (IP payload end)
reg [2:0] kind_reg = 0, kind_next;
reg [15:0] sport_reg = 0, sport_next;         // TCP/UDP ports (0 otherwise)
reg [15:0] dport_reg = 0, dport_next;
reg [15:0] echo_id_reg = 0, echo_id_next;
reg [31:0] seq_reg = 0, seq_next;
reg [31:0] ack_reg = 0, ack_next;
reg [5:0] flags_reg = 0, flags_next;
reg [15:0] win_reg = 0, win_next;
reg [15:0] paylen_reg = 0, paylen_next;
reg [15:0] udp_end_reg = 0, udp_end_next;     // end of the UDP payload

// ICMP error: embedded flow
reg [127:0] esrc_reg = 0, esrc_next;
reg [127:0] edst_reg = 0, edst_next;
reg [7:0] eproto_reg = 0, eproto_next;
reg [15:0] esp_reg = 0, esp_next;
reg [15:0] edp_reg = 0, edp_next;

// tunnel
reg [1:0] tun_reg = 0, tun_next;
reg [23:0] tctx_reg = 0, tctx_next;
reg [7:0] tepoch_reg = 0, tepoch_next;
reg [31:0] tmac_reg = 0, tmac_next;
reg [15:0] in_s_reg = 0, in_s_next;           // inner frame [in_s, in_e)
reg [15:0] in_e_reg = 0, in_e_next;

// classification
reg [23:0] sctx_reg = 0, sctx_next;
reg [23:0] dctx_reg = 0, dctx_next;
reg [15:0] zone_reg = 0, zone_next;
reg [15:0] ovport_reg = 0, ovport_next;
reg [1:0] act_reg = 0, act_next;
reg [31:0] vtep_reg = 0, vtep_next;
reg [7:0] epoch_reg = 0, epoch_next;
reg ce_cnt_reg = 1'b0, ce_cnt_next;
reg [CTR_CE_W-1:0] ce_slot_reg = 0, ce_slot_next;

// conntrack
reg [311:0] key_reg = 0, key_next;
reg srclo_reg = 1'b0, srclo_next;
reg [15:0] h16own_reg = 0, h16own_next;
reg [31:0] h32_reg = 0, h32_next;
reg [15:0] h16_reg = 0, h16_next;
reg [L_CONNTRACK_W-1:0] ent_reg = 0, ent_next;
reg [1:0] hway_reg = 0, hway_next;
reg hit_reg = 1'b0, hit_next;
reg [1:0] fway_reg = 0, fway_next;
reg free_reg = 1'b0, free_next;
reg [1:0] eway_reg = 0, eway_next;
reg evict_reg = 1'b0, evict_next;
reg ovf_reg = 1'b0, ovf_next;
reg ovflo_reg = 1'b0, ovflo_next;
reg rechk_reg = 1'b0, rechk_next;
reg reply_reg = 1'b0, reply_next;

// policy subroutine
reg [23:0] psrc_reg = 0, psrc_next;
reg [23:0] pdst_reg = 0, pdst_next;
reg [15:0] pport_reg = 0, pport_next;
reg [3:0] pv_reg = 0, pv_next;
reg bvalid_reg = 1'b0, bvalid_next;
reg ballow_reg = 1'b0, ballow_next;
reg [15:0] bprio_reg = 0, bprio_next;
reg [31:0] bid_reg = 0, bid_next;
reg [CTR_RULE_W-1:0] bslot_reg = 0, bslot_next;

// verdict
reg [1:0] vk_reg = 0, vk_next;
reg [7:0] reason_reg = 0, reason_next;
reg ctv_reg = 1'b0, ctv_next;
reg [5:0] cts_reg = 0, cts_next;
reg rulev_reg = 1'b0, rulev_next;
reg [31:0] rule_reg = 0, rule_next;
reg [CTR_RULE_W-1:0] rslot_reg = 0, rslot_next;
reg [15:0] oport_reg = 0, oport_next;
reg [6:0] plen_reg = 0, plen_next;
reg [15:0] skip_reg = 0, skip_next;
reg [15:0] end_reg = 0, end_next;
reg [31:0] mac_reg = 0, mac_next;

// events, counters
reg evp_reg = 1'b0, evp_next;                 // an event waits for the end of the packet
reg [127:0] ev_reg = 0, ev_next;
reg evo_valid_reg = 1'b0, evo_valid_next;       // event handed to the FIFO
reg [127:0] evo_reg = 0, evo_next;
reg [63:0] drop_cnt [0:DROP_CODES-1];
reg [63:0] punt_cnt [0:PUNT_CODES-1];
reg cnt_drop;
reg cnt_punt;

// control
reg [TBL_W-1:0] crd_reg = 0, crd_next;
reg cdone_reg = 1'b0, cdone_next;
reg cerr_reg = 1'b0, cerr_next;
reg [CT_ADDR_W+1:0] sweep_reg = 0, sweep_next;

// port_class and remote_ep live in flip-flops
reg [1:0] port_class [0:(1<<PORT_CLASS_LOG2)-1];
reg [L_REMOTE_EP_W-1:0] remote_ep [0:REMOTE_EP_N-1];
reg pc_we;
reg [PORT_CLASS_LOG2-1:0] pc_waddr;
reg [1:0] pc_wdata;
reg rem_we;
reg [REM_IDX_W-1:0] rem_waddr;
reg [L_REMOTE_EP_W-1:0] rem_wdata;

integer ii;
initial begin
    for (ii = 0; ii < (1<<PORT_CLASS_LOG2); ii = ii + 1) port_class[ii] = 2'd0;
    for (ii = 0; ii < REMOTE_EP_N; ii = ii + 1) remote_ep[ii] = {L_REMOTE_EP_W{1'b0}};
    for (ii = 0; ii < DROP_CODES; ii = ii + 1) drop_cnt[ii] = 64'd0;
    for (ii = 0; ii < PUNT_CODES; ii = ii + 1) punt_cnt[ii] = 64'd0;
end

// ---------------------------------------------------------------------------
// the header view: 64 bytes of the captured header at the parse offset
// ---------------------------------------------------------------------------
/* verilator lint_off UNUSEDSIGNAL */
// the view is the low 64 bytes of the shifted header
wire [HDR_W+511:0] hdr_shifted = {512'd0, hq_hdr} >> {off_reg, 3'b000};
/* verilator lint_on UNUSEDSIGNAL */
wire [511:0] view = hdr_shifted[511:0];

// ---------------------------------------------------------------------------
// tables
// ---------------------------------------------------------------------------
// RAM port controls (driven by the state machine)
reg vpc_a_en, lep_a_en, ce_a_en, pol_a_en, ct_a_en, ovf_a_en;
reg [VPORT_CTX_LOG2-1:0] vpc_a_addr;
reg [LOCAL_EP_LOG2-1:0] lep_a_addr;
reg [CTX_EPOCH_LOG2-1:0] ce_a_addr;
reg [POLICY_LOG2-1:0] pol_a_addr;
reg [CT_ADDR_W-1:0] ct_a_addr_lo, ct_a_addr_hi;
reg [CT_OVF_LOG2-1:0] ovf_a_addr;

reg [3:0] vpc_b_en, lep_b_en, ce_b_en, pol_b_en, ct_b_en, ovf_b_en;
reg b_we;
/* verilator lint_off UNUSEDSIGNAL */
// port B address and data are shared by tables of different sizes
reg [31:0] b_addr;
reg [TBL_W-1:0] b_wdata;
/* verilator lint_on UNUSEDSIGNAL */
reg cec_b_en, rc_b_en, cec_b_we, rc_b_we;
reg [CTR_CE_W-1:0] cec_b_addr;
reg [CTR_RULE_W-1:0] rc_b_addr;
reg [127:0] cec_b_wdata, rc_b_wdata;

wire [4*L_VPORT_CTX_W-1:0] vpc_a_rd, vpc_b_rd;
wire [4*L_LOCAL_EP_W-1:0] lep_a_rd, lep_b_rd;
wire [4*L_CTX_EPOCH_W-1:0] ce_a_rd, ce_b_rd;
wire [4*L_POLICY_W-1:0] pol_a_rd, pol_b_rd;
wire [4*L_CONNTRACK_W-1:0] ct_a_rd, ct_b_rd;
wire [4*L_CT_OVERFLOW_W-1:0] ovf_a_rd, ovf_b_rd;
wire [127:0] cec_b_rd, rc_b_rd;

genvar w;
generate
    for (w = 0; w < 4; w = w + 1) begin : g_way
        ztnic_ram_dp #(.WIDTH(L_VPORT_CTX_W), .ADDR_W(VPORT_CTX_LOG2)) vpc_ram (
            .clk(clk), .a_en(vpc_a_en), .a_addr(vpc_a_addr), .a_rdata(vpc_a_rd[w*L_VPORT_CTX_W +: L_VPORT_CTX_W]),
            .b_en(vpc_b_en[w]), .b_we(b_we), .b_addr(b_addr[VPORT_CTX_LOG2-1:0]),
            .b_wdata(b_wdata[L_VPORT_CTX_W-1:0]), .b_rdata(vpc_b_rd[w*L_VPORT_CTX_W +: L_VPORT_CTX_W]));
        ztnic_ram_dp #(.WIDTH(L_LOCAL_EP_W), .ADDR_W(LOCAL_EP_LOG2)) lep_ram (
            .clk(clk), .a_en(lep_a_en), .a_addr(lep_a_addr), .a_rdata(lep_a_rd[w*L_LOCAL_EP_W +: L_LOCAL_EP_W]),
            .b_en(lep_b_en[w]), .b_we(b_we), .b_addr(b_addr[LOCAL_EP_LOG2-1:0]),
            .b_wdata(b_wdata[L_LOCAL_EP_W-1:0]), .b_rdata(lep_b_rd[w*L_LOCAL_EP_W +: L_LOCAL_EP_W]));
        ztnic_ram_dp #(.WIDTH(L_CTX_EPOCH_W), .ADDR_W(CTX_EPOCH_LOG2)) ce_ram (
            .clk(clk), .a_en(ce_a_en), .a_addr(ce_a_addr), .a_rdata(ce_a_rd[w*L_CTX_EPOCH_W +: L_CTX_EPOCH_W]),
            .b_en(ce_b_en[w]), .b_we(b_we), .b_addr(b_addr[CTX_EPOCH_LOG2-1:0]),
            .b_wdata(b_wdata[L_CTX_EPOCH_W-1:0]), .b_rdata(ce_b_rd[w*L_CTX_EPOCH_W +: L_CTX_EPOCH_W]));
        ztnic_ram_dp #(.WIDTH(L_POLICY_W), .ADDR_W(POLICY_LOG2)) pol_ram (
            .clk(clk), .a_en(pol_a_en), .a_addr(pol_a_addr), .a_rdata(pol_a_rd[w*L_POLICY_W +: L_POLICY_W]),
            .b_en(pol_b_en[w]), .b_we(b_we), .b_addr(b_addr[POLICY_LOG2-1:0]),
            .b_wdata(b_wdata[L_POLICY_W-1:0]), .b_rdata(pol_b_rd[w*L_POLICY_W +: L_POLICY_W]));
        ztnic_ram_dp #(.WIDTH(L_CONNTRACK_W), .ADDR_W(CT_ADDR_W)) ct_ram (
            .clk(clk), .a_en(ct_a_en), .a_addr(w < 2 ? ct_a_addr_lo : ct_a_addr_hi),
            .a_rdata(ct_a_rd[w*L_CONNTRACK_W +: L_CONNTRACK_W]),
            .b_en(ct_b_en[w]), .b_we(b_we), .b_addr(b_addr[CT_ADDR_W-1:0]),
            .b_wdata(b_wdata[L_CONNTRACK_W-1:0]), .b_rdata(ct_b_rd[w*L_CONNTRACK_W +: L_CONNTRACK_W]));
        ztnic_ram_dp #(.WIDTH(L_CT_OVERFLOW_W), .ADDR_W(CT_OVF_LOG2)) ovf_ram (
            .clk(clk), .a_en(ovf_a_en), .a_addr(ovf_a_addr), .a_rdata(ovf_a_rd[w*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W]),
            .b_en(ovf_b_en[w]), .b_we(b_we), .b_addr(b_addr[CT_OVF_LOG2-1:0]),
            .b_wdata(b_wdata[L_CT_OVERFLOW_W-1:0]), .b_rdata(ovf_b_rd[w*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W]));
    end
endgenerate

// counters: port A unused (all counter traffic is read-modify-write on port B)
/* verilator lint_off PINCONNECTEMPTY */
ztnic_ram_dp #(.WIDTH(128), .ADDR_W(CTR_CE_W)) ctx_counter_ram (
    .clk(clk), .a_en(1'b0), .a_addr({CTR_CE_W{1'b0}}), .a_rdata(),
    .b_en(cec_b_en), .b_we(cec_b_we), .b_addr(cec_b_addr), .b_wdata(cec_b_wdata), .b_rdata(cec_b_rd));
ztnic_ram_dp #(.WIDTH(128), .ADDR_W(CTR_RULE_W)) rule_counter_ram (
    .clk(clk), .a_en(1'b0), .a_addr({CTR_RULE_W{1'b0}}), .a_rdata(),
    .b_en(rc_b_en), .b_we(rc_b_we), .b_addr(rc_b_addr), .b_wdata(rc_b_wdata), .b_rdata(rc_b_rd));
/* verilator lint_on PINCONNECTEMPTY */

// ---------------------------------------------------------------------------
// hashes (table indexes are CRC-32 of the key bytes; conntrack adds CRC-16)
// ---------------------------------------------------------------------------
/* verilator lint_off UNUSEDSIGNAL */
// each table uses the low bits of its hash
wire [31:0] vpc_hash, lep_hash, ce_hash, pol_hash, ct_h32;
/* verilator lint_on UNUSEDSIGNAL */
wire [15:0] ct_h16;
reg [63:0] pol_key_issue;

ztnic_crc32 #(.BYTES(18)) vpc_crc (.data({port_reg, src_reg}), .crc(vpc_hash));
ztnic_crc32 #(.BYTES(16)) lep_crc (.data(dst_reg), .crc(lep_hash));
ztnic_crc32 #(.BYTES(3)) ce_crc (.data(sctx_reg), .crc(ce_hash));
ztnic_crc32 #(.BYTES(8)) pol_crc (.data(pol_key_issue), .crc(pol_hash));
ztnic_crc32 #(.BYTES(39)) ct_crc32 (.data(key_reg), .crc(ct_h32));
ztnic_crc16 #(.BYTES(39)) ct_crc16 (.data(key_reg), .crc(ct_h16));

wire [CT_ADDR_W-1:0] ct_mask = ~({CT_ADDR_W{1'b1}} << cfg_ct_log2);

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

// buckets of the policy and ctx_epoch reads whose data arrives now
reg [POLICY_LOG2-1:0] pol_a_addr_d = 0;
reg [CTX_EPOCH_LOG2-1:0] ce_a_addr_d = 0;
always @(posedge clk) begin
    if (pol_a_en) begin
        pol_a_addr_d <= pol_a_addr;
    end
    if (ce_a_en) begin
        ce_a_addr_d <= ce_a_addr;
    end
end

// the swept entry (port B data of the way being swept)
wire [L_CONNTRACK_W-1:0] sweep_entry = ct_b_rd[sweep_reg[CT_ADDR_W +: 2]*L_CONNTRACK_W +: L_CONNTRACK_W];

// decomposed policy key of variant v: bit0 src any, bit1 dst any, bit2 proto any
function [63:0] pol_key(input [2:0] v, input [23:0] s, input [23:0] d, input [7:0] p);
    pol_key = {5'd0, v, v[0] ? 24'd0 : s, v[1] ? 24'd0 : d, v[2] ? 8'd0 : p};
endfunction

always @* begin
    pol_key_issue = pol_key(pv_reg[2:0], psrc_reg, pdst_reg, proto_reg);
end

// ---------------------------------------------------------------------------
// lookups: hits of the ways read in the previous clock
// ---------------------------------------------------------------------------
reg vpc_hit, lep_hit, ce_hit;
/* verilator lint_off UNUSEDSIGNAL */
// the key fields of a hit entry are not needed after the compare
reg [L_VPORT_CTX_W-1:0] vpc_e;
reg [L_LOCAL_EP_W-1:0] lep_e;
reg [L_CTX_EPOCH_W-1:0] ce_e;
/* verilator lint_on UNUSEDSIGNAL */
reg [1:0] ce_way;
integer wi;
always @* begin
    vpc_hit = 1'b0; vpc_e = 0;
    lep_hit = 1'b0; lep_e = 0;
    ce_hit = 1'b0; ce_e = 0; ce_way = 0;
    for (wi = 3; wi >= 0; wi = wi - 1) begin
        if (vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VALID_LSB]
                && vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VPORT_LSB +: 16] == port_reg
                && vpc_a_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_ADDR_LSB +: 128] == src_reg) begin
            vpc_hit = 1'b1;
            vpc_e = vpc_a_rd[wi*L_VPORT_CTX_W +: L_VPORT_CTX_W];
        end
        if (lep_a_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_VALID_LSB]
                && lep_a_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_ADDR_LSB +: 128] == dst_reg) begin
            lep_hit = 1'b1;
            lep_e = lep_a_rd[wi*L_LOCAL_EP_W +: L_LOCAL_EP_W];
        end
        if (ce_a_rd[wi*L_CTX_EPOCH_W + L_CTX_EPOCH_VALID_LSB]
                && ce_a_rd[wi*L_CTX_EPOCH_W + L_CTX_EPOCH_CTX_LSB +: 24] == sctx_reg) begin
            ce_hit = 1'b1;
            ce_e = ce_a_rd[wi*L_CTX_EPOCH_W +: L_CTX_EPOCH_W];
            ce_way = wi[1:0];
        end
    end
end

// remote_ep: all entries compared at once, the longest prefix wins
reg rem_hit;
/* verilator lint_off UNUSEDSIGNAL */
// the prefix of the winning entry is not needed after the compare
reg [L_REMOTE_EP_W-1:0] rem_e;
/* verilator lint_on UNUSEDSIGNAL */
reg [7:0] rem_len;
reg [127:0] rem_mask;
integer ri;
always @* begin
    rem_hit = 1'b0;
    rem_e = 0;
    rem_len = 0;
    rem_mask = 0;
    for (ri = 0; ri < REMOTE_EP_N; ri = ri + 1) begin
        rem_mask = ~(128'd0) << (8'd128 - remote_ep[ri][L_REMOTE_EP_PREFIX_LEN_LSB +: 8]);
        if (remote_ep[ri][L_REMOTE_EP_PREFIX_LEN_LSB +: 8] == 0) begin
            rem_mask = 128'd0;
        end
        if (remote_ep[ri][L_REMOTE_EP_VALID_LSB]
                && ((dst_reg ^ remote_ep[ri][L_REMOTE_EP_PREFIX_LSB +: 128]) & rem_mask) == 128'd0
                && (!rem_hit || remote_ep[ri][L_REMOTE_EP_PREFIX_LEN_LSB +: 8] > rem_len)) begin
            rem_hit = 1'b1;
            rem_e = remote_ep[ri];
            rem_len = remote_ep[ri][L_REMOTE_EP_PREFIX_LEN_LSB +: 8];
        end
    end
end

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
integer ci;
always @* begin
    ct_hit = 1'b0; ct_hway = 0; ct_he = 0;
    ct_free = 1'b0; ct_fway = 0;
    ct_evict = 1'b0; ct_eway = 0;
    ovf_hit = 1'b0; ovf_orig_lo = 1'b0;
    cw = 0; ow = 0;
    for (ci = 3; ci >= 0; ci = ci - 1) begin
        cw = ct_a_rd[ci*L_CONNTRACK_W +: L_CONNTRACK_W];
        if (cw[L_CONNTRACK_VALID_LSB] && !ct_expired(cw, ts_us, cfg_timeouts)) begin
            if (cw[L_CONNTRACK_KEY_LSB +: 312] == key_reg) begin
                ct_hit = 1'b1;
                ct_hway = ci[1:0];
                ct_he = cw;
            end
            if (!cw[L_CONNTRACK_ASSURED_LSB]) begin
                ct_evict = 1'b1;
                ct_eway = ci[1:0];
            end
        end else begin
            ct_free = 1'b1;
            ct_fway = ci[1:0];
        end
        ow = ovf_a_rd[ci*L_CT_OVERFLOW_W +: L_CT_OVERFLOW_W];
        if (ow[L_CT_OVERFLOW_VALID_LSB] && ow[L_CT_OVERFLOW_KEY_LSB +: 312] == key_reg) begin
            ovf_hit = 1'b1;
            ovf_orig_lo = ow[L_CT_OVERFLOW_ORIG_LO_LSB];
        end
    end
end

// ---------------------------------------------------------------------------
// policy: the best rule of the entries read for the previous variant
// ---------------------------------------------------------------------------
reg [63:0] pol_key_data;
reg pc_valid;
reg pc_allow;
reg [15:0] pc_prio;
reg [31:0] pc_id;
reg [CTR_RULE_W-1:0] pc_slot;
reg [L_POLICY_W-1:0] pe;
reg [97:0] rl;
reg better;
integer pw, pr;
always @* begin
    pol_key_data = pol_key(pv_reg[2:0] - 3'd1, psrc_reg, pdst_reg, proto_reg);
    pc_valid = bvalid_reg;
    pc_allow = ballow_reg;
    pc_prio = bprio_reg;
    pc_id = bid_reg;
    pc_slot = bslot_reg;
    pe = 0;
    rl = 0;
    better = 1'b0;
    for (pw = 0; pw < 4; pw = pw + 1) begin
        pe = pol_a_rd[pw*L_POLICY_W +: L_POLICY_W];
        if (pe[L_POLICY_VALID_LSB] && pe[L_POLICY_KEY_LSB +: 64] == pol_key_data) begin
            for (pr = 0; pr < 4; pr = pr + 1) begin
                rl = pe[L_POLICY_RULE_BASE + pr*L_POLICY_RULE_STRIDE +: 98];
                if (rl[L_POLICY_RULE_VALID_LSB]
                        && pport_reg >= rl[L_POLICY_RULE_PORT_LO_LSB +: 16]
                        && pport_reg <= rl[L_POLICY_RULE_PORT_HI_LSB +: 16]) begin
                    // priority descending, deny before allow, id ascending
                    better = !pc_valid
                        || rl[L_POLICY_RULE_PRIORITY_LSB +: 16] > pc_prio
                        || (rl[L_POLICY_RULE_PRIORITY_LSB +: 16] == pc_prio
                            && ((!rl[L_POLICY_RULE_ALLOW_LSB] && pc_allow)
                                || (rl[L_POLICY_RULE_ALLOW_LSB] == pc_allow
                                    && rl[L_POLICY_RULE_ID_LSB +: 32] < pc_id)));
                    if (better) begin
                        pc_valid = 1'b1;
                        pc_allow = rl[L_POLICY_RULE_ALLOW_LSB];
                        pc_prio = rl[L_POLICY_RULE_PRIORITY_LSB +: 16];
                        pc_id = rl[L_POLICY_RULE_ID_LSB +: 32];
                        pc_slot = {pw[1:0], pol_a_addr_d, pr[1:0]};
                    end
                end
            end
        end
    end
end


// ---------------------------------------------------------------------------
// TCP window tracking of the hit entry (Linux tcp_in_window, datapath.md §5)
// ---------------------------------------------------------------------------
reg [31:0] s_end, s_maxend, s_maxwin, r_end, r_maxend, r_maxwin;
reg [31:0] wnd, seq1, end1, ack1, maxack, wedge;
reg win_ok;
reg [L_CONNTRACK_W-1:0] ent_win;
always @* begin
    if (!reply_reg) begin
        s_end = ent_reg[L_CONNTRACK_ORIG_END_LSB +: 32];
        s_maxend = ent_reg[L_CONNTRACK_ORIG_MAXEND_LSB +: 32];
        s_maxwin = ent_reg[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32];
        r_end = ent_reg[L_CONNTRACK_REPLY_END_LSB +: 32];
        r_maxend = ent_reg[L_CONNTRACK_REPLY_MAXEND_LSB +: 32];
        r_maxwin = ent_reg[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32];
    end else begin
        s_end = ent_reg[L_CONNTRACK_REPLY_END_LSB +: 32];
        s_maxend = ent_reg[L_CONNTRACK_REPLY_MAXEND_LSB +: 32];
        s_maxwin = ent_reg[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32];
        r_end = ent_reg[L_CONNTRACK_ORIG_END_LSB +: 32];
        r_maxend = ent_reg[L_CONNTRACK_ORIG_MAXEND_LSB +: 32];
        r_maxwin = ent_reg[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32];
    end
    wnd = flags_reg[1] ? {16'd0, win_reg} : ({16'd0, win_reg} << cfg_tcp_wscale);
    seq1 = seq_reg;
    end1 = seq_reg + {16'd0, paylen_reg} + {31'd0, flags_reg[1]} + {31'd0, flags_reg[0]};
    if (s_maxwin == 0) begin
        s_end = end1;
        s_maxend = end1;
        s_maxwin = (wnd == 0) ? 32'd1 : wnd;
    end
    ack1 = flags_reg[4] ? ack_reg : r_end;
    if (seq1 == end1 && !flags_reg[2]) begin
        seq1 = s_end;
        end1 = s_end;
    end
    maxack = max32(s_maxwin, 32'd66000);
    win_ok = !before32(s_maxend, seq1)
        && before32(s_end - r_maxwin - 32'd1, end1)
        && !before32(r_end, ack1)
        && before32(r_end - maxack - 32'd1, ack1);
    s_maxwin = max32(s_maxwin, wnd);
    if (before32(s_end, end1)) begin
        s_end = end1;
    end
    wedge = ack1 + wnd;
    if (!before32(wedge, r_maxend)) begin
        r_maxend = wedge + {31'd0, wnd == 0};
    end
    ent_win = ent_reg;
    if (!reply_reg) begin
        ent_win[L_CONNTRACK_ORIG_END_LSB +: 32] = s_end;
        ent_win[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = s_maxend;
        ent_win[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = s_maxwin;
        ent_win[L_CONNTRACK_REPLY_MAXEND_LSB +: 32] = r_maxend;
    end else begin
        ent_win[L_CONNTRACK_REPLY_END_LSB +: 32] = s_end;
        ent_win[L_CONNTRACK_REPLY_MAXEND_LSB +: 32] = s_maxend;
        ent_win[L_CONNTRACK_REPLY_MAXWIN_LSB +: 32] = s_maxwin;
        ent_win[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = r_maxend;
    end
end

// ---------------------------------------------------------------------------
// tag MAC (SipHash-2-4 over ctx, epoch, inner addresses, proto and ports)
// ---------------------------------------------------------------------------
reg sip_start;
reg [23:0] sip_ctx;
reg [7:0] sip_epoch;
reg [8*47-1:0] sip_msg;
reg [5:0] sip_len;
wire sip_done;
/* verilator lint_off UNUSEDSIGNAL */
// the tag MAC is the low 32 bits
wire [63:0] sip_hash;
/* verilator lint_on UNUSEDSIGNAL */
integer si;
always @* begin
    sip_msg = 0;
    sip_msg[0 +: 8] = sip_ctx[23:16];
    sip_msg[8 +: 8] = sip_ctx[15:8];
    sip_msg[16 +: 8] = sip_ctx[7:0];
    sip_msg[24 +: 8] = sip_epoch;
    if (v6_reg) begin
        for (si = 0; si < 16; si = si + 1) begin
            sip_msg[8*(4+si) +: 8] = src_reg[8*(15-si) +: 8];
            sip_msg[8*(20+si) +: 8] = dst_reg[8*(15-si) +: 8];
        end
        sip_msg[8*36 +: 8] = proto_reg;
        sip_msg[8*37 +: 32] = {dport_reg[7:0], dport_reg[15:8], sport_reg[7:0], sport_reg[15:8]};
        sip_len = 6'd41;
    end else begin
        for (si = 0; si < 4; si = si + 1) begin
            sip_msg[8*(4+si) +: 8] = src_reg[8*(3-si) +: 8];
            sip_msg[8*(8+si) +: 8] = dst_reg[8*(3-si) +: 8];
        end
        sip_msg[8*12 +: 8] = proto_reg;
        sip_msg[8*13 +: 32] = {dport_reg[7:0], dport_reg[15:8], sport_reg[7:0], sport_reg[15:8]};
        sip_len = 6'd17;
    end
end

/* verilator lint_off PINCONNECTEMPTY */
ztnic_siphash #(.MAX_BYTES(47)) siphash (
    .clk(clk), .rst(rst), .start(sip_start), .key(cfg_auth_key),
    .msg(sip_msg), .len(sip_len), .busy(), .done(sip_done), .hash(sip_hash));
/* verilator lint_on PINCONNECTEMPTY */

// ---------------------------------------------------------------------------
// IPv4 header checksum of the view (ihl words)
// ---------------------------------------------------------------------------
reg [31:0] csum_acc;
reg [15:0] csum_fold;
integer ck;
always @* begin
    csum_acc = 0;
    for (ck = 0; ck < 30; ck = ck + 1) begin
        if (ck < {27'd0, view[3:0], 1'b0}) begin
            csum_acc = csum_acc + {16'd0, b16(view, 2*ck)};
        end
    end
    csum_acc = {16'd0, csum_acc[15:0]} + {16'd0, csum_acc[31:16]};
    csum_acc = {16'd0, csum_acc[15:0]} + {16'd0, csum_acc[31:16]};
    csum_fold = csum_acc[15:0];
end

// ---------------------------------------------------------------------------
// encapsulation header (Ethernet + IPv4 + UDP + Geneve/VXLAN), byte i at [8i +: 8]
// ---------------------------------------------------------------------------
reg [511:0] encap;
reg [15:0] e_inner, e_udp, e_ip;
reg [31:0] e_sum;
reg [15:0] e_csum;
reg [15:0] e_sport;
always @* begin
    e_inner = hq_len - pre_reg;
    e_udp = 16'd8 + ((act_reg == A_GENEVE) ? 16'd20 : 16'd8) + e_inner;
    e_ip = 16'd20 + e_udp;
    e_sport = 16'hc000 | (h16own_reg & 16'h3fff);
    e_sum = 32'h4500 + {16'd0, e_ip} + 32'h4000 + 32'h4011
        + {16'd0, cfg_local_vtep_ip[31:16]} + {16'd0, cfg_local_vtep_ip[15:0]}
        + {16'd0, vtep_reg[31:16]} + {16'd0, vtep_reg[15:0]};
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
    encap[240 +: 32] = {vtep_reg[7:0], vtep_reg[15:8], vtep_reg[23:16], vtep_reg[31:24]};
    encap[272 +: 16] = {e_sport[7:0], e_sport[15:8]};
    encap[288 +: 16] = (act_reg == A_GENEVE) ? 16'hc117 : 16'hb512;
    encap[304 +: 16] = {e_udp[7:0], e_udp[15:8]};
    encap[320 +: 16] = 16'h0000;
    if (act_reg == A_GENEVE) begin
        encap[336 +: 32] = 32'h58654003;
        encap[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
        encap[400 +: 32] = 32'h0281f0ff;
        encap[432 +: 32] = {epoch_reg, sctx_reg[7:0], sctx_reg[15:8], sctx_reg[23:16]};
        encap[464 +: 32] = {mac_reg[7:0], mac_reg[15:8], mac_reg[23:16], mac_reg[31:24]};
    end else begin
        encap[336 +: 32] = {sctx_reg[7:0], sctx_reg[15:8], 16'h0088};
        encap[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
    end
end

wire [511:0] punt_hdr = {480'd0, 8'h00, reason_reg, port_reg[7:0], port_reg[15:8]};

// ---------------------------------------------------------------------------
// next-state logic
// ---------------------------------------------------------------------------
wire [15:0] avail = lim_reg - off_reg;
reg [15:0] t16, u16, x16;
reg [7:0] t8;
reg [15:0] pa, pb;
reg drop_it, punt_it;
reg [7:0] why;
reg [L_CONNTRACK_W-1:0] ne;
reg [TBL_W-1:0] tsel;
reg [5:0] ct_new_state;
reg [3:0] tnext;

// table index checks for control accesses
function idx_ok(input [31:0] idx, input integer log2);
    idx_ok = (idx >> log2) < 4;
endfunction

always @* begin
    state_next = state_reg;
    ret_next = ret_reg;
    cycles_next = cycles_reg + 16'd1;
    off_next = off_reg; lim_next = lim_reg; pre_next = pre_reg; port_next = port_reg;
    cls_next = cls_reg; inner_next = inner_reg; vlans_next = vlans_reg; et_next = et_reg;
    v6_next = v6_reg; src_next = src_reg; dst_next = dst_reg; proto_next = proto_reg;
    l4s_next = l4s_reg; l4e_next = l4e_reg; kind_next = kind_reg;
    sport_next = sport_reg; dport_next = dport_reg; echo_id_next = echo_id_reg;
    seq_next = seq_reg; ack_next = ack_reg; flags_next = flags_reg; win_next = win_reg;
    paylen_next = paylen_reg; udp_end_next = udp_end_reg;
    esrc_next = esrc_reg; edst_next = edst_reg; eproto_next = eproto_reg; esp_next = esp_reg; edp_next = edp_reg;
    tun_next = tun_reg; tctx_next = tctx_reg; tepoch_next = tepoch_reg; tmac_next = tmac_reg;
    in_s_next = in_s_reg; in_e_next = in_e_reg;
    sctx_next = sctx_reg; dctx_next = dctx_reg; zone_next = zone_reg; ovport_next = ovport_reg;
    act_next = act_reg; vtep_next = vtep_reg; epoch_next = epoch_reg;
    ce_cnt_next = ce_cnt_reg; ce_slot_next = ce_slot_reg;
    key_next = key_reg; srclo_next = srclo_reg; h16own_next = h16own_reg;
    h32_next = h32_reg; h16_next = h16_reg; ent_next = ent_reg; hway_next = hway_reg; hit_next = hit_reg;
    fway_next = fway_reg; free_next = free_reg; eway_next = eway_reg; evict_next = evict_reg;
    ovf_next = ovf_reg; ovflo_next = ovflo_reg; rechk_next = rechk_reg; reply_next = reply_reg;
    psrc_next = psrc_reg; pdst_next = pdst_reg; pport_next = pport_reg; pv_next = pv_reg;
    bvalid_next = bvalid_reg; ballow_next = ballow_reg; bprio_next = bprio_reg; bid_next = bid_reg; bslot_next = bslot_reg;
    vk_next = vk_reg; reason_next = reason_reg; ctv_next = ctv_reg; cts_next = cts_reg;
    rulev_next = rulev_reg; rule_next = rule_reg; rslot_next = rslot_reg;
    oport_next = oport_reg; plen_next = plen_reg; skip_next = skip_reg; end_next = end_reg; mac_next = mac_reg;
    evp_next = evp_reg; ev_next = ev_reg;
    evo_valid_next = 1'b0; evo_next = evo_reg;
    crd_next = crd_reg; cdone_next = 1'b0; cerr_next = cerr_reg; sweep_next = sweep_reg;

    vpc_a_en = 1'b0; lep_a_en = 1'b0; ce_a_en = 1'b0; pol_a_en = 1'b0; ct_a_en = 1'b0; ovf_a_en = 1'b0;
    vpc_a_addr = vpc_hash[VPORT_CTX_LOG2-1:0];
    lep_a_addr = lep_hash[LOCAL_EP_LOG2-1:0];
    ce_a_addr = ce_hash[CTX_EPOCH_LOG2-1:0];
    pol_a_addr = pol_hash[POLICY_LOG2-1:0];
    ct_a_addr_lo = ct_h32[CT_ADDR_W-1:0] & ct_mask;
    ct_a_addr_hi = h16_ext(ct_h16) & ct_mask;
    ovf_a_addr = ct_h32[CT_OVF_LOG2-1:0];
    vpc_b_en = 0; lep_b_en = 0; ce_b_en = 0; pol_b_en = 0; ct_b_en = 0; ovf_b_en = 0;
    b_we = 1'b0; b_addr = 0; b_wdata = 0;
    cec_b_en = 1'b0; cec_b_we = 1'b0; cec_b_addr = ce_slot_reg; cec_b_wdata = 0;
    rc_b_en = 1'b0; rc_b_we = 1'b0; rc_b_addr = rslot_reg; rc_b_wdata = 0;
    pc_we = 1'b0; pc_waddr = 0; pc_wdata = 0;
    rem_we = 1'b0; rem_waddr = 0; rem_wdata = 0;
    sip_start = 1'b0; sip_ctx = sctx_reg; sip_epoch = epoch_reg;
    cnt_drop = 1'b0; cnt_punt = 1'b0;
    drop_it = 1'b0; punt_it = 1'b0; why = 0;
    t16 = 0; u16 = 0; x16 = 0; t8 = 0; pa = 0; pb = 0;
    ne = ent_reg; tsel = 0; ct_new_state = 0; tnext = 0;

    case (state_reg)
    S_IDLE: begin
        cycles_next = 0;
        if (tbl_req && !cdone_reg) begin
            state_next = S_CMD;
        end else if (hq_valid) begin
            cycles_next = 1;
            pre_next = 0; off_next = 0; lim_next = hq_len; port_next = hq_port;
            inner_next = 1'b0; tun_next = TUN_NONE;
            vk_next = V_FWD; reason_next = 0; ctv_next = 1'b0; cts_next = 0;
            rulev_next = 1'b0; rule_next = 0; evp_next = 1'b0; ce_cnt_next = 1'b0;
            plen_next = 0; skip_next = 0; end_next = hq_len; mac_next = 0;
            sport_next = 0; dport_next = 0; echo_id_next = 0;
            state_next = S_CLASS;
        end else begin
            state_next = S_SWEEP;
        end
    end

    S_CLASS: begin
        // port_reg: the ingress port (or the packet_out target on re-injection)
        cls_next = (port_reg >> PORT_CLASS_LOG2) == 0 ? port_class[port_reg[PORT_CLASS_LOG2-1:0]] : 2'd0;
        if ((port_reg >> PORT_CLASS_LOG2) != 0 || port_class[port_reg[PORT_CLASS_LOG2-1:0]] == PORT_CLASS_NONE[1:0]) begin
            drop_it = 1'b1; why = DROP_UNKNOWN_PORT;
        end else if (port_class[port_reg[PORT_CLASS_LOG2-1:0]] == PORT_CLASS_CPU[1:0]) begin
            if (pre_reg != 0) begin
                drop_it = 1'b1; why = DROP_BAD_PACKET_OUT;
            end else begin
                state_next = S_PKTOUT;
            end
        end else begin
            state_next = S_ETH;
        end
    end

    S_PKTOUT: begin
        if (hq_len < 4) begin
            drop_it = 1'b1; why = DROP_BAD_PACKET_OUT;
        end else if (b8(view, 2) == 8'd0) begin
            // mode 0: the rest of the packet out of `port` unchanged
            oport_next = b16(view, 0);
            skip_next = 16'd4;
            state_next = S_DONE;
        end else if (b8(view, 2) == 8'd1) begin
            // mode 1: through the pipeline as if it arrived on `port`
            port_next = b16(view, 0);
            pre_next = 16'd4; off_next = 16'd4; skip_next = 16'd4;
            state_next = S_CLASS;
        end else begin
            drop_it = 1'b1; why = DROP_BAD_PACKET_OUT;
        end
    end

    S_ETH: begin
        if (avail < 14) begin
            drop_it = 1'b1; why = DROP_ETH_TRUNCATED;
        end else begin
            et_next = b16(view, 12);
            off_next = off_reg + 16'd14;
            vlans_next = 0;
            state_next = S_VLAN;
        end
    end

    S_VLAN: begin
        // off_reg: just after the EtherType field that et_reg holds
        if (et_reg == 16'h8100 || et_reg == 16'h88a8) begin
            if (vlans_reg == 2) begin
                drop_it = 1'b1; why = DROP_TOO_MANY_VLANS;
            end else if (avail < 4) begin
                drop_it = 1'b1; why = DROP_VLAN_TRUNCATED;
            end else begin
                et_next = b16(view, 2);
                off_next = off_reg + 16'd4;
                vlans_next = vlans_reg + 2'd1;
            end
        end else if (et_reg == 16'h0800) begin
            state_next = S_IPV4;
        end else if (et_reg == 16'h86dd) begin
            state_next = S_IPV6;
        end else if (et_reg == 16'h0806) begin
            punt_it = 1'b1; why = PUNT_ARP;
        end else begin
            drop_it = 1'b1; why = DROP_UNSUPPORTED_ETHERTYPE;
        end
    end

    S_IPV4: begin
        t16 = {10'd0, view[3:0], 2'b00};           // ihl bytes
        u16 = b16(view, 2);                         // total length
        if (avail < 20) begin
            drop_it = 1'b1; why = DROP_IPV4_TRUNCATED;
        end else if (view[7:4] != 4'd4 || t16 < 20 || u16 < t16) begin
            drop_it = 1'b1; why = DROP_IPV4_MALFORMED;
        end else if (u16 > avail) begin
            drop_it = 1'b1; why = DROP_IPV4_TRUNCATED;
        end else if (csum_fold != 16'hffff) begin
            drop_it = 1'b1; why = DROP_IPV4_BAD_CHECKSUM;
        end else if (view[8*6+5] || (b16(view, 6) & 16'h1fff) != 16'd0) begin
            punt_it = 1'b1; why = PUNT_IP_FRAGMENT;
        end else begin
            v6_next = 1'b0;
            proto_next = b8(view, 9);
            src_next = v4map(b32(view, 12));
            dst_next = v4map(b32(view, 16));
            l4s_next = off_reg + t16;
            l4e_next = off_reg + u16;
            off_next = off_reg + t16;
            state_next = S_L4;
        end
    end

    S_IPV6: begin
        u16 = b16(view, 4);                         // payload length
        t8 = b8(view, 6);                           // next header
        if (avail < 40) begin
            drop_it = 1'b1; why = DROP_IPV6_TRUNCATED;
        end else if (view[7:4] != 4'd6) begin
            drop_it = 1'b1; why = DROP_IPV6_MALFORMED;
        end else if ({16'd0, u16} + 32'd40 > {16'd0, avail}) begin
            drop_it = 1'b1; why = DROP_IPV6_TRUNCATED;
        end else if (t8 == 0 || t8 == 43 || t8 == 44 || t8 == 50 || t8 == 51 || t8 == 60
                || t8 == 135 || t8 == 139 || t8 == 140 || t8 == 253 || t8 == 254) begin
            punt_it = 1'b1; why = PUNT_IPV6_EXT_HEADER;
        end else begin
            v6_next = 1'b1;
            proto_next = t8;
            src_next = b128(view, 8);
            dst_next = b128(view, 24);
            l4s_next = off_reg + 16'd40;
            l4e_next = off_reg + 16'd40 + u16;
            off_next = off_reg + 16'd40;
            state_next = S_L4;
        end
    end

    S_L4: begin
        t16 = l4e_reg - l4s_reg;                    // IP payload length
        kind_next = K_OTHER;
        sport_next = 0; dport_next = 0; echo_id_next = 0;
        state_next = (cls_reg == PORT_CLASS_VPORT[1:0]) ? S_TX_VPC : S_RX_TAG;
        if (proto_reg == 8'd6) begin
            u16 = {10'd0, view[8*12+7 -: 4], 2'b00}; // data offset bytes
            if (t16 < 20) begin
                drop_it = 1'b1; why = DROP_TCP_TRUNCATED;
            end else if (u16 < 20) begin
                drop_it = 1'b1; why = DROP_TCP_MALFORMED;
            end else if (u16 > t16) begin
                drop_it = 1'b1; why = DROP_TCP_TRUNCATED;
            end else begin
                kind_next = K_TCP;
                sport_next = b16(view, 0);
                dport_next = b16(view, 2);
                seq_next = b32(view, 4);
                ack_next = b32(view, 8);
                flags_next = view[8*13 +: 6];
                win_next = b16(view, 14);
                paylen_next = t16 - u16;
            end
        end else if (proto_reg == 8'd17) begin
            u16 = b16(view, 4);                     // UDP length
            if (t16 < 8) begin
                drop_it = 1'b1; why = DROP_UDP_TRUNCATED;
            end else if (u16 < 8) begin
                drop_it = 1'b1; why = DROP_UDP_MALFORMED;
            end else if (u16 > t16) begin
                drop_it = 1'b1; why = DROP_UDP_TRUNCATED;
            end else begin
                kind_next = K_UDP;
                sport_next = b16(view, 0);
                dport_next = b16(view, 2);
                udp_end_next = off_reg + u16;
                if (!inner_reg && !v6_reg && cls_reg == PORT_CLASS_UPLINK[1:0]
                        && (b16(view, 2) == 16'd6081 || b16(view, 2) == 16'd4789)) begin
                    state_next = S_TUN;
                end
            end
        end else if ((proto_reg == 8'd1 && !v6_reg) || (proto_reg == 8'd58 && v6_reg)) begin
            t8 = b8(view, 0);                        // ICMP type
            if (t16 < 8) begin
                drop_it = 1'b1; why = DROP_ICMP_TRUNCATED;
            end else if (v6_reg && t8 >= 133 && t8 <= 137) begin
                punt_it = 1'b1; why = PUNT_ND;
            end else if ((v6_reg && t8 == 128) || (!v6_reg && t8 == 8)) begin
                kind_next = K_ECHO_REQ;
                echo_id_next = b16(view, 4);
            end else if ((v6_reg && t8 == 129) || (!v6_reg && t8 == 0)) begin
                kind_next = K_ECHO_REP;
                echo_id_next = b16(view, 4);
            end else if ((v6_reg && t8 >= 1 && t8 <= 4)
                    || (!v6_reg && (t8 == 3 || t8 == 4 || t8 == 5 || t8 == 11 || t8 == 12))) begin
                kind_next = K_ICMP_ERR;
                off_next = off_reg + 16'd8;
                state_next = S_EMB_IP;
            end else begin
                kind_next = K_ICMP_OTHER;
            end
        end
    end

    S_EMB_IP: begin
        // the packet embedded in an ICMP error: IP header plus 8 bytes of L4
        t16 = l4e_reg - off_reg;                     // bytes available
        state_next = S_EMB_L4;
        if (v6_reg) begin
            if (t16 < 48) begin
                drop_it = 1'b1; why = DROP_ICMP_TRUNCATED;
            end else if (view[7:4] != 4'd6) begin
                drop_it = 1'b1; why = DROP_ICMP_MALFORMED;
            end else begin
                esrc_next = b128(view, 8);
                edst_next = b128(view, 24);
                eproto_next = b8(view, 6);
                off_next = off_reg + 16'd40;
            end
        end else begin
            u16 = {10'd0, view[3:0], 2'b00};
            if (t16 == 0) begin
                drop_it = 1'b1; why = DROP_ICMP_TRUNCATED;
            end else if (view[7:4] != 4'd4 || u16 < 20) begin
                drop_it = 1'b1; why = DROP_ICMP_MALFORMED;
            end else if (t16 < u16 + 16'd8) begin
                drop_it = 1'b1; why = DROP_ICMP_TRUNCATED;
            end else begin
                esrc_next = v4map(b32(view, 12));
                edst_next = v4map(b32(view, 16));
                eproto_next = b8(view, 9);
                off_next = off_reg + u16;
            end
        end
    end

    S_EMB_L4: begin
        esp_next = 0; edp_next = 0;
        if (eproto_reg == 8'd6 || eproto_reg == 8'd17) begin
            esp_next = b16(view, 0);
            edp_next = b16(view, 2);
        end else if (eproto_reg == 8'd1 || eproto_reg == 8'd58) begin
            if ((v6_reg && (b8(view, 0) == 128 || b8(view, 0) == 129))
                    || (!v6_reg && (b8(view, 0) == 8 || b8(view, 0) == 0))) begin
                esp_next = b16(view, 4);
                edp_next = b16(view, 4);
            end
        end
        state_next = (inner_reg || cls_reg != PORT_CLASS_VPORT[1:0]) ? S_RX_TAG : S_TX_VPC;
    end

    S_TUN: begin
        // off_reg: the outer UDP header; payload [off+8, udp_end)
        t16 = udp_end_reg - off_reg - 16'd8;         // UDP payload length
        x16 = off_reg + 16'd8;
        if (dst_reg != v4map(cfg_local_vtep_ip)) begin
            drop_it = 1'b1; why = DROP_VTEP_MISMATCH;
        end else if (dport_reg == 16'd6081) begin
            // Geneve: the view moves to the tunnel header next clock
            if (t16 < 20) begin
                drop_it = 1'b1; why = DROP_TUNNEL_TRUNCATED;
            end else if (b8(view, 8) != 8'h03 || view[8*9+7] || !view[8*9+6]
                    || b16(view, 10) != 16'h6558 || b16(view, 16) != 16'hfff0
                    || b8(view, 18) != 8'h81 || view[8*19 +: 5] != 5'd2) begin
                drop_it = 1'b1; why = DROP_GENEVE_MALFORMED;
            end else begin
                tun_next = TUN_GENEVE;
                tctx_next = {b8(view, 20), b8(view, 21), b8(view, 22)};
                tepoch_next = b8(view, 23);
                tmac_next = b32(view, 24);
                in_s_next = x16 + 16'd20;
            end
        end else begin
            if (t16 < 8) begin
                drop_it = 1'b1; why = DROP_TUNNEL_TRUNCATED;
            end else if (!view[8*8+3]) begin
                drop_it = 1'b1; why = DROP_VXLAN_MALFORMED;
            end else begin
                tun_next = view[8*8+7] ? TUN_GBP : TUN_UNTAGGED;
                tctx_next = {8'd0, b16(view, 10)};
                in_s_next = x16 + 16'd8;
            end
        end
        if (!drop_it) begin
            in_e_next = udp_end_reg;
            inner_next = 1'b1;
            off_next = (dport_reg == 16'd6081) ? x16 + 16'd20 : x16 + 16'd8;
            lim_next = udp_end_reg;
            state_next = S_ETH;
        end
    end

    // ---- TX classify ----
    S_TX_VPC: begin
        vpc_a_en = 1'b1;
        state_next = S_TX_LEP_RD;
    end
    S_TX_LEP_RD: begin
        lep_a_en = 1'b1;
        if (!vpc_hit) begin
            drop_it = 1'b1; why = DROP_SPOOFED_SOURCE;
        end else begin
            sctx_next = vpc_e[L_VPORT_CTX_CTX_LSB +: 24];
            zone_next = vpc_e[L_VPORT_CTX_ZONE_LSB +: 16];
            state_next = S_TX_LEP;
        end
    end
    S_TX_LEP: begin
        if (lep_hit) begin
            dctx_next = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
            ovport_next = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
            act_next = A_LOCAL;
            state_next = S_TX_CE_RD;
        end else if (rem_hit) begin
            vtep_next = rem_e[L_REMOTE_EP_VTEP_LSB +: 32];
            case (rem_e[L_REMOTE_EP_KIND_LSB +: 2])
                REMOTE_KIND_GENEVE[1:0]: begin act_next = A_GENEVE; dctx_next = rem_e[L_REMOTE_EP_CTX_LSB +: 24]; end
                REMOTE_KIND_VXLAN_GBP[1:0]: begin act_next = A_GBP; dctx_next = rem_e[L_REMOTE_EP_CTX_LSB +: 24]; end
                default: begin act_next = A_NATIVE; dctx_next = 24'd2; end
            endcase
            state_next = S_TX_CE_RD;
        end else begin
            drop_it = 1'b1; why = DROP_NO_ROUTE;
        end
    end
    S_TX_CE_RD: begin
        ce_a_en = 1'b1;
        state_next = S_TX_CE;
    end
    S_TX_CE: begin
        if (!ce_hit) begin
            punt_it = 1'b1; why = PUNT_CTX_UNKNOWN;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, sctx_reg, 8'd0, 32'd0);
        end else begin
            epoch_next = ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8];
            ce_cnt_next = 1'b1;
            ce_slot_next = {ce_way, ce_a_addr_d};
            state_next = S_CT_KEY;
        end
    end

    // ---- RX classify ----
    S_RX_TAG: begin
        sctx_next = (tun_reg == TUN_GENEVE || tun_reg == TUN_GBP) ? tctx_reg : 24'd2;
        if ((tun_reg == TUN_GENEVE || tun_reg == TUN_GBP) && tctx_reg == 0) begin
            drop_it = 1'b1; why = DROP_TAG_CTX_ZERO;
        end else if (tun_reg == TUN_GENEVE && cfg_auth) begin
            sip_start = 1'b1;
            sip_ctx = tctx_reg;
            sip_epoch = tepoch_reg;
            state_next = S_RX_MAC;
        end else begin
            state_next = S_RX_LEP_RD;
        end
    end
    S_RX_MAC: begin
        if (sip_done) begin
            if (sip_hash[31:0] != tmac_reg) begin
                drop_it = 1'b1; why = DROP_TAG_BAD_MAC;
            end else begin
                state_next = S_RX_LEP_RD;
            end
        end
    end
    S_RX_LEP_RD: begin
        lep_a_en = 1'b1;
        state_next = S_RX_LEP;
    end
    S_RX_LEP: begin
        if (!lep_hit) begin
            drop_it = 1'b1; why = DROP_NO_LOCAL_EP;
        end else begin
            dctx_next = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
            ovport_next = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
            zone_next = lep_e[L_LOCAL_EP_ZONE_LSB +: 16];
            state_next = (tun_reg == TUN_GENEVE || tun_reg == TUN_GBP) ? S_RX_CE_RD : S_CT_KEY;
        end
    end
    S_RX_CE_RD: begin
        ce_a_en = 1'b1;
        state_next = S_RX_CE;
    end
    S_RX_CE: begin
        if (!ce_hit) begin
            punt_it = 1'b1; why = PUNT_CTX_UNKNOWN;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CTX_UNKNOWN[7:0], PUNT_CTX_UNKNOWN, sctx_reg, tepoch_reg, 32'd0);
        end else if (tun_reg == TUN_GENEVE && tepoch_reg != ce_e[L_CTX_EPOCH_EPOCH_LSB +: 8]) begin
            punt_it = 1'b1; why = PUNT_CTX_STALE_EPOCH;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CTX_STALE_EPOCH[7:0], PUNT_CTX_STALE_EPOCH, sctx_reg, tepoch_reg, 32'd0);
        end else begin
            ce_cnt_next = 1'b1;
            ce_slot_next = {ce_way, ce_a_addr_d};
            state_next = S_CT_KEY;
        end
    end

    // ---- conntrack ----
    S_CT_KEY: begin
        // the packet's own key (its h16 is the tunnel source-port entropy)
        pa = (kind_reg == K_TCP || kind_reg == K_UDP) ? sport_reg : echo_id_reg;
        pb = (kind_reg == K_TCP || kind_reg == K_UDP) ? dport_reg : echo_id_reg;
        if (kind_reg != K_TCP && kind_reg != K_UDP && kind_reg != K_ECHO_REQ && kind_reg != K_ECHO_REP) begin
            pa = 0; pb = 0;
        end
        if ({src_reg, pa} <= {dst_reg, pb}) begin
            key_next = {zone_reg, proto_reg, src_reg, dst_reg, pa, pb};
            srclo_next = 1'b1;
        end else begin
            key_next = {zone_reg, proto_reg, dst_reg, src_reg, pb, pa};
            srclo_next = 1'b0;
        end
        ctv_next = 1'b1;
        if (kind_reg == K_ICMP_OTHER || (kind_reg == K_TCP && !flags_valid(flags_reg))) begin
            cts_next = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
            drop_it = 1'b1; why = DROP_CT_INVALID;
        end else begin
            state_next = S_CT_EMB;
        end
    end
    S_CT_EMB: begin
        h16own_next = ct_h16;
        if (kind_reg == K_ICMP_ERR) begin
            if ({esrc_reg, esp_reg} <= {edst_reg, edp_reg}) begin
                key_next = {zone_reg, eproto_reg, esrc_reg, edst_reg, esp_reg, edp_reg};
            end else begin
                key_next = {zone_reg, eproto_reg, edst_reg, esrc_reg, edp_reg, esp_reg};
            end
        end
        state_next = S_CT_RD;
    end
    S_CT_RD: begin
        ct_a_en = 1'b1;
        ovf_a_en = 1'b1;
        h32_next = ct_h32;
        h16_next = ct_h16;
        state_next = S_CT_CMP;
    end
    S_CT_CMP: begin
        hit_next = ct_hit; hway_next = ct_hway; ent_next = ct_he;
        free_next = ct_free; fway_next = ct_fway;
        evict_next = ct_evict; eway_next = ct_eway;
        ovf_next = ovf_hit; ovflo_next = ovf_orig_lo;
        rechk_next = 1'b0;
        reply_next = srclo_reg != ct_he[L_CONNTRACK_ORIG_LO_LSB];
        if (kind_reg == K_ICMP_ERR) begin
            if (ct_hit || ovf_hit) begin
                cts_next = ct_bits(1'b0, 1'b0, 1'b1, 1'b0, 1'b0);
                state_next = S_ACT;
            end else begin
                cts_next = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                drop_it = 1'b1; why = DROP_CT_INVALID;
            end
        end else if (ct_hit) begin
            if (ct_he[L_CONNTRACK_GEN_LSB +: 16] != cfg_policy_gen) begin
                // re-check with the originator's view of the connection
                if (srclo_reg == ct_he[L_CONNTRACK_ORIG_LO_LSB]) begin
                    psrc_next = sctx_reg; pdst_next = dctx_reg; pport_next = dport_reg;
                end else begin
                    psrc_next = dctx_reg; pdst_next = sctx_reg; pport_next = sport_reg;
                end
                pv_next = 0; bvalid_next = 1'b0;
                ret_next = S_CT_RECHK;
                state_next = S_POL;
            end else begin
                state_next = S_CT_HIT;
            end
        end else if (ovf_hit) begin
            cts_next = ct_bits(1'b0, 1'b1, 1'b0, srclo_reg != ovf_orig_lo, 1'b0);
            state_next = S_ACT;
        end else begin
            state_next = S_CT_NEW;
        end
    end
    S_CT_RECHK: begin
        rulev_next = bvalid_reg; rule_next = bid_reg; rslot_next = bslot_reg;
        if (bvalid_reg && ballow_reg) begin
            ent_next[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
            rechk_next = 1'b1;
            state_next = S_CT_HIT;
        end else begin
            // revoked: delete the entry, drop with the policy's reason
            ct_b_en[hway_reg] = 1'b1;
            b_we = 1'b1;
            b_addr = {{(32-CT_ADDR_W){1'b0}}, hway_reg < 2 ? h32_reg[CT_ADDR_W-1:0] & ct_mask : h16_ext(h16_reg) & ct_mask};
            b_wdata = 0;
            cts_next = ct_bits(!ent_reg[L_CONNTRACK_REPLIED_LSB] && !reply_reg, ent_reg[L_CONNTRACK_REPLIED_LSB], 1'b0, reply_reg, 1'b0);
            drop_it = 1'b1; why = bvalid_reg ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CT_DELETE[7:0], why, sctx_reg, 8'd0, h32_reg);
        end
    end
    S_CT_HIT: begin
        ne = ent_reg;
        b_addr = {{(32-CT_ADDR_W){1'b0}}, hway_reg < 2 ? h32_reg[CT_ADDR_W-1:0] & ct_mask : h16_ext(h16_reg) & ct_mask};
        if (ent_reg[L_CONNTRACK_KIND_LSB +: 2] == CT_KIND_TCP[1:0]) begin
            tnext = tcp_next(reply_reg, flag_class(flags_reg), ent_reg[L_CONNTRACK_STATE_LSB +: 4]);
            if (tnext == T_IV) begin
                ct_new_state = 6'd1;                 // invalid
            end else if (tnext == T_SS && (ent_reg[L_CONNTRACK_STATE_LSB +: 4] == T_TW
                    || ent_reg[L_CONNTRACK_STATE_LSB +: 4] == T_CL)) begin
                ct_new_state = 6'd2;                 // reopen
            end else if (tnext == T_IG) begin
                ct_new_state = 6'd3;                 // accepted unchanged
            end else if (!win_ok) begin
                ct_new_state = 6'd1;
            end else begin
                ne = ent_win;
                ne[L_CONNTRACK_STATE_LSB +: 4] = tnext;
                ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
                ne[L_CONNTRACK_REPLIED_LSB] = ent_reg[L_CONNTRACK_REPLIED_LSB] | reply_reg;
                ne[L_CONNTRACK_ASSURED_LSB] = ent_reg[L_CONNTRACK_ASSURED_LSB] | (tnext == T_ES);
                ct_new_state = 6'd4;                 // accepted, updated
            end
        end else begin
            ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
            if (reply_reg) begin
                ne[L_CONNTRACK_REPLIED_LSB] = 1'b1;
                if (ent_reg[L_CONNTRACK_KIND_LSB +: 2] != CT_KIND_ICMP[1:0]) begin
                    ne[L_CONNTRACK_ASSURED_LSB] = 1'b1;
                end
            end
            ct_new_state = 6'd4;
        end
        case (ct_new_state)
            6'd1: begin
                // invalid: only a re-check's generation update is kept
                if (rechk_reg) begin
                    ct_b_en[hway_reg] = 1'b1; b_we = 1'b1; b_wdata[L_CONNTRACK_W-1:0] = ent_reg;
                end
                cts_next = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
                drop_it = 1'b1; why = DROP_CT_INVALID;
            end
            6'd2: begin
                // a SYN reopening TIME_WAIT / CLOSE: delete, then as a new connection
                ct_b_en[hway_reg] = 1'b1; b_we = 1'b1; b_wdata = 0;
                if (!free_reg || hway_reg < fway_reg) begin
                    free_next = 1'b1;
                    fway_next = hway_reg;
                end
                state_next = S_CT_NEW;
            end
            default: begin
                if (ct_new_state == 6'd4 || rechk_reg) begin
                    ct_b_en[hway_reg] = 1'b1; b_we = 1'b1; b_wdata[L_CONNTRACK_W-1:0] = ne;
                end
                cts_next = ct_bits(!ne[L_CONNTRACK_REPLIED_LSB] && !reply_reg, ne[L_CONNTRACK_REPLIED_LSB], 1'b0, reply_reg, 1'b0);
                if (!ne[L_CONNTRACK_REPLIED_LSB] && !reply_reg && !rechk_reg) begin
                    // still `new`: the policy decides this packet too
                    psrc_next = sctx_reg; pdst_next = dctx_reg; pport_next = dport_reg;
                    pv_next = 0; bvalid_next = 1'b0;
                    ret_next = S_CT_NEWCHK;
                    state_next = S_POL;
                end else begin
                    state_next = S_ACT;
                end
            end
        endcase
    end
    S_CT_NEWCHK: begin
        rulev_next = bvalid_reg; rule_next = bid_reg; rslot_next = bslot_reg;
        if (bvalid_reg && ballow_reg) begin
            state_next = S_ACT;
        end else begin
            drop_it = 1'b1; why = bvalid_reg ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY;
        end
    end
    S_CT_NEW: begin
        cts_next = ct_bits(1'b1, 1'b0, 1'b0, 1'b0, 1'b0);
        if ((kind_reg == K_TCP && (flags_reg & 6'h1f) != 6'h02) || kind_reg == K_ECHO_REP) begin
            cts_next = ct_bits(1'b0, 1'b0, 1'b0, 1'b0, 1'b1);
            drop_it = 1'b1; why = DROP_CT_INVALID;
        end else begin
            psrc_next = sctx_reg; pdst_next = dctx_reg; pport_next = dport_reg;
            pv_next = 0; bvalid_next = 1'b0;
            ret_next = S_CT_INS;
            state_next = S_POL;
        end
    end
    S_CT_INS: begin
        rulev_next = bvalid_reg; rule_next = bid_reg; rslot_next = bslot_reg;
        ne = 0;
        ne[L_CONNTRACK_VALID_LSB] = 1'b1;
        ne[L_CONNTRACK_KEY_LSB +: 312] = key_reg;
        ne[L_CONNTRACK_ORIG_LO_LSB] = srclo_reg;
        ne[L_CONNTRACK_LAST_SEEN_LSB +: 64] = ts_us;
        ne[L_CONNTRACK_GEN_LSB +: 32] = {16'd0, cfg_policy_gen};
        case (kind_reg)
            K_TCP: begin
                ne[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_TCP[1:0];
                ne[L_CONNTRACK_STATE_LSB +: 4] = T_SS;
                ne[L_CONNTRACK_ORIG_END_LSB +: 32] = seq_reg + {16'd0, paylen_reg} + 32'd1 + {31'd0, flags_reg[0]};
                ne[L_CONNTRACK_ORIG_MAXEND_LSB +: 32] = seq_reg + {16'd0, paylen_reg} + 32'd1 + {31'd0, flags_reg[0]};
                ne[L_CONNTRACK_ORIG_MAXWIN_LSB +: 32] = (win_reg == 0) ? 32'd1 : {16'd0, win_reg};
            end
            K_UDP: ne[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_UDP[1:0];
            K_ECHO_REQ: ne[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_ICMP[1:0];
            default: ne[L_CONNTRACK_KIND_LSB +: 2] = CT_KIND_OTHER[1:0];
        endcase
        if (!(bvalid_reg && ballow_reg)) begin
            drop_it = 1'b1; why = bvalid_reg ? DROP_POLICY_DENY : DROP_POLICY_DEFAULT_DENY;
        end else if (free_reg || evict_reg) begin
            ct_b_en[free_reg ? fway_reg : eway_reg] = 1'b1;
            b_we = 1'b1;
            b_addr = {{(32-CT_ADDR_W){1'b0}}, (free_reg ? fway_reg : eway_reg) < 2 ? h32_reg[CT_ADDR_W-1:0] & ct_mask : h16_ext(h16_reg) & ct_mask};
            b_wdata[L_CONNTRACK_W-1:0] = ne;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CT_NEW[7:0], 8'd0, sctx_reg, 8'd0, h32_reg);
            state_next = S_ACT;
        end else begin
            punt_it = 1'b1; why = PUNT_CT_FULL;
            evp_next = 1'b1;
            ev_next = event_rec(EVENT_KIND_CT_FULL[7:0], PUNT_CT_FULL, sctx_reg, 8'd0, h32_reg);
        end
    end

    // ---- policy: eight decomposed-key lookups, one per clock ----
    S_POL: begin
        pol_a_en = pv_reg < 8;
        if (pv_reg != 0) begin
            bvalid_next = pc_valid; ballow_next = pc_allow; bprio_next = pc_prio;
            bid_next = pc_id; bslot_next = pc_slot;
        end
        pv_next = pv_reg + 4'd1;
        if (pv_reg == 8) begin
            state_next = ret_reg;
        end
    end

    // ---- act ----
    S_ACT: begin
        if (cls_reg == PORT_CLASS_VPORT[1:0]) begin
            case (act_reg)
                A_LOCAL: begin oport_next = ovport_reg; state_next = S_DONE; end
                A_NATIVE: begin oport_next = cfg_uplink_port; state_next = S_DONE; end
                default: begin
                    oport_next = cfg_uplink_port;
                    plen_next = (act_reg == A_GENEVE) ? 7'd62 : 7'd50;
                    if (act_reg == A_GENEVE && cfg_auth) begin
                        sip_start = 1'b1;
                        sip_ctx = sctx_reg;
                        sip_epoch = epoch_reg;
                        state_next = S_MAC_WAIT;
                    end else begin
                        state_next = S_DONE;
                    end
                end
            endcase
        end else begin
            oport_next = ovport_reg;
            if (tun_reg != TUN_NONE) begin
                skip_next = in_s_reg;
                end_next = in_e_reg;
            end
            state_next = S_DONE;
        end
    end
    S_MAC_WAIT: begin
        if (sip_done) begin
            mac_next = sip_hash[31:0];
            state_next = S_DONE;
        end
    end

    S_DONE: begin
        if (desc_ready) begin
            evo_valid_next = evp_reg;
            evo_next = ev_reg;
            cnt_drop = vk_reg == V_DROP;
            cnt_punt = vk_reg == V_PUNT;
            state_next = (ce_cnt_reg || rulev_reg) ? S_CNT_RD : S_IDLE;
        end
    end
    S_CNT_RD: begin
        cec_b_en = ce_cnt_reg;
        rc_b_en = rulev_reg;
        state_next = S_CNT_WR;
    end
    S_CNT_WR: begin
        cec_b_en = ce_cnt_reg; cec_b_we = 1'b1;
        cec_b_wdata = {cec_b_rd[127:64] + {48'd0, hq_len - pre_reg}, cec_b_rd[63:0] + 64'd1};
        rc_b_en = rulev_reg; rc_b_we = 1'b1;
        rc_b_wdata = {rc_b_rd[127:64] + {48'd0, hq_len - pre_reg}, rc_b_rd[63:0] + 64'd1};
        state_next = S_IDLE;
    end

    // ---- control-plane table access ----
    S_CMD: begin
        state_next = S_CMD_WAIT;
        b_we = tbl_write;
        b_wdata = tbl_wdata;
        cerr_next = 1'b0;
        case (tbl_select)
            TABLE_PORT_CLASS[7:0]: begin
                if ((tbl_index >> PORT_CLASS_LOG2) != 0) cerr_next = 1'b1;
                else begin
                    pc_we = tbl_write; pc_waddr = tbl_index[PORT_CLASS_LOG2-1:0]; pc_wdata = tbl_wdata[1:0];
                end
            end
            TABLE_VPORT_CTX[7:0]: begin
                if (!idx_ok(tbl_index, VPORT_CTX_LOG2)) cerr_next = 1'b1;
                else begin vpc_b_en[tbl_index[VPORT_CTX_LOG2 +: 2]] = 1'b1; b_addr = tbl_index; end
            end
            TABLE_LOCAL_EP[7:0]: begin
                if (!idx_ok(tbl_index, LOCAL_EP_LOG2)) cerr_next = 1'b1;
                else begin lep_b_en[tbl_index[LOCAL_EP_LOG2 +: 2]] = 1'b1; b_addr = tbl_index; end
            end
            TABLE_CTX_EPOCH[7:0]: begin
                if (!idx_ok(tbl_index, CTX_EPOCH_LOG2)) cerr_next = 1'b1;
                else begin ce_b_en[tbl_index[CTX_EPOCH_LOG2 +: 2]] = 1'b1; b_addr = tbl_index; end
            end
            TABLE_REMOTE_EP[7:0]: begin
                if (tbl_index >= REMOTE_EP_N) cerr_next = 1'b1;
                else begin rem_we = tbl_write; rem_waddr = tbl_index[REM_IDX_W-1:0]; rem_wdata = tbl_wdata[L_REMOTE_EP_W-1:0]; end
            end
            TABLE_POLICY[7:0]: begin
                if (!idx_ok(tbl_index, POLICY_LOG2)) cerr_next = 1'b1;
                else begin pol_b_en[tbl_index[POLICY_LOG2 +: 2]] = 1'b1; b_addr = tbl_index; end
            end
            TABLE_CT_OVERFLOW[7:0]: begin
                if (!idx_ok(tbl_index, CT_OVF_LOG2)) cerr_next = 1'b1;
                else begin ovf_b_en[tbl_index[CT_OVF_LOG2 +: 2]] = 1'b1; b_addr = tbl_index; end
            end
            TABLE_CONNTRACK[7:0]: begin
                if (!idx_ok(tbl_index, CT_ADDR_W)) cerr_next = 1'b1;
                else begin ct_b_en[tbl_index[CT_ADDR_W +: 2]] = 1'b1; b_addr = tbl_index; end
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
    S_CMD_WAIT: begin
        tsel = 0;
        case (tbl_select)
            TABLE_PORT_CLASS[7:0]: tsel[1:0] = port_class[tbl_index[PORT_CLASS_LOG2-1:0]];
            TABLE_VPORT_CTX[7:0]: tsel[L_VPORT_CTX_W-1:0] = vpc_b_rd[tbl_index[VPORT_CTX_LOG2 +: 2]*L_VPORT_CTX_W +: L_VPORT_CTX_W];
            TABLE_LOCAL_EP[7:0]: tsel[L_LOCAL_EP_W-1:0] = lep_b_rd[tbl_index[LOCAL_EP_LOG2 +: 2]*L_LOCAL_EP_W +: L_LOCAL_EP_W];
            TABLE_CTX_EPOCH[7:0]: tsel[L_CTX_EPOCH_W-1:0] = ce_b_rd[tbl_index[CTX_EPOCH_LOG2 +: 2]*L_CTX_EPOCH_W +: L_CTX_EPOCH_W];
            TABLE_REMOTE_EP[7:0]: tsel[L_REMOTE_EP_W-1:0] = remote_ep[tbl_index[REM_IDX_W-1:0]];
            TABLE_POLICY[7:0]: tsel[L_POLICY_W-1:0] = pol_b_rd[tbl_index[POLICY_LOG2 +: 2]*L_POLICY_W +: L_POLICY_W];
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
        state_next = S_IDLE;
    end

    // ---- aging sweep of the conntrack ways, between packets ----
    S_SWEEP: begin
        ct_b_en[sweep_reg[CT_ADDR_W +: 2]] = 1'b1;
        b_addr = {{(32-CT_ADDR_W){1'b0}}, sweep_reg[CT_ADDR_W-1:0]};
        state_next = S_SWEEP_CHK;
    end
    S_SWEEP_CHK: begin
        b_addr = {{(32-CT_ADDR_W){1'b0}}, sweep_reg[CT_ADDR_W-1:0]};
        if (sweep_entry[L_CONNTRACK_VALID_LSB] && ct_expired(sweep_entry, ts_us, cfg_timeouts)) begin
            ct_b_en[sweep_reg[CT_ADDR_W +: 2]] = 1'b1;
            b_we = 1'b1;
            b_wdata = 0;
            evo_valid_next = 1'b1;
            evo_next = event_rec(EVENT_KIND_CT_EXPIRED[7:0], 8'd0, 24'd0, 8'd0,
                                 sweep_entry[L_CONNTRACK_KEY_LSB +: 32]);
        end
        sweep_next = sweep_reg + 1'b1;
        state_next = S_IDLE;
    end

    default: state_next = S_IDLE;
    endcase

    // a drop or punt decided in this clock ends the packet
    if (drop_it || punt_it) begin
        vk_next = drop_it ? V_DROP : V_PUNT;
        reason_next = why;
        if (punt_it) begin
            oport_next = cfg_cpu_port;
            plen_next = 7'd4;
            skip_next = pre_reg;
            end_next = hq_len;
        end
        state_next = S_DONE;
    end
end

function [5:0] ct_bits(input f_new, input f_est, input f_rel, input f_rpl, input f_inv);
    ct_bits = {1'b1, f_inv, f_rpl, f_rel, f_est, f_new};
endfunction

function [127:0] event_rec(input [7:0] kind, input [7:0] why_code, input [23:0] ctx, input [7:0] ep, input [31:0] hash);
    begin
        event_rec = 0;
        event_rec[L_EVENT_KIND_LSB +: 8] = kind;
        event_rec[L_EVENT_REASON_LSB +: 8] = why_code;
        event_rec[L_EVENT_PORT_LSB +: 16] = port_reg;
        event_rec[L_EVENT_CTX_LSB +: 24] = ctx;
        event_rec[L_EVENT_EPOCH_LSB +: 8] = ep;
        event_rec[L_EVENT_HASH_LSB +: 32] = hash;
        event_rec[L_EVENT_TIME_LSB +: 32] = ts_us[31:0];
    end
endfunction

// ---------------------------------------------------------------------------
// outputs
// ---------------------------------------------------------------------------
wire done_fire = state_reg == S_DONE && desc_ready;

assign hq_ready = done_fire;

assign desc_valid = state_reg == S_DONE;
assign desc_drop = vk_reg == V_DROP;
assign desc_port = oport_reg;
assign desc_plen = plen_reg;
assign desc_prefix = vk_reg == V_PUNT ? punt_hdr : encap;
assign desc_skip = skip_reg;
assign desc_end = end_reg;
assign desc_words = hq_beats;

assign status_valid = done_fire;
assign status_verdict = vk_reg;
assign status_reason = reason_reg;
assign status_port = oport_reg;
assign status_ct_valid = ctv_reg;
assign status_ct_state = cts_reg;
assign status_rule_valid = rulev_reg;
assign status_rule = rule_reg;
assign status_cycles = cycles_reg;

assign tbl_done = cdone_reg;
assign tbl_err = cerr_reg;
assign tbl_rdata = crd_reg;

assign evt_data = evo_reg;
assign evt_valid = evo_valid_reg;

always @(posedge clk) begin
    if (pc_we) port_class[pc_waddr] <= pc_wdata;
    if (rem_we) remote_ep[rem_waddr] <= rem_wdata;
    if (cnt_drop) drop_cnt[reason_reg[4:0]] <= drop_cnt[reason_reg[4:0]] + 64'd1;
    if (cnt_punt) punt_cnt[reason_reg[2:0]] <= punt_cnt[reason_reg[2:0]] + 64'd1;
    if (state_reg == S_CMD_WAIT && tbl_write) begin
        if (tbl_select == TABLE_DROP_COUNTER[7:0] && tbl_index < DROP_CODES) drop_cnt[tbl_index[4:0]] <= tbl_wdata[63:0];
        if (tbl_select == TABLE_PUNT_COUNTER[7:0] && tbl_index < PUNT_CODES) punt_cnt[tbl_index[2:0]] <= tbl_wdata[63:0];
    end

    state_reg <= state_next; ret_reg <= ret_next; cycles_reg <= cycles_next;
    off_reg <= off_next; lim_reg <= lim_next; pre_reg <= pre_next; port_reg <= port_next;
    cls_reg <= cls_next; inner_reg <= inner_next; vlans_reg <= vlans_next; et_reg <= et_next;
    v6_reg <= v6_next; src_reg <= src_next; dst_reg <= dst_next; proto_reg <= proto_next;
    l4s_reg <= l4s_next; l4e_reg <= l4e_next; kind_reg <= kind_next;
    sport_reg <= sport_next; dport_reg <= dport_next; echo_id_reg <= echo_id_next;
    seq_reg <= seq_next; ack_reg <= ack_next; flags_reg <= flags_next; win_reg <= win_next;
    paylen_reg <= paylen_next; udp_end_reg <= udp_end_next;
    esrc_reg <= esrc_next; edst_reg <= edst_next; eproto_reg <= eproto_next; esp_reg <= esp_next; edp_reg <= edp_next;
    tun_reg <= tun_next; tctx_reg <= tctx_next; tepoch_reg <= tepoch_next; tmac_reg <= tmac_next;
    in_s_reg <= in_s_next; in_e_reg <= in_e_next;
    sctx_reg <= sctx_next; dctx_reg <= dctx_next; zone_reg <= zone_next; ovport_reg <= ovport_next;
    act_reg <= act_next; vtep_reg <= vtep_next; epoch_reg <= epoch_next;
    ce_cnt_reg <= ce_cnt_next; ce_slot_reg <= ce_slot_next;
    key_reg <= key_next; srclo_reg <= srclo_next; h16own_reg <= h16own_next;
    h32_reg <= h32_next; h16_reg <= h16_next; ent_reg <= ent_next; hway_reg <= hway_next; hit_reg <= hit_next;
    fway_reg <= fway_next; free_reg <= free_next; eway_reg <= eway_next; evict_reg <= evict_next;
    ovf_reg <= ovf_next; ovflo_reg <= ovflo_next; rechk_reg <= rechk_next; reply_reg <= reply_next;
    psrc_reg <= psrc_next; pdst_reg <= pdst_next; pport_reg <= pport_next; pv_reg <= pv_next;
    bvalid_reg <= bvalid_next; ballow_reg <= ballow_next; bprio_reg <= bprio_next; bid_reg <= bid_next; bslot_reg <= bslot_next;
    vk_reg <= vk_next; reason_reg <= reason_next; ctv_reg <= ctv_next; cts_reg <= cts_next;
    rulev_reg <= rulev_next; rule_reg <= rule_next; rslot_reg <= rslot_next;
    oport_reg <= oport_next; plen_reg <= plen_next; skip_reg <= skip_next; end_reg <= end_next; mac_reg <= mac_next;
    evp_reg <= evp_next; ev_reg <= ev_next;
    evo_valid_reg <= evo_valid_next; evo_reg <= evo_next;
    crd_reg <= crd_next; cdone_reg <= cdone_next; cerr_reg <= cerr_next; sweep_reg <= sweep_next;

    if (rst) begin
        state_reg <= S_IDLE;
        cdone_reg <= 1'b0;
        evp_reg <= 1'b0;
        evo_valid_reg <= 1'b0;
        sweep_reg <= 0;
    end
end

endmodule

`resetall
