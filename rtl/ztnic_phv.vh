// Packet header vector (PHV) of the verdict pipeline: the fields one packet carries
// from stage to stage, as bit offsets into one packed vector. Each field notes the
// stage that writes it (docs/rtl.md has the stage diagram). Included by
// ztnic_engine.v and ztnic_parse_pass.v.

// admission
localparam F_T0 = 0;                    // entry clock (latency telemetry)          [classify]
localparam F_LEN = F_T0 + 16;           // frame length as received                [classify]
localparam F_BEATS = F_LEN + 16;        // beats of the frame in the frame FIFO     [classify]
localparam F_PORT = F_BEATS + 16;       // effective ingress port                   [classify]
localparam F_PRE = F_PORT + 16;         // start of the frame (4 after packet_out)  [classify]
localparam F_CLS = F_PRE + 16;          // port class                               [classify]
// verdict so far
localparam F_DONE = F_CLS + 2;          // verdict decided; later stages pass it on [any]
localparam F_VK = F_DONE + 1;           // forward / drop / punt                    [any]
localparam F_WHY = F_VK + 2;            // drop or punt reason                      [any]
localparam F_OPORT = F_WHY + 8;         // output port                              [act]
localparam F_PLEN = F_OPORT + 16;       // prefix bytes                             [act]
localparam F_SKIP = F_PLEN + 7;         // first frame byte sent                    [act]
localparam F_ENDP = F_SKIP + 16;        // end of the frame bytes sent              [act]
localparam F_EVP = F_ENDP + 16;         // an event leaves with the verdict         [any]
localparam F_EV = F_EVP + 1;            // the event record                         [any]
localparam F_CTV = F_EV + 128;          // ct_state observed                        [conntrack]
localparam F_CTS = F_CTV + 1;           // ct_state bits                            [conntrack]
localparam F_RULEV = F_CTS + 6;         // a rule decided                           [conntrack]
localparam F_RULE = F_RULEV + 1;        // its id                                   [conntrack]
localparam F_RSLOT = F_RULE + 32;       // its counter slot                         [conntrack]
localparam F_CECNT = F_RSLOT + 16;      // count in the ctx counter                 [ctx check]
localparam F_CESLOT = F_CECNT + 1;      // ctx counter slot                         [ctx check]
// parse
localparam F_OFF = F_CESLOT + 16;       // parse offset in the captured header      [parse]
localparam F_LIM = F_OFF + 16;          // end of the frame being parsed            [parse]
localparam F_INNER = F_LIM + 16;        // the inner frame of a tunnel is parsed    [parse]
localparam F_L3T = F_INNER + 1;         // next header: 1 IPv4, 2 IPv6              [parse L2]
localparam F_V6 = F_L3T + 2;            // IPv6                                     [parse L3]
localparam F_SRC = F_V6 + 1;            // addresses (IPv4-mapped for IPv4)         [parse L3]
localparam F_DST = F_SRC + 128;
localparam F_PROTO = F_DST + 128;
localparam F_L4S = F_PROTO + 8;         // L4 start, IP payload end                 [parse L3]
localparam F_L4E = F_L4S + 16;
localparam F_KIND = F_L4E + 16;         // L4 kind (K_*)                            [parse L4]
localparam F_SPORT = F_KIND + 3;        // TCP/UDP ports, 0 otherwise               [parse L4]
localparam F_DPORT = F_SPORT + 16;
localparam F_ECHO = F_DPORT + 16;       // ICMP echo identifier                     [parse L4]
localparam F_SEQ = F_ECHO + 16;         // TCP fields                               [parse L4]
localparam F_ACK = F_SEQ + 32;
localparam F_FLAGS = F_ACK + 32;
localparam F_WIN = F_FLAGS + 6;
localparam F_PAYLEN = F_WIN + 16;
localparam F_ESRC = F_PAYLEN + 16;      // the flow embedded in an ICMP error       [parse emb]
localparam F_EDST = F_ESRC + 128;
localparam F_EPROTO = F_EDST + 128;
localparam F_ESP = F_EPROTO + 8;
localparam F_EDP = F_ESP + 16;
localparam F_TUN = F_EDP + 16;          // tunnel (TUN_*)                           [parse L4]
localparam F_TCTX = F_TUN + 2;          // tag context, epoch, MAC                  [parse L4]
localparam F_TEPOCH = F_TCTX + 24;
localparam F_TMAC = F_TEPOCH + 8;
localparam F_INS = F_TMAC + 32;         // inner frame [ins, ine)                   [parse L4]
localparam F_INE = F_INS + 16;
// classify, ctx check
localparam F_SCTX = F_INE + 16;         // source / destination context             [classify]
localparam F_DCTX = F_SCTX + 24;
localparam F_ZONE = F_DCTX + 24;        // conntrack zone                           [classify]
localparam F_OVPORT = F_ZONE + 16;      // destination vport                        [classify]
localparam F_ACT = F_OVPORT + 16;       // TX action (A_*)                          [classify]
localparam F_VTEP = F_ACT + 2;          // remote VTEP                              [classify]
localparam F_REMHIT = F_VTEP + 32;      // remote_ep LPM result                     [lookup]
localparam F_REMKIND = F_REMHIT + 1;
localparam F_REMVTEP = F_REMKIND + 2;
localparam F_REMCTX = F_REMVTEP + 32;
localparam F_LEPMISS = F_REMCTX + 24;   // RX: local_ep missed (judged after the MAC) [classify]
localparam F_CEHIT = F_LEPMISS + 1;     // ctx_epoch hit and its epoch              [ctx check]
localparam F_CEEPOCH = F_CEHIT + 1;
localparam F_EPOCH = F_CEEPOCH + 8;     // sender's epoch for the tag (TX)          [ctx check]
// policy results for the packet's own view (F) and the reverse view (R), written in
// stage 22 from ztnic_rule_pick (looked up in 12-13, candidates 14, tournament 15-21)
localparam F_PFV = F_EPOCH + 8;         // a rule matched                           [policy]
localparam F_PFA = F_PFV + 1;           // it allows
localparam F_PFID = F_PFA + 1;          // its id and counter slot
localparam F_PFSLOT = F_PFID + 32;
localparam F_PRV = F_PFSLOT + 16;
localparam F_PRA = F_PRV + 1;
localparam F_PRID = F_PRA + 1;
localparam F_PRSLOT = F_PRID + 32;
// conntrack
localparam F_KEY = F_PRSLOT + 16;       // lookup key (the embedded flow's for ICMP errors) [ct key]
localparam F_OKEY = F_KEY + 312;        // the packet's own key                     [ct key]
localparam F_SRCLO = F_OKEY + 312;      // the packet's source is the lower endpoint [ct key]
localparam F_H32 = F_SRCLO + 1;         // hashes of the lookup key                 [ct hash]
localparam F_H16 = F_H32 + 32;
localparam F_H16OWN = F_H16 + 16;       // CRC-16 of the own key (tunnel entropy)   [ct hash]
localparam F_MAC = F_H16OWN + 16;       // tag MAC for the encapsulation (TX)       [mac]
localparam PHV_W = F_MAC + 32;

