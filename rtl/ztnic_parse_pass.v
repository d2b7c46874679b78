// One pass of the header parser (docs/datapath.md §2) as three pipeline stages:
// L2 (Ethernet and up to two VLAN tags), L3 (IPv4 with options and checksum, or IPv6)
// and L4 (TCP, UDP, ICMP/ICMPv6; on the outer pass also the Geneve / VXLAN tunnel
// header). The verdict pipeline instantiates it twice: the outer frame, then the inner
// frame of a tunnel (a pass with nothing to do hands the packet on unchanged).
//
// Each stage accepts a packet every clock. The header travels aligned: `s_rem` holds
// the captured header from the current parse offset on, and each stage shifts it by
// the bytes it consumed (a few fixed amounts per stage, never a full barrel shift), so
// every stage reads its fields at fixed positions of a 64-byte view.
//
// Each stage computes only the fields it writes, in narrow `*_next` variables; the
// stage register is the incoming PHV with those fields replaced (no conditional
// assignment of the whole vector, which keeps synthesis fast and maps the pass-through
// fields to plain registers).

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
// the PHV bits live after each stage (stages 2-4 outer, 5-7 inner; ztnic_phv.vh)
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

// ---------------------------------------------------------------------------
// L2: Ethernet and up to two VLAN tags
// ---------------------------------------------------------------------------
reg l2_valid_reg = 1'b0;
reg [PHV_W-1:0] l2_phv_reg, l2_phv_next;
reg [HW-1:0] l2_rem_reg, l2_rem_next;

wire [511:0] v1 = s_rem[511:0];
wire l2_active = OUTER ? (!s_phv[F_DONE]) : (!s_phv[F_DONE] && s_phv[F_INNER]);

