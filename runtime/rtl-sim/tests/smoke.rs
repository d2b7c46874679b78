//! The binding reaches the model: the id block describes itself.

use ztnic_rtl_sim::{Nic, regmap};

#[test]
fn id_block_reports_its_type_and_chains_to_config() {
    let mut nic = Nic::new();
    assert_eq!(
        nic.read(regmap::id::BASE + regmap::header::TYPE).unwrap(),
        regmap::id::TYPE
    );
    assert_eq!(
        nic.read(regmap::id::BASE + regmap::header::NEXT).unwrap(),
        regmap::config::BASE
    );
    assert_eq!(nic.read(regmap::id::DATA_WIDTH).unwrap(), 512);
}
