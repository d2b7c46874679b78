// Classify, the verdict pipeline's stage 12 (docs/datapath.md §4, ztnic_engine.v):
// who sent a packet and where it goes.
//
// TX (a packet from a vport): the sender must own its source address, a vport_ctx hit
// on (ingress port, source address), else the packet is dropped (spoofed_source); the
// entry gives the source context and the conntrack zone. The destination is a local
// endpoint (a local_ep hit: the destination context and vport, action A_LOCAL), else a
// route: a remote_host hit (a full-length route) wins over the remote_ep longest-prefix
// result of stages 10-11; a route gives the VTEP and, by its kind, A_GENEVE or A_GBP
// with the route's destination context, or A_NATIVE towards `world` (context 2).
// Neither: dropped (no_route).
//
// RX (any other port class): the source context is the tag's (a Geneve or VXLAN-GBP
// tag), `world` (2) otherwise; a tag naming context 0 is dropped (tag_ctx_zero). The
// destination context, vport and zone are the local_ep entry of the inner destination
// (zero on a miss); a miss is only flagged (lepmiss), because the verdict on it waits
// for the tag MAC (stage 22, ztnic_rx_check.v).
//
// A packet already decided (s_vd done) passes unchanged. The fields this stage writes
// are zero in the PHV before it (ztnic_phv.vh, phv_live), so an output this stage does
// not write is zero. Combinational: the engine registers the PHV after it. The table
// data are the 4 ways of the bucket each table was read at (way 0 wins when several
// match, as a scan from way 0 would find).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_classify (
    // {done, verdict kind, reason} of the packet so far
    input  wire [10:0]                  s_vd,
    // port class (PORT_CLASS_*) and tunnel (TUN_*)
    input  wire [1:0]                   cls,
    input  wire [1:0]                   tun,
    // effective ingress port
    input  wire [15:0]                  port,
    // (inner) source and destination, 128-bit (IPv4 v4-mapped)
    input  wire [127:0]                 src,
    input  wire [127:0]                 dst,
    // the tag's context (RX)
    input  wire [23:0]                  tctx,

    // the remote_ep LPM result (stages 10-11)
    input  wire                         rem_hit,
    input  wire [1:0]                   rem_kind,
    input  wire [31:0]                  rem_vtep,
    input  wire [23:0]                  rem_ctx,

    // the 4 ways read from vport_ctx, local_ep and remote_host
    input  wire [4*L_VPORT_CTX_W-1:0]   vpc_rd,
    input  wire [4*L_LOCAL_EP_W-1:0]    lep_rd,
    input  wire [4*L_REMOTE_HOST_W-1:0] rh_rd,

    // the fields classify writes
    output reg  [10:0]                  m_vd,
    output reg  [23:0]                  m_sctx,
    output reg  [23:0]                  m_dctx,
    output reg  [15:0]                  m_zone,
    output reg  [15:0]                  m_ovport,
    output reg  [1:0]                   m_act,
    output reg  [31:0]                  m_vtep,
    output reg                          m_lepmiss
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

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
        if (rh_rd[wi*L_REMOTE_HOST_W + L_REMOTE_HOST_VALID_LSB]
                && rh_rd[wi*L_REMOTE_HOST_W + L_REMOTE_HOST_ADDR_LSB +: 128] == dst) begin
            rh_hit = 1'b1;
            rh_e = rh_rd[wi*L_REMOTE_HOST_W +: L_REMOTE_HOST_W];
        end
        if (vpc_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VALID_LSB]
                && vpc_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_VPORT_LSB +: 16] == port
                && vpc_rd[wi*L_VPORT_CTX_W + L_VPORT_CTX_ADDR_LSB +: 128] == src) begin
            vpc_hit = 1'b1;
            vpc_e = vpc_rd[wi*L_VPORT_CTX_W +: L_VPORT_CTX_W];
        end
        if (lep_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_VALID_LSB]
                && lep_rd[wi*L_LOCAL_EP_W + L_LOCAL_EP_ADDR_LSB +: 128] == dst) begin
            lep_hit = 1'b1;
            lep_e = lep_rd[wi*L_LOCAL_EP_W +: L_LOCAL_EP_W];
        end
    end
end

// the route: a remote_host hit (a full-length route) wins over the remote_ep LPM
wire route_hit = rh_hit || rem_hit;
wire [1:0] route_kind = rh_hit ? rh_e[L_REMOTE_HOST_KIND_LSB +: 2] : rem_kind;
wire [31:0] route_vtep = rh_hit ? rh_e[L_REMOTE_HOST_VTEP_LSB +: 32] : rem_vtep;
wire [23:0] route_ctx = rh_hit ? rh_e[L_REMOTE_HOST_CTX_LSB +: 24] : rem_ctx;

wire is_tagged = tun == TUN_GENEVE || tun == TUN_GBP;

always @* begin
    m_vd = s_vd;
    m_sctx = 24'd0;
    m_dctx = 24'd0;
    m_zone = 16'd0;
    m_ovport = 16'd0;
    m_act = 2'd0;
    m_vtep = 32'd0;
    m_lepmiss = 1'b0;
    if (!s_vd[10]) begin
        if (cls == PORT_CLASS_VPORT[1:0]) begin
            if (!vpc_hit) begin
                m_vd = vd(1'b0, DROP_SPOOFED_SOURCE);
            end else begin
                m_sctx = vpc_e[L_VPORT_CTX_CTX_LSB +: 24];
                m_zone = vpc_e[L_VPORT_CTX_ZONE_LSB +: 16];
                if (lep_hit) begin
                    m_dctx = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
                    m_ovport = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
                    m_act = A_LOCAL;
                end else if (route_hit) begin
                    m_vtep = route_vtep;
                    case (route_kind)
                        REMOTE_KIND_GENEVE[1:0]: begin
                            m_act = A_GENEVE; m_dctx = route_ctx;
                        end
                        REMOTE_KIND_VXLAN_GBP[1:0]: begin
                            m_act = A_GBP; m_dctx = route_ctx;
                        end
                        default: begin
                            m_act = A_NATIVE; m_dctx = 24'd2;
                        end
                    endcase
                end else begin
                    m_vd = vd(1'b0, DROP_NO_ROUTE);
                end
            end
        end else begin
            m_sctx = is_tagged ? tctx : 24'd2;
            if (is_tagged && tctx == 0) begin
                m_vd = vd(1'b0, DROP_TAG_CTX_ZERO);
            end
            // a local_ep miss is judged after the tag MAC (stage 22)
            m_lepmiss = !lep_hit;
            m_dctx = lep_e[L_LOCAL_EP_CTX_LSB +: 24];
            m_ovport = lep_e[L_LOCAL_EP_VPORT_LSB +: 16];
            m_zone = lep_e[L_LOCAL_EP_ZONE_LSB +: 16];
        end
    end
end

endmodule

`resetall
