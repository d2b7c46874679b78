// Policy candidates of one lookup view (stage 14 of the engine, docs/datapath.md §6):
// the 8 key variants x 4 ways x 4 rules of the policy buckets the view read, each a
// candidate when its entry holds the variant's key and the rule's destination port
// range holds the port. Candidate vr*16 + way*4 + rule (the order a scan would take)
// carries its action, priority, id and counter slot {variant, way, bucket, rule}, as
// ztnic_rule_pick takes them. Purely combinational: the engine feeds it the entries
// its policy RAMs returned for the packet's keys, and registers the candidates in the
// rule pick.
//
// An entry (layout policy of rtl/regmap.toml) is {rules[4], key, valid}; a rule is
// {id, priority, port_hi, port_lo, allow, valid}; only the low 16 bits of a rule's
// priority are compared (the model's priorities are 16-bit).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_policy_match #(
    // log2 of the buckets per way of each key variant
    parameter POLICY_LOG2 = 6,
    // Width of a policy entry (L_POLICY_W of the generated register map)
    parameter ENTRY_W = 457,
    // Width of a rule counter slot: variant, way, bucket, rule
    parameter SLOT_W = POLICY_LOG2 + 2 + 3 + 2
) (
    // the entries read for each variant's key, variant v way w at (v*4+w)*ENTRY_W
    input  wire [32*ENTRY_W-1:0]    rd,
    // the key of each variant (64 bits each) and the bucket it was read from
    input  wire [8*64-1:0]          key,
    input  wire [8*POLICY_LOG2-1:0] bucket,
    // the destination port the rules' ranges are matched against
    input  wire [15:0]              port,

    output wire [127:0]             m_valid,
    output wire [127:0]             m_allow,
    output wire [128*16-1:0]        m_priority,
    output wire [128*32-1:0]        m_id,
    output wire [128*SLOT_W-1:0]    m_slot
);

`include "ztnic_regmap.vh"

initial begin
    if (POLICY_LOG2 < 1 || POLICY_LOG2 > 9) begin
        $error("ztnic_policy_match: POLICY_LOG2 must be in 1..9");
        $finish;
    end
    if (ENTRY_W != L_POLICY_W) begin
        $error("ztnic_policy_match: ENTRY_W must be L_POLICY_W (rtl/regmap.toml)");
        $finish;
    end
    if (SLOT_W != POLICY_LOG2 + 7) begin
        $error("ztnic_policy_match: SLOT_W must be POLICY_LOG2 + 7");
        $finish;
    end
    if (L_POLICY_RULE_COUNT != 4) begin
        $error("ztnic_policy_match: the policy entry must hold 4 rules");
        $finish;
    end
end

genvar v, w, r;
generate
    for (v = 0; v < 8; v = v + 1) begin : g_var
        for (w = 0; w < 4; w = w + 1) begin : g_way
            wire [ENTRY_W-1:0] e = rd[(v*4 + w)*ENTRY_W +: ENTRY_W];
            wire hit = e[L_POLICY_VALID_LSB] && e[L_POLICY_KEY_LSB +: 64] == key[64*v +: 64];
            for (r = 0; r < 4; r = r + 1) begin : g_rule
                localparam integer C = v*16 + w*4 + r;
                localparam integer B = L_POLICY_RULE_BASE + r*L_POLICY_RULE_STRIDE;
                wire [15:0] lo = e[B + L_POLICY_RULE_PORT_LO_LSB +: 16];
                wire [15:0] hi = e[B + L_POLICY_RULE_PORT_HI_LSB +: 16];
                assign m_valid[C] = hit && e[B + L_POLICY_RULE_VALID_LSB] && port >= lo && port <= hi;
                assign m_allow[C] = e[B + L_POLICY_RULE_ALLOW_LSB];
                assign m_priority[C*16 +: 16] = e[B + L_POLICY_RULE_PRIORITY_LSB +: 16];
                assign m_id[C*32 +: 32] = e[B + L_POLICY_RULE_ID_LSB +: 32];
                assign m_slot[C*SLOT_W +: SLOT_W] = {v[2:0], w[1:0], bucket[v*POLICY_LOG2 +: POLICY_LOG2], r[1:0]};
            end
        end
    end
endgenerate

endmodule

`resetall
