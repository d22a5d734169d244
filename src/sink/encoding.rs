//! Which columns of a file get a dictionary, decided on its first rows.
//!
//! A dictionary pays for columns that repeat (names, states, hosts) and is wasted work for
//! those that hardly do (request ids, query strings, byte counts): Parquet writers keep
//! hashing every value into the dictionary until it outgrows its page limit (1 MiB),
//! then abandon it for the rest of the column chunk and write the values plainly. The
//! rows before that paid for hashing and got nothing for it.
//!
//! So before a file's first row group is written, each column that would get a
//! dictionary is measured on the rows at hand (the first round of encoding: 64 Ki rows, or fewer when they are wide):
//! the bytes its dictionary page would take after half of them and after all of them,
//! and how many of the second half's values were new. A column is written without a
//! dictionary when both say it cannot pay: most values of the second half are new (it
//! is nearly unique: request ids, byte counts of a TCP proxy), and its dictionary,
//! projected to a row group with Heaps' law (`D(n) = K·nᵝ`, ᵝ from the two points, and
//! for integers no more than every value between the least and the greatest seen),
//! would pass the page limit. A column whose values come back keeps its dictionary even
//! when the projection says it may outgrow it (a few tens of thousands of clients or
//! byte sizes): there, while it lasts, it makes the file smaller, and the projection
//! overshoots for a population the first rows have not yet seen whole.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int16Type, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

/// `properties` with the dictionary turned off for the columns whose dictionary the
/// first rows show would outgrow its page in a row group of `row_group_rows`.
/// `whole_file`: `batches` are all the file will hold, so nothing is projected.
pub fn drop_outgrown_dictionaries(
    properties: WriterProperties,
    batches: &[RecordBatch],
    row_group_rows: usize,
    whole_file: bool,
) -> WriterProperties {
    let Some(first) = batches.first() else { return properties };
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut outgrown = Vec::new();
    for (index, field) in first.schema().fields().iter().enumerate() {
        let column = ColumnPath::from(field.name().as_str());
        // A list's values are its Parquet leaf, `name.list.item`, as arrow-rs names it.
        let leaf = match field.data_type() {
            DataType::List(item) => ColumnPath::new(vec![field.name().clone(), "list".into(), item.name().clone()]),
            _ => column,
        };
        if !properties.dictionary_enabled(&leaf) {
            continue;
        }
        let arrays: Vec<&dyn Array> = batches.iter().map(|batch| batch.column(index).as_ref()).collect();
        let Some(growth) = DictionaryGrowth::measure(&arrays, rows) else { continue };
        let target = if whole_file { rows } else { row_group_rows.max(rows) };
        let limit = properties.column_dictionary_page_size_limit(&leaf) as f64;
        if growth.mostly_new() && growth.projected_bytes(rows, target) >= limit {
            outgrown.push(leaf);
        }
    }
    if outgrown.is_empty() {
        return properties;
    }
    let mut builder = properties.into_builder();
    for column in outgrown {
        builder = builder.set_column_dictionary_enabled(column, false);
    }
    builder.build()
}

/// The size of a column's PLAIN dictionary page (each distinct value with its 4-byte
/// length, or at its physical width) after half of the measured rows and after all, and
/// how many values the second half had and how many of them were new.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DictionaryGrowth {
    half_bytes: usize,
    full_bytes: usize,
    second_half_values: usize,
    second_half_new: usize,
    /// For integers: the dictionary of every value between the least and the greatest
    /// seen. Ports, for one, never need more than 256 KiB.
    range_bytes: Option<f64>,
}

