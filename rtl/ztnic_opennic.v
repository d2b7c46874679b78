// ztnic as the user logic of the AMD/Xilinx OpenNIC shell's 250 MHz box, for one
// interface: one QDMA physical function (H2C from the host, C2H to the host) and one
// CMAC port (RX from the packet adapter, TX to it). The port names and widths are the
// shell's (src/box_250mhz/box_250mhz.sv, as p2p_250mhz uses them), so the wrapper is
// instantiated by the user plugin's user_plugin_250mhz_inst.vh in place of p2p_250mhz.
//
// Ports of ztnic (its tuser):
//   RX from the CMAC adapter   -> port UPLINK_PORT (the shell's tuser_* are ignored)
//   H2C from the host          -> port tuser_dst if it is not 0, else VPORT_DEFAULT;
//                                 the stock QDMA subsystem sends tuser_dst = 0 (every
//                                 host frame is vport VPORT_DEFAULT); a shell that maps
//                                 QDMA queues to vports or to the controller names the
//                                 ztnic port in tuser_dst (a vport number, or the CPU
//                                 port for the controller's packet-outs)
//   out by port UPLINK_PORT    -> TX to the CMAC adapter, tuser_src = 1 << FUNC_ID,
//                                 tuser_dst = 1 << (6 + CMAC_ID) (the adapter drops any
//                                 other destination)
//   out by any other port      -> C2H to the host, tuser_src = 0 (made by ztnic),
//                                 tuser_dst = the ztnic port (vport or CPU port), the
//                                 field a queue-mapping C2H reads to pick the queue; the
//                                 stock QDMA subsystem reads only tuser_size
// tuser_size is the frame length on every beat of a frame (the shell requires it with
// tvalid); ztnic's output learns a frame's length only at its end, so the output
// goes through a store-and-forward FIFO (ztnic_opennic_out, 2**OUT_DEPTH_LOG2 beats).
// The two inputs are merged a frame at a time, round robin (ztnic_opennic_arb).
//
// Clocks: the datapath runs on axis_aclk (250 MHz); AXI4-Lite is in the shell's
// axil_aclk domain (125 MHz) and crosses to axis_aclk through ztnic_axil_cdc (the
// register map is ztnic's, the low 16 address bits; the shell has no wstrb or prot:
// all bytes are written). mod_rstn (active low, axil_aclk domain) resets both domains;
// mod_rst_done rises once both are out of reset.
//
// Time (µs) for conntrack: with TS_EXTERNAL = 0 (the default, for the shell) a
// counter of axis_aclk clocks divided by CLK_PER_US; with TS_EXTERNAL = 1 the ts_us
// input (axis_aclk domain), which simulation drives.
//
// The verdict side-band status_* (axis_aclk domain) is not part of the shell's box;
// leave it open there, or route it to telemetry.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_opennic #(
    // ztnic port of frames from the CMAC adapter; frames out by this port go to TX
    parameter UPLINK_PORT = 0,
    // ztnic port of host frames whose tuser_dst is 0
    parameter VPORT_DEFAULT = 1,
    // QDMA physical function of this interface (0..3)
    parameter FUNC_ID = 0,
    // CMAC port of this interface (0..9)
    parameter CMAC_ID = 0,
    // 0: time from a counter of axis_aclk clocks; 1: time from the ts_us input
    parameter TS_EXTERNAL = 0,
    // axis_aclk clocks per microsecond (the time counter's divider)
    parameter CLK_PER_US = 250,
    // log2 of the beats of the output frame FIFO (frames longer are dropped)
    parameter OUT_DEPTH_LOG2 = 9,
    // Flip-flops in each clock-domain synchronizer (at least 2)
    parameter SYNC_STAGES = 2
) (
    // AXI4-Lite, axil_aclk domain
    input  wire          s_axil_awvalid,
    input  wire [31:0]   s_axil_awaddr,
    output wire          s_axil_awready,
    input  wire          s_axil_wvalid,
    input  wire [31:0]   s_axil_wdata,
    output wire          s_axil_wready,
    output wire          s_axil_bvalid,
    output wire [1:0]    s_axil_bresp,
    input  wire          s_axil_bready,
    input  wire          s_axil_arvalid,
    input  wire [31:0]   s_axil_araddr,
    output wire          s_axil_arready,
    output wire          s_axil_rvalid,
    output wire [31:0]   s_axil_rdata,
    output wire [1:0]    s_axil_rresp,
    input  wire          s_axil_rready,

    // host to card (QDMA H2C), axis_aclk domain
    input  wire          s_axis_qdma_h2c_tvalid,
    input  wire [511:0]  s_axis_qdma_h2c_tdata,
    input  wire [63:0]   s_axis_qdma_h2c_tkeep,
    input  wire          s_axis_qdma_h2c_tlast,
    input  wire [15:0]   s_axis_qdma_h2c_tuser_size,
    input  wire [15:0]   s_axis_qdma_h2c_tuser_src,
    input  wire [15:0]   s_axis_qdma_h2c_tuser_dst,
    output wire          s_axis_qdma_h2c_tready,

    // card to host (QDMA C2H)
    output wire          m_axis_qdma_c2h_tvalid,
    output wire [511:0]  m_axis_qdma_c2h_tdata,
    output wire [63:0]   m_axis_qdma_c2h_tkeep,
    output wire          m_axis_qdma_c2h_tlast,
    output wire [15:0]   m_axis_qdma_c2h_tuser_size,
    output wire [15:0]   m_axis_qdma_c2h_tuser_src,
    output wire [15:0]   m_axis_qdma_c2h_tuser_dst,
    input  wire          m_axis_qdma_c2h_tready,

    // to the wire (CMAC adapter TX)
    output wire          m_axis_adap_tx_250mhz_tvalid,
    output wire [511:0]  m_axis_adap_tx_250mhz_tdata,
    output wire [63:0]   m_axis_adap_tx_250mhz_tkeep,
    output wire          m_axis_adap_tx_250mhz_tlast,
    output wire [15:0]   m_axis_adap_tx_250mhz_tuser_size,
    output wire [15:0]   m_axis_adap_tx_250mhz_tuser_src,
    output wire [15:0]   m_axis_adap_tx_250mhz_tuser_dst,
    input  wire          m_axis_adap_tx_250mhz_tready,

    // from the wire (CMAC adapter RX)
    input  wire          s_axis_adap_rx_250mhz_tvalid,
    input  wire [511:0]  s_axis_adap_rx_250mhz_tdata,
    input  wire [63:0]   s_axis_adap_rx_250mhz_tkeep,
    input  wire          s_axis_adap_rx_250mhz_tlast,
    input  wire [15:0]   s_axis_adap_rx_250mhz_tuser_size,
    input  wire [15:0]   s_axis_adap_rx_250mhz_tuser_src,
    input  wire [15:0]   s_axis_adap_rx_250mhz_tuser_dst,
    output wire          s_axis_adap_rx_250mhz_tready,

    // reset (active low) and its completion, axil_aclk domain
    input  wire          mod_rstn,
    output wire          mod_rst_done,

    // time in µs (axis_aclk domain), used when TS_EXTERNAL = 1
    input  wire [63:0]   ts_us,

    // verdict side-band (axis_aclk domain), see ztnic_top
    output wire          status_valid,
    output wire [1:0]    status_verdict,
    output wire [7:0]    status_reason,
    output wire [15:0]   status_port,
    output wire          status_ct_valid,
    output wire [5:0]    status_ct_state,
    output wire          status_rule_valid,
    output wire [31:0]   status_rule,
    output wire [15:0]   status_cycles,

    input  wire          axil_aclk,
    input  wire          axis_aclk
);

