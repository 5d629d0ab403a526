//! Parsing a large CSV on all cores while the file is read in one sequential pass.
//!
//! ```text
//! this thread ── (piece, start, bytes) ──► parser threads ── (piece, rows) ──► this thread
//!  reads, cuts at line breaks               RowParser::parse_plain             appends in file order
//! ```
//! A piece ends at a line break, so each parser starts at a row's beginning. It numbers its
//! lines from 0 and counts its line breaks; putting the pieces back in order moves each one's
//! numbers on by the lines before it, so errors name the file's line (the reading thread then
//! never counts line breaks itself). A line break inside a quoted field
//! would cut a row in two: from the first piece holding a quote on, the rest of the file is
//! parsed on this thread, in order, as the sequential path parses it. Any error stops the
//! reading; the first one in file order is the one reported, as a sequential parse would.
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read};
use std::sync::{mpsc, Mutex};

use super::table_rows::{RowParser, Rows, Start};
use crate::data::error::{DataError, DataErrorKind, StageError};

/// Bytes in one piece: large enough that a piece's start-up costs nothing, small enough that the
/// pieces in flight (two per parser, and the one being read) stay about 20 MiB: fresh pages are
/// faulted in page by page. (8 MiB pieces staged 200 MiB 5% slower on two cores; 1 to 3 MiB
/// measured the same as 4.)
pub const PIECE_BYTES: usize = 4 << 20;

/// Where the features go, piece by piece in file order, when they aren't kept in memory (the
/// staged file, written while the rest is parsed).
pub type FeatureSink<'s> = &'s mut dyn FnMut(&[f32]) -> Result<(), StageError>;

/// Results put back in file order.
struct InOrder<'s> {
    next: usize,
    /// Line breaks in the pieces put back so far.
    lines: u64,
    waiting: BTreeMap<usize, Result<Rows, StageError>>,
    rows: Rows,
    sink: Option<FeatureSink<'s>>,
    error: Option<StageError>,
    /// Some piece failed (perhaps after one still parsing): reading more is pointless.
    failed: bool,
}

/// Buffers handed back for the next pieces: without them, every piece's bytes and features would
/// be fresh memory, zeroed and faulted in page by page (a tenth of the parse's time).
#[derive(Default)]
struct Pool {
    bytes: Mutex<Vec<Vec<u8>>>,
    features: Mutex<Vec<Vec<f32>>>,
}

impl Pool {
    fn take<T>(shelf: &Mutex<Vec<Vec<T>>>) -> Vec<T> {
        shelf.lock().ok().and_then(|mut s| s.pop()).unwrap_or_default()
    }

    fn give<T>(shelf: &Mutex<Vec<Vec<T>>>, buffer: Vec<T>) {
        if let Ok(mut s) = shelf.lock() {
            s.push(buffer);
        }
    }
}

impl InOrder<'_> {
    fn add(&mut self, piece: usize, result: Result<Rows, StageError>, pool: &Pool) {
        self.failed |= result.is_err();
        self.waiting.insert(piece, result);
        while let Some(result) = self.waiting.remove(&self.next) {
            self.next += 1;
            match result {
                _ if self.error.is_some() => {}
                Ok(mut rows) => {
                    rows.count_on_from(self.lines);
                    self.lines += rows.line_breaks;
                    let mut x = std::mem::take(&mut rows.x);
                    match self.sink.as_mut() {
                        Some(sink) => {
                            if let Err(e) = sink(&x) {
                                self.error = Some(e);
                                self.failed = true;
                                continue;
                            }
                        }
                        None if self.rows.x.is_empty() => std::mem::swap(&mut self.rows.x, &mut x),
                        None => self.rows.x.extend_from_slice(&x),
                    }
                    x.clear();
                    Pool::give(&pool.features, x);
                    self.rows.append(rows);
                }
                Err(mut e) => {
                    if let StageError::Data(DataError { line: Some(line), .. }) = &mut e {
                        *line += self.lines;
                    }
                    self.error = Some(e);
                }
            }
        }
    }

    fn finish(self) -> Result<Rows, StageError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

