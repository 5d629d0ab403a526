//! The Rust side of bench/bench_tfevents.sh: writes a large event file of scalars, reads it with
//! the workbench's reader, and measures what following a growing file costs. A plain main.
//!
//!   tfevents_read gen PATH MB      write about MB megabytes of scalar events (three tags,
//!                                  `simple_value` and new-style tensor scalars alternating)
//!   tfevents_read read PATH N      read PATH N times; prints one JSON line (median seconds)
//!   tfevents_read grow PATH MB     follow a copy of PATH's first half, append MB megabytes,
//!                                  time the re-poll; prints one JSON line
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use workbench::runs::external::{
    encode_file_version, encode_scalar_event, parse_record, read_event_file, EventFileReader, Frame,
    ScalarStyle,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["gen", path, mb] => generate(Path::new(path), mb.parse().unwrap()),
        ["read", path, n] => read(Path::new(path), n.parse().unwrap()),
        ["grow", path, mb] => grow(Path::new(path), mb.parse().unwrap()),
        _ => eprintln!("usage: tfevents_read gen PATH MB | read PATH N | grow PATH MB"),
    }
}

/// Events for steps `from..`, about `bytes` long.
fn events(from: i64, bytes: usize, out: &mut Vec<u8>) {
    let start = out.len();
    let mut step = from;
    while out.len() - start < bytes {
        let t = 1_767_225_600.0 + step as f64 * 0.01;
        let style = if step % 2 == 0 { ScalarStyle::Simple } else { ScalarStyle::TensorFloat };
        encode_scalar_event("loss/train", step, t, 1.0 / (1.0 + step as f64), style, out);
        encode_scalar_event("lr", step, t, 0.1 * 0.999f64.powi((step / 100) as i32), style, out);
        if step % 10 == 0 {
            encode_scalar_event("accuracy/val", step, t, 1.0 - 1.0 / (2.0 + step as f64), style, out);
        }
        step += 1;
    }
}

fn generate(path: &Path, mb: usize) {
    let mut out = Vec::with_capacity(mb << 20);
    encode_file_version(1_767_225_600.0, &mut out);
    events(0, mb << 20, &mut out);
    std::fs::File::create(path).unwrap().write_all(&out).unwrap();
    println!("{{\"bytes\": {}}}", out.len());
}

fn read(path: &Path, n: usize) {
    let bytes = std::fs::metadata(path).unwrap().len();
    let mut times = Vec::new();
    let (mut records, mut points) = (0, 0);
    for _ in 0..n {
        let t = Instant::now();
        let (batch, problem) = read_event_file(path).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert!(problem.is_none(), "{problem:?}");
        records = batch.records;
        points = batch.scalars.values().map(Vec::len).sum::<usize>();
    }
    times.sort_by(f64::total_cmp);
    let s = times[times.len() / 2];
    println!(
        "{{\"bytes\": {bytes}, \"records\": {records}, \"points\": {points}, \"seconds\": {s}, \"records_per_s\": {}, \"min_s\": {}, \"max_s\": {}}}",
        records as f64 / s,
        times[0],
        times[times.len() - 1]
    );
}

fn grow(path: &Path, mb: usize) {
    let all = std::fs::read(path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("events.out.tfevents.grow");
    // Cut at a record boundary: read the first half through the reader itself.
    std::fs::write(&copy, &all[..all.len() / 2]).unwrap();
    let mut reader = EventFileReader::new(&copy);
    let t = Instant::now();
    let first = reader.read_new().unwrap();
    let first_s = t.elapsed().as_secs_f64();
    let base = reader.offset();
    // An idle re-poll: a stat, nothing read.
    let t = Instant::now();
    let idle = reader.read_new().unwrap();
    let idle_s = t.elapsed().as_secs_f64();
    assert_eq!(idle.records, 0);
    let mut more = Vec::new();
    events(10_000_000, mb << 20, &mut more);
    let mut f = std::fs::OpenOptions::new().append(true).open(&copy).unwrap();
    // Complete the record the cut went through, then append new records.
    let Frame::Record { size, .. } = parse_record(&all[base as usize..]).unwrap() else {
        panic!("the generated file ends in a cut record")
    };
    f.write_all(&all[base as usize + (all.len() / 2 - base as usize)..base as usize + size]).unwrap();
    f.write_all(&more).unwrap();
    drop(f);
    let appended = std::fs::metadata(&copy).unwrap().len() - base;
    let t = Instant::now();
    let grown = reader.read_new().unwrap();
    let grown_s = t.elapsed().as_secs_f64();
    assert!(reader.problem().is_none(), "{:?}", reader.problem());
    assert_eq!(reader.offset(), base + appended);
    println!(
        "{{\"base_bytes\": {base}, \"base_s\": {first_s}, \"base_records\": {}, \"idle_repoll_s\": {idle_s}, \"appended_bytes\": {appended}, \"appended_records\": {}, \"repoll_s\": {grown_s}}}",
        first.records, grown.records
    );
}