initial begin
    if (UPLINK_PORT < 0 || UPLINK_PORT > 65535) begin
        $error("ztnic_opennic: UPLINK_PORT must be in 0..65535");
        $finish;
    end
    if (VPORT_DEFAULT < 0 || VPORT_DEFAULT > 65535 || VPORT_DEFAULT == UPLINK_PORT) begin
        $error("ztnic_opennic: VPORT_DEFAULT must be in 0..65535 and not UPLINK_PORT");
        $finish;
    end
    if (FUNC_ID < 0 || FUNC_ID > 3) begin
        $error("ztnic_opennic: FUNC_ID must be in 0..3");
        $finish;
    end
    if (CMAC_ID < 0 || CMAC_ID > 9) begin
        $error("ztnic_opennic: CMAC_ID must be in 0..9");
        $finish;
    end
    if (TS_EXTERNAL != 0 && TS_EXTERNAL != 1) begin
        $error("ztnic_opennic: TS_EXTERNAL must be 0 or 1");
        $finish;
    end
    if (CLK_PER_US < 1 || CLK_PER_US > 65535) begin
        $error("ztnic_opennic: CLK_PER_US must be in 1..65535");
        $finish;
    end
    if (OUT_DEPTH_LOG2 < 2 || OUT_DEPTH_LOG2 > 10) begin
        $error("ztnic_opennic: OUT_DEPTH_LOG2 must be in 2..10");
        $finish;
    end
    if (SYNC_STAGES < 2) begin
        $error("ztnic_opennic: SYNC_STAGES must be at least 2");
        $finish;
    end
