//! Rendered Pulumi programs: a matrix of configs that must validate, structural rules per
//! case, validator negative tests, and snapshots of representative programs.

#[path = "program/support.rs"]
mod support;

use byoc::domain::config::{EksMode, IngressController, NatStrategy};
use byoc::program::validate;
use support::{Case, Toggles, render_config, sample_config};

#[test]
fn smoke() {
    let case = Case {
        mode: EksMode::Managed,
        nat: NatStrategy::OnePerAz,
        az_count: 3,
        secondary: true,
        components: Toggles::all(IngressController::IngressNginx),
    };
    let p = render_config(&sample_config(&case));
    std::fs::write("/tmp/managed.yaml", p.yaml()).unwrap();
    let problems = validate(&p);
    for pr in &problems {
        eprintln!("{pr}");
    }
    assert!(problems.is_empty());
}