// the fields L2 writes, and the bytes it consumes (0 none, 1: 14, 2: 18, 3: 22)
reg [10:0] l2_vd;
reg [1:0] l2_l3t;
reg [15:0] l2_off;
reg [1:0] l2_sh;
reg [15:0] a1, e1;
reg [1:0] n1;
always @* begin
    l2_vd = {s_phv[F_DONE], s_phv[F_VK +: 2], s_phv[F_WHY +: 8]};
    l2_l3t = s_phv[F_L3T +: 2];
    l2_off = s_phv[F_OFF +: 16];
    l2_sh = 2'd0;
    a1 = s_phv[F_LIM +: 16] - s_phv[F_OFF +: 16];
    e1 = b16(v1, 12);
    n1 = 0;
    if (l2_active) begin
        l2_l3t = 2'd0;
        if (a1 < 14) begin
            l2_vd = vd(1'b0, DROP_ETH_TRUNCATED);
        end else begin
            if (e1 == 16'h8100 || e1 == 16'h88a8) begin
                if (a1 - 16'd14 < 4) begin
                    l2_vd = vd(1'b0, DROP_VLAN_TRUNCATED);
                end else begin
                    e1 = b16(v1, 16);
                    n1 = 1;
                    if (e1 == 16'h8100 || e1 == 16'h88a8) begin
                        if (a1 - 16'd18 < 4) begin
                            l2_vd = vd(1'b0, DROP_VLAN_TRUNCATED);
                        end else begin
                            e1 = b16(v1, 20);
                            n1 = 2;
                            if (e1 == 16'h8100 || e1 == 16'h88a8) begin
                                l2_vd = vd(1'b0, DROP_TOO_MANY_VLANS);
                            end
                        end
                    end
                end
            end
            if (!l2_vd[10]) begin
                if (e1 == 16'h0800) begin
                    l2_l3t = 2'd1;
                end else if (e1 == 16'h86dd) begin
                    l2_l3t = 2'd2;
                end else if (e1 == 16'h0806) begin
                    l2_vd = vd(1'b1, PUNT_ARP);
                end else begin
                    l2_vd = vd(1'b0, DROP_UNSUPPORTED_ETHERTYPE);
                end
            end
            l2_off = s_phv[F_OFF +: 16] + 16'd14 + {12'd0, n1, 2'b00};
            l2_sh = n1 + 2'd1;
        end
    end
end

always @* begin
    case (l2_sh)
        2'd0: l2_rem_next = s_rem;
        2'd1: l2_rem_next = s_rem >> (8 * 14);
        2'd2: l2_rem_next = s_rem >> (8 * 18);
        default: l2_rem_next = s_rem >> (8 * 22);
    endcase
    l2_phv_next = s_phv;
    l2_phv_next[F_DONE] = l2_vd[10];
    l2_phv_next[F_VK +: 2] = l2_vd[9:8];
    l2_phv_next[F_WHY +: 8] = l2_vd[7:0];
    l2_phv_next[F_L3T +: 2] = l2_l3t;
    l2_phv_next[F_OFF +: 16] = l2_off;
end

always @(posedge clk) begin
    if (adv) begin
        l2_valid_reg <= s_valid;
        l2_phv_reg <= l2_phv_next & LIVE_L2;
        l2_rem_reg <= l2_rem_next;
    end
end

// ---------------------------------------------------------------------------
// L3: IPv4 (options skipped by IHL, header checksum) or IPv6
// ---------------------------------------------------------------------------
reg l3_valid_reg = 1'b0;
reg [PHV_W-1:0] l3_phv_reg, l3_phv_next;
reg [HW-1:0] l3_rem_reg, l3_rem_next;

wire [511:0] v2 = l2_rem_reg[511:0];
wire l3_active = !l2_phv_reg[F_DONE] && l2_phv_reg[F_L3T +: 2] != 2'd0
    && (OUTER != 0 || l2_phv_reg[F_INNER]);

// IPv4 header checksum over ihl words
reg [31:0] csum_acc;
integer ck;
always @* begin
    csum_acc = 0;
    for (ck = 0; ck < 30; ck = ck + 1) begin
        if (ck < {27'd0, v2[3:0], 1'b0}) begin
            csum_acc = csum_acc + {16'd0, b16(v2, 2*ck)};
        end
    end
    csum_acc = {16'd0, csum_acc[15:0]} + {16'd0, csum_acc[31:16]};
    csum_acc = {16'd0, csum_acc[15:0]} + {16'd0, csum_acc[31:16]};
end

// the fields L3 writes; the header consumed: 0 none, 1 IPv4 (IHL words), 2 IPv6 (40)
reg [10:0] l3_vd;
reg l3_v6;
reg [7:0] l3_proto;
reg [127:0] l3_src, l3_dst;
reg [15:0] l3_l4s, l3_l4e, l3_off;
reg [1:0] l3_sh;
reg [15:0] a2, t2, u2, o2;
reg [7:0] n2;
always @* begin
    l3_vd = {l2_phv_reg[F_DONE], l2_phv_reg[F_VK +: 2], l2_phv_reg[F_WHY +: 8]};
    l3_v6 = l2_phv_reg[F_V6];
    l3_proto = l2_phv_reg[F_PROTO +: 8];
    l3_src = l2_phv_reg[F_SRC +: 128];
    l3_dst = l2_phv_reg[F_DST +: 128];
    l3_l4s = l2_phv_reg[F_L4S +: 16];
    l3_l4e = l2_phv_reg[F_L4E +: 16];
    l3_off = l2_phv_reg[F_OFF +: 16];
    l3_sh = 2'd0;
    o2 = l2_phv_reg[F_OFF +: 16];
    a2 = l2_phv_reg[F_LIM +: 16] - o2;
    t2 = {10'd0, v2[3:0], 2'b00};
    u2 = 0;
    n2 = 0;
    if (l3_active && l2_phv_reg[F_L3T +: 2] == 2'd1) begin
        u2 = b16(v2, 2);
        if (a2 < 20) begin
            l3_vd = vd(1'b0, DROP_IPV4_TRUNCATED);
        end else if (v2[7:4] != 4'd4 || t2 < 20 || u2 < t2) begin
            l3_vd = vd(1'b0, DROP_IPV4_MALFORMED);
        end else if (u2 > a2) begin
            l3_vd = vd(1'b0, DROP_IPV4_TRUNCATED);
        end else if (csum_acc[15:0] != 16'hffff) begin
            l3_vd = vd(1'b0, DROP_IPV4_BAD_CHECKSUM);
        end else if (v2[8*6+5] || (b16(v2, 6) & 16'h1fff) != 16'd0) begin
            l3_vd = vd(1'b1, PUNT_IP_FRAGMENT);
        end else begin
            l3_v6 = 1'b0;
            l3_proto = b8(v2, 9);
            l3_src = v4map(b32(v2, 12));
            l3_dst = v4map(b32(v2, 16));
            l3_l4s = o2 + t2;
            l3_l4e = o2 + u2;
            l3_off = o2 + t2;
            l3_sh = 2'd1;
        end
    end else if (l3_active) begin
        u2 = b16(v2, 4);
        n2 = b8(v2, 6);
        if (a2 < 40) begin
            l3_vd = vd(1'b0, DROP_IPV6_TRUNCATED);
        end else if (v2[7:4] != 4'd6) begin
            l3_vd = vd(1'b0, DROP_IPV6_MALFORMED);
        end else if ({16'd0, u2} + 32'd40 > {16'd0, a2}) begin
            l3_vd = vd(1'b0, DROP_IPV6_TRUNCATED);
        end else if (n2 == 0 || n2 == 43 || n2 == 44 || n2 == 50 || n2 == 51 || n2 == 60
                || n2 == 135 || n2 == 139 || n2 == 140 || n2 == 253 || n2 == 254) begin
            l3_vd = vd(1'b1, PUNT_IPV6_EXT_HEADER);
        end else begin
            l3_v6 = 1'b1;
            l3_proto = n2;
            l3_src = b128(v2, 8);
            l3_dst = b128(v2, 24);
            l3_l4s = o2 + 16'd40;
            l3_l4e = o2 + 16'd40 + u2;
            l3_off = o2 + 16'd40;
            l3_sh = 2'd2;
        end
    end
end

always @* begin
    case (l3_sh)
        2'd1: l3_rem_next = l2_rem_reg >> {v2[3:0], 5'b00000};
        2'd2: l3_rem_next = l2_rem_reg >> (8 * 40);
        default: l3_rem_next = l2_rem_reg;
    endcase
    l3_phv_next = l2_phv_reg;
    l3_phv_next[F_DONE] = l3_vd[10];
    l3_phv_next[F_VK +: 2] = l3_vd[9:8];
    l3_phv_next[F_WHY +: 8] = l3_vd[7:0];
    l3_phv_next[F_V6] = l3_v6;
    l3_phv_next[F_PROTO +: 8] = l3_proto;
    l3_phv_next[F_SRC +: 128] = l3_src;
    l3_phv_next[F_DST +: 128] = l3_dst;
    l3_phv_next[F_L4S +: 16] = l3_l4s;
    l3_phv_next[F_L4E +: 16] = l3_l4e;
    l3_phv_next[F_OFF +: 16] = l3_off;
end

always @(posedge clk) begin
    if (adv) begin
        l3_valid_reg <= l2_valid_reg;
        l3_phv_reg <= l3_phv_next & LIVE_L3;
        l3_rem_reg <= l3_rem_next;
    end
end

// ---------------------------------------------------------------------------
// L4: TCP, UDP, ICMP / ICMPv6; Geneve or VXLAN on the outer pass
// ---------------------------------------------------------------------------
reg l4_valid_reg = 1'b0;
reg [PHV_W-1:0] l4_phv_reg, l4_phv_next;
reg [HW-1:0] l4_rem_reg, l4_rem_next;

wire [511:0] v3 = l3_rem_reg[511:0];
wire l4_active = !l3_phv_reg[F_DONE] && (OUTER != 0 || l3_phv_reg[F_INNER]);

// the fields L4 writes; the header consumed: 0 none, 1: 8 (ICMP error), 2: 28
// (UDP + Geneve), 3: 16 (UDP + VXLAN)
reg [10:0] l4_vd;
reg [2:0] l4_kind;
reg [15:0] l4_sport, l4_dport, l4_echo, l4_win, l4_paylen;
reg [31:0] l4_seq, l4_ack, l4_tmac;
reg [5:0] l4_flags;
reg [1:0] l4_tun;
reg [23:0] l4_tctx;
reg [7:0] l4_tepoch;
reg [15:0] l4_ins, l4_ine, l4_off, l4_lim;
reg l4_inner;
reg [1:0] l4_sh;
reg [15:0] o3, t3, u3, x3, ue3;
reg [7:0] ty3, pr3;
reg v63, tun3;
always @* begin
    l4_vd = {l3_phv_reg[F_DONE], l3_phv_reg[F_VK +: 2], l3_phv_reg[F_WHY +: 8]};
    l4_kind = l3_phv_reg[F_KIND +: 3];
    l4_sport = l3_phv_reg[F_SPORT +: 16];
    l4_dport = l3_phv_reg[F_DPORT +: 16];
    l4_echo = l3_phv_reg[F_ECHO +: 16];
    l4_seq = l3_phv_reg[F_SEQ +: 32];
    l4_ack = l3_phv_reg[F_ACK +: 32];
    l4_flags = l3_phv_reg[F_FLAGS +: 6];
    l4_win = l3_phv_reg[F_WIN +: 16];
    l4_paylen = l3_phv_reg[F_PAYLEN +: 16];
    l4_tun = l3_phv_reg[F_TUN +: 2];
    l4_tctx = l3_phv_reg[F_TCTX +: 24];
    l4_tepoch = l3_phv_reg[F_TEPOCH +: 8];
    l4_tmac = l3_phv_reg[F_TMAC +: 32];
    l4_ins = l3_phv_reg[F_INS +: 16];
    l4_ine = l3_phv_reg[F_INE +: 16];
    l4_inner = l3_phv_reg[F_INNER];
    l4_off = l3_phv_reg[F_OFF +: 16];
    l4_lim = l3_phv_reg[F_LIM +: 16];
    l4_sh = 2'd0;
    o3 = l3_phv_reg[F_OFF +: 16];
    t3 = l3_phv_reg[F_L4E +: 16] - l3_phv_reg[F_L4S +: 16];
    pr3 = l3_phv_reg[F_PROTO +: 8];
    v63 = l3_phv_reg[F_V6];
    u3 = 0;
    x3 = 0;
    ue3 = 0;
    ty3 = b8(v3, 0);
    tun3 = 1'b0;
    if (l4_active) begin
        l4_kind = K_OTHER;
        l4_sport = 0;
        l4_dport = 0;
        l4_echo = 0;
        if (pr3 == 8'd6) begin
            u3 = {10'd0, v3[8*12+7 -: 4], 2'b00};
            if (t3 < 20) begin
                l4_vd = vd(1'b0, DROP_TCP_TRUNCATED);
            end else if (u3 < 20) begin
                l4_vd = vd(1'b0, DROP_TCP_MALFORMED);
            end else if (u3 > t3) begin
                l4_vd = vd(1'b0, DROP_TCP_TRUNCATED);
            end else begin
                l4_kind = K_TCP;
                l4_sport = b16(v3, 0);
                l4_dport = b16(v3, 2);
                l4_seq = b32(v3, 4);
                l4_ack = b32(v3, 8);
                l4_flags = v3[8*13 +: 6];
                l4_win = b16(v3, 14);
                l4_paylen = t3 - u3;
            end
        end else if (pr3 == 8'd17) begin
            u3 = b16(v3, 4);
            if (t3 < 8) begin
                l4_vd = vd(1'b0, DROP_UDP_TRUNCATED);
            end else if (u3 < 8) begin
                l4_vd = vd(1'b0, DROP_UDP_MALFORMED);
            end else if (u3 > t3) begin
                l4_vd = vd(1'b0, DROP_UDP_TRUNCATED);
            end else begin
                l4_kind = K_UDP;
                l4_sport = b16(v3, 0);
                l4_dport = b16(v3, 2);
                tun3 = OUTER != 0 && !v63 && l3_phv_reg[F_CLS +: 2] == PORT_CLASS_UPLINK[1:0]
                    && (b16(v3, 2) == 16'd6081 || b16(v3, 2) == 16'd4789);
            end
        end else if ((pr3 == 8'd1 && !v63) || (pr3 == 8'd58 && v63)) begin
            if (t3 < 8) begin
                l4_vd = vd(1'b0, DROP_ICMP_TRUNCATED);
            end else if (v63 && ty3 >= 133 && ty3 <= 137) begin
                l4_vd = vd(1'b1, PUNT_ND);
            end else if ((v63 && ty3 == 128) || (!v63 && ty3 == 8)) begin
                l4_kind = K_ECHO_REQ;
                l4_echo = b16(v3, 4);
            end else if ((v63 && ty3 == 129) || (!v63 && ty3 == 0)) begin
                l4_kind = K_ECHO_REP;
                l4_echo = b16(v3, 4);
            end else if ((v63 && ty3 >= 1 && ty3 <= 4)
                    || (!v63 && (ty3 == 3 || ty3 == 4 || ty3 == 5 || ty3 == 11 || ty3 == 12))) begin
                l4_kind = K_ICMP_ERR;
                l4_off = o3 + 16'd8;
                l4_sh = 2'd1;
            end else begin
                l4_kind = K_ICMP_OTHER;
            end
        end
        if (tun3) begin
            // the tunnel header follows the UDP header: payload [o3+8, o3+ulen)
            ue3 = o3 + u3;
            t3 = u3 - 16'd8;
            x3 = o3 + 16'd8;
            if (l3_phv_reg[F_DST +: 128] != v4map(cfg_local_vtep_ip)) begin
                l4_vd = vd(1'b0, DROP_VTEP_MISMATCH);
            end else if (b16(v3, 2) == 16'd6081) begin
                if (t3 < 20) begin
                    l4_vd = vd(1'b0, DROP_TUNNEL_TRUNCATED);
                end else if (b8(v3, 8) != 8'h03 || v3[8*9+7] || !v3[8*9+6]
                        || b16(v3, 10) != 16'h6558 || b16(v3, 16) != 16'hfff0
                        || b8(v3, 18) != 8'h81 || v3[8*19 +: 5] != 5'd2) begin
                    l4_vd = vd(1'b0, DROP_GENEVE_MALFORMED);
                end else begin
                    l4_tun = TUN_GENEVE;
                    l4_tctx = {b8(v3, 20), b8(v3, 21), b8(v3, 22)};
                    l4_tepoch = b8(v3, 23);
                    l4_tmac = b32(v3, 24);
                    l4_ins = x3 + 16'd20;
                    l4_sh = 2'd2;
                end
            end else begin
                if (t3 < 8) begin
                    l4_vd = vd(1'b0, DROP_TUNNEL_TRUNCATED);
                end else if (!v3[8*8+3]) begin
                    l4_vd = vd(1'b0, DROP_VXLAN_MALFORMED);
                end else begin
                    l4_tun = v3[8*8+7] ? TUN_GBP : TUN_UNTAGGED;
                    l4_tctx = {8'd0, b16(v3, 10)};
                    l4_ins = x3 + 16'd8;
                    l4_sh = 2'd3;
                end
            end
            if (!l4_vd[10]) begin
                l4_ine = ue3;
                l4_inner = 1'b1;
                l4_off = l4_ins;
                l4_lim = ue3;
            end
        end
    end
end

always @* begin
    case (l4_sh)
        2'd1: l4_rem_next = l3_rem_reg >> (8 * 8);
        2'd2: l4_rem_next = l3_rem_reg >> (8 * 28);
        2'd3: l4_rem_next = l3_rem_reg >> (8 * 16);
        default: l4_rem_next = l3_rem_reg;
    endcase
    l4_phv_next = l3_phv_reg;
    l4_phv_next[F_DONE] = l4_vd[10];
    l4_phv_next[F_VK +: 2] = l4_vd[9:8];
    l4_phv_next[F_WHY +: 8] = l4_vd[7:0];
    l4_phv_next[F_KIND +: 3] = l4_kind;
    l4_phv_next[F_SPORT +: 16] = l4_sport;
    l4_phv_next[F_DPORT +: 16] = l4_dport;
    l4_phv_next[F_ECHO +: 16] = l4_echo;
    l4_phv_next[F_SEQ +: 32] = l4_seq;
    l4_phv_next[F_ACK +: 32] = l4_ack;
    l4_phv_next[F_FLAGS +: 6] = l4_flags;
    l4_phv_next[F_WIN +: 16] = l4_win;
    l4_phv_next[F_PAYLEN +: 16] = l4_paylen;
    l4_phv_next[F_TUN +: 2] = l4_tun;
    l4_phv_next[F_TCTX +: 24] = l4_tctx;
    l4_phv_next[F_TEPOCH +: 8] = l4_tepoch;
    l4_phv_next[F_TMAC +: 32] = l4_tmac;
    l4_phv_next[F_INS +: 16] = l4_ins;
    l4_phv_next[F_INE +: 16] = l4_ine;
    l4_phv_next[F_INNER] = l4_inner;
    l4_phv_next[F_OFF +: 16] = l4_off;
    l4_phv_next[F_LIM +: 16] = l4_lim;
end

always @(posedge clk) begin
    if (adv) begin
        l4_valid_reg <= l3_valid_reg;
        l4_phv_reg <= l4_phv_next & LIVE_L4;
        l4_rem_reg <= l4_rem_next;
    end
end

assign m_valid = l4_valid_reg;
assign m_phv = l4_phv_reg;
assign m_rem = l4_rem_reg;
assign busy = l2_valid_reg || l3_valid_reg || l4_valid_reg;

endmodule

`resetall
