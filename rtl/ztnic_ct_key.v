// Conntrack keys, the verdict pipeline's stage 13 (docs/datapath.md §5,
// ztnic_engine.v): the direction-normalised key of the packet's own flow, and the key
// conntrack looks up (the embedded flow's for an ICMP error).
//
// A key is the 39 bytes zone ‖ proto ‖ lo address ‖ hi address ‖ lo port ‖ hi port,
// big-endian (byte 0 in the top bits), the lower (address, port) endpoint first:
// the model's CtKey::of_flow and CtKey::bytes. The flow's ports are the TCP/UDP ports,
// the echo identifier both ways for an ICMP echo request or reply, and zero for
// anything else. `m_srclo` says whether the packet's source is the lower endpoint of
// its own key. For an ICMP error the lookup key is that of the flow the error quotes
// (its ports as parsed); for every other packet it is the packet's own key.
//
// Combinational: the engine registers the PHV after it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ct_key (
    // the packet's kind (K_*), conntrack zone, protocol and addresses
    input  wire [2:0]   kind,
    input  wire [15:0]  zone,
    input  wire [7:0]   proto,
    input  wire [127:0] src,
    input  wire [127:0] dst,
    // TCP/UDP ports and the ICMP echo identifier
    input  wire [15:0]  sport,
    input  wire [15:0]  dport,
    input  wire [15:0]  echo,

    // the flow an ICMP error quotes: protocol, addresses, ports
    input  wire [7:0]   eproto,
    input  wire [127:0] esrc,
    input  wire [127:0] edst,
    input  wire [15:0]  esp,
    input  wire [15:0]  edp,

    // the packet's own key, whether its source is the lower endpoint, the lookup key
    output reg  [311:0] m_okey,
    output reg          m_srclo,
    output reg  [311:0] m_key
);

`include "ztnic_phv.vh"

reg [15:0] pa, pb;
always @* begin
    pa = (kind == K_TCP || kind == K_UDP) ? sport : echo;
    pb = (kind == K_TCP || kind == K_UDP) ? dport : echo;
    if (kind != K_TCP && kind != K_UDP && kind != K_ECHO_REQ && kind != K_ECHO_REP) begin
        pa = 0; pb = 0;
    end
    m_srclo = {src, pa} <= {dst, pb};
    if (m_srclo) begin
        m_okey = {zone, proto, src, dst, pa, pb};
    end else begin
        m_okey = {zone, proto, dst, src, pb, pa};
    end
    m_key = m_okey;
    if (kind == K_ICMP_ERR) begin
        if ({esrc, esp} <= {edst, edp}) begin
            m_key = {zone, eproto, esrc, edst, esp, edp};
        end else begin
            m_key = {zone, eproto, edst, esrc, edp, esp};
        end
    end
end

endmodule

`resetall
