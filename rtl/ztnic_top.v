// ztnic datapath top level: AXI4-Stream in (frames from vports, uplinks and the CPU
// port, the port in tuser), AXI4-Stream out (the port in tuser; punts leave by the CPU
// port with a 4-byte packet_in header), AXI4-Lite control (rtl/regmap.toml) and a
// verdict side-band for telemetry and tests.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_top #(
    // Width of AXI4-Stream tdata in bits (64..512, a power of two)
    parameter DATA_W = 512,
    // Width of tkeep
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser (the port number)
    parameter USER_W = 16,
    // log2 of the frame FIFO depth in beats (must hold two frames of the largest
    // config.max_frame, 16384 bytes: the ingress cuts a frame at half the FIFO)
    parameter DATA_FIFO_LOG2 = 9,
    // log2 of the header queue depth (frames waiting for a verdict)
    parameter HDR_FIFO_LOG2 = 4,
    // log2 of the verdict descriptor queue depth
    parameter DESC_FIFO_LOG2 = 4,
    // log2 of the port_class table size
    parameter PORT_CLASS_LOG2 = 8,
    // log2 of buckets per way of the exact-match tables
    parameter VPORT_CTX_LOG2 = 6,
    parameter LOCAL_EP_LOG2 = 6,
    parameter CTX_EPOCH_LOG2 = 6,
    parameter POLICY_LOG2 = 6,
    // Entries of the remote_ep LPM table
    parameter REMOTE_EP_N = 16,
    // log2 of buckets per way of remote_host (the full-length routes)
    parameter REMOTE_HOST_LOG2 = 6,
    // log2 of the largest conntrack buckets per way
    parameter CT_LOG2_MAX = 10,
    // log2 of ct_overflow buckets per way
    parameter CT_OVF_LOG2 = 4,
    // log2 of the event FIFO depth
    parameter EVENT_FIFO_LOG2 = 6
) (
    input  wire                clk,
    input  wire                rst,

    // time in microseconds from the board's timestamp unit
    input  wire [63:0]         ts_us,

    input  wire [DATA_W-1:0]   s_axis_tdata,
    input  wire [KEEP_W-1:0]   s_axis_tkeep,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                s_axis_tlast,
    input  wire [USER_W-1:0]   s_axis_tuser,

    output wire [DATA_W-1:0]   m_axis_tdata,
    output wire [KEEP_W-1:0]   m_axis_tkeep,
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast,
    output wire [USER_W-1:0]   m_axis_tuser,

    input  wire [15:0]         s_axil_awaddr,
    input  wire [2:0]          s_axil_awprot,
    input  wire                s_axil_awvalid,
    output wire                s_axil_awready,
    input  wire [31:0]         s_axil_wdata,
    input  wire [3:0]          s_axil_wstrb,
    input  wire                s_axil_wvalid,
    output wire                s_axil_wready,
    output wire [1:0]          s_axil_bresp,
    output wire                s_axil_bvalid,
    input  wire                s_axil_bready,
    input  wire [15:0]         s_axil_araddr,
    input  wire [2:0]          s_axil_arprot,
    input  wire                s_axil_arvalid,
    output wire                s_axil_arready,
    output wire [31:0]         s_axil_rdata,
    output wire [1:0]          s_axil_rresp,
    output wire                s_axil_rvalid,
    input  wire                s_axil_rready,

    // verdict side-band, one pulse per packet
    output wire                status_valid,
    output wire [1:0]          status_verdict,
    output wire [7:0]          status_reason,
    output wire [USER_W-1:0]   status_port,
    output wire                status_ct_valid,
    output wire [5:0]          status_ct_state,
    output wire                status_rule_valid,
    output wire [31:0]         status_rule,
    output wire [15:0]         status_cycles
);

localparam HDR_BYTES = 320;
localparam TBL_WORDS = 24;

initial begin
    if (DATA_W < 64 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0) begin
        $error("ztnic_top: DATA_W must be a power of two in 64..512");
        $finish;
    end
    if ((1 << DATA_FIFO_LOG2) * KEEP_W < 2 * 16384) begin
        $error("ztnic_top: DATA_FIFO_LOG2 too small to hold two 16384-byte frames (the largest config.max_frame)");
        $finish;
    end
end

// ---- configuration ----
wire [15:0] cfg_uplink_port, cfg_cpu_port;
wire [31:0] cfg_local_vtep_ip;
wire [47:0] cfg_local_mac, cfg_gateway_mac;
wire [23:0] cfg_vni;
wire cfg_auth;
wire [127:0] cfg_auth_key;
wire [4:0] cfg_ct_log2;
wire [15:0] cfg_policy_gen;
wire [4:0] cfg_tcp_wscale;
wire [14:0] cfg_max_frame;
wire [64*16-1:0] cfg_timeouts;

