// C ABI over the Verilated ztnic_top: the Rust crate drives it one clock at a time.
// zt_comb() applies the inputs with the clock low and returns the outputs (what the
// handshakes of this clock see); zt_tick() makes the rising edge.

#include <cstdint>
#include <cstring>

#include "Vztnic_top.h"
#include "verilated.h"

extern "C" {

struct ZtIn {
    uint8_t rst;
    uint64_t ts_us;
    uint32_t s_tdata[16];
    uint64_t s_tkeep;
    uint8_t s_tvalid;
    uint8_t s_tlast;
    uint16_t s_tuser;
    uint8_t m_tready;
    uint16_t awaddr;
    uint8_t awvalid;
    uint32_t wdata;
    uint8_t wstrb;
    uint8_t wvalid;
    uint8_t bready;
    uint16_t araddr;
    uint8_t arvalid;
    uint8_t rready;
};

struct ZtOut {
    uint8_t s_tready;
    uint32_t m_tdata[16];
    uint64_t m_tkeep;
    uint8_t m_tvalid;
    uint8_t m_tlast;
    uint16_t m_tuser;
    uint8_t awready;
    uint8_t wready;
    uint8_t bvalid;
    uint8_t arready;
    uint8_t rvalid;
    uint32_t rdata;
    uint8_t st_valid;
    uint8_t st_verdict;
    uint8_t st_reason;
    uint16_t st_port;
    uint8_t st_ct_valid;
    uint8_t st_ct_state;
    uint8_t st_rule_valid;
    uint32_t st_rule;
    uint16_t st_cycles;
};

struct ZtSim {
    VerilatedContext* ctx;
    Vztnic_top* top;
};

void* zt_new(void) {
    ZtSim* s = new ZtSim;
    s->ctx = new VerilatedContext;
    s->top = new Vztnic_top{s->ctx};
    s->top->clk = 0;
    s->top->eval();
    return s;
}

void zt_free(void* p) {
    ZtSim* s = static_cast<ZtSim*>(p);
    s->top->final();
    delete s->top;
    delete s->ctx;
    delete s;
}

void zt_comb(void* p, const ZtIn* in, ZtOut* out) {
    Vztnic_top* t = static_cast<ZtSim*>(p)->top;
    t->clk = 0;
    t->rst = in->rst;
    t->ts_us = in->ts_us;
    for (int i = 0; i < 16; i++) t->s_axis_tdata[i] = in->s_tdata[i];
    t->s_axis_tkeep = in->s_tkeep;
    t->s_axis_tvalid = in->s_tvalid;
    t->s_axis_tlast = in->s_tlast;
    t->s_axis_tuser = in->s_tuser;
    t->m_axis_tready = in->m_tready;
    t->s_axil_awaddr = in->awaddr;
    t->s_axil_awprot = 0;
    t->s_axil_awvalid = in->awvalid;
    t->s_axil_wdata = in->wdata;
    t->s_axil_wstrb = in->wstrb;
    t->s_axil_wvalid = in->wvalid;
    t->s_axil_bready = in->bready;
    t->s_axil_araddr = in->araddr;
    t->s_axil_arprot = 0;
    t->s_axil_arvalid = in->arvalid;
    t->s_axil_rready = in->rready;
    t->eval();
    out->s_tready = t->s_axis_tready;
    for (int i = 0; i < 16; i++) out->m_tdata[i] = t->m_axis_tdata[i];
    out->m_tkeep = t->m_axis_tkeep;
    out->m_tvalid = t->m_axis_tvalid;
    out->m_tlast = t->m_axis_tlast;
    out->m_tuser = t->m_axis_tuser;
    out->awready = t->s_axil_awready;
    out->wready = t->s_axil_wready;
    out->bvalid = t->s_axil_bvalid;
    out->arready = t->s_axil_arready;
    out->rvalid = t->s_axil_rvalid;
    out->rdata = t->s_axil_rdata;
    out->st_valid = t->status_valid;
    out->st_verdict = t->status_verdict;
    out->st_reason = t->status_reason;
    out->st_port = t->status_port;
    out->st_ct_valid = t->status_ct_valid;
    out->st_ct_state = t->status_ct_state;
    out->st_rule_valid = t->status_rule_valid;
    out->st_rule = t->status_rule;
    out->st_cycles = t->status_cycles;
}

void zt_tick(void* p) {
    Vztnic_top* t = static_cast<ZtSim*>(p)->top;
    t->clk = 1;
    t->eval();
    t->clk = 0;
    t->eval();
}

}  // extern "C"
