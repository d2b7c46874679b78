// AXI4-Lite clock-domain crossing: a slave port in the s_clk domain, a master port in
// the m_clk domain, the two clocks unrelated.
//
// Each direction is a handshake synchronizer (bundled data with two-phase toggle
// flags): the write path collects AW and W on the slave side into registers, then
// toggles a request flag; the master side sees the flag change through a
// ztnic_sync_bit chain, copies the held address and data (stable since the toggle) into
// its own registers and runs the transaction; it stores the response and toggles an
// acknowledge flag back, through another synchronizer, upon which the slave side copies
// the response and presents B. The read path works the same way with AR and R. Only
// the toggle flags pass through synchronizers; every other signal that crosses is a
// register held constant from before its flag toggles until after the other side has
// copied it, so no combinational path crosses and no multi-bit value is sampled while
// it changes (constrain the crossing register-to-register paths with
// set_max_delay -datapath_only of one destination period).
//
// One write and one read are in flight at a time (independently of each other); a
// transaction costs about 2 * SYNC_STAGES clocks of each domain plus the master's own
// latency. Both resets must be asserted together (from one source, synchronized into
// each domain); a reset of one side alone during a transaction loses it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_axil_cdc #(
    // Width of the address in bits (1..64)
    parameter ADDR_W = 16,
    // Width of the data in bits (8, 16, 32 or 64)
    parameter DATA_W = 32,
    // Width of wstrb (one bit per data byte)
    parameter STRB_W = DATA_W / 8,
    // Flip-flops in each flag synchronizer (at least 2)
    parameter SYNC_STAGES = 2
) (
    // slave side (the requester's clock domain)
    input  wire              s_clk,
    input  wire              s_rst,

    input  wire [ADDR_W-1:0] s_axil_awaddr,
    input  wire [2:0]        s_axil_awprot,
    input  wire              s_axil_awvalid,
    output wire              s_axil_awready,
    input  wire [DATA_W-1:0] s_axil_wdata,
    input  wire [STRB_W-1:0] s_axil_wstrb,
    input  wire              s_axil_wvalid,
    output wire              s_axil_wready,
    output wire [1:0]        s_axil_bresp,
    output wire              s_axil_bvalid,
    input  wire              s_axil_bready,
    input  wire [ADDR_W-1:0] s_axil_araddr,
    input  wire [2:0]        s_axil_arprot,
    input  wire              s_axil_arvalid,
    output wire              s_axil_arready,
    output wire [DATA_W-1:0] s_axil_rdata,
    output wire [1:0]        s_axil_rresp,
    output wire              s_axil_rvalid,
    input  wire              s_axil_rready,

    // master side (the register block's clock domain)
    input  wire              m_clk,
    input  wire              m_rst,

    output wire [ADDR_W-1:0] m_axil_awaddr,
    output wire [2:0]        m_axil_awprot,
    output wire              m_axil_awvalid,
    input  wire              m_axil_awready,
    output wire [DATA_W-1:0] m_axil_wdata,
    output wire [STRB_W-1:0] m_axil_wstrb,
    output wire              m_axil_wvalid,
    input  wire              m_axil_wready,
    input  wire [1:0]        m_axil_bresp,
    input  wire              m_axil_bvalid,
    output wire              m_axil_bready,
    output wire [ADDR_W-1:0] m_axil_araddr,
    output wire [2:0]        m_axil_arprot,
    output wire              m_axil_arvalid,
    input  wire              m_axil_arready,
    input  wire [DATA_W-1:0] m_axil_rdata,
    input  wire [1:0]        m_axil_rresp,
    input  wire              m_axil_rvalid,
    output wire              m_axil_rready
);

