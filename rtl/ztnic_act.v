// Act (docs/datapath.md §7, stage 26 of the engine): where a packet leaves and which of
// its bytes go. A TX packet from a vport goes to its local vport (A_LOCAL), natively
// out of the uplink (A_NATIVE), or out of the uplink behind a Geneve (62-byte) or
// VXLAN-GBP (50-byte) header (the tag MAC is sent only with config.auth); an RX packet
// goes to its local endpoint's vport, a tunnelled one without its outer headers (the
// inner frame's bytes only); a punted packet goes to the CPU port as received, behind
// the 4-byte punt header. Any other packet whose verdict was decided earlier (a drop,
// a packet_out of mode 0) keeps the fields it has. Purely combinational: the engine
// feeds it the stage-25 packet's fields and registers the m_* fields in stage 26.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_act (
    input  wire [15:0] cfg_uplink_port,
    input  wire [15:0] cfg_cpu_port,
    input  wire        cfg_auth,

    // the verdict so far: decided, and its kind (forward / drop / punt)
    input  wire        done,
    input  wire [1:0]  vk,
    // port class of the ingress port, the TX action, the RX tunnel kind
    input  wire [1:0]  cls,
    input  wire [1:0]  act,
    input  wire [1:0]  tun,
    // the vport of the local endpoint (TX A_LOCAL, RX)
    input  wire [15:0] ovport,
    // frame start and length as received, the inner frame's start and end (RX tunnel)
    input  wire [15:0] pre,
    input  wire [15:0] len,
    input  wire [15:0] ins,
    input  wire [15:0] ine,
    // the fields as they stand: output port, prefix bytes, first and end byte sent,
    // the tag MAC
    input  wire [15:0] oport,
    input  wire [6:0]  plen,
    input  wire [15:0] skip,
    input  wire [15:0] endp,
    input  wire [31:0] mac,

    output reg  [15:0] m_oport,
    output reg  [6:0]  m_plen,
    output reg  [15:0] m_skip,
    output reg  [15:0] m_endp,
    output reg  [31:0] m_mac
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

always @* begin
    m_oport = oport;
    m_plen = plen;
    m_skip = skip;
    m_endp = endp;
    m_mac = mac;
    if (!done) begin
        if (cls == PORT_CLASS_VPORT[1:0]) begin
            case (act)
                A_LOCAL: m_oport = ovport;
                A_NATIVE: m_oport = cfg_uplink_port;
                default: begin
                    m_oport = cfg_uplink_port;
                    m_plen = (act == A_GENEVE) ? 7'd62 : 7'd50;
                end
            endcase
            if (!cfg_auth) begin
                m_mac = 32'd0;
            end
        end else begin
            m_oport = ovport;
            if (tun != TUN_NONE) begin
                m_skip = ins;
                m_endp = ine;
            end
        end
    end else if (vk == V_PUNT) begin
        m_oport = cfg_cpu_port;
        m_plen = 7'd4;
        m_skip = pre;
        m_endp = len;
    end
end

endmodule

`resetall
