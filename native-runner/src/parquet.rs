//! `--format parquet`: the seed's rows and the users report as Parquet files
//! with the Athena types of `tally athena-sql` (timestamps, integer tokens,
//! `DECIMAL(10,6)` prices stored as exact integers of millionths, never
//! floats), snappy-compressed, with statistics. The bytes depend only on the
//! rows: the same rows give the same file.

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rust_decimal::Decimal;
use tally_core::csv::Row;
use tally_core::users::{questions_json, Rating, UserRow};

/// Rows per row group at most.
const ROW_GROUP: usize = 128 * 1024;
/// Bytes of rows (in memory) per row group at most: a users report's rows
/// can be large.
const GROUP_BYTES: usize = 32 << 20;

/// The seed's nine columns (`tally athena-sql`'s types).
pub const ROWS_SCHEMA: &str = "message tokens_analysis {
  OPTIONAL INT64 create_date (TIMESTAMP(MILLIS,false));
  REQUIRED INT64 input_token;
  REQUIRED INT64 output_token;
  REQUIRED INT64 precio_token_input (DECIMAL(10,6));
  REQUIRED INT64 precio_token_output (DECIMAL(10,6));
  REQUIRED INT64 total_price (DECIMAL(10,6));
  REQUIRED BYTE_ARRAY pk (UTF8);
  REQUIRED BYTE_ARRAY sk (UTF8);
  REQUIRED BYTE_ARRAY source (UTF8);
}";

/// The users report's twelve columns; a user's cost can exceed a row's, so
/// it has 18 digits.
pub const USERS_SCHEMA: &str = "message users_report {
  REQUIRED BYTE_ARRAY usuario_id (UTF8);
  REQUIRED BYTE_ARRAY nombre (UTF8);
  REQUIRED BYTE_ARRAY email (UTF8);
  OPTIONAL INT64 fecha_primera_conversacion (TIMESTAMP(MILLIS,false));
  OPTIONAL INT64 fecha_ultima_conversacion (TIMESTAMP(MILLIS,false));
  REQUIRED INT64 numero_conversaciones;
  REQUIRED BYTE_ARRAY lista_preguntas (UTF8);
  REQUIRED INT64 feedback_likes;
  REQUIRED INT64 feedback_dislikes;
  REQUIRED BYTE_ARRAY feedback_ultima_respuesta (UTF8);
  REQUIRED INT64 tokens_total;
  REQUIRED INT64 costo_estimado_usd (DECIMAL(18,6));
}";

/// One column: how to read its value from a row.
enum Column<T> {
    /// An integer (or a decimal's millionths, or a timestamp's milliseconds);
    /// `None` is null (the column must be OPTIONAL).
    Int(fn(&T) -> Result<Option<i64>>),
    /// Text.
    Text(fn(&T) -> String),
}

/// `d` in millionths, refused when it has more than `digits` digits.
fn micros(d: Decimal, digits: u32, what: &str) -> Result<i64> {
    let mut d = d.round_dp(6);
    d.rescale(6);
    let m = d.mantissa();
    if m.unsigned_abs() >= 10u128.pow(digits) {
        bail!("{what} {d} does not fit DECIMAL({digits},6)");
    }
    Ok(m as i64)
}

fn count(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).with_context(|| format!("{what} {n} does not fit BIGINT"))
}

fn millis(secs: Option<i64>) -> Option<i64> {
    secs.map(|s| s.saturating_mul(1000))
}

/// Writes `rows` with `schema` into `w`, one column of `columns` per
/// field, a row group at a time (at most [`ROW_GROUP`] rows or
/// [`GROUP_BYTES`] of them, by `weight`); the writer back.
fn write_to<T, W: Write + Send>(
    schema: &str,
    columns: &[Column<T>],
    rows: impl Iterator<Item = Result<T>>,
    weight: fn(&T) -> usize,
    w: W,
) -> Result<W> {
    let schema = Arc::new(parse_message_type(schema).context("the Parquet schema")?);
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("tally {}", env!("CARGO_PKG_VERSION")))
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let mut writer = SerializedFileWriter::new(w, schema, Arc::new(props))?;
    let mut group: Vec<T> = Vec::new();
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        group.clear();
        let mut bytes = 0;
        while group.len() < ROW_GROUP && bytes < GROUP_BYTES {
            let Some(row) = rows.next() else { break };
            let row = row?;
            bytes += weight(&row);
            group.push(row);
        }
        write_group(&mut writer, columns, &group)?;
    }
    Ok(writer.into_inner()?)
}

