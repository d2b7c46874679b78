// AXI4-Lite control of the datapath: the register blocks of rtl/regmap.toml
// (identification, configuration, table access window, event FIFO, statistics).
// Table accesses are handed to the pipeline, which performs them between packets on
// the control port of its RAMs; `tables.status` reads busy until the access is done.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ctrl #(
    // Values reported in the id block
    parameter DATA_W = 512,
    parameter PORT_CLASS_LOG2 = 8,
    parameter VPORT_CTX_LOG2 = 6,
    parameter LOCAL_EP_LOG2 = 6,
    parameter CTX_EPOCH_LOG2 = 6,
    parameter REMOTE_EP_N = 16,
    parameter REMOTE_HOST_LOG2 = 6,
    parameter POLICY_LOG2 = 6,
    parameter CT_LOG2_MAX = 10,
    parameter CT_OVF_LOG2 = 4,
    // Words of the table data window
    parameter TBL_WORDS = 24,
    // log2 of the event FIFO depth
    parameter EVENT_FIFO_LOG2 = 6
) (
    input  wire                     clk,
    input  wire                     rst,

    /* verilator lint_off UNUSEDSIGNAL */
    // byte address bits 1:0 and the protection types are ignored (word registers)
    input  wire [15:0]              s_axil_awaddr,
    input  wire [2:0]               s_axil_awprot,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                     s_axil_awvalid,
    output wire                     s_axil_awready,
    input  wire [31:0]              s_axil_wdata,
    input  wire [3:0]               s_axil_wstrb,
    input  wire                     s_axil_wvalid,
    output wire                     s_axil_wready,
    output wire [1:0]               s_axil_bresp,
    output wire                     s_axil_bvalid,
    input  wire                     s_axil_bready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]              s_axil_araddr,
    input  wire [2:0]               s_axil_arprot,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                     s_axil_arvalid,
    output wire                     s_axil_arready,
    output wire [31:0]              s_axil_rdata,
    output wire [1:0]               s_axil_rresp,
    output wire                     s_axil_rvalid,
    input  wire                     s_axil_rready,

    // configuration
    output wire [15:0]              cfg_uplink_port,
    output wire [15:0]              cfg_cpu_port,
    output wire [31:0]              cfg_local_vtep_ip,
    output wire [47:0]              cfg_local_mac,
    output wire [47:0]              cfg_gateway_mac,
    output wire [23:0]              cfg_vni,
    output wire                     cfg_auth,
    output wire [127:0]             cfg_auth_key,
    output wire [4:0]               cfg_ct_log2,
    output wire [15:0]              cfg_policy_gen,
    output wire [4:0]               cfg_tcp_wscale,
    // longest accepted frame in bytes, clamped to 64..16384 (the ingress cuts longer ones)
    output wire [14:0]              cfg_max_frame,
    output wire [64*16-1:0]         cfg_timeouts,

    // table access to the pipeline
    output wire                     tbl_req,
    output wire                     tbl_write,
    output wire [7:0]               tbl_select,
    output wire [31:0]              tbl_index,
    output wire [32*TBL_WORDS-1:0]  tbl_wdata,
    input  wire                     tbl_done,
    input  wire                     tbl_err,
    input  wire [32*TBL_WORDS-1:0]  tbl_rdata,

    // events from the pipeline
    input  wire [127:0]             evt_data,
    input  wire                     evt_valid,

    // statistics pulses
    input  wire                     stat_rx,
    input  wire                     stat_tx,
    input  wire                     stat_verdict
);

