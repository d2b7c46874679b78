//! `rtl/ztnic_ctrl.v` alone, driven over its AXI4-Lite port: the access rules the
//! register map states (`rtl/regmap.toml`) and the datapath's other tests cannot see
//! from outside the chip.
//!
//! - A multi-word register takes effect at once: the auth key's words 0..2 are held
//!   until word 3 is written (`cfg_auth_key` never shows a mix of two keys), and a
//!   timeout's low half until its high half is written (`cfg_timeouts`); reads return
//!   the value in effect.
//! - The table window keeps the command in progress: `select`, `index` and the data
//!   words written while `status.busy` are ignored, and take writes again once the
//!   pipeline answers (`tbl_done`).
//! - Plain registers read back what was written, with byte strobes; every access is
//!   answered (two clocks from address to response).
//!
//! Register addresses and reset values are read from `rtl/generated/ztnic_regmap.vh`.

use ztnic_rtl_sim::unit::{Error, ModuleSim};
use ztnic_verilator_tests::phv::Layout;

/// Clocks an access may take before the test gives up on a response.
const PATIENCE: usize = 20;

struct Ctrl {
    m: ModuleSim,
    l: Layout,
}

impl Ctrl {
    fn new() -> Result<Ctrl, Error> {
        let mut m = ModuleSim::build("ztnic_ctrl", &[])?;
        for p in [
            "s_axil_awvalid",
            "s_axil_wvalid",
            "s_axil_arvalid",
            "tbl_done",
            "tbl_err",
            "evt_valid",
            "stat_rx",
            "stat_tx",
            "stat_verdict",
        ] {
            m.set_bool(p, false)?;
        }
        m.set_bool("s_axil_bready", true)?;
        m.set_bool("s_axil_rready", true)?;
        m.set_bool("rst", true)?;
        m.tick("clk")?;
        m.set_bool("rst", false)?;
        m.tick("clk")?;
        Ok(Ctrl {
            m,
            l: Layout::load(),
        })
    }

    fn addr(&self, name: &str) -> u64 {
        self.l.p(name) as u64
    }

    fn write(&mut self, addr: u64, data: u32, strb: u8) -> Result<(), Error> {
        let m = &mut self.m;
        m.set_u64("s_axil_awaddr", addr)?;
        m.set_u64("s_axil_wdata", u64::from(data))?;
        m.set_u64("s_axil_wstrb", u64::from(strb))?;
        m.set_bool("s_axil_awvalid", true)?;
        m.set_bool("s_axil_wvalid", true)?;
        let mut taken = false;
        for _ in 0..PATIENCE {
            m.eval()?;
            if !taken && m.get_bool("s_axil_awready")? {
                assert!(m.get_bool("s_axil_wready")?, "awready without wready");
                m.tick("clk")?;
                m.set_bool("s_axil_awvalid", false)?;
                m.set_bool("s_axil_wvalid", false)?;
                taken = true;
                continue;
            }
            if taken && m.get_bool("s_axil_bvalid")? {
                m.tick("clk")?;
                return Ok(());
            }
            m.tick("clk")?;
        }
        panic!("no write response for {addr:#x} within {PATIENCE} clocks");
    }

    fn read(&mut self, addr: u64) -> Result<u32, Error> {
        let m = &mut self.m;
        m.set_u64("s_axil_araddr", addr)?;
        m.set_bool("s_axil_arvalid", true)?;
        let mut taken = false;
        for _ in 0..PATIENCE {
            m.eval()?;
            if !taken && m.get_bool("s_axil_arready")? {
                m.tick("clk")?;
                m.set_bool("s_axil_arvalid", false)?;
                taken = true;
                continue;
            }
            if taken && m.get_bool("s_axil_rvalid")? {
                let v = m.get_u64("s_axil_rdata")? as u32;
                m.tick("clk")?;
                return Ok(v);
            }
            m.tick("clk")?;
        }
        panic!("no read response for {addr:#x} within {PATIENCE} clocks");
    }

    fn key(&mut self) -> Result<u128, Error> {
        let w = self.m.get("cfg_auth_key")?;
        Ok(w.iter()
            .enumerate()
            .fold(0u128, |k, (i, &x)| k | (u128::from(x) << (32 * i))))
    }

    fn timeout(&mut self, i: usize) -> Result<u64, Error> {
        let w = self.m.get("cfg_timeouts")?;
        Ok(u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32))
    }
}

