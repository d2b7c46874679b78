// Conntrack aging sweep (docs/datapath.md §5): walks every slot of the four conntrack
// ways on their port B in the clocks nobody else uses it, and clears the entries that
// have expired, with a ct_expired event naming the slot.
//
// The sweep position counts through way 0 slot 0 .. way 3 slot 2^CT_ADDR_W-1 and wraps
// (the whole RAM, whatever config.ct_buckets is). One slot takes four clocks of `en`
// (no control-plane access this clock): a read of the slot; its fields registered (the
// idle time now - last_seen, zero if last_seen is ahead, and the index of its timeout
// by kind and state); the compare (valid and the idle time at least
// config.timeout[index]); the clear (a port-B write of zeros) if it expired, and on to
// the next slot — register-to-register steps of at most a subtraction or a compare.
// A clock in which the data plane writes the slot's way (dp_we), or without `en`, drops
// the slot's check and the slot is read again (it may have changed since it was read).
// The check also waits for a clock without a packet event (evt_busy), since the event
// output carries one record per clock. The idle time is taken two clocks before the
// clear: an entry expires at most two clocks late, never early. A pass over the
// 4 x 2^CT_ADDR_W slots takes 4 x 4 x 2^CT_ADDR_W clocks of `en` (2^12 buckets: 262 us
// at 250 MHz).
//
// The event record (evt_data, valid in the clock of the clear, combinational) is kind
// ct_expired, time ts_us[31:0], hash the slot {way, index} as ct_new's is.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ct_sweep #(
    // log2 of the conntrack buckets per way (the RAM's size, 1..16)
    parameter CT_ADDR_W = 10,
    // Width of a conntrack entry (must be the regmap's L_CONNTRACK_W)
    parameter CT_W = 762
) (
    input  wire                        clk,
    input  wire                        rst,

    // time in microseconds
    input  wire [63:0]                 ts_us,
    // config.timeout[0..15] in microseconds, index i at bits 64*i
    input  wire [64*16-1:0]            cfg_timeouts,

    // the sweep may use port B this clock (no control-plane access)
    input  wire                        en,
    // the data plane writes these ways on port B this clock
    input  wire [3:0]                  dp_we,
    // a packet event leaves this clock (the event output is taken)
    input  wire                        evt_busy,

    // port B of the conntrack ways: the sweep's read or clear (data zero)
    output reg  [3:0]                  b_en,
    output reg                         b_clear,
    output wire [CT_ADDR_W-1:0]        b_addr,
    input  wire [4*CT_W-1:0]           b_rdata,

    // the ct_expired record of the slot cleared this clock
    output reg  [127:0]                evt_data,
    output reg                         evt_valid
);

