//! One test per case of `../shared/fixtures/cases/`, named after the case:
//! the token pair of each estimator, the date, the map status, the date
//! filter and the exact CSV cells of the `v2` row.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used)]

mod common;

use serde_json::Value;
use tally_core::dates::{CreateTime, DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::item_from_json;
use tally_core::job::{evaluate, is_conversation, process, JobSpec, Outcome};
use tally_core::pricing::{parse_price, Prices};

fn pair(v: &Value) -> Option<(u64, u64)> {
    let a = v.as_array()?;
    Some((a[0].as_u64()?, a[1].as_u64()?))
}

fn check(name: &str) {
    let item = item_from_json(&common::read(&format!("cases/{name}.item.json"))).unwrap();
    let want = common::read_json(&format!("cases/{name}.expected.json"));

    for (key, estimator) in [("v1", Estimator::V1), ("v2", Estimator::V2), ("full", Estimator::Full)] {
        let eval = evaluate(&item, estimator, None);
        if estimator == Estimator::Full && want["full"].is_null() {
            assert_eq!(want["full_skipped"], Value::Bool(true), "{name}: full is null but not skipped");
            assert!(!is_conversation(&item), "{name}: full should skip this item");
            continue;
        }
        let got = (eval.estimate.tokens.input, eval.estimate.tokens.output);
        assert_eq!(Some(got), pair(&want[key]), "{name}: {key} tokens");
    }

    let eval = evaluate(&item, Estimator::V2, None);
    assert_eq!(eval.map_status.as_str(), want["map_status"].as_str().unwrap(), "{name}: map status");
    let date = eval.create_time.seconds().map(tally_core::dates::format_datetime).unwrap_or_default();
    assert_eq!(date, want["create_date"].as_str().unwrap(), "{name}: create_date");
    assert_eq!(
        eval.create_time == CreateTime::Invalid,
        want["invalid_date"].as_bool().unwrap(),
        "{name}: invalid_date"
    );

    let prices = Prices {
        input_per_1k: parse_price(want["prices"]["input_per_1k"].as_str().unwrap()).unwrap(),
        output_per_1k: parse_price(want["prices"]["output_per_1k"].as_str().unwrap()).unwrap(),
    };
    let open = DateRange { start: Day::parse("0001-01-01").unwrap(), end: None };
    let spec = JobSpec { estimator: Estimator::V2, source: "new_table".into(), range: open, prices };
    let Outcome::Row { row, .. } = process(&item, &spec, None) else { panic!("{name}: no v2 row") };
    let cells = row.cells();
    for (k, column) in tally_core::csv::HEADER.iter().enumerate() {
        assert_eq!(cells[k], want["row_v2"][column].as_str().unwrap(), "{name}: row_v2.{column}");
    }

    if let Some(filter) = want.get("filter") {
        let end = filter["end"].as_str().unwrap();
        let range = DateRange {
            start: Day::parse(filter["start"].as_str().unwrap()).unwrap(),
            end: if end.is_empty() { None } else { Some(Day::parse(end).unwrap()) },
        };
        let spec = JobSpec { range, ..spec };
        let kept = !matches!(process(&item, &spec, None), Outcome::Filtered);
        assert_eq!(kept, filter["kept"].as_bool().unwrap(), "{name}: filter kept");
    }
}

macro_rules! cases {
    ($($name:ident)*) => {
        $( #[test] fn $name() { check(stringify!($name)); } )*

        /// Every case on disk has a test here, and every test a case.
        #[test]
        fn every_case_has_a_test() {
            let listed: std::collections::BTreeSet<&str> = [$(stringify!($name)),*].into_iter().collect();
            let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(common::fixtures().join("cases"))
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".item.json").map(String::from))
                .collect();
            let on_disk: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
            assert_eq!(listed, on_disk);
        }
    };
}

cases! {
    body_not_string_ignored
    chars_count_code_points_combining
    chars_count_code_points_emoji
    date_boundary_before_start_excluded
    date_boundary_end_exclusive_next_day
    date_boundary_start_inclusive
    date_create_time_string_number
    date_missing_empty
    date_ms_truncated_toward_zero
    date_not_a_number_invalid
    date_seconds_read_as_ms
    date_zero_empty
    floor_one_one_when_nothing_counted
    full_image_attachment_count_nothing
    full_reasoning_counts_output
    full_thinking_log_string_is_output
    full_toolresult_json_without_content_key
    json_duplicate_keys_last_wins
    json_lone_surrogate_counts_one
    json_nan_infinity
    json_number_forms
    large_message_root_only
    map_empty_object_total_price_noise
    map_empty_string
    map_fallback_ody_corruption
    map_fallback_strip_newlines
    map_json_list_floor
    map_json_null_floor
    map_json_scalar_floor
    map_missing_no_total_price
    map_null_attribute
    map_typed_m_numbers
    map_unreadable_python_repr
    map_unreadable_total_price_half_even
    node_not_object_skipped
    price_default_rates
    price_round_half_even
    repr_escapes_non_printable
    repr_quote_choice
    role_instruction_system_input_bot_output
    role_null_or_number_counts_nothing
    role_unknown_counts_nothing_tooluse_still_output
    roles_lower_cased
    sk_not_conv_skipped_by_full
    tokens_max_one_for_short_text
    tokens_per_text_then_summed
    used_chunks_str_of_content
    v1_content_string
    v1_counts_image_body
    v1_ignores_tool_items
    v2_content_single_object
    v2_content_type_missing_is_text
    v2_ignores_thinking_log_full_counts
    v2_nested_message_in_content
    v2_toolresult_json_dict_repr
    v2_toolresult_json_list_of_dicts_repr
    v2_toolresult_json_string_content
    v2_toolresult_text_ignored_full_counts
    v2_tooluse_falsy_input_counts_nothing
    v2_tooluse_float_repr_json
    v2_tooluse_input_as_json_non_ascii
}
