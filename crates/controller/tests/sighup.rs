//! SIGHUP reloads the metadata file. Its own test binary: the signal goes to the
//! whole process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    missing_docs
)]

mod common;

use common::{Env, VpOpts, next_vp_event, wait_vps};
use std::time::Duration;
use vantage_client::VpEvent;
use vantage_controller::{Config, LinkSecurity};

#[test]
fn sighup_reloads_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("meta");
    std::fs::write(&meta, "vp1 cc nz\nvp1 place Auckland\n").unwrap();
    let mut cfg = Config::new(
        vec!["127.0.0.1:0".parse().unwrap()],
        dir.path().join("mux"),
        LinkSecurity::Plaintext,
    );
    cfg.vp_meta = Some(meta.clone());
    cfg.grace = Duration::from_secs(30);
    assert!(cfg.reload_on_sighup);
    let env = Env::with_config(cfg, dir);
    let vp = env.vp(VpOpts::named("vp1"));
    vp.established();
    let c = env.client();
    wait_vps(&c, 1);
    assert_eq!(c.vps()[0].place.as_deref(), Some("Auckland"));
    std::fs::write(&meta, "vp1 cc nz\nvp1 place Wellington\nvp1 shortname w\n").unwrap();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP).unwrap();
    let VpEvent::Updated(info) = next_vp_event(&c) else {
        panic!("expected an update")
    };
    assert_eq!(info.place.as_deref(), Some("Wellington"));
    assert_eq!(info.shortname.as_deref(), Some("w"));
    assert_eq!(c.find_vp("w").map(|v| v.id), Some(info.id));
}