/// Parse everything `input` holds with `threads` parsers, reading `piece_bytes` at a time. With
/// a `sink`, the features are handed to it in file order and the rows returned hold none.
pub fn parse_in_pieces(
    parser: &RowParser<'_>,
    input: &mut impl Read,
    threads: usize,
    piece_bytes: usize,
    sink: Option<FeatureSink<'_>>,
) -> Result<Rows, StageError> {
    let mut order = InOrder {
        next: 0,
        lines: 0,
        waiting: BTreeMap::new(),
        rows: Rows::default(),
        sink,
        error: None,
        failed: false,
    };
    let mut pieces = 0;
    // From the first quote on, the rest is parsed here: its bytes read so far, and where they start.
    let mut rest: Option<(Vec<u8>, Start)> = None;
    let pool = Pool::default();
    // A piece: its number, where it starts, a buffer and how much of it is the piece.
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Start, Vec<u8>, usize)>(threads);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|scope| -> Result<(), StageError> {
        for _ in 0..threads {
            let (job_rx, done_tx, pool) = (&job_rx, done_tx.clone(), &pool);
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((piece, start, buffer, len)) = job else { return };
                let rows = parser.parse_plain(&buffer[..len], start, Pool::take(&pool.features));
                Pool::give(&pool.bytes, buffer);
                if done_tx.send((piece, rows)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut read = || -> Result<(), StageError> {
            let mut carry = Vec::new();
            let mut start = parser.top();
            loop {
                for (piece, result) in done_rx.try_iter() {
                    order.add(piece, result, &pool);
                }
                if order.failed {
                    return Ok(());
                }
                // A buffer stays at its full length, so a recycled one is never zeroed again.
                let mut buffer = Pool::take(&pool.bytes);
                let wanted = carry.len() + piece_bytes;
                if buffer.len() < wanted {
                    buffer.resize(wanted, 0);
                }
                buffer[..carry.len()].copy_from_slice(&carry);
                let got = fill(input, &mut buffer[carry.len()..wanted]).map_err(|e| read_error(parser, e))?;
                let len = carry.len() + got;
                let at_end = got < piece_bytes;
                let bytes = &buffer[..len];
                if memchr::memchr(b'"', bytes).is_some() {
                    buffer.truncate(len);
                    rest = Some((buffer, start));
                    return Ok(());
                }
                let cut = match memchr::memrchr(b'\n', bytes) {
                    _ if at_end => len,
                    Some(i) => i + 1,
                    None => {
                        carry = bytes.to_vec(); // a line longer than a piece: read on
                        Pool::give(&pool.bytes, buffer);
                        continue;
                    }
                };
                carry.clear();
                carry.extend_from_slice(&buffer[cut..len]);
                if cut == 0 {
                    return Ok(());
                }
                let piece = &buffer[..cut];
                let next = Start {
                    lines_before: 0,
                    header_pending: start.header_pending && piece.iter().all(u8::is_ascii_whitespace),
                };
                if job_tx.send((pieces, start, buffer, cut)).is_err() {
                    return Ok(()); // no parser is left; can't happen while this scope holds them
                }
                pieces += 1;
                start = next;
                if at_end {
                    return Ok(());
                }
            }
        };
        let read = read();
        drop(job_tx);
        for (piece, result) in done_rx.iter() {
            order.add(piece, result, &pool);
        }
        read
    })?;
    if let Some((bytes, start)) = rest {
        if !order.failed {
            order.add(pieces, parser.parse(Cursor::new(bytes).chain(input), start), &pool);
        }
    }
    // The buffers (a few tens of MiB) are freed while the targets are written.
    crate::util::drop_elsewhere(pool);
    order.finish()
}