impl DictionaryGrowth {
    /// `None` for types whose dictionary is not judged here: names (Arrow dictionaries,
    /// a handful of values by nature), flags, times (no dictionary anyway).
    fn measure(arrays: &[&dyn Array], rows: usize) -> Option<DictionaryGrowth> {
        let mut counter = Counter { rows_seen: 0, half_rows: rows / 2, half_bytes: None, bytes: 0, values: 0, new: 0 };
        let data_type = arrays.first()?.data_type().clone();
        let mut range_bytes = None;
        match &data_type {
            DataType::Utf8 => {
                let mut seen = HashSet::new();
                for array in arrays {
                    let strings = array.as_string::<i32>();
                    for row in 0..strings.len() {
                        if strings.is_valid(row) {
                            let value = strings.value(row).as_bytes();
                            counter.add(seen.insert(value).then_some(4 + value.len()));
                        }
                        counter.next_row();
                    }
                }
            }
            DataType::List(item) if item.data_type() == &DataType::Utf8 => {
                let mut seen = HashSet::new();
                for array in arrays {
                    let lists = array.as_list::<i32>();
                    let strings = lists.values().as_string::<i32>();
                    let offsets = lists.value_offsets();
                    for row in 0..lists.len() {
                        for item in offsets[row] as usize..offsets[row + 1] as usize {
                            if strings.is_valid(item) {
                                let value = strings.value(item).as_bytes();
                                counter.add(seen.insert(value).then_some(4 + value.len()));
                            }
                        }
                        counter.next_row();
                    }
                }
            }
            DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                // INT32 and INT64 are Parquet's physical types: Int16 is stored in 4 bytes.
                let width = if data_type == DataType::Int64 { 8 } else { 4 };
                let mut seen = HashSet::new();
                let (mut least, mut greatest) = (i64::MAX, i64::MIN);
                for array in arrays {
                    for row in 0..array.len() {
                        if array.is_valid(row) {
                            let value = match &data_type {
                                DataType::Int16 => i64::from(array.as_primitive::<Int16Type>().value(row)),
                                DataType::Int32 => i64::from(array.as_primitive::<Int32Type>().value(row)),
                                _ => array.as_primitive::<Int64Type>().value(row),
                            };
                            (least, greatest) = (least.min(value), greatest.max(value));
                            counter.add(seen.insert(value).then_some(width));
                        }
                        counter.next_row();
                    }
                }
                if least <= greatest {
                    range_bytes = Some((greatest as f64 - least as f64 + 1.0) * width as f64);
                }
            }
            _ => return None,
        }
        Some(DictionaryGrowth {
            half_bytes: counter.half_bytes.unwrap_or(counter.bytes),
            full_bytes: counter.bytes,
            second_half_values: counter.values,
            second_half_new: counter.new,
            range_bytes,
        })
    }

    /// Most values of the second half had not been seen before.
    fn mostly_new(self) -> bool {
        self.second_half_new * 2 > self.second_half_values
    }

    /// The dictionary's size after `target_rows`, from its size after `rows` and `rows / 2`.
    fn projected_bytes(self, rows: usize, target_rows: usize) -> f64 {
        let full = self.full_bytes as f64;
        if target_rows <= rows || self.half_bytes == 0 {
            return full;
        }
        let exponent = (full / self.half_bytes as f64).log2().clamp(0.0, 1.0);
        let projected = full * (target_rows as f64 / rows as f64).powf(exponent);
        self.range_bytes.map_or(projected, |range| projected.min(range))
    }
}

struct Counter {
    rows_seen: usize,
    half_rows: usize,
    half_bytes: Option<usize>,
    bytes: usize,
    /// Values in the second half, and the new ones among them.
    values: usize,
    new: usize,
}

impl Counter {
    fn add(&mut self, new_value_bytes: Option<usize>) {
        self.bytes += new_value_bytes.unwrap_or(0);
        if self.half_bytes.is_some() {
            self.values += 1;
            self.new += usize::from(new_value_bytes.is_some());
        }
    }

    fn next_row(&mut self) {
        self.rows_seen += 1;
        if self.rows_seen == self.half_rows {
            self.half_bytes = Some(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder};
    use arrow::datatypes::{Field, Schema};

    const ROWS: usize = 64 * 1024;
    const ROW_GROUP: usize = 1024 * 1024;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> =
            columns.iter().map(|(name, array)| Field::new(*name, array.data_type().clone(), true)).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect()).unwrap()
    }

