use serde_json::json;

use super::*;

fn views(waves: &[u32], statuses: &[TargetStatus]) -> Vec<TargetView> {
    waves
        .iter()
        .zip(statuses)
        .map(|(w, s)| TargetView {
            wave: Some(*w),
            status: *s,
        })
        .collect()
}

fn input(current_wave: u32, wave_count: u32) -> StepInput {
    StepInput {
        current_wave,
        wave_count,
        failure_budget: 2,
        max_parallel: 5,
        baked: true,
    }
}

#[test]
fn sixty_targets_with_one_canary_and_ten_fifty_hundred_percent_make_four_waves() {
    let waves = [
        WaveSize::Percent(10),
        WaveSize::Percent(50),
        WaveSize::Percent(100),
    ];
    let w = assign_waves(60, 1, &waves);
    let size = |n| w.iter().filter(|x| **x == n).count();
    assert_eq!([size(0), size(1), size(2), size(3)], [1, 5, 24, 30]);
    assert_eq!(w.len(), 60);
    assert!(w.windows(2).all(|p| p[0] <= p[1]));
}

#[test]
fn counts_are_wave_sizes_and_targets_left_over_form_a_last_wave() {
    let w = assign_waves(10, 0, &[WaveSize::Count(2), WaveSize::Count(3)]);
    assert_eq!(w, [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]);
}

#[test]
fn waves_that_add_nothing_are_dropped() {
    // 10% of 3 rounds up to 1, which the canary already covers.
    let w = assign_waves(3, 1, &[WaveSize::Percent(10), WaveSize::Percent(100)]);
    assert_eq!(w, [0, 1, 1]);
    assert!(assign_waves(0, 1, &[WaveSize::Percent(100)]).is_empty());
}

#[test]
fn percentages_parse_and_print_with_the_percent_sign() {
    let w: Vec<WaveSize> = serde_json::from_value(json!(["10%", 5, "100%"])).unwrap();
    assert_eq!(
        w,
        [
            WaveSize::Percent(10),
            WaveSize::Count(5),
            WaveSize::Percent(100)
        ]
    );
    assert_eq!(serde_json::to_value(&w).unwrap(), json!(["10%", 5, "100%"]));
    for bad in [json!(["0%"]), json!(["101%"]), json!(["ten%"]), json!([-1])] {
        assert!(serde_json::from_value::<Vec<WaveSize>>(bad).is_err());
    }
}

#[test]
fn strategy_numbers_out_of_range_are_field_errors() {
    let errors = check_strategy(&[WaveSize::Count(0)], 0, MAX_BAKE_SECONDS + 1).unwrap_err();
    let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "/strategy/waves",
            "/strategy/max_parallel",
            "/strategy/bake_seconds"
        ]
    );
    assert!(check_strategy(&[WaveSize::Percent(50)], 5, 0).is_ok());
}

/// RFC 7396 Appendix A's examples.
#[test]
fn merge_patch_follows_the_rfc_examples() {
    let cases = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a":{"b":"c"}}),
            json!({"a":{"b":"d","c":null}}),
            json!({"a":{"b":"d"}}),
        ),
        (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ];
    for (mut target, patch, want) in cases {
        merge_patch(&mut target, &patch);
        assert_eq!(target, want, "patch {patch}");
    }
}

#[test]
fn a_wave_starts_no_more_than_max_parallel_counting_work_in_flight() {
    use TargetStatus::*;
    let t = views(
        &[0, 0, 0, 0, 0, 0, 0, 1],
        &[
            Running, Queued, Pending, Pending, Pending, Pending, Succeeded, Pending,
        ],
    );
    assert_eq!(next(&t, input(0, 2)), Next::Start(vec![2, 3, 4]));
}

#[test]
fn reaching_the_failure_budget_halts_even_with_work_left() {
    use TargetStatus::*;
    let t = views(&[0, 0, 0, 1], &[Failed, Failed, Pending, Pending]);
    assert_eq!(next(&t, input(0, 2)), Next::Halt);
    let t = views(&[0, 0, 0, 1], &[Failed, Succeeded, Pending, Pending]);
    assert_eq!(next(&t, input(0, 2)), Next::Start(vec![2]));
}

#[test]
fn a_finished_wave_bakes_then_advances_and_the_last_one_finishes() {
    use TargetStatus::*;
    let t = views(&[0, 1], &[Succeeded, Pending]);
    let mut i = input(0, 2);
    i.baked = false;
    assert_eq!(next(&t, i), Next::Bake);
    i.baked = true;
    assert_eq!(next(&t, i), Next::Advance(1));
    let t = views(&[0, 1], &[Succeeded, Skipped]);
    assert_eq!(next(&t, input(1, 2)), Next::Finish);
}

#[test]
fn stored_names_are_snake_case() {
    for s in TargetStatus::ALL {
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    for s in RolloutStatus::ALL {
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
}