#[test]
fn the_auth_key_takes_effect_whole_with_its_last_word() -> Result<(), Error> {
    let mut c = Ctrl::new()?;
    let base = c.addr("REG_CONFIG_AUTH_KEY");
    let stride = c.addr("REG_CONFIG_AUTH_KEY_STRIDE");
    let first: [u32; 4] = [0x0302_0100, 0x0706_0504, 0x0b0a_0908, 0x0f0e_0d0c];
    let second: [u32; 4] = [0xa0a1_a2a3, 0xb0b1_b2b3, 0xc0c1_c2c3, 0xd0d1_d2d3];
    let whole = |w: [u32; 4]| {
        w.iter()
            .enumerate()
            .fold(0u128, |k, (i, &x)| k | (u128::from(x) << (32 * i)))
    };
    for (key, before) in [(first, 0u128), (second, whole(first))] {
        for (i, &w) in key.iter().enumerate().take(3) {
            c.write(base + stride * i as u64, w, 0xf)?;
            assert_eq!(c.key()?, before, "after word {i} alone the old key stays");
            assert_eq!(
                c.read(base + stride * i as u64)?,
                (before >> (32 * i)) as u32,
                "word {i} reads the key in effect"
            );
        }
        c.write(base + stride * 3, key[3], 0xf)?;
        assert_eq!(c.key()?, whole(key), "word 3 puts the whole key in effect");
        for (i, &w) in key.iter().enumerate() {
            assert_eq!(c.read(base + stride * i as u64)?, w, "word {i} read back");
        }
    }
    Ok(())
}

#[test]
fn a_timeout_takes_effect_with_its_high_half() -> Result<(), Error> {
    let mut c = Ctrl::new()?;
    let lo = c.addr("REG_CONFIG_TIMEOUT_LO");
    let hi = c.addr("REG_CONFIG_TIMEOUT_HI");
    let stride = c.addr("REG_CONFIG_TIMEOUT_LO_STRIDE");
    for i in [0usize, 2, 12] {
        let before = c.timeout(i)?;
        let want: u64 = 0x0000_0001_2345_6789 + ((i as u64) << 40);
        c.write(lo + stride * i as u64, want as u32, 0xf)?;
        assert_eq!(
            c.timeout(i)?,
            before,
            "timeout {i}: the low half alone waits"
        );
        assert_eq!(c.read(lo + stride * i as u64)?, before as u32);
        c.write(hi + stride * i as u64, (want >> 32) as u32, 0xf)?;
        assert_eq!(c.timeout(i)?, want, "timeout {i}: both halves at once");
        assert_eq!(c.read(lo + stride * i as u64)?, want as u32);
        assert_eq!(c.read(hi + stride * i as u64)?, (want >> 32) as u32);
    }
    Ok(())
}

#[test]
fn the_table_window_keeps_the_command_in_progress() -> Result<(), Error> {
    let mut c = Ctrl::new()?;
    let (sel, idx, cmd, status) = (
        c.addr("REG_TABLES_SELECT"),
        c.addr("REG_TABLES_INDEX"),
        c.addr("REG_TABLES_CMD"),
        c.addr("REG_TABLES_STATUS"),
    );
    let data0 = c.addr("REG_TABLES_DATA");
    c.write(sel, 3, 0xf)?;
    c.write(idx, 5, 0xf)?;
    c.write(data0, 0x1111_1111, 0xf)?;
    c.write(cmd, c.l.p("TABLE_CMD_WRITE") as u32, 0xf)?;
    assert!(
        c.m.get_bool("tbl_req")?,
        "the access is handed to the pipeline"
    );
    assert_eq!(c.read(status)? & 1, 1, "busy");
    // the pipeline has not answered: nothing may change the access in progress
    c.write(sel, 7, 0xf)?;
    c.write(idx, 9, 0xf)?;
    c.write(data0, 0x2222_2222, 0xf)?;
    assert_eq!(c.m.get_u64("tbl_select")?, 3, "select written while busy");
    assert_eq!(c.m.get_u64("tbl_index")?, 5, "index written while busy");
    assert_eq!(
        c.m.get("tbl_wdata")?[0],
        0x1111_1111,
        "data written while busy"
    );
    assert_eq!(c.read(sel)?, 3);
    assert_eq!(c.read(idx)?, 5);
    // the pipeline answers; the window takes writes again
    c.m.set_bool("tbl_done", true)?;
    c.m.tick("clk")?;
    c.m.set_bool("tbl_done", false)?;
    c.m.tick("clk")?;
    assert!(!c.m.get_bool("tbl_req")?, "the access is over");
    assert_eq!(c.read(status)? & 1, 0, "not busy");
    c.write(sel, 7, 0xf)?;
    c.write(idx, 9, 0xf)?;
    assert_eq!(c.m.get_u64("tbl_select")?, 7);
    assert_eq!(c.m.get_u64("tbl_index")?, 9);
    Ok(())
}

#[test]
fn plain_registers_read_back_with_byte_strobes() -> Result<(), Error> {
    let mut c = Ctrl::new()?;
    let uplink = c.addr("REG_CONFIG_UPLINK_PORT");
    let reset = c.l.p("REG_CONFIG_UPLINK_PORT_RESET") as u32;
    assert_eq!(c.read(uplink)?, reset);
    c.write(uplink, 0x1234_5678, 0xf)?;
    assert_eq!(c.read(uplink)?, 0x1234_5678);
    c.write(uplink, 0xaaaa_bbcc, 0b0001)?;
    assert_eq!(c.read(uplink)?, 0x1234_56cc, "only byte 0 written");
    assert_eq!(c.m.get_u64("cfg_uplink_port")?, 0x56cc);
    assert_eq!(
        c.read(c.addr("REG_ID_TYPE"))?,
        c.l.p("BLK_ID_TYPE") as u32,
        "the id block"
    );
    Ok(())
}
