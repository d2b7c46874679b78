// The flow embedded in an ICMP / ICMPv6 error (docs/datapath.md §2, the model's
// `parse_embedded`): the IP header of the packet that caused the error and the first
// 8 bytes of its L4 header, read from the header the inner parse pass hands on (it
// starts right after the ICMP header). The engine's stages 8 and 9.
//
// Two pipeline stages, each a few levels of logic: the first reads every field at both
// places it can be (the L4 header follows an IPv6 header at 40 bytes, an IPv4 header at
// IHL words) and compares the lengths; the second decides, in the model's order
// (truncated, malformed, truncated), and writes the embedded source, destination,
// protocol and ports. A packet that is not an undecided ICMP error passes unchanged.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_parse_embedded #(
    // Bytes of header carried (the captured header)
    parameter HDR_BYTES = 320
) (
    input  wire                   clk,

    // pipeline advance (all stages move together)
    input  wire                   adv,

    // the packet after the inner parse pass, and the header from its parse offset on
    input  wire [PHV_W-1:0]       s_phv,
    /* verilator lint_off UNUSEDSIGNAL */
    // only the first 72 bytes are read (an IPv4 header of 60 bytes and 6 of L4)
    input  wire [8*HDR_BYTES-1:0] s_rem,
    /* verilator lint_on UNUSEDSIGNAL */

    output wire [PHV_W-1:0]       m_phv
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

localparam [PHV_W-1:0] LIVE8 = phv_live(8, 16, 16);
localparam [PHV_W-1:0] LIVE9 = phv_live(9, 16, 16);

initial begin
    if (HDR_BYTES < 128) begin
        $error("ztnic_parse_embedded: HDR_BYTES must be at least 128");
        $finish;
    end
end

// byte k of the 72-byte window
function [7:0] w8(input [575:0] w, input integer k);
    w8 = w[8*k +: 8];
endfunction

function [15:0] w16(input [575:0] w, input integer k);
    w16 = {w[8*k +: 8], w[8*(k+1) +: 8]};
endfunction

// ---------------------------------------------------------------------------
// stage 8: fields and length checks
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] st1_phv_reg;
// an undecided ICMP error of this IP version
reg st1_act_reg, st1_v6_reg;
// IPv6: fewer than 40 + 8 bytes, not version 6; IPv4: no byte, not version 4 or IHL < 5,
// fewer than IHL words + 8 bytes
reg st1_short6_reg, st1_bad6_reg, st1_empty4_reg, st1_bad4_reg, st1_short4_reg;
reg [127:0] st1_src_reg, st1_dst_reg;
reg [7:0] st1_proto_reg;
// the embedded L4 header's type byte, ports and echo identifier (at bytes 0, 0/2, 4)
reg [7:0] st1_l4type_reg;
reg [15:0] st1_sport_reg, st1_dport_reg, st1_echo_reg;

wire [575:0] w = s_rem[575:0];
wire [3:0] ihl = w[3:0];
wire [15:0] left = s_phv[F_L4E +: 16] - s_phv[F_OFF +: 16];
// the IPv4 L4 header: IHL words in (16 places)
reg [47:0] l4v4;
integer h;
always @* begin
    l4v4 = 48'd0;
    for (h = 0; h < 16; h = h + 1) begin
        if ({28'd0, ihl} == h) begin
            l4v4 = w[8*4*h +: 48];
        end
    end
end
wire [47:0] l4 = s_phv[F_V6] ? w[8*40 +: 48] : l4v4;

always @(posedge clk) begin
    if (adv) begin
        st1_phv_reg <= s_phv & LIVE8;
        st1_act_reg <= !s_phv[F_DONE] && s_phv[F_KIND +: 3] == K_ICMP_ERR;
        st1_v6_reg <= s_phv[F_V6];
        st1_short6_reg <= left < 16'd48;
        st1_bad6_reg <= w[7:4] != 4'd6;
        st1_empty4_reg <= left == 16'd0;
        st1_bad4_reg <= w[7:4] != 4'd4 || ihl < 4'd5;
        st1_short4_reg <= left < {10'd0, ihl, 2'b00} + 16'd8;
        st1_src_reg <= s_phv[F_V6] ? b128(w[511:0], 8) : v4map(b32(w[511:0], 12));
        st1_dst_reg <= s_phv[F_V6] ? b128(w[511:0], 24) : v4map(b32(w[511:0], 16));
        st1_proto_reg <= s_phv[F_V6] ? w8(w, 6) : w8(w, 9);
        st1_l4type_reg <= l4[7:0];
        st1_sport_reg <= {l4[7:0], l4[15:8]};
        st1_dport_reg <= {l4[23:16], l4[31:24]};
        st1_echo_reg <= {l4[39:32], l4[47:40]};
    end
end

// ---------------------------------------------------------------------------
// stage 9: decision and the embedded flow
// ---------------------------------------------------------------------------
reg [PHV_W-1:0] st2_phv_reg, st2_phv_next;

reg [10:0] e_vd;
reg e_ok;
reg [15:0] e_sp, e_dp;
wire e_ports = st1_proto_reg == 8'd6 || st1_proto_reg == 8'd17;
wire e_icmp = st1_proto_reg == 8'd1 || st1_proto_reg == 8'd58;
wire e_echo = st1_v6_reg ? (st1_l4type_reg == 8'd128 || st1_l4type_reg == 8'd129)
    : (st1_l4type_reg == 8'd8 || st1_l4type_reg == 8'd0);
always @* begin
    e_vd = {st1_phv_reg[F_DONE], st1_phv_reg[F_VK +: 2], st1_phv_reg[F_WHY +: 8]};
    e_ok = 1'b0;
    if (st1_act_reg) begin
        if (st1_v6_reg ? st1_short6_reg : st1_empty4_reg) begin
            e_vd = vd(1'b0, DROP_ICMP_TRUNCATED);
        end else if (st1_v6_reg ? st1_bad6_reg : st1_bad4_reg) begin
            e_vd = vd(1'b0, DROP_ICMP_MALFORMED);
        end else if (!st1_v6_reg && st1_short4_reg) begin
            e_vd = vd(1'b0, DROP_ICMP_TRUNCATED);
        end else begin
            e_ok = 1'b1;
        end
    end
    e_sp = 16'd0;
    e_dp = 16'd0;
    if (e_ports) begin
        e_sp = st1_sport_reg;
        e_dp = st1_dport_reg;
    end else if (e_icmp && e_echo) begin
        e_sp = st1_echo_reg;
        e_dp = st1_echo_reg;
    end
end

always @* begin
    st2_phv_next = st1_phv_reg;
    st2_phv_next[F_DONE] = e_vd[10];
    st2_phv_next[F_VK +: 2] = e_vd[9:8];
    st2_phv_next[F_WHY +: 8] = e_vd[7:0];
    if (e_ok) begin
        st2_phv_next[F_ESRC +: 128] = st1_src_reg;
        st2_phv_next[F_EDST +: 128] = st1_dst_reg;
        st2_phv_next[F_EPROTO +: 8] = st1_proto_reg;
        st2_phv_next[F_ESP +: 16] = e_sp;
        st2_phv_next[F_EDP +: 16] = e_dp;
    end
end

always @(posedge clk) begin
    if (adv) begin
        st2_phv_reg <= st2_phv_next & LIVE9;
    end
end

assign m_phv = st2_phv_reg;

endmodule

`resetall
