// The tunnel encapsulation header of the engine's last stage (docs/datapath.md §7):
// Ethernet + IPv4 + UDP + Geneve with the ztnic context option (62 bytes), or
// Ethernet + IPv4 + UDP + VXLAN-GBP (50 bytes), as the model's geneve_encap and
// vxlan_gbp_encap (runtime/model/src/tag.rs) write them. Byte i of the header is at
// hdr[8i +: 8]; the bytes after it are zero. Purely combinational: the engine feeds
// it the fields of the packet in its stage-26 register and hands hdr to the egress as
// the descriptor's prefix.
//
// The outer IPv4 header: DF, TTL 64, UDP, its checksum computed here; lengths are
// 16-bit and wrap as the model's do. The UDP source port carries the flow's entropy
// (0xc000 | h16[13:0], the model's tunnel_sport); the UDP checksum is zero.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_encap (
    // configuration: outer source IP and MAC, next hop MAC, the VNI
    input  wire [31:0]  cfg_local_vtep_ip,
    input  wire [47:0]  cfg_local_mac,
    input  wire [47:0]  cfg_gateway_mac,
    input  wire [23:0]  cfg_vni,

    // 1: Geneve with the context option, 0: VXLAN-GBP (group policy id ctx[15:0])
    input  wire         geneve,
    // the remote tunnel endpoint (outer destination IP)
    input  wire [31:0]  vtep,
    // the sender's context, its epoch and the tag's MAC (Geneve option)
    input  wire [23:0]  ctx,
    input  wire [7:0]   epoch,
    input  wire [31:0]  mac,
    // the flow's 16-bit conntrack hash (UDP source port entropy)
    input  wire [15:0]  h16,
    // bytes of the inner frame
    input  wire [15:0]  inner_len,

    output reg  [511:0] hdr
);

reg [15:0] udp_len, ip_len;
reg [31:0] sum;
reg [15:0] csum;
reg [15:0] sport;
always @* begin
    udp_len = 16'd8 + (geneve ? 16'd20 : 16'd8) + inner_len;
    ip_len = 16'd20 + udp_len;
    sport = 16'hc000 | (h16 & 16'h3fff);
    sum = 32'h4500 + {16'd0, ip_len} + 32'h4000 + 32'h4011
        + {16'd0, cfg_local_vtep_ip[31:16]} + {16'd0, cfg_local_vtep_ip[15:0]}
        + {16'd0, vtep[31:16]} + {16'd0, vtep[15:0]};
    sum = {16'd0, sum[15:0]} + {16'd0, sum[31:16]};
    sum = {16'd0, sum[15:0]} + {16'd0, sum[31:16]};
    csum = ~sum[15:0];
    hdr = 0;
    hdr[0 +: 48] = {cfg_gateway_mac[7:0], cfg_gateway_mac[15:8], cfg_gateway_mac[23:16],
                    cfg_gateway_mac[31:24], cfg_gateway_mac[39:32], cfg_gateway_mac[47:40]};
    hdr[48 +: 48] = {cfg_local_mac[7:0], cfg_local_mac[15:8], cfg_local_mac[23:16],
                     cfg_local_mac[31:24], cfg_local_mac[39:32], cfg_local_mac[47:40]};
    hdr[96 +: 16] = 16'h0008;
    hdr[112 +: 16] = 16'h0045;
    hdr[128 +: 16] = {ip_len[7:0], ip_len[15:8]};
    hdr[144 +: 16] = 16'h0000;
    hdr[160 +: 16] = 16'h0040;
    hdr[176 +: 16] = 16'h1140;
    hdr[192 +: 16] = {csum[7:0], csum[15:8]};
    hdr[208 +: 32] = {cfg_local_vtep_ip[7:0], cfg_local_vtep_ip[15:8], cfg_local_vtep_ip[23:16], cfg_local_vtep_ip[31:24]};
    hdr[240 +: 32] = {vtep[7:0], vtep[15:8], vtep[23:16], vtep[31:24]};
    hdr[272 +: 16] = {sport[7:0], sport[15:8]};
    hdr[288 +: 16] = geneve ? 16'hc117 : 16'hb512;
    hdr[304 +: 16] = {udp_len[7:0], udp_len[15:8]};
    hdr[320 +: 16] = 16'h0000;
    if (geneve) begin
        hdr[336 +: 32] = 32'h58654003;
        hdr[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
        hdr[400 +: 32] = 32'h0281f0ff;
        hdr[432 +: 32] = {epoch, ctx[7:0], ctx[15:8], ctx[23:16]};
        hdr[464 +: 32] = {mac[7:0], mac[15:8], mac[23:16], mac[31:24]};
    end else begin
        hdr[336 +: 32] = {ctx[7:0], ctx[15:8], 16'h0088};
        hdr[368 +: 32] = {8'h00, cfg_vni[7:0], cfg_vni[15:8], cfg_vni[23:16]};
    end
end

endmodule

`resetall