wire tbl_req, tbl_write, tbl_done, tbl_err;
wire [7:0] tbl_select;
wire [31:0] tbl_index;
wire [32*TBL_WORDS-1:0] tbl_wdata, tbl_rdata;
wire [127:0] evt_data;
wire evt_valid;
wire stat_rx, stat_tx;

ztnic_ctrl #(
    .DATA_W(DATA_W),
    .PORT_CLASS_LOG2(PORT_CLASS_LOG2),
    .VPORT_CTX_LOG2(VPORT_CTX_LOG2),
    .LOCAL_EP_LOG2(LOCAL_EP_LOG2),
    .CTX_EPOCH_LOG2(CTX_EPOCH_LOG2),
    .REMOTE_EP_N(REMOTE_EP_N),
    .REMOTE_HOST_LOG2(REMOTE_HOST_LOG2),
    .POLICY_LOG2(POLICY_LOG2),
    .CT_LOG2_MAX(CT_LOG2_MAX),
    .CT_OVF_LOG2(CT_OVF_LOG2),
    .TBL_WORDS(TBL_WORDS),
    .EVENT_FIFO_LOG2(EVENT_FIFO_LOG2)
) ctrl (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .cfg_uplink_port(cfg_uplink_port), .cfg_cpu_port(cfg_cpu_port), .cfg_local_vtep_ip(cfg_local_vtep_ip),
    .cfg_local_mac(cfg_local_mac), .cfg_gateway_mac(cfg_gateway_mac), .cfg_vni(cfg_vni),
    .cfg_auth(cfg_auth), .cfg_auth_key(cfg_auth_key), .cfg_ct_log2(cfg_ct_log2),
    .cfg_policy_gen(cfg_policy_gen), .cfg_tcp_wscale(cfg_tcp_wscale), .cfg_timeouts(cfg_timeouts),
    .cfg_max_frame(cfg_max_frame),
    .tbl_req(tbl_req), .tbl_write(tbl_write), .tbl_select(tbl_select), .tbl_index(tbl_index),
    .tbl_wdata(tbl_wdata), .tbl_done(tbl_done), .tbl_err(tbl_err), .tbl_rdata(tbl_rdata),
    .evt_data(evt_data), .evt_valid(evt_valid),
    .stat_rx(stat_rx), .stat_tx(stat_tx), .stat_verdict(status_valid)
);

// ---- ingress: frame FIFO and header queue ----
wire [DATA_W-1:0] fifo_wr_data, fifo_rd_data;
wire fifo_wr_valid, fifo_wr_ready, fifo_rd_valid, fifo_rd_ready;
wire [8*HDR_BYTES-1:0] hdr_in;
wire [15:0] hdr_in_len, hdr_in_beats;
wire [USER_W-1:0] hdr_in_port;
wire hdr_in_oversize, hdr_in_valid, hdr_in_ready;

ztnic_ingress #(
    .DATA_W(DATA_W), .KEEP_W(KEEP_W), .USER_W(USER_W), .HDR_BYTES(HDR_BYTES),
    .FIFO_BEATS(1 << DATA_FIFO_LOG2)
) ingress (
    .clk(clk), .rst(rst), .cfg_max_frame(cfg_max_frame),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast), .s_axis_tuser(s_axis_tuser),
    .data_wr(fifo_wr_data), .data_wr_valid(fifo_wr_valid), .data_wr_ready(fifo_wr_ready),
    .hdr_data(hdr_in), .hdr_len(hdr_in_len), .hdr_port(hdr_in_port), .hdr_beats(hdr_in_beats),
    .hdr_oversize(hdr_in_oversize), .hdr_valid(hdr_in_valid), .hdr_ready(hdr_in_ready),
    .frame_done(stat_rx)
);

/* verilator lint_off PINCONNECTEMPTY */
ztnic_fifo #(.WIDTH(DATA_W), .DEPTH_LOG2(DATA_FIFO_LOG2)) frame_fifo (
    .clk(clk), .rst(rst),
    .s_data(fifo_wr_data), .s_valid(fifo_wr_valid), .s_ready(fifo_wr_ready),
    .m_data(fifo_rd_data), .m_valid(fifo_rd_valid), .m_ready(fifo_rd_ready),
    .count()
);

localparam HQ_W = 8 * HDR_BYTES + 16 + USER_W + 16 + 1;
wire [HQ_W-1:0] hq_out;
wire hq_valid, hq_ready;

ztnic_fifo #(.WIDTH(HQ_W), .DEPTH_LOG2(HDR_FIFO_LOG2)) header_fifo (
    .clk(clk), .rst(rst),
    .s_data({hdr_in, hdr_in_len, hdr_in_port, hdr_in_beats, hdr_in_oversize}), .s_valid(hdr_in_valid), .s_ready(hdr_in_ready),
    .m_data(hq_out), .m_valid(hq_valid), .m_ready(hq_ready),
    .count()
);
/* verilator lint_on PINCONNECTEMPTY */