end

localparam [15:0] UPLINK = UPLINK_PORT;
localparam [15:0] VPORT = VPORT_DEFAULT;

// ---- resets ----
wire axil_rst, axis_rst, axis_up_sync;

ztnic_sync_reset #(.STAGES(SYNC_STAGES)) axil_rst_sync (
    .clk(axil_aclk), .rst_in(!mod_rstn), .rst_out(axil_rst)
);

// a register of its own drives the axis_aclk reset synchronizer's asynchronous input
reg axis_rst_req_reg = 1'b1;

always @(posedge axil_aclk) begin
    axis_rst_req_reg <= axil_rst;
end

ztnic_sync_reset #(.STAGES(SYNC_STAGES)) axis_rst_sync (
    .clk(axis_aclk), .rst_in(axis_rst_req_reg), .rst_out(axis_rst)
);

ztnic_sync_bit #(.WIDTH(1), .STAGES(SYNC_STAGES)) axis_up (
    .clk(axil_aclk), .rst(axil_rst), .in(!axis_rst), .out(axis_up_sync)
);

reg rst_done_reg = 1'b0;

always @(posedge axil_aclk) begin
    rst_done_reg <= axis_up_sync;
    if (axil_rst) begin
        rst_done_reg <= 1'b0;
    end
end

assign mod_rst_done = rst_done_reg;

// ---- time ----
wire [63:0] ts_now;

generate
if (TS_EXTERNAL) begin : g_ts_ext
    assign ts_now = ts_us;