`include "ztnic_regmap.vh"

initial begin
    if (REG_CONFIG_AUTH_KEY_COUNT != 4) begin
        $error("ztnic_ctrl: the auth key must be 4 words (rtl/regmap.toml)");
        $finish;
    end
    if (TBL_WORDS < 1 || TBL_WORDS > REG_TABLES_DATA_COUNT) begin
        $error("ztnic_ctrl: TBL_WORDS must be in 1..REG_TABLES_DATA_COUNT");
        $finish;
    end
end

// ---- configuration registers ----
reg [31:0] uplink_port_reg = REG_CONFIG_UPLINK_PORT_RESET;
reg [31:0] cpu_port_reg = REG_CONFIG_CPU_PORT_RESET;
reg [31:0] local_vtep_ip_reg = REG_CONFIG_LOCAL_VTEP_IP_RESET;
reg [31:0] local_mac_hi_reg = REG_CONFIG_LOCAL_MAC_HI_RESET;
reg [31:0] local_mac_lo_reg = REG_CONFIG_LOCAL_MAC_LO_RESET;
reg [31:0] gateway_mac_hi_reg = REG_CONFIG_GATEWAY_MAC_HI_RESET;
reg [31:0] gateway_mac_lo_reg = REG_CONFIG_GATEWAY_MAC_LO_RESET;
reg [31:0] vni_reg = REG_CONFIG_VNI_RESET;
reg [31:0] auth_enable_reg = REG_CONFIG_AUTH_ENABLE_RESET;
reg [127:0] auth_key_reg = REG_CONFIG_AUTH_KEY_RESET;
reg [31:0] ct_buckets_log2_reg = REG_CONFIG_CT_BUCKETS_LOG2_RESET;
reg [31:0] policy_gen_reg = REG_CONFIG_POLICY_GEN_RESET;
reg [31:0] tcp_wscale_reg = REG_CONFIG_TCP_WSCALE_RESET;
reg [31:0] max_frame_reg = REG_CONFIG_MAX_FRAME_RESET;
reg [511:0] timeout_lo_reg = REG_CONFIG_TIMEOUT_LO_RESET;
reg [511:0] timeout_hi_reg = REG_CONFIG_TIMEOUT_HI_RESET;
// multi-word registers take effect at once: key words 0..2 and each timeout's low half
// are held here until key word 3 / the timeout's high half is written
reg [95:0] auth_key_hold_reg = 96'd0;
reg [511:0] timeout_lo_hold_reg = REG_CONFIG_TIMEOUT_LO_RESET;

reg [31:0] tbl_select_reg = REG_TABLES_SELECT_RESET;
reg [31:0] tbl_index_reg = REG_TABLES_INDEX_RESET;
reg [32*TBL_WORDS-1:0] tbl_data_reg = 0;
reg tbl_busy_reg = 1'b0;
reg tbl_write_reg = 1'b0;
reg tbl_err_reg = 1'b0;

reg [31:0] rx_frames_reg = 0;
reg [31:0] tx_frames_reg = 0;
reg [31:0] verdicts_reg = 0;
reg [31:0] evt_lost_reg = 0;

assign cfg_uplink_port = uplink_port_reg[15:0];
assign cfg_cpu_port = cpu_port_reg[15:0];
assign cfg_local_vtep_ip = local_vtep_ip_reg;
assign cfg_local_mac = {local_mac_hi_reg[15:0], local_mac_lo_reg};
assign cfg_gateway_mac = {gateway_mac_hi_reg[15:0], gateway_mac_lo_reg};
assign cfg_vni = vni_reg[23:0];
assign cfg_auth = auth_enable_reg[0];
assign cfg_auth_key = auth_key_reg;
assign cfg_ct_log2 = (ct_buckets_log2_reg > CT_LOG2_MAX) ? CT_LOG2_MAX[4:0] : ct_buckets_log2_reg[4:0];
assign cfg_policy_gen = policy_gen_reg[15:0];
assign cfg_tcp_wscale = (tcp_wscale_reg > 14) ? 5'd14 : tcp_wscale_reg[4:0];
// clamped in a register of its own: the ingress compares against it every beat
reg [14:0] max_frame_clamped_reg = REG_CONFIG_MAX_FRAME_RESET[14:0];
always @(posedge clk) begin
    if (max_frame_reg < 32'd64) begin
        max_frame_clamped_reg <= 15'd64;
    end else if (max_frame_reg > 32'd16384) begin
        max_frame_clamped_reg <= 15'd16384;
    end else begin
        max_frame_clamped_reg <= max_frame_reg[14:0];
    end
end
assign cfg_max_frame = max_frame_clamped_reg;

genvar t;
generate
    for (t = 0; t < 16; t = t + 1) begin : g_timeout
        assign cfg_timeouts[64*t +: 64] = {timeout_hi_reg[32*t +: 32], timeout_lo_reg[32*t +: 32]};
    end
endgenerate

assign tbl_req = tbl_busy_reg;
assign tbl_write = tbl_write_reg;
assign tbl_select = tbl_select_reg[7:0];
assign tbl_index = tbl_index_reg;
assign tbl_wdata = tbl_data_reg;

// ---- event FIFO ----
wire [127:0] evt_head;
wire evt_head_valid;
wire evt_in_ready;
wire [EVENT_FIFO_LOG2+1:0] evt_count;
reg evt_pop;

ztnic_fifo #(
    .WIDTH(128),
    .DEPTH_LOG2(EVENT_FIFO_LOG2)
) event_fifo (
    .clk(clk),
    .rst(rst),
    .s_data(evt_data),
    .s_valid(evt_valid),
    .s_ready(evt_in_ready),
    .m_data(evt_head),
    .m_valid(evt_head_valid),
    .m_ready(evt_pop),
    .count(evt_count)
);

// ---- AXI4-Lite ----
// An access is taken into registers first (address, data, strobes) and decoded in the
// next clock, so the address compare and the read multiplexer start from flip-flops:
// a write answers two clocks after its address and data, a read two clocks after its
// address.
reg bvalid_reg = 1'b0;
reg rvalid_reg = 1'b0;
reg [31:0] rdata_reg = 0;
reg wpend_reg = 1'b0;
reg rpend_reg = 1'b0;
reg [15:0] waddr_reg = 0;
reg [31:0] wdata_reg = 0;
reg [3:0] wstrb_reg = 0;
reg [15:0] raddr_reg = 0;

wire wr_take = s_axil_awvalid && s_axil_wvalid && !bvalid_reg && !wpend_reg;
wire rd_take = s_axil_arvalid && !rvalid_reg && !rpend_reg;

assign s_axil_awready = wr_take;
assign s_axil_wready = wr_take;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = rd_take;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = rvalid_reg;

// the access being decoded this clock
wire wr_fire = wpend_reg;
wire rd_fire = rpend_reg;
wire [15:0] waddr = waddr_reg;
wire [15:0] raddr = raddr_reg;

// byte-lane merge of a write into an old register value
function [31:0] merge(input [31:0] old, input [31:0] wdata, input [3:0] strb);
    integer b;
    begin
        for (b = 0; b < 4; b = b + 1) begin
            merge[8*b +: 8] = strb[b] ? wdata[8*b +: 8] : old[8*b +: 8];
        end
    end
endfunction

// `addr` is word j of an array register at `base`
function arr_hit(input [15:0] addr, input [15:0] base, input integer j, input integer stride);
    arr_hit = {16'd0, addr} == {16'd0, base} + j * stride;
endfunction

reg [31:0] rd_value;
integer ri;
always @* begin
    rd_value = 32'd0;
    case (raddr)
        REG_ID_TYPE: rd_value = BLK_ID_TYPE;
        REG_ID_VERSION: rd_value = BLK_ID_VERSION;
        REG_ID_NEXT: rd_value = BLK_ID_NEXT;
        REG_ID_DATA_WIDTH: rd_value = DATA_W;
        REG_ID_PORT_CLASS_LOG2: rd_value = PORT_CLASS_LOG2;
        REG_ID_VPORT_CTX_LOG2: rd_value = VPORT_CTX_LOG2;
        REG_ID_LOCAL_EP_LOG2: rd_value = LOCAL_EP_LOG2;
        REG_ID_CTX_EPOCH_LOG2: rd_value = CTX_EPOCH_LOG2;
        REG_ID_REMOTE_EP_ENTRIES: rd_value = REMOTE_EP_N;
        REG_ID_POLICY_LOG2: rd_value = POLICY_LOG2;
        REG_ID_POLICY_RULES_PER_KEY: rd_value = L_POLICY_RULE_COUNT;
        REG_ID_CT_LOG2_MAX: rd_value = CT_LOG2_MAX;
        REG_ID_CT_OVERFLOW_LOG2: rd_value = CT_OVF_LOG2;
        REG_ID_TABLE_WAYS: rd_value = 4;
        REG_ID_REMOTE_HOST_LOG2: rd_value = REMOTE_HOST_LOG2;

        REG_CONFIG_TYPE: rd_value = BLK_CONFIG_TYPE;
        REG_CONFIG_VERSION: rd_value = BLK_CONFIG_VERSION;
        REG_CONFIG_NEXT: rd_value = BLK_CONFIG_NEXT;
        REG_CONFIG_UPLINK_PORT: rd_value = uplink_port_reg;
        REG_CONFIG_CPU_PORT: rd_value = cpu_port_reg;
        REG_CONFIG_LOCAL_VTEP_IP: rd_value = local_vtep_ip_reg;
        REG_CONFIG_LOCAL_MAC_HI: rd_value = local_mac_hi_reg;
        REG_CONFIG_LOCAL_MAC_LO: rd_value = local_mac_lo_reg;
        REG_CONFIG_GATEWAY_MAC_HI: rd_value = gateway_mac_hi_reg;
        REG_CONFIG_GATEWAY_MAC_LO: rd_value = gateway_mac_lo_reg;
        REG_CONFIG_VNI: rd_value = vni_reg;
        REG_CONFIG_AUTH_ENABLE: rd_value = auth_enable_reg;
        REG_CONFIG_CT_BUCKETS_LOG2: rd_value = ct_buckets_log2_reg;
        REG_CONFIG_POLICY_GEN: rd_value = policy_gen_reg;
        REG_CONFIG_TCP_WSCALE: rd_value = tcp_wscale_reg;
        REG_CONFIG_MAX_FRAME: rd_value = max_frame_reg;

        REG_TABLES_TYPE: rd_value = BLK_TABLES_TYPE;
        REG_TABLES_VERSION: rd_value = BLK_TABLES_VERSION;
        REG_TABLES_NEXT: rd_value = BLK_TABLES_NEXT;
        REG_TABLES_SELECT: rd_value = tbl_select_reg;
        REG_TABLES_INDEX: rd_value = tbl_index_reg;
        REG_TABLES_STATUS: rd_value = {30'd0, tbl_err_reg, tbl_busy_reg};

        REG_EVENTS_TYPE: rd_value = BLK_EVENTS_TYPE;
        REG_EVENTS_VERSION: rd_value = BLK_EVENTS_VERSION;
        REG_EVENTS_NEXT: rd_value = BLK_EVENTS_NEXT;
        REG_EVENTS_COUNT: rd_value = {{(32-EVENT_FIFO_LOG2-2){1'b0}}, evt_count};
        REG_EVENTS_LOST: rd_value = evt_lost_reg;

        REG_STATS_TYPE: rd_value = BLK_STATS_TYPE;
        REG_STATS_VERSION: rd_value = BLK_STATS_VERSION;
        REG_STATS_NEXT: rd_value = BLK_STATS_NEXT;
        REG_STATS_RX_FRAMES: rd_value = rx_frames_reg;
        REG_STATS_TX_FRAMES: rd_value = tx_frames_reg;
        REG_STATS_VERDICTS: rd_value = verdicts_reg;
        default: rd_value = 32'd0;
    endcase
    // the array registers: an OR of the one selected word (the addresses are disjoint)
    for (ri = 0; ri < REG_CONFIG_AUTH_KEY_COUNT; ri = ri + 1) begin
        rd_value = rd_value | ({32{arr_hit(raddr, REG_CONFIG_AUTH_KEY, ri, REG_CONFIG_AUTH_KEY_STRIDE)}}
            & auth_key_reg[32*ri +: 32]);
    end
    for (ri = 0; ri < REG_CONFIG_TIMEOUT_LO_COUNT; ri = ri + 1) begin
        rd_value = rd_value | ({32{arr_hit(raddr, REG_CONFIG_TIMEOUT_LO, ri, REG_CONFIG_TIMEOUT_LO_STRIDE)}}
            & timeout_lo_reg[32*ri +: 32]);
        rd_value = rd_value | ({32{arr_hit(raddr, REG_CONFIG_TIMEOUT_HI, ri, REG_CONFIG_TIMEOUT_HI_STRIDE)}}
            & timeout_hi_reg[32*ri +: 32]);
    end
    for (ri = 0; ri < TBL_WORDS; ri = ri + 1) begin
        rd_value = rd_value | ({32{arr_hit(raddr, REG_TABLES_DATA, ri, REG_TABLES_DATA_STRIDE)}}
            & tbl_data_reg[32*ri +: 32]);
    end
    for (ri = 0; ri < REG_EVENTS_DATA_COUNT; ri = ri + 1) begin
        rd_value = rd_value | ({32{arr_hit(raddr, REG_EVENTS_DATA, ri, REG_EVENTS_DATA_STRIDE) && evt_head_valid}}
            & evt_head[32*ri +: 32]);
    end
end

integer wi;
always @(posedge clk) begin
    evt_pop <= 1'b0;
    if (bvalid_reg && s_axil_bready) begin
        bvalid_reg <= 1'b0;
    end
    if (rvalid_reg && s_axil_rready) begin
        rvalid_reg <= 1'b0;
    end
    if (rd_take) begin
        rpend_reg <= 1'b1;
        raddr_reg <= {s_axil_araddr[15:2], 2'b00};
    end
    if (wr_take) begin
        wpend_reg <= 1'b1;
        waddr_reg <= {s_axil_awaddr[15:2], 2'b00};
        wdata_reg <= s_axil_wdata;
        wstrb_reg <= s_axil_wstrb;
    end
    if (rd_fire) begin
        rpend_reg <= 1'b0;
        rvalid_reg <= 1'b1;
        rdata_reg <= rd_value;
    end
    if (wr_fire) begin
        wpend_reg <= 1'b0;
        bvalid_reg <= 1'b1;
        case (waddr)
            REG_CONFIG_UPLINK_PORT: uplink_port_reg <= merge(uplink_port_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_CPU_PORT: cpu_port_reg <= merge(cpu_port_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_LOCAL_VTEP_IP: local_vtep_ip_reg <= merge(local_vtep_ip_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_LOCAL_MAC_HI: local_mac_hi_reg <= merge(local_mac_hi_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_LOCAL_MAC_LO: local_mac_lo_reg <= merge(local_mac_lo_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_GATEWAY_MAC_HI: gateway_mac_hi_reg <= merge(gateway_mac_hi_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_GATEWAY_MAC_LO: gateway_mac_lo_reg <= merge(gateway_mac_lo_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_VNI: vni_reg <= merge(vni_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_AUTH_ENABLE: auth_enable_reg <= merge(auth_enable_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_CT_BUCKETS_LOG2: ct_buckets_log2_reg <= merge(ct_buckets_log2_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_POLICY_GEN: policy_gen_reg <= merge(policy_gen_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_TCP_WSCALE: tcp_wscale_reg <= merge(tcp_wscale_reg, wdata_reg, wstrb_reg);
            REG_CONFIG_MAX_FRAME: max_frame_reg <= merge(max_frame_reg, wdata_reg, wstrb_reg);
            // the command in progress keeps its table and index
            REG_TABLES_SELECT: if (!tbl_busy_reg) tbl_select_reg <= merge(tbl_select_reg, wdata_reg, wstrb_reg);
            REG_TABLES_INDEX: if (!tbl_busy_reg) tbl_index_reg <= merge(tbl_index_reg, wdata_reg, wstrb_reg);
            REG_TABLES_CMD: begin
                if (!tbl_busy_reg && (wdata_reg == TABLE_CMD_READ || wdata_reg == TABLE_CMD_WRITE)) begin
                    tbl_busy_reg <= 1'b1;
                    tbl_write_reg <= wdata_reg == TABLE_CMD_WRITE;
                    tbl_err_reg <= 1'b0;
                end
            end
            REG_EVENTS_POP: evt_pop <= 1'b1;
            default: ;
        endcase
        for (wi = 0; wi < REG_CONFIG_AUTH_KEY_COUNT - 1; wi = wi + 1) begin
            if (arr_hit(waddr, REG_CONFIG_AUTH_KEY, wi, REG_CONFIG_AUTH_KEY_STRIDE)) begin
                auth_key_hold_reg[32*wi +: 32] <= merge(auth_key_hold_reg[32*wi +: 32], wdata_reg, wstrb_reg);
            end
        end
        if (arr_hit(waddr, REG_CONFIG_AUTH_KEY, REG_CONFIG_AUTH_KEY_COUNT - 1, REG_CONFIG_AUTH_KEY_STRIDE)) begin
            auth_key_reg <= {merge(auth_key_reg[127:96], wdata_reg, wstrb_reg), auth_key_hold_reg};
        end
        for (wi = 0; wi < REG_CONFIG_TIMEOUT_LO_COUNT; wi = wi + 1) begin
            if (arr_hit(waddr, REG_CONFIG_TIMEOUT_LO, wi, REG_CONFIG_TIMEOUT_LO_STRIDE)) begin
                timeout_lo_hold_reg[32*wi +: 32] <= merge(timeout_lo_hold_reg[32*wi +: 32], wdata_reg, wstrb_reg);
            end
            if (arr_hit(waddr, REG_CONFIG_TIMEOUT_HI, wi, REG_CONFIG_TIMEOUT_HI_STRIDE)) begin
                timeout_hi_reg[32*wi +: 32] <= merge(timeout_hi_reg[32*wi +: 32], wdata_reg, wstrb_reg);
                timeout_lo_reg[32*wi +: 32] <= timeout_lo_hold_reg[32*wi +: 32];
            end
        end
        for (wi = 0; wi < TBL_WORDS; wi = wi + 1) begin
            if (arr_hit(waddr, REG_TABLES_DATA, wi, REG_TABLES_DATA_STRIDE) && !tbl_busy_reg) begin
                tbl_data_reg[32*wi +: 32] <= merge(tbl_data_reg[32*wi +: 32], wdata_reg, wstrb_reg);
            end
        end
    end
    if (tbl_done) begin
        tbl_busy_reg <= 1'b0;
        tbl_err_reg <= tbl_err;
        if (!tbl_write_reg && !tbl_err) begin
            tbl_data_reg <= tbl_rdata;
        end
    end
    if (evt_valid && !evt_in_ready) begin
        evt_lost_reg <= evt_lost_reg + 1;
    end
    if (stat_rx) rx_frames_reg <= rx_frames_reg + 1;
    if (stat_tx) tx_frames_reg <= tx_frames_reg + 1;
    if (stat_verdict) verdicts_reg <= verdicts_reg + 1;

    if (rst) begin
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
        evt_pop <= 1'b0;
        uplink_port_reg <= REG_CONFIG_UPLINK_PORT_RESET;
        cpu_port_reg <= REG_CONFIG_CPU_PORT_RESET;
        local_vtep_ip_reg <= REG_CONFIG_LOCAL_VTEP_IP_RESET;
        local_mac_hi_reg <= REG_CONFIG_LOCAL_MAC_HI_RESET;
        local_mac_lo_reg <= REG_CONFIG_LOCAL_MAC_LO_RESET;
        gateway_mac_hi_reg <= REG_CONFIG_GATEWAY_MAC_HI_RESET;
        gateway_mac_lo_reg <= REG_CONFIG_GATEWAY_MAC_LO_RESET;
        vni_reg <= REG_CONFIG_VNI_RESET;
        auth_enable_reg <= REG_CONFIG_AUTH_ENABLE_RESET;
        auth_key_reg <= REG_CONFIG_AUTH_KEY_RESET;
        ct_buckets_log2_reg <= REG_CONFIG_CT_BUCKETS_LOG2_RESET;
        policy_gen_reg <= REG_CONFIG_POLICY_GEN_RESET;
        tcp_wscale_reg <= REG_CONFIG_TCP_WSCALE_RESET;
        max_frame_reg <= REG_CONFIG_MAX_FRAME_RESET;
        timeout_lo_reg <= REG_CONFIG_TIMEOUT_LO_RESET;
        timeout_lo_hold_reg <= REG_CONFIG_TIMEOUT_LO_RESET;
        auth_key_hold_reg <= 96'd0;
        timeout_hi_reg <= REG_CONFIG_TIMEOUT_HI_RESET;
        tbl_select_reg <= REG_TABLES_SELECT_RESET;
        tbl_index_reg <= REG_TABLES_INDEX_RESET;
        tbl_busy_reg <= 1'b0;
        tbl_err_reg <= 1'b0;
        rx_frames_reg <= 0;
        tx_frames_reg <= 0;
        verdicts_reg <= 0;
        evt_lost_reg <= 0;
    end
end

endmodule

`resetall
