// One pass of the header parser (docs/datapath.md §2): L2 (Ethernet and up to two VLAN
// tags), L3 (IPv4 with options and header checksum, or IPv6) and L4 (TCP, UDP,
// ICMP/ICMPv6; on the outer pass also the Geneve / VXLAN tunnel header). The verdict
// pipeline instantiates it twice: the outer frame, then the inner frame of a tunnel (a
// pass with nothing to do hands the packet on unchanged).
//
// Four pipeline stages, each at most a few levels of logic (250 MHz on UltraScale+,
// docs/rtl.md): a layer's arithmetic (lengths, offsets, field compares) is done in one
// stage and registered as flags; its decision (the verdict in the model's order, the
// fields it writes) is taken in the next, alongside the next layer's arithmetic:
//
//   stage 1  L2 arithmetic: VLAN tags, ethertype, bytes left; header aligned past L2
//   stage 2  L2 decision; L3 arithmetic; header aligned past L3; checksum partial sums
//   stage 3  L3 decision; L4 and tunnel arithmetic; header aligned past L4; checksum
//            reduced to two terms
//   stage 4  L4 decision; checksum verdict
//
// The IPv4 header checksum (a 30-word sum) runs beside the pass in stages 2-4 and is
// judged last: a packet whose IPv4 header passed the length and format checks but whose
// checksum is wrong leaves as `ipv4_bad_checksum` whatever L3 (fragment punt) or L4
// decided after it, which is the model's order. A dropped packet's other fields and
// header (`m_rem`) are not defined; later stages look only at its verdict.
//
// Each stage accepts a packet every clock. The header travels aligned: `s_rem` holds
// the captured header from the current parse offset on, and each stage shifts it by
// the bytes it consumed (a few fixed amounts per stage, never a full barrel shift), so
// every stage reads its fields at fixed positions of a 64-byte view. A stage decides
// its shift from registered flags only, so the 8*HDR_BYTES-bit multiplexer is not on
// a decision path.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_parse_pass #(
    // Bytes of header carried (the captured header)
    parameter HDR_BYTES = 320,
    // 1: the outer pass (recognises tunnels, starts from the frame); 0: the inner pass
    parameter OUTER = 1
) (
    input  wire                   clk,

    // pipeline advance (all stages move together)
    input  wire                   adv,

    input  wire [31:0]            cfg_local_vtep_ip,

    input  wire                   s_valid,
    input  wire [PHV_W-1:0]       s_phv,
    input  wire [8*HDR_BYTES-1:0] s_rem,

    output wire                   m_valid,
    output wire [PHV_W-1:0]       m_phv,
    output wire [8*HDR_BYTES-1:0] m_rem,

    // a packet is in one of the stages
    output wire                   busy
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

localparam HW = 8 * HDR_BYTES;
// the PHV bits live after each layer (L2, L3, L4 are stages 2-4 outer, 5-7 inner of the
// engine's numbering; ztnic_phv.vh)
localparam [PHV_W-1:0] LIVE_L2 = phv_live(OUTER ? 2 : 5, 16, 16);
localparam [PHV_W-1:0] LIVE_L3 = phv_live(OUTER ? 3 : 6, 16, 16);
localparam [PHV_W-1:0] LIVE_L4 = phv_live(OUTER ? 4 : 7, 16, 16);

initial begin
    if (HDR_BYTES < 128) begin
        $error("ztnic_parse_pass: HDR_BYTES must be at least 128");
        $finish;
    end
    if (OUTER != 0 && OUTER != 1) begin
        $error("ztnic_parse_pass: OUTER must be 0 or 1");
        $finish;
    end
end

function vlan_tpid(input [15:0] e);
    vlan_tpid = e == 16'h8100 || e == 16'h88a8;
endfunction

// ethertype class: 1 IPv4, 2 IPv6, 3 ARP, 0 other
function [1:0] eth_class(input [15:0] e);
    eth_class = e == 16'h0800 ? 2'd1 : e == 16'h86dd ? 2'd2 : e == 16'h0806 ? 2'd3 : 2'd0;
endfunction

// ---------------------------------------------------------------------------
// stage 1: L2 arithmetic
// ---------------------------------------------------------------------------
reg st1_valid_reg = 1'b0;
reg [PHV_W-1:0] st1_phv_reg;
reg [HW-1:0] st1_rem_reg, st1_rem_next;
// the pass works on this packet (the inner pass only on a tunnel's inner frame)
reg st1_act_reg;
// VLAN tags at bytes 12 and 16, a third at 20; the ethertype's class after them
reg st1_vl12_reg, st1_vl16_reg, st1_many_reg;
reg [1:0] st1_et_reg;
// bytes left in the frame from the parse offset
reg [15:0] st1_avail_reg;
// the L3 offset, and it plus 20 and 40 (17 bits: compared with the frame end)
reg [16:0] st1_off_reg, st1_off20_reg, st1_off40_reg;

wire [511:0] v1 = s_rem[511:0];
wire act1 = OUTER ? !s_phv[F_DONE] : (!s_phv[F_DONE] && s_phv[F_INNER]);
wire vl12 = vlan_tpid(b16(v1, 12));
wire vl16 = vlan_tpid(b16(v1, 16));
wire vl20 = vlan_tpid(b16(v1, 20));
wire [16:0] off0 = {1'b0, s_phv[F_OFF +: 16]};

always @* begin
    case ({act1, vl12, vl16})
        3'b100, 3'b101: st1_rem_next = s_rem >> (8 * 14);
        3'b110: st1_rem_next = s_rem >> (8 * 18);
        3'b111: st1_rem_next = s_rem >> (8 * 22);
        default: st1_rem_next = s_rem;
    endcase
end

always @(posedge clk) begin
    if (adv) begin
        st1_valid_reg <= s_valid;
        st1_phv_reg <= s_phv & LIVE_L2;
        st1_rem_reg <= st1_rem_next;
        st1_act_reg <= act1;
        st1_vl12_reg <= vl12;
        st1_vl16_reg <= vl12 && vl16;
        st1_many_reg <= vl12 && vl16 && vl20;
        st1_et_reg <= !vl12 ? eth_class(b16(v1, 12)) : !vl16 ? eth_class(b16(v1, 16))
            : eth_class(b16(v1, 20));
        st1_avail_reg <= s_phv[F_LIM +: 16] - s_phv[F_OFF +: 16];
        st1_off_reg <= !vl12 ? off0 + 17'd14 : !vl16 ? off0 + 17'd18 : off0 + 17'd22;
        st1_off20_reg <= !vl12 ? off0 + 17'd34 : !vl16 ? off0 + 17'd38 : off0 + 17'd42;
        st1_off40_reg <= !vl12 ? off0 + 17'd54 : !vl16 ? off0 + 17'd58 : off0 + 17'd62;
    end
end

// ---------------------------------------------------------------------------
// stage 2: L2 decision; L3 arithmetic; checksum partial sums
// ---------------------------------------------------------------------------
reg st2_valid_reg = 1'b0;
reg [PHV_W-1:0] st2_phv_reg, st2_phv_next;
reg [HW-1:0] st2_rem_reg, st2_rem_next;
reg st2_act_reg;
// L3 checks, IPv4 or IPv6 as the ethertype said: bytes left below the fixed header;
// malformed; the total / payload length beyond the frame; punt (fragment, extension)
reg st2_short_reg, st2_bad_reg, st2_over_reg, st2_punt_reg, st2_v6_reg;
reg [7:0] st2_proto_reg;
reg [127:0] st2_src_reg, st2_dst_reg;
// L4 start and end (frame offsets) and length
reg [15:0] st2_l4s_reg, st2_l4e_reg, st2_l4len_reg;
// the IPv4 header's 16-bit words in eight sums of four
reg [17:0] st2_cs_reg [0:7];

wire [511:0] v2 = st1_rem_reg[511:0];
wire [15:0] lim2 = st1_phv_reg[F_LIM +: 16];
wire [3:0] ihl2 = v2[3:0];
wire [15:0] hlen2 = {10'd0, ihl2, 2'b00};
wire [15:0] tot2 = b16(v2, 2);
wire [15:0] plen2 = b16(v2, 4);
wire [7:0] next2 = b8(v2, 6);
wire [16:0] end4 = st1_off_reg + {1'b0, tot2};
wire [16:0] end6 = st1_off40_reg + {1'b0, plen2};

// L2 decision (docs/datapath.md §2: truncation, VLANs, then the ethertype)
reg [10:0] l2_vd;
reg [1:0] l2_l3t;
always @* begin
    l2_vd = {st1_phv_reg[F_DONE], st1_phv_reg[F_VK +: 2], st1_phv_reg[F_WHY +: 8]};
    l2_l3t = st1_phv_reg[F_L3T +: 2];
    if (st1_act_reg) begin
        l2_l3t = 2'd0;
        if (st1_avail_reg < 16'd14) begin
            l2_vd = vd(1'b0, DROP_ETH_TRUNCATED);
        end else if (st1_vl12_reg && st1_avail_reg < 16'd18) begin
            l2_vd = vd(1'b0, DROP_VLAN_TRUNCATED);
        end else if (st1_vl16_reg && st1_avail_reg < 16'd22) begin
            l2_vd = vd(1'b0, DROP_VLAN_TRUNCATED);
        end else if (st1_many_reg) begin
            l2_vd = vd(1'b0, DROP_TOO_MANY_VLANS);
        end else if (st1_et_reg == 2'd1 || st1_et_reg == 2'd2) begin
            l2_l3t = st1_et_reg;
        end else if (st1_et_reg == 2'd3) begin
            l2_vd = vd(1'b1, PUNT_ARP);
        end else begin
            l2_vd = vd(1'b0, DROP_UNSUPPORTED_ETHERTYPE);
        end
    end
end

always @* begin
    st2_phv_next = st1_phv_reg;
    st2_phv_next[F_DONE] = l2_vd[10];
    st2_phv_next[F_VK +: 2] = l2_vd[9:8];
    st2_phv_next[F_WHY +: 8] = l2_vd[7:0];
    st2_phv_next[F_L3T +: 2] = l2_l3t;
    if (st1_act_reg) begin
        st2_phv_next[F_OFF +: 16] = st1_off_reg[15:0];
    end
    // past the IPv4 header (IHL words) or the IPv6 header (40 bytes)
    st2_rem_next = st1_rem_reg;
    if (st1_act_reg && st1_et_reg == 2'd1) begin
        st2_rem_next = st1_rem_reg >> {ihl2, 5'b00000};
    end else if (st1_act_reg && st1_et_reg == 2'd2) begin
        st2_rem_next = st1_rem_reg >> (8 * 40);
    end
end

// checksum: word k counts when k < 2 * IHL; four words summed as a tree of two adders
reg [15:0] cs_word [0:31];
reg [17:0] cs_part [0:7];
integer ck;
always @* begin
    for (ck = 0; ck < 32; ck = ck + 1) begin
        cs_word[ck] = (ck < 30 && ck < {27'd0, ihl2, 1'b0}) ? b16(v2, 2 * ck) : 16'd0;
    end
    for (ck = 0; ck < 8; ck = ck + 1) begin
        cs_part[ck] = ({2'd0, cs_word[4*ck]} + {2'd0, cs_word[4*ck+1]})
            + ({2'd0, cs_word[4*ck+2]} + {2'd0, cs_word[4*ck+3]});
    end
end

always @(posedge clk) begin
    if (adv) begin
        st2_valid_reg <= st1_valid_reg;
        st2_phv_reg <= st2_phv_next & LIVE_L2;
        st2_rem_reg <= st2_rem_next;
        st2_act_reg <= st1_act_reg;
        if (st1_et_reg != 2'd2) begin
            // IPv4: fixed header 20 bytes, version 4, IHL >= 5, total length >= IHL
            st2_v6_reg <= 1'b0;
            st2_short_reg <= st1_off20_reg > {1'b0, lim2};
            st2_bad_reg <= v2[7:4] != 4'd4 || ihl2 < 4'd5 || tot2 < hlen2;
            st2_over_reg <= end4 > {1'b0, lim2};
            st2_punt_reg <= v2[8*6+5] || (b16(v2, 6) & 16'h1fff) != 16'd0;
            st2_proto_reg <= b8(v2, 9);
            st2_src_reg <= v4map(b32(v2, 12));
            st2_dst_reg <= v4map(b32(v2, 16));
            st2_l4s_reg <= st1_off_reg[15:0] + hlen2;
            st2_l4e_reg <= end4[15:0];
            st2_l4len_reg <= tot2 - hlen2;
        end else begin
            // IPv6: 40 bytes, version 6, payload within the frame, no extension header
            st2_v6_reg <= 1'b1;
            st2_short_reg <= st1_off40_reg > {1'b0, lim2};
            st2_bad_reg <= v2[7:4] != 4'd6;
            st2_over_reg <= end6 > {1'b0, lim2};
            st2_punt_reg <= next2 == 0 || next2 == 43 || next2 == 44 || next2 == 50
                || next2 == 51 || next2 == 60 || next2 == 135 || next2 == 139
                || next2 == 140 || next2 == 253 || next2 == 254;
            st2_proto_reg <= next2;
            st2_src_reg <= b128(v2, 8);
            st2_dst_reg <= b128(v2, 24);
            st2_l4s_reg <= st1_off40_reg[15:0];
            st2_l4e_reg <= end6[15:0];
            st2_l4len_reg <= plen2;
        end
        for (ck = 0; ck < 8; ck = ck + 1) begin
            st2_cs_reg[ck] <= cs_part[ck];
        end
    end
end

// ---------------------------------------------------------------------------
// stage 3: L3 decision; L4 arithmetic; checksum reduced to two terms
// ---------------------------------------------------------------------------
reg st3_valid_reg = 1'b0;
reg [PHV_W-1:0] st3_phv_reg, st3_phv_next;
reg [HW-1:0] st3_rem_reg, st3_rem_next;
// the IPv4 header passed its length and format checks: its checksum decides next
reg st3_v4ok_reg;
// the checksum's two terms (each folded once)
reg [16:0] st3_csa_reg, st3_csb_reg;
// L4 checks and fields (docs/datapath.md §2), for stage 4 to decide on
reg st3_tcp_reg, st3_udp_reg, st3_icmp_reg;
reg st3_short8_reg, st3_short20_reg;
reg st3_tcp_bad_reg, st3_tcp_over_reg, st3_udp_bad_reg, st3_udp_over_reg;
reg st3_nd_reg, st3_ereq_reg, st3_erep_reg, st3_err_reg;
reg st3_tun_reg, st3_vtep_bad_reg, st3_geneve_reg;
reg st3_gen_short_reg, st3_gen_bad_reg, st3_vx_short_reg, st3_vx_bad_reg, st3_gbp_reg;
reg [15:0] st3_sport_reg, st3_dport_reg, st3_echo_reg, st3_win_reg, st3_paylen_reg;
reg [31:0] st3_seq_reg, st3_ack_reg, st3_tmac_reg;
reg [5:0] st3_flags_reg;
reg [23:0] st3_tctx_reg;
reg [7:0] st3_tepoch_reg;
reg [15:0] st3_icmp_off_reg, st3_ins_reg, st3_ine_reg;

wire [511:0] v3 = st2_rem_reg[511:0];
wire act3 = !st2_phv_reg[F_DONE] && st2_phv_reg[F_L3T +: 2] != 2'd0
    && (OUTER != 0 || st2_phv_reg[F_INNER]);

// L3 decision
reg [10:0] l3_vd;
reg l3_pass;
always @* begin
    l3_vd = {st2_phv_reg[F_DONE], st2_phv_reg[F_VK +: 2], st2_phv_reg[F_WHY +: 8]};
    l3_pass = 1'b0;
    if (act3) begin
        if (st2_short_reg || (!st2_bad_reg && st2_over_reg)) begin
            l3_vd = vd(1'b0, st2_v6_reg ? DROP_IPV6_TRUNCATED : DROP_IPV4_TRUNCATED);
        end else if (st2_bad_reg) begin
            l3_vd = vd(1'b0, st2_v6_reg ? DROP_IPV6_MALFORMED : DROP_IPV4_MALFORMED);
        end else if (st2_punt_reg) begin
            l3_vd = vd(1'b1, st2_v6_reg ? PUNT_IPV6_EXT_HEADER : PUNT_IP_FRAGMENT);
        end else begin
            l3_pass = 1'b1;
        end
    end
end

always @* begin
    st3_phv_next = st2_phv_reg;
    st3_phv_next[F_DONE] = l3_vd[10];
    st3_phv_next[F_VK +: 2] = l3_vd[9:8];
    st3_phv_next[F_WHY +: 8] = l3_vd[7:0];
    if (l3_pass) begin
        st3_phv_next[F_V6] = st2_v6_reg;
        st3_phv_next[F_PROTO +: 8] = st2_proto_reg;
        st3_phv_next[F_SRC +: 128] = st2_src_reg;
        st3_phv_next[F_DST +: 128] = st2_dst_reg;
        st3_phv_next[F_L4S +: 16] = st2_l4s_reg;
        st3_phv_next[F_L4E +: 16] = st2_l4e_reg;
        st3_phv_next[F_OFF +: 16] = st2_l4s_reg;
    end
end

// L4 arithmetic on the header as L3 left it (used only if L3 passes)
wire [7:0] ty3 = b8(v3, 0);
wire [15:0] len3 = st2_l4len_reg;
wire [15:0] doff3 = {10'd0, v3[8*12+7 -: 4], 2'b00};
wire [15:0] ulen3 = b16(v3, 4);
wire [15:0] dport3 = b16(v3, 2);
wire tcp3 = st2_proto_reg == 8'd6;
wire udp3 = st2_proto_reg == 8'd17;
wire icmp3 = (st2_proto_reg == 8'd1 && !st2_v6_reg) || (st2_proto_reg == 8'd58 && st2_v6_reg);
wire err3 = (st2_v6_reg && ty3 >= 8'd1 && ty3 <= 8'd4)
    || (!st2_v6_reg && (ty3 == 8'd3 || ty3 == 8'd4 || ty3 == 8'd5 || ty3 == 8'd11 || ty3 == 8'd12));
wire nd3 = st2_v6_reg && ty3 >= 8'd133 && ty3 <= 8'd137;
wire ereq3 = (st2_v6_reg && ty3 == 8'd128) || (!st2_v6_reg && ty3 == 8'd8);
wire erep3 = (st2_v6_reg && ty3 == 8'd129) || (!st2_v6_reg && ty3 == 8'd0);
// a UDP datagram to the tunnel ports arriving on the uplink (IPv4 outer only)
wire tun3 = OUTER != 0 && udp3 && !st2_v6_reg
    && st2_phv_reg[F_CLS +: 2] == PORT_CLASS_UPLINK[1:0]
    && (dport3 == 16'd6081 || dport3 == 16'd4789);
wire geneve3 = dport3 == 16'd6081;

// checksum: eight sums to two, each folded once (end-around carry)
wire [19:0] csa3 = ({2'd0, st2_cs_reg[0]} + {2'd0, st2_cs_reg[1]})
    + ({2'd0, st2_cs_reg[2]} + {2'd0, st2_cs_reg[3]});
wire [19:0] csb3 = ({2'd0, st2_cs_reg[4]} + {2'd0, st2_cs_reg[5]})
    + ({2'd0, st2_cs_reg[6]} + {2'd0, st2_cs_reg[7]});

always @* begin
    // past an ICMP error's header (8), UDP + Geneve (28) or UDP + VXLAN (16)
    st3_rem_next = st2_rem_reg;
    if (st2_act_reg && icmp3 && !nd3 && err3) begin
        st3_rem_next = st2_rem_reg >> (8 * 8);
    end else if (st2_act_reg && tun3 && geneve3) begin
        st3_rem_next = st2_rem_reg >> (8 * 28);
    end else if (st2_act_reg && tun3) begin
        st3_rem_next = st2_rem_reg >> (8 * 16);
    end
end

always @(posedge clk) begin
    if (adv) begin
        st3_valid_reg <= st2_valid_reg;
        st3_phv_reg <= st3_phv_next & LIVE_L3;
        st3_rem_reg <= st3_rem_next;
        st3_v4ok_reg <= act3 && !st2_v6_reg && !st2_short_reg && !st2_bad_reg && !st2_over_reg;
        st3_csa_reg <= {1'b0, csa3[15:0]} + {13'd0, csa3[19:16]};
        st3_csb_reg <= {1'b0, csb3[15:0]} + {13'd0, csb3[19:16]};
        st3_tcp_reg <= tcp3;
        st3_udp_reg <= udp3;
        st3_icmp_reg <= icmp3;
        st3_short8_reg <= len3 < 16'd8;
        st3_short20_reg <= len3 < 16'd20;
        st3_tcp_bad_reg <= doff3 < 16'd20;
        st3_tcp_over_reg <= doff3 > len3;
        st3_udp_bad_reg <= ulen3 < 16'd8;
        st3_udp_over_reg <= ulen3 > len3;
        st3_nd_reg <= nd3;
        st3_ereq_reg <= ereq3;
        st3_erep_reg <= erep3;
        st3_err_reg <= err3;
        st3_tun_reg <= tun3;
        st3_vtep_bad_reg <= st2_dst_reg != v4map(cfg_local_vtep_ip);
        st3_geneve_reg <= geneve3;
        // Geneve: UDP payload >= 20, version 0 with 3 words of options, O=0 C=1,
        // Ethernet payload, one ztnic option (class 0xfff0, type 0x81, 2 words)
        st3_gen_short_reg <= ulen3 < 16'd28;
        st3_gen_bad_reg <= b8(v3, 8) != 8'h03 || v3[8*9+7] || !v3[8*9+6]
            || b16(v3, 10) != 16'h6558 || b16(v3, 16) != 16'hfff0
            || b8(v3, 18) != 8'h81 || v3[8*19 +: 5] != 5'd2;
        // VXLAN: UDP payload >= 8, I flag set; G flag: a group policy ID
        st3_vx_short_reg <= ulen3 < 16'd16;
        st3_vx_bad_reg <= !v3[8*8+3];
        st3_gbp_reg <= v3[8*8+7];
        st3_sport_reg <= b16(v3, 0);
        st3_dport_reg <= dport3;
        st3_echo_reg <= b16(v3, 4);
        st3_seq_reg <= b32(v3, 4);
        st3_ack_reg <= b32(v3, 8);
        st3_flags_reg <= v3[8*13 +: 6];
        st3_win_reg <= b16(v3, 14);
        st3_paylen_reg <= len3 - doff3;
        st3_tctx_reg <= geneve3 ? {b8(v3, 20), b8(v3, 21), b8(v3, 22)} : {8'd0, b16(v3, 10)};
        st3_tepoch_reg <= b8(v3, 23);
        st3_tmac_reg <= b32(v3, 24);
        st3_icmp_off_reg <= st2_l4s_reg + 16'd8;
        st3_ins_reg <= st2_l4s_reg + (geneve3 ? 16'd28 : 16'd16);
        st3_ine_reg <= st2_l4s_reg + ulen3;
    end
end

// ---------------------------------------------------------------------------
// stage 4: L4 decision; checksum verdict
// ---------------------------------------------------------------------------
reg st4_valid_reg = 1'b0;
reg [PHV_W-1:0] st4_phv_reg, st4_phv_next;
reg [HW-1:0] st4_rem_reg;

wire act4 = !st3_phv_reg[F_DONE] && (OUTER != 0 || st3_phv_reg[F_INNER]);
// the one's-complement sum is 0xffff: the sum is a non-zero multiple of 0xffff
wire [17:0] cs4 = {1'b0, st3_csa_reg} + {1'b0, st3_csb_reg};
wire cs_bad = cs4 != 18'h0ffff && cs4 != 18'h1fffe;

reg [10:0] l4_vd;
reg [2:0] l4_kind;
reg [1:0] l4_tun;
reg l4_fields, l4_tcp, l4_icmp_err, l4_tunnel;
always @* begin
    l4_vd = {st3_phv_reg[F_DONE], st3_phv_reg[F_VK +: 2], st3_phv_reg[F_WHY +: 8]};
    l4_kind = st3_phv_reg[F_KIND +: 3];
    l4_tun = st3_phv_reg[F_TUN +: 2];
    // the kind and ports are written (cleared unless TCP / UDP / echo)
    l4_fields = 1'b0;
    l4_tcp = 1'b0;
    l4_icmp_err = 1'b0;
    l4_tunnel = 1'b0;
    if (act4) begin
        l4_fields = 1'b1;
        l4_kind = K_OTHER;
        if (st3_tcp_reg) begin
            if (st3_short20_reg) begin
                l4_vd = vd(1'b0, DROP_TCP_TRUNCATED);
            end else if (st3_tcp_bad_reg) begin
                l4_vd = vd(1'b0, DROP_TCP_MALFORMED);
            end else if (st3_tcp_over_reg) begin
                l4_vd = vd(1'b0, DROP_TCP_TRUNCATED);
            end else begin
                l4_kind = K_TCP;
                l4_tcp = 1'b1;
            end
        end else if (st3_udp_reg) begin
            if (st3_short8_reg) begin
                l4_vd = vd(1'b0, DROP_UDP_TRUNCATED);
            end else if (st3_udp_bad_reg) begin
                l4_vd = vd(1'b0, DROP_UDP_MALFORMED);
            end else if (st3_udp_over_reg) begin
                l4_vd = vd(1'b0, DROP_UDP_TRUNCATED);
            end else begin
                l4_kind = K_UDP;
                if (st3_tun_reg) begin
                    if (st3_vtep_bad_reg) begin
                        l4_vd = vd(1'b0, DROP_VTEP_MISMATCH);
                    end else if (st3_geneve_reg) begin
                        if (st3_gen_short_reg) begin
                            l4_vd = vd(1'b0, DROP_TUNNEL_TRUNCATED);
                        end else if (st3_gen_bad_reg) begin
                            l4_vd = vd(1'b0, DROP_GENEVE_MALFORMED);
                        end else begin
                            l4_tun = TUN_GENEVE;
                            l4_tunnel = 1'b1;
                        end
                    end else begin
                        if (st3_vx_short_reg) begin
                            l4_vd = vd(1'b0, DROP_TUNNEL_TRUNCATED);
                        end else if (st3_vx_bad_reg) begin
                            l4_vd = vd(1'b0, DROP_VXLAN_MALFORMED);
                        end else begin
                            l4_tun = st3_gbp_reg ? TUN_GBP : TUN_UNTAGGED;
                            l4_tunnel = 1'b1;
                        end
                    end
                end
            end
        end else if (st3_icmp_reg) begin
            if (st3_short8_reg) begin
                l4_vd = vd(1'b0, DROP_ICMP_TRUNCATED);
            end else if (st3_nd_reg) begin
                l4_vd = vd(1'b1, PUNT_ND);
            end else if (st3_ereq_reg) begin
                l4_kind = K_ECHO_REQ;
            end else if (st3_erep_reg) begin
                l4_kind = K_ECHO_REP;
            end else if (st3_err_reg) begin
                l4_kind = K_ICMP_ERR;
                l4_icmp_err = 1'b1;
            end else begin
                l4_kind = K_ICMP_OTHER;
            end
        end
    end
    // an IPv4 header that passed its other checks with a wrong checksum: dropped here,
    // before anything L3 or L4 decided after it
    if (st3_v4ok_reg && cs_bad) begin
        l4_vd = vd(1'b0, DROP_IPV4_BAD_CHECKSUM);
    end
end

always @* begin
    st4_phv_next = st3_phv_reg;
    st4_phv_next[F_DONE] = l4_vd[10];
    st4_phv_next[F_VK +: 2] = l4_vd[9:8];
    st4_phv_next[F_WHY +: 8] = l4_vd[7:0];
    st4_phv_next[F_KIND +: 3] = l4_kind;
    if (l4_fields) begin
        st4_phv_next[F_SPORT +: 16] = (l4_kind == K_TCP || l4_kind == K_UDP) ? st3_sport_reg : 16'd0;
        st4_phv_next[F_DPORT +: 16] = (l4_kind == K_TCP || l4_kind == K_UDP) ? st3_dport_reg : 16'd0;
        st4_phv_next[F_ECHO +: 16] = (l4_kind == K_ECHO_REQ || l4_kind == K_ECHO_REP)
            ? st3_echo_reg : 16'd0;
    end
    if (l4_tcp) begin
        st4_phv_next[F_SEQ +: 32] = st3_seq_reg;
        st4_phv_next[F_ACK +: 32] = st3_ack_reg;
        st4_phv_next[F_FLAGS +: 6] = st3_flags_reg;
        st4_phv_next[F_WIN +: 16] = st3_win_reg;
        st4_phv_next[F_PAYLEN +: 16] = st3_paylen_reg;
    end
    if (l4_icmp_err) begin
        st4_phv_next[F_OFF +: 16] = st3_icmp_off_reg;
    end
    st4_phv_next[F_TUN +: 2] = l4_tun;
    if (l4_tunnel) begin
        st4_phv_next[F_TCTX +: 24] = st3_tctx_reg;
        if (l4_tun == TUN_GENEVE) begin
            st4_phv_next[F_TEPOCH +: 8] = st3_tepoch_reg;
            st4_phv_next[F_TMAC +: 32] = st3_tmac_reg;
        end
        st4_phv_next[F_INS +: 16] = st3_ins_reg;
        st4_phv_next[F_INE +: 16] = st3_ine_reg;
        st4_phv_next[F_INNER] = 1'b1;
        st4_phv_next[F_OFF +: 16] = st3_ins_reg;
        st4_phv_next[F_LIM +: 16] = st3_ine_reg;
    end
end

always @(posedge clk) begin
    if (adv) begin
        st4_valid_reg <= st3_valid_reg;
        st4_phv_reg <= st4_phv_next & LIVE_L4;
        st4_rem_reg <= st3_rem_reg;
    end
end

assign m_valid = st4_valid_reg;
assign m_phv = st4_phv_reg;
assign m_rem = st4_rem_reg;
assign busy = st1_valid_reg || st2_valid_reg || st3_valid_reg || st4_valid_reg;

endmodule

`resetall