/// One row group.
fn write_group<T, W: Write + Send>(
    writer: &mut SerializedFileWriter<W>,
    columns: &[Column<T>],
    group: &[T],
) -> Result<()> {
    let mut row_group = writer.next_row_group()?;
    for column in columns {
        let mut out = row_group.next_column()?.context("a column the schema does not have")?;
        match column {
            Column::Int(value) => {
                let mut values = Vec::with_capacity(group.len());
                let mut defined = Vec::with_capacity(group.len());
                for row in group {
                    let v = value(row)?;
                    defined.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                let optional = out.typed::<Int64Type>().get_descriptor().max_def_level() > 0;
                out.typed::<Int64Type>().write_batch(&values, optional.then_some(&defined[..]), None)?;
            }
            Column::Text(value) => {
                let values: Vec<ByteArray> = group.iter().map(|r| ByteArray::from(value(r).into_bytes())).collect();
                out.typed::<ByteArrayType>().write_batch(&values, None, None)?;
            }
        }
        out.close()?;
    }
    row_group.close()?;
    Ok(())
}

/// The length of a Parquet file's metadata, from its last 8 bytes.
pub fn footer_len(end: &[u8]) -> Result<u64> {
    match end {
        [a, b, c, d, b'P', b'A', b'R', b'1'] => Ok(u64::from(u32::from_le_bytes([*a, *b, *c, *d]))),
        _ => bail!("not a Parquet file (no PAR1 at its end)"),
    }
}

/// Rows in a Parquet file, from its footer (the metadata and the last 8 bytes).
pub fn rows_in_footer(footer: &[u8]) -> Result<u64> {
    let metadata = footer.get(..footer.len().saturating_sub(8)).context("not a Parquet footer")?;
    let meta = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(metadata)
        .context("the Parquet metadata is unreadable")?;
    Ok(meta.file_metadata().num_rows().max(0) as u64)
}

/// The seed's rows as a Parquet file.
#[cfg(test)]
pub fn rows_parquet(rows: &[Row]) -> Result<Vec<u8>> {
    rows_parquet_to(rows.iter().cloned().map(Ok), Vec::new())
}

/// The seed's rows, as they come, into `w`.
pub fn rows_parquet_to<W: Write + Send>(rows: impl Iterator<Item = Result<Row>>, w: W) -> Result<W> {
    fn price(d: Decimal, what: &str, r: &Row) -> Result<Option<i64>> {
        micros(d, 10, what).with_context(|| format!("the row of {}/{}", r.pk, r.sk)).map(Some)
    }
    let columns: [Column<Row>; 9] = [
        Column::Int(|r| Ok(millis(r.create_date))),
        Column::Int(|r| count(r.input_token, "input_token").map(Some)),
        Column::Int(|r| count(r.output_token, "output_token").map(Some)),
        Column::Int(|r| price(r.precio_token_input, "precio_token_input", r)),
        Column::Int(|r| price(r.precio_token_output, "precio_token_output", r)),
        Column::Int(|r| price(r.total_price, "total_price", r)),
        Column::Text(|r| r.pk.clone()),
        Column::Text(|r| r.sk.clone()),
        Column::Text(|r| r.source.clone()),
    ];
    write_to(ROWS_SCHEMA, &columns, rows, |r| r.pk.len() + r.sk.len() + 160, w)
}

/// The users report, as it comes, into `w`.
pub fn users_parquet_to<W: Write + Send>(rows: impl Iterator<Item = Result<UserRow>>, w: W) -> Result<W> {
    let columns: [Column<UserRow>; 12] = [
        Column::Text(|u| u.usuario_id.clone()),
        Column::Text(|u| u.nombre.clone()),
        Column::Text(|u| u.email.clone()),
        Column::Int(|u| Ok(millis(u.first))),
        Column::Int(|u| Ok(millis(u.last))),
        Column::Int(|u| count(u.conversations, "numero_conversaciones").map(Some)),
        Column::Text(|u| questions_json(&u.questions)),
        Column::Int(|u| count(u.likes, "feedback_likes").map(Some)),
        Column::Int(|u| count(u.dislikes, "feedback_dislikes").map(Some)),
        Column::Text(|u| u.rating.map_or("", Rating::as_str).to_string()),
        Column::Int(|u| count(u.tokens, "tokens_total").map(Some)),
        Column::Int(|u| {
            micros(u.cost, 18, "costo_estimado_usd").with_context(|| format!("user {}", u.usuario_id)).map(Some)
        }),
    ];
    let weight = |u: &UserRow| u.questions.iter().map(|q| q.len() + 40).sum::<usize>() + 300;
    write_to(USERS_SCHEMA, &columns, rows, weight, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_millionths_within_their_digits() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(micros(d("0.001234"), 10, "p").expect("fits"), 1234);
        assert_eq!(micros(d("9999.999999"), 10, "p").expect("fits"), 9_999_999_999);
        assert_eq!(micros(d("-0.5"), 10, "p").expect("fits"), -500_000);
        let err = micros(d("10000"), 10, "total_price").expect_err("too wide");
        assert_eq!(err.to_string(), "total_price 10000.000000 does not fit DECIMAL(10,6)");
        assert_eq!(micros(d("123456789012.345678"), 18, "c").expect("fits"), 123_456_789_012_345_678);
    }

    #[test]
    fn the_same_rows_give_the_same_bytes() {
        let row = Row {
            create_date: Some(1_764_547_200),
            input_token: 10,
            output_token: 20,
            precio_token_input: Decimal::new(30, 6),
            precio_token_output: Decimal::new(300, 6),
            total_price: Decimal::new(330, 6),
            pk: "u".into(),
            sk: "u#CONV#1".into(),
            source: "new_table".into(),
        };
        let rows = vec![row.clone(), Row { create_date: None, ..row }];
        let a = rows_parquet(&rows).expect("parquet");
        assert_eq!(a, rows_parquet(&rows).expect("parquet"));
        assert!(a.starts_with(b"PAR1") && a.ends_with(b"PAR1"));
        let n = footer_len(&a[a.len() - 8..]).expect("footer") as usize;
        assert_eq!(rows_in_footer(&a[a.len() - n - 8..]).expect("rows"), 2);
        assert!(footer_len(b"12345678").is_err());
        let wide = Row { total_price: Decimal::new(10_000, 0), ..rows[0].clone() };
        let err = rows_parquet(&[wide]).expect_err("too wide");
        assert!(format!("{err:#}").contains("the row of u/u#CONV#1: total_price 10000.000000"), "{err:#}");
    }
}
