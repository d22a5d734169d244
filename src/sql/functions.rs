//! SQL functions for HAProxy logs, registered in every session.
//!
//! - `status_class(status)`: `1xx` ... `5xx`, or `other` for anything outside 100-599
//!   (HAProxy's -1 included), as halog groups them.
//! - `termination_cause(state)`, `termination_phase(state)`, `persistence_cookie(state)`,
//!   `set_cookie_action(state)`: one character of a termination state as a word.
//! - `termination_explain(state)`: what the state means to an operator, in a sentence.
//! - `request_text(method, uri_origin, path, query, http_version)`: the request line the
//!   parts stand for, where `request_line` is null because they rebuild it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::parse::termination;

pub fn register(context: &SessionContext) {
    for udf in all() {
        context.register_udf(udf);
    }
}

pub fn all() -> Vec<ScalarUDF> {
    let mut udfs = vec![
        create_udf(
            "status_class",
            vec![DataType::Int64],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(status_class),
        ),
        create_udf(
            "termination_explain",
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| map_strings(args, |state| Some(termination::explain(state.as_bytes())))),
        ),
        create_udf(
            "request_text",
            vec![DataType::Utf8; 5],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(request_text),
        ),
    ];
    type Decode = fn(u8) -> Option<&'static str>;
    let decoders: [(&str, usize, Decode); 4] = [
        ("termination_cause", 0, termination::cause),
        ("termination_phase", 1, termination::phase),
        ("persistence_cookie", 2, termination::persistence_cookie),
        ("set_cookie_action", 3, termination::set_cookie_action),
    ];
    for (name, position, decode) in decoders {
        let decode_state = move |args: &[ColumnarValue]| {
            map_strings(args, |state| state.as_bytes().get(position).and_then(|&code| decode(code)).map(str::to_string))
        };
        udfs.push(create_udf(
            name,
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(decode_state),
        ));
    }
    udfs
}

fn arrays(args: &[ColumnarValue]) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
    let rows = args
        .iter()
        .find_map(|arg| match arg {
            ColumnarValue::Array(array) => Some(array.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1);
    let arrays = args.iter().map(|arg| arg.to_array(rows)).collect::<Result<Vec<_>>>()?;
    Ok((arrays, scalar))
}

fn output(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&array, 0)?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Applies `f` to each non-null string of the single argument.
fn map_strings(args: &[ColumnarValue], f: impl Fn(&str) -> Option<String>) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let strings = cast(&arrays[0], &DataType::Utf8)?;
    let strings = strings.as_string::<i32>();
    let result: StringArray = strings.iter().map(|value| value.and_then(&f)).collect();
    output(Arc::new(result), scalar)
}

fn status_class(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let statuses = cast(&arrays[0], &DataType::Int64)?;
    let result: StringArray = statuses
        .as_primitive::<Int64Type>()
        .iter()
        .map(|status| {
            status.map(|code| match code {
                100..=199 => "1xx",
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                500..=599 => "5xx",
                _ => "other",
            })
        })
        .collect();
    output(Arc::new(result), scalar)
}

fn request_text(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (arrays, scalar) = arrays(args)?;
    let parts = arrays.iter().map(|array| cast(array, &DataType::Utf8)).collect::<Result<Vec<_>, _>>()?;
    let [method, origin, path, query, version] = [0, 1, 2, 3, 4].map(|i| parts[i].as_string::<i32>());
    let mut result = StringBuilder::new();
    let mut text = String::new();
    for row in 0..method.len() {
        if method.is_null(row) {
            result.append_null();
            continue;
        }
        text.clear();
        text.push_str(method.value(row));
        text.push(' ');
        for (part, prefix) in [(origin, ""), (path, ""), (query, "?")] {
            if part.is_valid(row) {
                text.push_str(prefix);
                text.push_str(part.value(row));
            }
        }
        if version.is_valid(row) {
            text.push(' ');
            text.push_str(version.value(row));
        }
        result.append_value(&text);
    }
    output(Arc::new(result.finish()), scalar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int16Array, StringArray};

    fn strings(value: ColumnarValue) -> Vec<Option<String>> {
        let ColumnarValue::Array(array) = value else { panic!("an array") };
        array.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn status_classes_follow_halog() {
        let statuses = Int16Array::from(vec![Some(200), Some(-1), None, Some(503), Some(99), Some(600)]);
        let classes = strings(status_class(&[ColumnarValue::Array(Arc::new(statuses))]).unwrap());
        let expected = [Some("2xx"), Some("other"), None, Some("5xx"), Some("other"), Some("other")];
        assert_eq!(classes, expected.map(|c| c.map(str::to_string)));
    }

    #[test]
    fn termination_states_decode_position_by_position() {
        let udfs = all();
        let states = ColumnarValue::Array(Arc::new(StringArray::from(vec![Some("sD--"), Some("CQ"), None])));
        let call = |name: &str| {
            let udf = udfs.iter().find(|u| u.name() == name).unwrap();
            let args = datafusion::logical_expr::ScalarFunctionArgs {
                args: vec![states.clone()],
                arg_fields: vec![Arc::new(arrow::datatypes::Field::new("s", DataType::Utf8, true))],
                number_rows: 3,
                return_field: Arc::new(arrow::datatypes::Field::new("r", DataType::Utf8, true)),
                config_options: Arc::new(Default::default()),
            };
            strings(udf.invoke_with_args(args).unwrap())
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(call("termination_cause"), [some("server_timeout"), some("client_abort"), None]);
        assert_eq!(call("termination_phase"), [some("data"), some("queue"), None]);
        assert_eq!(call("persistence_cookie")[1], None, "a 2-character state has no cookie part");
        assert!(call("termination_explain")[0].as_deref().unwrap().contains("server"));
    }

    #[test]
    fn request_text_rebuilds_the_line() {
        let column = |values: Vec<Option<&str>>| ColumnarValue::Array(Arc::new(StringArray::from(values)));
        let text = request_text(&[
            column(vec![Some("GET"), Some("GET"), None]),
            column(vec![Some("https://h"), None, None]),
            column(vec![Some("/a"), Some("/cut"), None]),
            column(vec![Some("x=1"), None, None]),
            column(vec![Some("HTTP/2.0"), None, None]),
        ])
        .unwrap();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(strings(text), [some("GET https://h/a?x=1 HTTP/2.0"), some("GET /cut"), None]);
    }
}