`include "ztnic_regmap.vh"

initial begin
    if (CT_ADDR_W < 1 || CT_ADDR_W > 16) begin
        $error("ztnic_ct_sweep: CT_ADDR_W must be in 1..16");
        $finish;
    end
    if (CT_W != L_CONNTRACK_W) begin
        $error("ztnic_ct_sweep: CT_W must be L_CONNTRACK_W (the regmap's conntrack entry)");
        $finish;
    end
end

// the index into config.timeout[] of an entry's kind and (TCP) state
function [3:0] ct_timeout_idx(input [1:0] kind, input [3:0] st, input replied);
    begin
        case (kind)
            CT_KIND_TCP[1:0]: ct_timeout_idx = (st <= 4'd1) ? TIMEOUT_TCP_SYN_SENT[3:0] : ((st <= 4'd9) ? st - 4'd1 : TIMEOUT_TCP_SYN_SENT[3:0]);
            CT_KIND_UDP[1:0]: ct_timeout_idx = replied ? TIMEOUT_UDP_REPLIED[3:0] : TIMEOUT_UDP_UNREPLIED[3:0];
            CT_KIND_ICMP[1:0]: ct_timeout_idx = TIMEOUT_ICMP[3:0];
            default: ct_timeout_idx = TIMEOUT_OTHER[3:0];
        endcase
    end
endfunction

// config.timeout[] as an array (a 16:1 selection, not an index multiplied into a shift)
wire [63:0] timeout [0:15];
genvar ti;
generate
    for (ti = 0; ti < 16; ti = ti + 1) begin : g_timeout
        assign timeout[ti] = cfg_timeouts[64*ti +: 64];
    end
endgenerate

// sweep position {way, index}
reg [CT_ADDR_W+1:0] pos_reg = 0, pos_next;
// the slot was read last clock (its data is on b_rdata)
reg rd_reg = 1'b0, rd_next;
// the slot's fields were taken last clock: valid, idle time, timeout index
reg chk_reg = 1'b0, chk_next;
// the slot was compared last clock: it expired
reg cmp_reg = 1'b0, cmp_next;
reg exp_reg = 1'b0, exp_next;
reg chk_valid_reg = 1'b0, chk_valid_next;
reg [63:0] chk_idle_reg = 64'd0, chk_idle_next;
reg [3:0] chk_idx_reg = 4'd0, chk_idx_next;

wire [1:0] way = pos_reg[CT_ADDR_W +: 2];
/* verilator lint_off UNUSEDSIGNAL */
// only the valid, kind, state, replied and last_seen fields are read; a 4:1 selection
// (an index multiplied by the entry width would make a multiplier and a barrel shifter)
reg [L_CONNTRACK_W-1:0] entry;
always @* begin
    case (way)
        2'd0: entry = b_rdata[0*L_CONNTRACK_W +: L_CONNTRACK_W];
        2'd1: entry = b_rdata[1*L_CONNTRACK_W +: L_CONNTRACK_W];
        2'd2: entry = b_rdata[2*L_CONNTRACK_W +: L_CONNTRACK_W];
        default: entry = b_rdata[3*L_CONNTRACK_W +: L_CONNTRACK_W];
    endcase
end
/* verilator lint_on UNUSEDSIGNAL */
wire [63:0] last = entry[L_CONNTRACK_LAST_SEEN_LSB +: 64];

assign b_addr = pos_reg[CT_ADDR_W-1:0];

// A slot takes four clocks of `en` in which the data plane leaves its way alone:
// read it; take its fields (the idle time now - last_seen, zero if last_seen is ahead,
// and the index of its timeout); compare the idle time with that timeout; clear it if
// it expired (from registers only: the port-B write leaves no logic in front of it). Any clock without `en`, or with a data-plane write of the way, drops
// the slot's check (it is read again): the entry may have changed since it was read.
always @* begin
    pos_next = pos_reg;
    rd_next = 1'b0;
    chk_next = 1'b0;
    cmp_next = 1'b0;
    exp_next = exp_reg;
    chk_valid_next = chk_valid_reg;
    chk_idle_next = chk_idle_reg;
    chk_idx_next = chk_idx_reg;
    b_en = 4'd0;
    b_clear = 1'b0;
    evt_valid = 1'b0;
    evt_data = 128'd0;

    if (en && !dp_we[way]) begin
        if (cmp_reg) begin
            // clear the slot if it expired, then the next slot (a packet event's clock
            // is left to it: the clear waits, the slot unchanged)
            if (!evt_busy) begin
                if (exp_reg) begin
                    b_en = 4'd1 << way;
                    b_clear = 1'b1;
                    evt_valid = 1'b1;
                    // the record names the slot, as ct_new's does (regmap `event.hash`)
                    evt_data[L_EVENT_KIND_LSB +: 8] = EVENT_KIND_CT_EXPIRED[7:0];
                    evt_data[L_EVENT_HASH_LSB +: 32] = {{(30 - CT_ADDR_W){1'b0}}, pos_reg};
                    evt_data[L_EVENT_TIME_LSB +: 32] = ts_us[31:0];
                end
                pos_next = pos_reg + 1'b1;
            end else begin
                cmp_next = 1'b1;
            end
        end else if (chk_reg) begin
            // the compare
            cmp_next = 1'b1;
            exp_next = chk_valid_reg && chk_idle_reg >= timeout[chk_idx_reg];
        end else if (rd_reg) begin
            // the slot's data: the fields the check needs
            chk_next = 1'b1;
            chk_valid_next = entry[L_CONNTRACK_VALID_LSB];
            chk_idle_next = (ts_us > last) ? ts_us - last : 64'd0;
            chk_idx_next = ct_timeout_idx(entry[L_CONNTRACK_KIND_LSB +: 2],
                                          entry[L_CONNTRACK_STATE_LSB +: 4],
                                          entry[L_CONNTRACK_REPLIED_LSB]);
        end else begin
            // read the slot
            b_en = 4'd1 << way;
            rd_next = 1'b1;
        end
    end
end

always @(posedge clk) begin
    pos_reg <= pos_next;
    rd_reg <= rd_next;
    chk_reg <= chk_next;
    cmp_reg <= cmp_next;
    exp_reg <= exp_next;
    chk_valid_reg <= chk_valid_next;
    chk_idle_reg <= chk_idle_next;
    chk_idx_reg <= chk_idx_next;

    if (rst) begin
        pos_reg <= 0;
        rd_reg <= 1'b0;
        chk_reg <= 1'b0;
        cmp_reg <= 1'b0;
    end
end

endmodule

`resetall
