//! The C ABI of `csrc/ztnic_sim.cpp` and a safe owner of its handle.

use std::ffi::c_void;

use crate::{BEAT_BYTES, Inputs, Outputs};

#[repr(C)]
#[derive(Default)]
struct ZtIn {
    rst: u8,
    ts_us: u64,
    s_tdata: [u32; 16],
    s_tkeep: u64,
    s_tvalid: u8,
    s_tlast: u8,
    s_tuser: u16,
    m_tready: u8,
    awaddr: u16,
    awvalid: u8,
    wdata: u32,
    wstrb: u8,
    wvalid: u8,
    bready: u8,
    araddr: u16,
    arvalid: u8,
    rready: u8,
}

#[repr(C)]
#[derive(Default)]
struct ZtOut {
    s_tready: u8,
    m_tdata: [u32; 16],
    m_tkeep: u64,
    m_tvalid: u8,
    m_tlast: u8,
    m_tuser: u16,
    awready: u8,
    wready: u8,
    bvalid: u8,
    arready: u8,
    rvalid: u8,
    rdata: u32,
    st_valid: u8,
    st_verdict: u8,
    st_reason: u8,
    st_port: u16,
    st_ct_valid: u8,
    st_ct_state: u8,
    st_rule_valid: u8,
    st_rule: u32,
    st_cycles: u16,
}

unsafe extern "C" {
    fn zt_new() -> *mut c_void;
    fn zt_free(p: *mut c_void);
    fn zt_comb(p: *mut c_void, input: *const ZtIn, output: *mut ZtOut);
    fn zt_tick(p: *mut c_void);
}

/// Owns one model instance; freed on drop.
pub(crate) struct Handle(*mut c_void);

impl Handle {
    pub(crate) fn new() -> Handle {
        // SAFETY: zt_new allocates a model and never returns null (C++ new throws).
        let p = unsafe { zt_new() };
        assert!(!p.is_null(), "zt_new returned null");
        Handle(p)
    }

    pub(crate) fn comb(&mut self, i: &Inputs) -> Outputs {
        let mut data = [0u32; 16];
        for (w, chunk) in data.iter_mut().zip(i.s_tdata.chunks_exact(4)) {
            *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let zin = ZtIn {
            rst: i.rst.into(),
            ts_us: i.ts_us,
            s_tdata: data,
            s_tkeep: i.s_tkeep,
            s_tvalid: i.s_tvalid.into(),
            s_tlast: i.s_tlast.into(),
            s_tuser: i.s_tuser,
            m_tready: i.m_tready.into(),
            awaddr: i.awaddr,
            awvalid: i.awvalid.into(),
            wdata: i.wdata,
            wstrb: i.wstrb,
            wvalid: i.wvalid.into(),
            bready: i.bready.into(),
            araddr: i.araddr,
            arvalid: i.arvalid.into(),
            rready: i.rready.into(),
        };
        let mut o = ZtOut::default();
        // SAFETY: self.0 is a live model; both structs are repr(C) and match the C side.
        unsafe { zt_comb(self.0, &zin, &mut o) };
        let mut m_tdata = [0u8; BEAT_BYTES];
        for (chunk, w) in m_tdata.chunks_exact_mut(4).zip(o.m_tdata) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Outputs {
            s_tready: o.s_tready != 0,
            m_tdata,
            m_tkeep: o.m_tkeep,
            m_tvalid: o.m_tvalid != 0,
            m_tlast: o.m_tlast != 0,
            m_tuser: o.m_tuser,
            awready: o.awready != 0,
            wready: o.wready != 0,
            bvalid: o.bvalid != 0,
            arready: o.arready != 0,
            rvalid: o.rvalid != 0,
            rdata: o.rdata,
            st_valid: o.st_valid != 0,
            st_verdict: o.st_verdict,
            st_reason: o.st_reason,
            st_port: o.st_port,
            st_ct_valid: o.st_ct_valid != 0,
            st_ct_state: o.st_ct_state,
            st_rule_valid: o.st_rule_valid != 0,
            st_rule: o.st_rule,
            st_cycles: o.st_cycles,
        }
    }

    pub(crate) fn tick(&mut self) {
        // SAFETY: self.0 is a live model.
        unsafe { zt_tick(self.0) }
    }
}

// SAFETY: the model is a plain single-threaded C++ object with its own
// VerilatedContext (no thread-local state, no threads of its own); `Handle` is not
// `Sync` and every call takes `&mut self`, so it is only ever used by one thread at
// a time, which may change (an agent moves the NIC into its server task).
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: self.0 came from zt_new and is freed exactly once.
        unsafe { zt_free(self.0) }
    }
}