    fn kept(properties: &WriterProperties, name: &str) -> bool {
        properties.dictionary_enabled(&ColumnPath::from(name))
    }

    #[test]
    fn unique_values_lose_their_dictionary_and_repeated_ones_keep_it() {
        let unique = StringArray::from_iter_values((0..ROWS).map(|i| format!("{:016x}", i * 7919)));
        // 20 000 clients drawn with a skew: most come back, the dictionary saturates.
        let mut rng = fastrand::Rng::with_seed(1);
        let clients = StringArray::from_iter_values((0..ROWS).map(|_| {
            let u = rng.f64();
            format!("10.0.{}.{}", (u * u * u * 20_000.0) as usize / 256, (u * u * u * 20_000.0) as usize % 256)
        }));
        let bytes = Int64Array::from_iter_values((0..ROWS as i64).map(|i| i * 104_729 % 1_000_003));
        let statuses = Int64Array::from_iter_values((0..ROWS as i64).map(|i| [200, 304, 404, 503][i as usize % 4]));
        let batch = batch(vec![
            ("unique", Arc::new(unique)),
            ("clients", Arc::new(clients)),
            ("bytes", Arc::new(bytes)),
            ("statuses", Arc::new(statuses)),
        ]);
        let properties =
            drop_outgrown_dictionaries(WriterProperties::default(), std::slice::from_ref(&batch), ROW_GROUP, false);
        assert!(!kept(&properties, "unique") && !kept(&properties, "bytes"));
        assert!(kept(&properties, "clients") && kept(&properties, "statuses"));
        // A small file is all there is: nothing grows, and 20 000 unique values fit.
        let small = batch.slice(0, 20_000);
        let whole =
            drop_outgrown_dictionaries(WriterProperties::default(), std::slice::from_ref(&small), ROW_GROUP, true);
        assert!(kept(&whole, "unique") && kept(&whole, "bytes"));
        let growing = drop_outgrown_dictionaries(WriterProperties::default(), &[small], ROW_GROUP, false);
        assert!(!kept(&growing, "unique"));
    }

    #[test]
    fn lists_are_judged_by_their_items_over_several_batches() {
        let lists = |offset: usize, unique: bool| {
            let mut builder = ListBuilder::new(StringBuilder::new());
            for row in offset..offset + ROWS / 2 {
                if unique {
                    builder.values().append_value(format!("{row:016x}"));
                } else {
                    builder.values().append_value("api.example.com");
                    builder.values().append_value("curl/8.5.0");
                }
                builder.append(true);
            }
            Arc::new(builder.finish()) as ArrayRef
        };
        let batches: Vec<RecordBatch> = [0, ROWS / 2]
            .into_iter()
            .map(|offset| batch(vec![("ids", lists(offset, true)), ("agents", lists(offset, false))]))
            .collect();
        let properties = drop_outgrown_dictionaries(WriterProperties::default(), &batches, ROW_GROUP, false);
        let item = |name: &str| ColumnPath::new(vec![name.into(), "list".into(), "item".into()]);
        assert!(!properties.dictionary_enabled(&item("ids")) && properties.dictionary_enabled(&item("agents")));
    }

    #[test]
    fn heaps_exponent_bounds_the_projection() {
        let unique = DictionaryGrowth {
            half_bytes: 100,
            full_bytes: 200,
            second_half_values: 10,
            second_half_new: 10,
            range_bytes: None,
        };
        assert_eq!(unique.projected_bytes(1000, 16_000), 3200.0);
        assert!(unique.mostly_new());
        let saturated = DictionaryGrowth { half_bytes: 200, second_half_new: 0, ..unique };
        assert!(!saturated.mostly_new());
        assert_eq!(saturated.projected_bytes(1000, 16_000), 200.0);
        assert_eq!(unique.projected_bytes(1000, 1000), 200.0);
        let ports = DictionaryGrowth { range_bytes: Some(1000.0), ..unique };
        assert_eq!(ports.projected_bytes(1000, 16_000), 1000.0);
    }
}
