// C ABI over the Verilated ztnic_opennic (the OpenNIC shell wrapper), whose two clocks
// the Rust crate advances independently: zo_comb() applies the inputs with both clocks
// low and returns the outputs; zo_edge() makes a rising edge of axis_aclk, axil_aclk or
// both at once.

#include <cstdint>
#include <cstring>

#include "Vztnic_opennic.h"
#include "verilated.h"

extern "C" {

struct ZoStreamIn {
    uint32_t tdata[16];
    uint64_t tkeep;
    uint8_t tvalid;
    uint8_t tlast;
    uint16_t tuser_size;
    uint16_t tuser_src;
    uint16_t tuser_dst;
};

struct ZoStreamOut {
    uint32_t tdata[16];
    uint64_t tkeep;
    uint8_t tvalid;
    uint8_t tlast;
    uint16_t tuser_size;
    uint16_t tuser_src;
    uint16_t tuser_dst;
};

struct ZoIn {
    uint8_t mod_rstn;
    uint64_t ts_us;
    ZoStreamIn h2c;
    ZoStreamIn rx;
    uint8_t c2h_tready;
    uint8_t tx_tready;
    uint32_t awaddr;
    uint8_t awvalid;
    uint32_t wdata;
    uint8_t wvalid;
    uint8_t bready;
    uint32_t araddr;
    uint8_t arvalid;
    uint8_t rready;
};

struct ZoOut {
    uint8_t mod_rst_done;
    uint8_t h2c_tready;
    uint8_t rx_tready;
    ZoStreamOut c2h;
    ZoStreamOut tx;
    uint8_t awready;
    uint8_t wready;
    uint8_t bvalid;
    uint8_t bresp;
    uint8_t arready;
    uint8_t rvalid;
    uint8_t rresp;
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

struct ZoSim {
    VerilatedContext* ctx;
    Vztnic_opennic* top;
};

void* zo_new(void) {
    ZoSim* s = new ZoSim;
    s->ctx = new VerilatedContext;
    s->top = new Vztnic_opennic{s->ctx};
    s->top->axis_aclk = 0;
    s->top->axil_aclk = 0;
    s->top->mod_rstn = 0;
    s->top->eval();
    return s;
}

void zo_free(void* p) {
    ZoSim* s = static_cast<ZoSim*>(p);
    s->top->final();
    delete s->top;
    delete s->ctx;
    delete s;
}

void zo_comb(void* p, const ZoIn* in, ZoOut* out) {
    Vztnic_opennic* t = static_cast<ZoSim*>(p)->top;
    t->mod_rstn = in->mod_rstn;
    t->ts_us = in->ts_us;

    for (int i = 0; i < 16; i++) t->s_axis_qdma_h2c_tdata[i] = in->h2c.tdata[i];
    t->s_axis_qdma_h2c_tkeep = in->h2c.tkeep;
    t->s_axis_qdma_h2c_tvalid = in->h2c.tvalid;
    t->s_axis_qdma_h2c_tlast = in->h2c.tlast;
    t->s_axis_qdma_h2c_tuser_size = in->h2c.tuser_size;
    t->s_axis_qdma_h2c_tuser_src = in->h2c.tuser_src;
    t->s_axis_qdma_h2c_tuser_dst = in->h2c.tuser_dst;

    for (int i = 0; i < 16; i++) t->s_axis_adap_rx_250mhz_tdata[i] = in->rx.tdata[i];
    t->s_axis_adap_rx_250mhz_tkeep = in->rx.tkeep;
    t->s_axis_adap_rx_250mhz_tvalid = in->rx.tvalid;
    t->s_axis_adap_rx_250mhz_tlast = in->rx.tlast;
    t->s_axis_adap_rx_250mhz_tuser_size = in->rx.tuser_size;
    t->s_axis_adap_rx_250mhz_tuser_src = in->rx.tuser_src;
    t->s_axis_adap_rx_250mhz_tuser_dst = in->rx.tuser_dst;

    t->m_axis_qdma_c2h_tready = in->c2h_tready;
    t->m_axis_adap_tx_250mhz_tready = in->tx_tready;

    t->s_axil_awaddr = in->awaddr;
    t->s_axil_awvalid = in->awvalid;
    t->s_axil_wdata = in->wdata;
    t->s_axil_wvalid = in->wvalid;
    t->s_axil_bready = in->bready;
    t->s_axil_araddr = in->araddr;
    t->s_axil_arvalid = in->arvalid;
    t->s_axil_rready = in->rready;

    t->eval();

    out->mod_rst_done = t->mod_rst_done;
    out->h2c_tready = t->s_axis_qdma_h2c_tready;
    out->rx_tready = t->s_axis_adap_rx_250mhz_tready;

    for (int i = 0; i < 16; i++) out->c2h.tdata[i] = t->m_axis_qdma_c2h_tdata[i];
    out->c2h.tkeep = t->m_axis_qdma_c2h_tkeep;
    out->c2h.tvalid = t->m_axis_qdma_c2h_tvalid;
    out->c2h.tlast = t->m_axis_qdma_c2h_tlast;
    out->c2h.tuser_size = t->m_axis_qdma_c2h_tuser_size;
    out->c2h.tuser_src = t->m_axis_qdma_c2h_tuser_src;
    out->c2h.tuser_dst = t->m_axis_qdma_c2h_tuser_dst;

    for (int i = 0; i < 16; i++) out->tx.tdata[i] = t->m_axis_adap_tx_250mhz_tdata[i];
    out->tx.tkeep = t->m_axis_adap_tx_250mhz_tkeep;
    out->tx.tvalid = t->m_axis_adap_tx_250mhz_tvalid;
    out->tx.tlast = t->m_axis_adap_tx_250mhz_tlast;
    out->tx.tuser_size = t->m_axis_adap_tx_250mhz_tuser_size;
    out->tx.tuser_src = t->m_axis_adap_tx_250mhz_tuser_src;
    out->tx.tuser_dst = t->m_axis_adap_tx_250mhz_tuser_dst;

    out->awready = t->s_axil_awready;
    out->wready = t->s_axil_wready;
    out->bvalid = t->s_axil_bvalid;
    out->bresp = t->s_axil_bresp;
    out->arready = t->s_axil_arready;
    out->rvalid = t->s_axil_rvalid;
    out->rresp = t->s_axil_rresp;
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

// Rising edge of axis_aclk (bit 0 of `clocks`), axil_aclk (bit 1) or both together.
void zo_edge(void* p, uint8_t clocks) {
    Vztnic_opennic* t = static_cast<ZoSim*>(p)->top;
    t->axis_aclk = clocks & 1;
    t->axil_aclk = (clocks >> 1) & 1;
    t->eval();
    t->axis_aclk = 0;
    t->axil_aclk = 0;
    t->eval();
}

}  // extern "C"