end else begin : g_ts_int
    reg [15:0] ts_div_reg = 16'd0;
    reg [63:0] ts_reg = 64'd0;

    always @(posedge axis_aclk) begin
        if (ts_div_reg == CLK_PER_US[15:0] - 16'd1) begin
            ts_div_reg <= 16'd0;
            ts_reg <= ts_reg + 64'd1;
        end else begin
            ts_div_reg <= ts_div_reg + 16'd1;
        end
        if (axis_rst) begin
            ts_div_reg <= 16'd0;
            ts_reg <= 64'd0;
        end
    end

    assign ts_now = ts_reg;

    wire unused_ts = ^ts_us;
end
endgenerate

// ---- AXI4-Lite crossing ----
wire [15:0] ctl_awaddr, ctl_araddr;
wire [2:0] ctl_awprot, ctl_arprot;
wire ctl_awvalid, ctl_awready, ctl_wvalid, ctl_wready, ctl_bvalid, ctl_bready;
wire ctl_arvalid, ctl_arready, ctl_rvalid, ctl_rready;
wire [31:0] ctl_wdata, ctl_rdata;
wire [3:0] ctl_wstrb;
wire [1:0] ctl_bresp, ctl_rresp;

ztnic_axil_cdc #(
    .ADDR_W(16), .DATA_W(32), .STRB_W(4), .SYNC_STAGES(SYNC_STAGES)
) axil_cdc (
    .s_clk(axil_aclk), .s_rst(axil_rst),
    .s_axil_awaddr(s_axil_awaddr[15:0]), .s_axil_awprot(3'd0), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(4'hf),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr[15:0]),
    .s_axil_arprot(3'd0), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .m_clk(axis_aclk), .m_rst(axis_rst),
    .m_axil_awaddr(ctl_awaddr), .m_axil_awprot(ctl_awprot), .m_axil_awvalid(ctl_awvalid),
    .m_axil_awready(ctl_awready), .m_axil_wdata(ctl_wdata), .m_axil_wstrb(ctl_wstrb),
    .m_axil_wvalid(ctl_wvalid), .m_axil_wready(ctl_wready), .m_axil_bresp(ctl_bresp),
    .m_axil_bvalid(ctl_bvalid), .m_axil_bready(ctl_bready), .m_axil_araddr(ctl_araddr),
    .m_axil_arprot(ctl_arprot), .m_axil_arvalid(ctl_arvalid), .m_axil_arready(ctl_arready),
    .m_axil_rdata(ctl_rdata), .m_axil_rresp(ctl_rresp), .m_axil_rvalid(ctl_rvalid),
    .m_axil_rready(ctl_rready)
);

// ---- inputs: H2C and RX merged a frame at a time ----
wire [15:0] h2c_port = s_axis_qdma_h2c_tuser_dst != 16'd0 ? s_axis_qdma_h2c_tuser_dst : VPORT;

wire [511:0] in_tdata;
wire [63:0] in_tkeep;
wire in_tvalid, in_tready, in_tlast;
wire [15:0] in_tuser;

ztnic_opennic_arb #(.DATA_W(512), .KEEP_W(64), .USER_W(16)) in_arb (
    .clk(axis_aclk), .rst(axis_rst),
    .s0_axis_tdata(s_axis_qdma_h2c_tdata), .s0_axis_tkeep(s_axis_qdma_h2c_tkeep),
    .s0_axis_tvalid(s_axis_qdma_h2c_tvalid), .s0_axis_tready(s_axis_qdma_h2c_tready),
    .s0_axis_tlast(s_axis_qdma_h2c_tlast), .s0_axis_tuser(h2c_port),
    .s1_axis_tdata(s_axis_adap_rx_250mhz_tdata), .s1_axis_tkeep(s_axis_adap_rx_250mhz_tkeep),
    .s1_axis_tvalid(s_axis_adap_rx_250mhz_tvalid), .s1_axis_tready(s_axis_adap_rx_250mhz_tready),
    .s1_axis_tlast(s_axis_adap_rx_250mhz_tlast), .s1_axis_tuser(UPLINK),
    .m_axis_tdata(in_tdata), .m_axis_tkeep(in_tkeep), .m_axis_tvalid(in_tvalid),
    .m_axis_tready(in_tready), .m_axis_tlast(in_tlast), .m_axis_tuser(in_tuser)
);

// the length and source the shell gives are not needed: ztnic counts tkeep
wire unused_in = ^{s_axis_qdma_h2c_tuser_size, s_axis_qdma_h2c_tuser_src,
    s_axis_adap_rx_250mhz_tuser_size, s_axis_adap_rx_250mhz_tuser_src,
    s_axis_adap_rx_250mhz_tuser_dst, s_axil_awaddr[31:16], s_axil_araddr[31:16]};

// ---- the datapath ----
wire [511:0] out_tdata;
wire [63:0] out_tkeep;
wire out_tvalid, out_tready, out_tlast;
wire [15:0] out_tuser;