initial begin
    if (ADDR_W < 1 || ADDR_W > 64) begin
        $error("ztnic_axil_cdc: ADDR_W must be in 1..64");
        $finish;
    end
    if (DATA_W != 8 && DATA_W != 16 && DATA_W != 32 && DATA_W != 64) begin
        $error("ztnic_axil_cdc: DATA_W must be 8, 16, 32 or 64");
        $finish;
    end
    if (STRB_W * 8 != DATA_W) begin
        $error("ztnic_axil_cdc: STRB_W must be DATA_W / 8");
        $finish;
    end
    if (SYNC_STAGES < 2) begin
        $error("ztnic_axil_cdc: SYNC_STAGES must be at least 2");
        $finish;
    end
end

// ---------------------------------------------------------------- write path ----

// slave side: the held request, its toggle flag, the response
reg aw_held_reg = 1'b0, aw_held_next;
reg w_held_reg = 1'b0, w_held_next;
reg s_wr_busy_reg = 1'b0, s_wr_busy_next;
reg s_wr_req_reg = 1'b0, s_wr_req_next;
reg s_wr_ack_seen_reg = 1'b0, s_wr_ack_seen_next;
reg s_bvalid_reg = 1'b0, s_bvalid_next;
reg [1:0] s_bresp_reg = 2'd0, s_bresp_next;
reg [ADDR_W-1:0] s_awaddr_reg = {ADDR_W{1'b0}}, s_awaddr_next;
reg [2:0] s_awprot_reg = 3'd0, s_awprot_next;
reg [DATA_W-1:0] s_wdata_reg = {DATA_W{1'b0}}, s_wdata_next;
reg [STRB_W-1:0] s_wstrb_reg = {STRB_W{1'b0}}, s_wstrb_next;

// master side: the transaction in progress, the stored response, its toggle flag
reg m_wr_busy_reg = 1'b0, m_wr_busy_next;
reg m_wr_req_seen_reg = 1'b0, m_wr_req_seen_next;
reg m_wr_ack_reg = 1'b0, m_wr_ack_next;
reg m_awvalid_reg = 1'b0, m_awvalid_next;
reg m_wvalid_reg = 1'b0, m_wvalid_next;
reg [1:0] m_bresp_reg = 2'd0, m_bresp_next;
reg [ADDR_W-1:0] m_awaddr_reg = {ADDR_W{1'b0}}, m_awaddr_next;
reg [2:0] m_awprot_reg = 3'd0, m_awprot_next;
reg [DATA_W-1:0] m_wdata_reg = {DATA_W{1'b0}}, m_wdata_next;
reg [STRB_W-1:0] m_wstrb_reg = {STRB_W{1'b0}}, m_wstrb_next;

wire m_wr_req_sync;
wire s_wr_ack_sync;

ztnic_sync_bit #(.WIDTH(1), .STAGES(SYNC_STAGES)) wr_req_sync (
    .clk(m_clk), .rst(m_rst), .in(s_wr_req_reg), .out(m_wr_req_sync)
);

ztnic_sync_bit #(.WIDTH(1), .STAGES(SYNC_STAGES)) wr_ack_sync (
    .clk(s_clk), .rst(s_rst), .in(m_wr_ack_reg), .out(s_wr_ack_sync)
);

assign s_axil_awready = !aw_held_reg;
assign s_axil_wready = !w_held_reg;
assign s_axil_bresp = s_bresp_reg;
assign s_axil_bvalid = s_bvalid_reg;

assign m_axil_awaddr = m_awaddr_reg;
assign m_axil_awprot = m_awprot_reg;
assign m_axil_awvalid = m_awvalid_reg;
assign m_axil_wdata = m_wdata_reg;
assign m_axil_wstrb = m_wstrb_reg;
assign m_axil_wvalid = m_wvalid_reg;
assign m_axil_bready = m_wr_busy_reg;

always @* begin
    aw_held_next = aw_held_reg;
    w_held_next = w_held_reg;
    s_wr_busy_next = s_wr_busy_reg;
    s_wr_req_next = s_wr_req_reg;
    s_wr_ack_seen_next = s_wr_ack_seen_reg;
    s_bvalid_next = s_bvalid_reg;
    s_bresp_next = s_bresp_reg;
    s_awaddr_next = s_awaddr_reg;
    s_awprot_next = s_awprot_reg;
    s_wdata_next = s_wdata_reg;
    s_wstrb_next = s_wstrb_reg;

    if (s_axil_awvalid && !aw_held_reg) begin
        aw_held_next = 1'b1;
        s_awaddr_next = s_axil_awaddr;
        s_awprot_next = s_axil_awprot;
    end
    if (s_axil_wvalid && !w_held_reg) begin
        w_held_next = 1'b1;
        s_wdata_next = s_axil_wdata;
        s_wstrb_next = s_axil_wstrb;
    end
    if (aw_held_reg && w_held_reg && !s_wr_busy_reg) begin
        // the held registers stay unchanged until B is taken
        s_wr_req_next = !s_wr_req_reg;
        s_wr_busy_next = 1'b1;
    end
    if (s_wr_busy_reg && !s_bvalid_reg && s_wr_ack_sync != s_wr_ack_seen_reg) begin
        // m_bresp_reg has been stable since before the acknowledge toggled
        s_wr_ack_seen_next = !s_wr_ack_seen_reg;
        s_bvalid_next = 1'b1;
        s_bresp_next = m_bresp_reg;
    end
    if (s_bvalid_reg && s_axil_bready) begin
        s_bvalid_next = 1'b0;
        s_wr_busy_next = 1'b0;
        aw_held_next = 1'b0;
        w_held_next = 1'b0;
    end
end

always @* begin
    m_wr_busy_next = m_wr_busy_reg;
    m_wr_req_seen_next = m_wr_req_seen_reg;
    m_wr_ack_next = m_wr_ack_reg;
    m_awvalid_next = m_awvalid_reg;
    m_wvalid_next = m_wvalid_reg;
    m_bresp_next = m_bresp_reg;
    m_awaddr_next = m_awaddr_reg;
    m_awprot_next = m_awprot_reg;
    m_wdata_next = m_wdata_reg;
    m_wstrb_next = m_wstrb_reg;

    if (!m_wr_busy_reg && m_wr_req_sync != m_wr_req_seen_reg) begin
        // the slave side's held registers have been stable since before the request toggled
        m_wr_req_seen_next = !m_wr_req_seen_reg;
        m_wr_busy_next = 1'b1;
        m_awvalid_next = 1'b1;
        m_wvalid_next = 1'b1;
        m_awaddr_next = s_awaddr_reg;
        m_awprot_next = s_awprot_reg;
        m_wdata_next = s_wdata_reg;
        m_wstrb_next = s_wstrb_reg;
    end
    if (m_awvalid_reg && m_axil_awready) begin
        m_awvalid_next = 1'b0;
    end
    if (m_wvalid_reg && m_axil_wready) begin
        m_wvalid_next = 1'b0;
    end
    if (m_wr_busy_reg && m_axil_bvalid) begin
        m_bresp_next = m_axil_bresp;
        m_wr_ack_next = !m_wr_ack_reg;
        m_wr_busy_next = 1'b0;
    end
end

always @(posedge s_clk) begin
    aw_held_reg <= aw_held_next;
    w_held_reg <= w_held_next;
    s_wr_busy_reg <= s_wr_busy_next;
    s_wr_req_reg <= s_wr_req_next;
    s_wr_ack_seen_reg <= s_wr_ack_seen_next;
    s_bvalid_reg <= s_bvalid_next;
    s_bresp_reg <= s_bresp_next;
    s_awaddr_reg <= s_awaddr_next;
    s_awprot_reg <= s_awprot_next;
    s_wdata_reg <= s_wdata_next;
    s_wstrb_reg <= s_wstrb_next;
    if (s_rst) begin
        aw_held_reg <= 1'b0;
        w_held_reg <= 1'b0;
        s_wr_busy_reg <= 1'b0;
        s_wr_req_reg <= 1'b0;
        s_wr_ack_seen_reg <= 1'b0;
        s_bvalid_reg <= 1'b0;
    end
end

always @(posedge m_clk) begin
    m_wr_busy_reg <= m_wr_busy_next;
    m_wr_req_seen_reg <= m_wr_req_seen_next;
    m_wr_ack_reg <= m_wr_ack_next;
    m_awvalid_reg <= m_awvalid_next;
    m_wvalid_reg <= m_wvalid_next;
    m_bresp_reg <= m_bresp_next;
    m_awaddr_reg <= m_awaddr_next;
    m_awprot_reg <= m_awprot_next;
    m_wdata_reg <= m_wdata_next;
    m_wstrb_reg <= m_wstrb_next;
    if (m_rst) begin
        m_wr_busy_reg <= 1'b0;
        m_wr_req_seen_reg <= 1'b0;
        m_wr_ack_reg <= 1'b0;
        m_awvalid_reg <= 1'b0;
        m_wvalid_reg <= 1'b0;
    end
end

// ----------------------------------------------------------------- read path ----

reg ar_held_reg = 1'b0, ar_held_next;
reg s_rd_busy_reg = 1'b0, s_rd_busy_next;
reg s_rd_req_reg = 1'b0, s_rd_req_next;
reg s_rd_ack_seen_reg = 1'b0, s_rd_ack_seen_next;
reg s_rvalid_reg = 1'b0, s_rvalid_next;
reg [1:0] s_rresp_reg = 2'd0, s_rresp_next;
reg [DATA_W-1:0] s_rdata_reg = {DATA_W{1'b0}}, s_rdata_next;
reg [ADDR_W-1:0] s_araddr_reg = {ADDR_W{1'b0}}, s_araddr_next;
reg [2:0] s_arprot_reg = 3'd0, s_arprot_next;

reg m_rd_busy_reg = 1'b0, m_rd_busy_next;
reg m_rd_req_seen_reg = 1'b0, m_rd_req_seen_next;
reg m_rd_ack_reg = 1'b0, m_rd_ack_next;
reg m_arvalid_reg = 1'b0, m_arvalid_next;
reg [1:0] m_rresp_reg = 2'd0, m_rresp_next;
reg [DATA_W-1:0] m_rdata_reg = {DATA_W{1'b0}}, m_rdata_next;
reg [ADDR_W-1:0] m_araddr_reg = {ADDR_W{1'b0}}, m_araddr_next;
reg [2:0] m_arprot_reg = 3'd0, m_arprot_next;

wire m_rd_req_sync;
wire s_rd_ack_sync;

ztnic_sync_bit #(.WIDTH(1), .STAGES(SYNC_STAGES)) rd_req_sync (
    .clk(m_clk), .rst(m_rst), .in(s_rd_req_reg), .out(m_rd_req_sync)
);

ztnic_sync_bit #(.WIDTH(1), .STAGES(SYNC_STAGES)) rd_ack_sync (
    .clk(s_clk), .rst(s_rst), .in(m_rd_ack_reg), .out(s_rd_ack_sync)
);

assign s_axil_arready = !ar_held_reg;
assign s_axil_rdata = s_rdata_reg;
assign s_axil_rresp = s_rresp_reg;
assign s_axil_rvalid = s_rvalid_reg;

assign m_axil_araddr = m_araddr_reg;
assign m_axil_arprot = m_arprot_reg;
assign m_axil_arvalid = m_arvalid_reg;
assign m_axil_rready = m_rd_busy_reg;

always @* begin
    ar_held_next = ar_held_reg;
    s_rd_busy_next = s_rd_busy_reg;
    s_rd_req_next = s_rd_req_reg;
    s_rd_ack_seen_next = s_rd_ack_seen_reg;
    s_rvalid_next = s_rvalid_reg;
    s_rresp_next = s_rresp_reg;
    s_rdata_next = s_rdata_reg;
    s_araddr_next = s_araddr_reg;
    s_arprot_next = s_arprot_reg;

    if (s_axil_arvalid && !ar_held_reg) begin
        ar_held_next = 1'b1;
        s_araddr_next = s_axil_araddr;
        s_arprot_next = s_axil_arprot;
    end
    if (ar_held_reg && !s_rd_busy_reg) begin
        s_rd_req_next = !s_rd_req_reg;
        s_rd_busy_next = 1'b1;
    end
    if (s_rd_busy_reg && !s_rvalid_reg && s_rd_ack_sync != s_rd_ack_seen_reg) begin
        // m_rdata_reg and m_rresp_reg have been stable since before the acknowledge toggled
        s_rd_ack_seen_next = !s_rd_ack_seen_reg;
        s_rvalid_next = 1'b1;
        s_rdata_next = m_rdata_reg;
        s_rresp_next = m_rresp_reg;
    end
    if (s_rvalid_reg && s_axil_rready) begin
        s_rvalid_next = 1'b0;
        s_rd_busy_next = 1'b0;
        ar_held_next = 1'b0;
    end
end

always @* begin
    m_rd_busy_next = m_rd_busy_reg;
    m_rd_req_seen_next = m_rd_req_seen_reg;
    m_rd_ack_next = m_rd_ack_reg;
    m_arvalid_next = m_arvalid_reg;
    m_rresp_next = m_rresp_reg;
    m_rdata_next = m_rdata_reg;
    m_araddr_next = m_araddr_reg;
    m_arprot_next = m_arprot_reg;

    if (!m_rd_busy_reg && m_rd_req_sync != m_rd_req_seen_reg) begin
        m_rd_req_seen_next = !m_rd_req_seen_reg;
        m_rd_busy_next = 1'b1;
        m_arvalid_next = 1'b1;
        m_araddr_next = s_araddr_reg;
        m_arprot_next = s_arprot_reg;
    end
    if (m_arvalid_reg && m_axil_arready) begin
        m_arvalid_next = 1'b0;
    end
    if (m_rd_busy_reg && m_axil_rvalid) begin
        m_rdata_next = m_axil_rdata;
        m_rresp_next = m_axil_rresp;
        m_rd_ack_next = !m_rd_ack_reg;
        m_rd_busy_next = 1'b0;
    end
end

always @(posedge s_clk) begin
    ar_held_reg <= ar_held_next;
    s_rd_busy_reg <= s_rd_busy_next;
    s_rd_req_reg <= s_rd_req_next;
    s_rd_ack_seen_reg <= s_rd_ack_seen_next;
    s_rvalid_reg <= s_rvalid_next;
    s_rresp_reg <= s_rresp_next;
    s_rdata_reg <= s_rdata_next;
    s_araddr_reg <= s_araddr_next;
    s_arprot_reg <= s_arprot_next;
    if (s_rst) begin
        ar_held_reg <= 1'b0;
        s_rd_busy_reg <= 1'b0;
        s_rd_req_reg <= 1'b0;
        s_rd_ack_seen_reg <= 1'b0;
        s_rvalid_reg <= 1'b0;
    end
end

always @(posedge m_clk) begin
    m_rd_busy_reg <= m_rd_busy_next;
    m_rd_req_seen_reg <= m_rd_req_seen_next;
    m_rd_ack_reg <= m_rd_ack_next;
    m_arvalid_reg <= m_arvalid_next;
    m_rresp_reg <= m_rresp_next;
    m_rdata_reg <= m_rdata_next;
    m_araddr_reg <= m_araddr_next;
    m_arprot_reg <= m_arprot_next;
    if (m_rst) begin
        m_rd_busy_reg <= 1'b0;
        m_rd_req_seen_reg <= 1'b0;
        m_rd_ack_reg <= 1'b0;
        m_arvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