// byte helpers on a 64-byte view (byte k in v[8k +: 8], big-endian fields)
function [7:0] b8(input [511:0] v, input integer k);
    b8 = v[8*k +: 8];
endfunction

function [15:0] b16(input [511:0] v, input integer k);
    b16 = {v[8*k +: 8], v[8*(k+1) +: 8]};
endfunction

function [31:0] b32(input [511:0] v, input integer k);
    b32 = {v[8*k +: 8], v[8*(k+1) +: 8], v[8*(k+2) +: 8], v[8*(k+3) +: 8]};
endfunction

function [127:0] b128(input [511:0] v, input integer k);
    integer i;
    begin
        for (i = 0; i < 16; i = i + 1) begin
            b128[8*(15-i) +: 8] = v[8*(k+i) +: 8];
        end
    end
endfunction

function [127:0] v4map(input [31:0] a);
    v4map = {80'd0, 16'hffff, a};
endfunction

/* verilator lint_off UNUSEDPARAM */
localparam [1:0] V_FWD = 2'd0, V_DROP = 2'd1, V_PUNT = 2'd2;
localparam [2:0] K_OTHER = 3'd0, K_TCP = 3'd1, K_UDP = 3'd2, K_ECHO_REQ = 3'd3, K_ECHO_REP = 3'd4,
                 K_ICMP_ERR = 3'd5, K_ICMP_OTHER = 3'd6;