ztnic_top core (
    .clk(axis_aclk), .rst(axis_rst), .ts_us(ts_now),
    .s_axis_tdata(in_tdata), .s_axis_tkeep(in_tkeep), .s_axis_tvalid(in_tvalid),
    .s_axis_tready(in_tready), .s_axis_tlast(in_tlast), .s_axis_tuser(in_tuser),
    .m_axis_tdata(out_tdata), .m_axis_tkeep(out_tkeep), .m_axis_tvalid(out_tvalid),
    .m_axis_tready(out_tready), .m_axis_tlast(out_tlast), .m_axis_tuser(out_tuser),
    .s_axil_awaddr(ctl_awaddr), .s_axil_awprot(ctl_awprot), .s_axil_awvalid(ctl_awvalid),
    .s_axil_awready(ctl_awready), .s_axil_wdata(ctl_wdata), .s_axil_wstrb(ctl_wstrb),
    .s_axil_wvalid(ctl_wvalid), .s_axil_wready(ctl_wready), .s_axil_bresp(ctl_bresp),
    .s_axil_bvalid(ctl_bvalid), .s_axil_bready(ctl_bready), .s_axil_araddr(ctl_araddr),
    .s_axil_arprot(ctl_arprot), .s_axil_arvalid(ctl_arvalid), .s_axil_arready(ctl_arready),
    .s_axil_rdata(ctl_rdata), .s_axil_rresp(ctl_rresp), .s_axil_rvalid(ctl_rvalid),
    .s_axil_rready(ctl_rready),
    .status_valid(status_valid), .status_verdict(status_verdict), .status_reason(status_reason),
    .status_port(status_port), .status_ct_valid(status_ct_valid), .status_ct_state(status_ct_state),
    .status_rule_valid(status_rule_valid), .status_rule(status_rule), .status_cycles(status_cycles)
);

// ---- output: lengths learnt, frames split by port ----
wire [15:0] tx_port;
wire drop_oversize;

ztnic_opennic_out #(
    .DATA_W(512), .KEEP_W(64), .USER_W(16), .DEPTH_LOG2(OUT_DEPTH_LOG2), .META_LOG2(5),
    .UPLINK_PORT(UPLINK_PORT)
) out_fifo (
    .clk(axis_aclk), .rst(axis_rst),
    .s_axis_tdata(out_tdata), .s_axis_tkeep(out_tkeep), .s_axis_tvalid(out_tvalid),
    .s_axis_tready(out_tready), .s_axis_tlast(out_tlast), .s_axis_tuser(out_tuser),
    .m_tx_axis_tdata(m_axis_adap_tx_250mhz_tdata), .m_tx_axis_tkeep(m_axis_adap_tx_250mhz_tkeep),
    .m_tx_axis_tvalid(m_axis_adap_tx_250mhz_tvalid), .m_tx_axis_tready(m_axis_adap_tx_250mhz_tready),
    .m_tx_axis_tlast(m_axis_adap_tx_250mhz_tlast), .m_tx_axis_tuser_size(m_axis_adap_tx_250mhz_tuser_size),
    .m_tx_axis_tuser_port(tx_port),
    .m_c2h_axis_tdata(m_axis_qdma_c2h_tdata), .m_c2h_axis_tkeep(m_axis_qdma_c2h_tkeep),
    .m_c2h_axis_tvalid(m_axis_qdma_c2h_tvalid), .m_c2h_axis_tready(m_axis_qdma_c2h_tready),
    .m_c2h_axis_tlast(m_axis_qdma_c2h_tlast), .m_c2h_axis_tuser_size(m_axis_qdma_c2h_tuser_size),
    .m_c2h_axis_tuser_port(m_axis_qdma_c2h_tuser_dst),
    .drop_oversize(drop_oversize)
);

assign m_axis_adap_tx_250mhz_tuser_src = 16'h1 << FUNC_ID;
assign m_axis_adap_tx_250mhz_tuser_dst = 16'h1 << (6 + CMAC_ID);
assign m_axis_qdma_c2h_tuser_src = 16'h0;

// the uplink's port number is known; an oversize drop has no counter in the shell
wire unused_out = ^{tx_port, drop_oversize};

endmodule

`resetall
