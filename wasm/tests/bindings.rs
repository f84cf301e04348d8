//! The bindings as JavaScript sees them (run under wasm-bindgen-test-runner).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use tally_wasm::Explorer;
use wasm_bindgen_test::wasm_bindgen_test;

const CSV: &str =
    "\u{feff}source,pk,sk,create_date,total_price,input_token,output_token,precio_token_input,precio_token_output\r
new_table,<img src=x onerror=alert(1)>,s1,2025-12-02 08:15:00,0.011775,1234.0,538.0,0.003702,0.00807\r
old_table,p2,s2,2025-12-01 00:00:00,1.8e-05,1,1,3e-06,1.5e-05\r
old_table,sin_datos,sin_datos,,0.0,0,0,0.0,0.0\r
new_table,p3,s3,bad date,0,0,0,0,0\r
";

fn explorer() -> Explorer {
    Explorer::new(CSV.as_bytes().to_vec()).map_err(|_| "load").unwrap()
}

fn parse(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[wasm_bindgen_test]
fn loads_a_lambda_csv_and_reports_bad_lines() {
    let e = explorer();
    assert_eq!(e.rows(), 2);
    let info = parse(&e.info());
    assert_eq!(info["placeholder_rows"], 1);
    assert_eq!(info["unreadable"][0]["line"], 5);
    assert_eq!(info["unreadable"][0]["error"], "not a date: 'bad date'");
    assert_eq!(info["first_day"], "2025-12-01");
}

#[wasm_bindgen_test]
fn views_follow_the_filter() {
    let e = explorer();
    let all = parse(&e.views("{}", 10).map_err(|_| "views").unwrap());
    assert_eq!(all["headline"]["total_cost"], "0.011793");
    assert_eq!(all["top"][0]["pk"], "<img src=x onerror=alert(1)>");
    let old = parse(&e.views(r#"{"sources": ["old_table"]}"#, 10).map_err(|_| "views").unwrap());
    assert_eq!(old["headline"]["records"], 1);
    assert!(e.views(r#"{"from": "yesterday"}"#, 10).is_err());
}

#[wasm_bindgen_test]
fn whatif_reprices() {
    let e = explorer();
    let w = parse(
        &e.whatif("{}", r#"{"input_per_1k": "0.00025", "output_per_1k": "0.00125", "batch": true}"#)
            .map_err(|_| "whatif")
            .unwrap(),
    );
    // 1234 * 0.000125 = 0.00015425 -> 0.000154; 538 * 0.000625 = 0.00033625 -> 0.000336; 1/1 -> 0 + 0.000001
    assert_eq!(w["whatif_cost"], "0.000491");
    assert!(e.whatif("{}", r#"{"input_per_1k": "x", "output_per_1k": "1"}"#).is_err());
    let csv = e.whatif_csv("{}", r#"{"input_per_1k": "0.003", "output_per_1k": "0.015"}"#).map_err(|_| "csv").unwrap();
    assert!(String::from_utf8(csv).unwrap().starts_with("create_date,"));
}

#[wasm_bindgen_test]
fn the_catalog_is_checked_by_the_core() {
    let shipped = parse(&tally_wasm::catalog(include_str!("../../web/prices.json")).map_err(|_| "catalog").unwrap());
    assert!(shipped["models"].as_array().unwrap().len() >= 10);
    assert_eq!(shipped["dropped"], serde_json::json!([]));
    assert!(shipped["as_of"].is_string() && shipped["models"][0]["source"].is_string());
    let c = parse(
        &tally_wasm::catalog(r#"{"models": [{"id": "a", "input_per_1k": "1", "output_per_1k": "2"}, {"id": "b", "input_per_1k": "3e-3", "output_per_1k": "1"}]}"#)
            .map_err(|_| "catalog")
            .unwrap(),
    );
    assert_eq!(c["models"][0]["name"], "a");
    assert_eq!(c["batch_multiplier"], tally_wasm::default_batch_multiplier());
    assert_eq!(c["dropped"][0]["entry"], "b");
    assert!(tally_wasm::catalog(r#"{"models": []}"#).is_err());
    assert!(tally_wasm::is_plain_price("0.003") && tally_wasm::is_plain_price(" .5 "));
    assert!(
        !tally_wasm::is_plain_price("3e-3") && !tally_wasm::is_plain_price("-1") && !tally_wasm::is_plain_price("")
    );
}