localparam [1:0] A_LOCAL = 2'd0, A_NATIVE = 2'd1, A_GENEVE = 2'd2, A_GBP = 2'd3;
localparam [1:0] TUN_NONE = 2'd0, TUN_GENEVE = 2'd1, TUN_GBP = 2'd2, TUN_UNTAGGED = 2'd3;
/* verilator lint_on UNUSEDPARAM */

// {done, verdict kind, reason} of a packet dropped or punted by a stage
function [10:0] vd(input punt, input [7:0] why);
    vd = {1'b1, punt ? V_PUNT : V_DROP, why};
endfunction

// bits [lo, lo+w) of a PHV
function [PHV_W-1:0] fmask(input integer lo, input integer w);
    fmask = (({{(PHV_W-1){1'b0}}, 1'b1} << w) - 1'b1) << lo;
endfunction

// The PHV bits that can be non-zero after stage k: a field is zero until the stage
// that first writes it (see above), and the counter slots are only ce_w / rule_w bits
// wide. Each stage register is masked with it; the behaviour is the same, and
// synthesis sees the fields not yet written as constants at once instead of
// discovering them one pipeline stage per optimisation pass.
function [PHV_W-1:0] phv_live(input integer k, input integer ce_w, input integer rule_w);
    begin
        phv_live = fmask(F_T0, F_OPORT - F_T0) | fmask(F_OPORT, 16) | fmask(F_SKIP, 32)
            | fmask(F_OFF, 32);
        if (k >= 2) phv_live = phv_live | fmask(F_L3T, 2);
        if (k >= 3) phv_live = phv_live | fmask(F_V6, F_KIND - F_V6);
        if (k >= 4) phv_live = phv_live | fmask(F_INNER, 1) | fmask(F_KIND, F_ESRC - F_KIND)
            | fmask(F_TUN, F_SCTX - F_TUN);
        if (k >= 8) phv_live = phv_live | fmask(F_ESRC, F_ESP - F_ESRC);
        if (k >= 9) phv_live = phv_live | fmask(F_ESP, F_TUN - F_ESP);
        if (k >= 10) phv_live = phv_live | fmask(F_REMHIT, F_LEPMISS - F_REMHIT);
        if (k >= 12) phv_live = phv_live | fmask(F_SCTX, F_REMHIT - F_SCTX) | fmask(F_LEPMISS, 1);
        if (k >= 13) phv_live = phv_live | fmask(F_KEY, F_H32 - F_KEY);
        if (k >= 14) phv_live = phv_live | fmask(F_EVP, F_CTV - F_EVP) | fmask(F_CECNT, 1)
            | fmask(F_CESLOT, ce_w) | fmask(F_CEHIT, F_PFV - F_CEHIT);
        if (k >= 15) phv_live = phv_live | fmask(F_H32, F_MAC - F_H32);
        if (k >= 22) phv_live = phv_live | fmask(F_MAC, 32) | fmask(F_PFV, F_PFSLOT - F_PFV)
            | fmask(F_PFSLOT, rule_w) | fmask(F_PRV, F_PRSLOT - F_PRV) | fmask(F_PRSLOT, rule_w);
        if (k >= 24) phv_live = phv_live | fmask(F_CTV, F_RSLOT - F_CTV) | fmask(F_RSLOT, rule_w);
        if (k >= 26) phv_live = phv_live | fmask(F_PLEN, 7);
    end
endfunction