/// Fill `buf` from `input`; fewer bytes only at its end. Unlike `read_to_end`, an `Interrupted`
/// read (a stop) is returned, not retried.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn read_error(parser: &RowParser<'_>, e: io::Error) -> StageError {
    match e.kind() {
        io::ErrorKind::Interrupted => StageError::Stopped,
        _ => DataError::new(parser.path, DataErrorKind::Unreadable(e.to_string())).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatasetConfig;
    use crate::data::csv_table;
    use std::fmt::Write as _;
    use std::path::Path;

    /// Parse `text` whole on one thread and in tiny pieces on three; both results, finished.
    fn both_ways(text: &str, config: &DatasetConfig, piece: usize) -> [Result<String, String>; 2] {
        let path = Path::new("t.csv");
        let look = csv_table::look_at_head(path, text.as_bytes(), config).unwrap();
        let parser = RowParser::new(path, &look, config);
        let show = |rows: Result<Rows, StageError>| {
            let p = parser.finish(rows.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            Ok(format!("{:?} {:?} {:?} rows={} dropped={}", p.task, p.x, p.y, p.rows, p.dropped_rows))
        };
        let whole = show(parser.parse(text.as_bytes(), parser.top()));
        let pieces = show(parse_in_pieces(&parser, &mut text.as_bytes(), 3, piece, None));
        [whole, pieces]
    }

    fn table(rows: usize, label: impl Fn(usize) -> String) -> String {
        let mut s = String::from("a,b,label\n");
        for i in 0..rows {
            writeln!(s, "{}.25,{},{}", i % 89, i % 7, label(i)).unwrap();
        }
        s
    }

    #[test]
    fn pieces_give_the_same_rows_classes_and_order_as_one_pass() {
        // Later pieces see the classes in another order than the first: their ids are renumbered.
        let text = table(3_000, |i| ["zebra", "ant", "moose"][(i * 7 / 3_000 + i) % 3].to_string());
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 1_000);
        assert!(whole.as_ref().unwrap().contains("rows=3000"), "{whole:?}");
        assert_eq!(whole, pieces);
        // Regression targets, blank lines and CRLF line ends across piece boundaries.
        let lines: Vec<String> =
            table(2_000, |i| format!("{}.5", i % 1000)).lines().map(String::from).collect();
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i % 37 == 5 { format!("{l}\r\n\r\n") } else { format!("{l}\r\n") })
            .collect();
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 700);
        assert!(whole.as_ref().unwrap().contains("Regression"), "{whole:?}");
        assert_eq!(whole, pieces);
    }

    #[test]
    fn cells_off_the_fast_path_read_the_same() {
        // Exponents, spaces, a `+`, long digit runs, an ignored column, labels with spaces.
        let mut text = String::from("id,a,b,label\n");
        for i in 0..3_000 {
            let a = match i % 5 {
                0 => format!("{}e-3", i),
                1 => format!(" {}.5 ", i),
                2 => format!("+{i}"),
                3 => format!("0.{i:0>20}"),
                _ => format!("-{i}."),
            };
            writeln!(text, "row{i},{a},{},{}", i % 11, [" cat", "dog ", "cat"][i % 3]).unwrap();
        }
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 900);
        assert!(whole.as_ref().unwrap().contains("rows=3000"), "{whole:?}");
        assert_eq!(whole, pieces);
        // Decimal commas in a `;` file, features and target.
        let mut text = String::from("a;b;y\n");
        for i in 0..2_000 {
            writeln!(text, "{},5;-{}.25;{},{}", i % 97, i % 13, i % 7, i % 4).unwrap();
        }
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 700);
        assert!(whole.as_ref().unwrap().contains("Regression"), "{whole:?}");
        assert_eq!(whole, pieces);
    }

    #[test]
    fn the_first_bad_cell_in_file_order_is_reported_with_its_line() {
        // Two bad cells: the first, in an early piece, is the one named, though the piece
        // holding the second (the file's short last piece) may finish first.
        let mut lines: Vec<String> =
            table(4_000, |i| (i % 3).to_string()).lines().map(String::from).collect();
        lines[2_000] = "oops,3,1".into();
        lines.push("9.25,x,1".into());
        let text = lines.join("\n") + "\n";
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 512);
        let whole = whole.unwrap_err();
        assert!(whole.contains("line 2001,"), "{whole}");
        assert_eq!(Err(whole), pieces);
    }

    #[test]
    fn a_late_piece_numbers_its_lines_after_the_blank_and_crlf_lines_before_it() {
        // Pieces number their lines from 0; put back in order, they count on from the line
        // breaks before them, blank lines and `\r\n` included, so the text target (a regression
        // can't take it) is named at the file's line in both ways.
        let mut text = String::from("a,b,y\r\n");
        for i in 0..3_000 {
            text.push_str(&format!("{}.5,{},{}.25\r\n", i % 89, i % 7, i % 13));
            if i % 97 == 3 {
                text.push_str("\n\r\n");
            }
        }
        text.push_str("1.5,2,seven"); // no line break at the end
        let lines = text.split('\n').count();
        let regression =
            DatasetConfig { task: Some(crate::config::TaskOverride::Regression), ..Default::default() };
        let [whole, pieces] = both_ways(&text, &regression, 800);
        let whole = whole.unwrap_err();
        assert_eq!(Err(whole.clone()), pieces);
        assert!(whole.contains(&format!("line {lines},")), "{whole}");
    }

    #[test]
    fn targets_past_the_label_limit_come_out_as_values_whatever_the_pieces() {
        // More distinct targets than labels are tracked: small pieces go past the limit while
        // they are put together, one large piece inside itself. A row's value is kept by its
        // label id until then, by itself after.
        let text = table(70_000, |i| format!("{i}.5"));
        let classes =
            DatasetConfig { task: Some(crate::config::TaskOverride::Classification), ..Default::default() };
        for piece in [50_000, 4 << 20] {
            let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), piece);
            let shown = whole.as_ref().unwrap();
            assert!(shown.contains("Regression") && shown.contains("69999.5"), "{}", &shown[..200]);
            assert_eq!(whole, pieces);
            // Classes asked for: too many of them, said the same way.
            let [whole, pieces] = both_ways(&text, &classes, piece);
            let refused = whole.as_ref().unwrap_err();
            assert!(refused.contains("more than 65536 distinct values"), "{refused}");
            assert_eq!(whole, pieces);
        }
    }

    #[test]
    fn a_quoted_line_break_after_the_first_piece_is_parsed_in_order() {
        let mut text = table(3_000, |i| ["a", "b"][i % 2].to_string());
        let late = text.len() * 3 / 4;
        let line_start = text[..late].rfind('\n').unwrap() + 1;
        text.insert_str(line_start, "1.5,2,\"b\nc\"\n");
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 1_024);
        assert!(whole.as_ref().unwrap().contains("\"b\\nc\""), "{whole:?}");
        assert_eq!(whole, pieces);
        // A bad row after it still gets the file's line number.
        let text = format!("{text}oops,1,a\n");
        let lines = text.lines().count();
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 1_024);
        assert!(whole.as_ref().unwrap_err().contains(&format!("line {lines},")), "{whole:?}");
        assert_eq!(whole, pieces);
    }

    #[test]
    fn missing_values_are_dropped_or_named_the_same_way() {
        let text = table(2_000, |i| if i % 301 == 5 { "NA".into() } else { (i % 2).to_string() });
        let drop = DatasetConfig { drop_missing: true, ..Default::default() };
        let [whole, pieces] = both_ways(&text, &drop, 600);
        assert!(whole.as_ref().unwrap().contains("dropped=7"), "{whole:?}");
        assert_eq!(whole, pieces);
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 600);
        assert!(whole.as_ref().unwrap_err().contains("line 7,"), "{whole:?}");
        assert_eq!(whole, pieces);
    }

    #[test]
    fn a_line_longer_than_a_piece_is_read_whole() {
        let wide: Vec<String> = (0..400).map(|i| format!("c{i}")).collect();
        let mut text = format!("{}\n", wide.join(","));
        for r in 0..20 {
            let row: Vec<String> = (0..400)
                .map(|i| if i == 399 { (r % 2).to_string() } else { format!("{}.5", r + i) })
                .collect();
            writeln!(text, "{}", row.join(",")).unwrap();
        }
        let [whole, pieces] = both_ways(&text, &DatasetConfig::default(), 256);
        assert!(whole.as_ref().unwrap().contains("rows=20"), "{whole:?}");
        assert_eq!(whole, pieces);
    }

    #[test]
    fn an_interrupted_read_is_a_stop() {
        struct StopAfter(usize);
        impl Read for StopAfter {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
                }
                self.0 -= 1;
                let row = b"1.5,2,a\n2.5,3,b\n";
                let n = row.len().min(buf.len());
                buf[..n].copy_from_slice(&row[..n]);
                Ok(n)
            }
        }
        let config = DatasetConfig::default();
        let path = Path::new("t.csv");
        let look = csv_table::look_at_head(path, b"x,y,l\n1.5,2,a\n2.5,3,b\n", &config).unwrap();
        let parser = RowParser::new(path, &look, &config);
        let result = parse_in_pieces(&parser, &mut StopAfter(50), 2, 64, None);
        assert!(matches!(result, Err(StageError::Stopped)));
    }
}