// ---- the OpenNIC shell wrapper (`csrc/ztnic_opennic_sim.cpp`) ----

/// One AXI4-Stream beat of the shell's 250 MHz interface, in and out.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ZoStream {
    pub(crate) tdata: [u32; 16],
    pub(crate) tkeep: u64,
    pub(crate) tvalid: u8,
    pub(crate) tlast: u8,
    pub(crate) tuser_size: u16,
    pub(crate) tuser_src: u16,
    pub(crate) tuser_dst: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ZoIn {
    pub(crate) mod_rstn: u8,
    pub(crate) ts_us: u64,
    pub(crate) h2c: ZoStream,
    pub(crate) rx: ZoStream,
    pub(crate) c2h_tready: u8,
    pub(crate) tx_tready: u8,
    pub(crate) awaddr: u32,
    pub(crate) awvalid: u8,
    pub(crate) wdata: u32,
    pub(crate) wvalid: u8,
    pub(crate) bready: u8,
    pub(crate) araddr: u32,
    pub(crate) arvalid: u8,
    pub(crate) rready: u8,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ZoOut {
    pub(crate) mod_rst_done: u8,
    pub(crate) h2c_tready: u8,
    pub(crate) rx_tready: u8,
    pub(crate) c2h: ZoStream,
    pub(crate) tx: ZoStream,
    pub(crate) awready: u8,
    pub(crate) wready: u8,
    pub(crate) bvalid: u8,
    pub(crate) bresp: u8,
    pub(crate) arready: u8,
    pub(crate) rvalid: u8,
    pub(crate) rresp: u8,
    pub(crate) rdata: u32,
    pub(crate) st_valid: u8,
    pub(crate) st_verdict: u8,
    pub(crate) st_reason: u8,
    pub(crate) st_port: u16,
    pub(crate) st_ct_valid: u8,
    pub(crate) st_ct_state: u8,
    pub(crate) st_rule_valid: u8,
    pub(crate) st_rule: u32,
    pub(crate) st_cycles: u16,
}

unsafe extern "C" {
    fn zo_new() -> *mut c_void;
    fn zo_free(p: *mut c_void);
    fn zo_comb(p: *mut c_void, input: *const ZoIn, output: *mut ZoOut);
    fn zo_edge(p: *mut c_void, clocks: u8);
}

/// Owns one model of the OpenNIC wrapper; freed on drop.
pub(crate) struct OpenNicHandle(*mut c_void);

impl OpenNicHandle {
    pub(crate) fn new() -> OpenNicHandle {
        // SAFETY: zo_new allocates a model and never returns null (C++ new throws).
        let p = unsafe { zo_new() };
        assert!(!p.is_null(), "zo_new returned null");
        OpenNicHandle(p)
    }

    /// Applies the inputs with both clocks low and returns the outputs.
    pub(crate) fn comb(&mut self, input: &ZoIn) -> ZoOut {
        let mut o = ZoOut::default();
        // SAFETY: self.0 is a live model; both structs are repr(C) and match the C side.
        unsafe { zo_comb(self.0, input, &mut o) };
        o
    }

    /// A rising edge of axis_aclk, axil_aclk or both.
    pub(crate) fn edge(&mut self, axis: bool, axil: bool) {
        let clocks = u8::from(axis) | (u8::from(axil) << 1);
        // SAFETY: self.0 is a live model.
        unsafe { zo_edge(self.0, clocks) }
    }
}

// SAFETY: as for `Handle`: a plain single-threaded C++ object with its own context,
// used through `&mut self` only.
unsafe impl Send for OpenNicHandle {}

impl Drop for OpenNicHandle {
    fn drop(&mut self) {
        // SAFETY: self.0 came from zo_new and is freed exactly once.
        unsafe { zo_free(self.0) }
    }
}