// ---- verdict pipeline ----
wire desc_drop, desc_valid, desc_ready;
wire [USER_W-1:0] desc_port;
wire [6:0] desc_plen;
wire [511:0] desc_prefix;
wire [15:0] desc_skip, desc_end, desc_words;

ztnic_engine #(
    .USER_W(USER_W), .HDR_BYTES(HDR_BYTES), .PORT_CLASS_LOG2(PORT_CLASS_LOG2),
    .VPORT_CTX_LOG2(VPORT_CTX_LOG2), .LOCAL_EP_LOG2(LOCAL_EP_LOG2), .CTX_EPOCH_LOG2(CTX_EPOCH_LOG2),
    .POLICY_LOG2(POLICY_LOG2), .REMOTE_EP_N(REMOTE_EP_N), .REMOTE_HOST_LOG2(REMOTE_HOST_LOG2),
    .CT_LOG2_MAX(CT_LOG2_MAX),
    .CT_OVF_LOG2(CT_OVF_LOG2), .TBL_WORDS(TBL_WORDS)
) engine (
    .clk(clk), .rst(rst), .ts_us(ts_us),
    .hq_hdr(hq_out[HQ_W-1 -: 8*HDR_BYTES]), .hq_len(hq_out[1+16+USER_W+16-1 -: 16]),
    .hq_port(hq_out[1+USER_W+16-1 -: USER_W]), .hq_beats(hq_out[16:1]), .hq_oversize(hq_out[0]),
    .hq_valid(hq_valid), .hq_ready(hq_ready),
    .desc_drop(desc_drop), .desc_port(desc_port), .desc_plen(desc_plen), .desc_prefix(desc_prefix),
    .desc_skip(desc_skip), .desc_end(desc_end), .desc_words(desc_words),
    .desc_valid(desc_valid), .desc_ready(desc_ready),
    .status_valid(status_valid), .status_verdict(status_verdict), .status_reason(status_reason),
    .status_port(status_port), .status_ct_valid(status_ct_valid), .status_ct_state(status_ct_state),
    .status_rule_valid(status_rule_valid), .status_rule(status_rule), .status_cycles(status_cycles),
    .cfg_uplink_port(cfg_uplink_port), .cfg_cpu_port(cfg_cpu_port), .cfg_local_vtep_ip(cfg_local_vtep_ip),
    .cfg_local_mac(cfg_local_mac), .cfg_gateway_mac(cfg_gateway_mac), .cfg_vni(cfg_vni),
    .cfg_auth(cfg_auth), .cfg_auth_key(cfg_auth_key), .cfg_ct_log2(cfg_ct_log2),
    .cfg_policy_gen(cfg_policy_gen), .cfg_tcp_wscale(cfg_tcp_wscale), .cfg_timeouts(cfg_timeouts),
    .tbl_req(tbl_req), .tbl_write(tbl_write), .tbl_select(tbl_select), .tbl_index(tbl_index),
    .tbl_wdata(tbl_wdata), .tbl_done(tbl_done), .tbl_err(tbl_err), .tbl_rdata(tbl_rdata),
    .evt_data(evt_data), .evt_valid(evt_valid)
);

// ---- descriptor queue and egress ----
localparam DQ_W = 1 + USER_W + 7 + 512 + 16 + 16 + 16;
wire [DQ_W-1:0] dq_out;
wire dq_valid, dq_ready;

/* verilator lint_off PINCONNECTEMPTY */
ztnic_fifo #(.WIDTH(DQ_W), .DEPTH_LOG2(DESC_FIFO_LOG2)) desc_fifo (
    .clk(clk), .rst(rst),
    .s_data({desc_drop, desc_port, desc_plen, desc_prefix, desc_skip, desc_end, desc_words}),
    .s_valid(desc_valid), .s_ready(desc_ready),
    .m_data(dq_out), .m_valid(dq_valid), .m_ready(dq_ready),
    .count()
);
/* verilator lint_on PINCONNECTEMPTY */

ztnic_egress #(
    .DATA_W(DATA_W), .KEEP_W(KEEP_W), .USER_W(USER_W), .PREFIX_BYTES(64)
) egress (
    .clk(clk), .rst(rst),
    .desc_drop(dq_out[DQ_W-1]), .desc_port(dq_out[DQ_W-2 -: USER_W]),
    .desc_plen(dq_out[DQ_W-1-USER_W-1 -: 7]), .desc_prefix(dq_out[48 +: 512]),
    .desc_skip(dq_out[32 +: 16]), .desc_end(dq_out[16 +: 16]), .desc_words(dq_out[15:0]),
    .desc_valid(dq_valid), .desc_ready(dq_ready),
    .data_rd(fifo_rd_data), .data_rd_valid(fifo_rd_valid), .data_rd_ready(fifo_rd_ready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast), .m_axis_tuser(m_axis_tuser),
    .frame_done(stat_tx)
);

endmodule

`resetall
