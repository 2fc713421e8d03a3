//! The version-conflict message must equal, byte for byte, the one of the Go
//! original, `fmt.Sprintf("version conflict: actor %q has version %d, cannot save
//! version %d", ...)`, for every actor id. This test generates actor ids (every
//! code point, each alone below U+3000 and in runs of 64 above, each side of
//! every point where quoting switches between keeping and escaping, and random
//! mixes from a fixed seed), has the Go program tests/go/quote.go print Go's
//! messages for them, and compares. It needs Go: `apt-get install golang-go`.
#![cfg(not(target_arch = "wasm32"))]

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use aether_eventstore::core::quote::go_quote;
use aether_eventstore::core::VersionConflict;

/// Code points alone below this, in runs above it.
const SINGLES_BELOW: u32 = 0x3000;
/// The length of the runs of consecutive code points.
const RUN: usize = 64;
/// How many random mixes.
const MIXES: usize = 4000;

struct Case {
    actor: String,
    current: i64,
    attempted: i64,
}

impl Case {
    fn new(actor: String) -> Self {
        Self {
            actor,
            current: 3,
            attempted: 2,
        }
    }

    fn rust_message(&self) -> String {
        VersionConflict {
            actor_id: self.actor.clone(),
            attempted_version: self.attempted,
            current_version: self.current,
        }
        .to_string()
    }
}

/// xorshift64*: fixed seed, no dependencies, plenty for picking test strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A scalar value below `end`, skipping surrogates.
    fn char_below(&mut self, end: u32) -> char {
        loop {
            if let Some(c) = char::from_u32((self.next() % u64::from(end)) as u32) {
                return c;
            }
        }
    }
}

fn all_chars() -> impl Iterator<Item = char> {
    (0..=char::MAX as u32).filter_map(char::from_u32)
}

/// Whether the quoting keeps `c` as it is (the Rust side's verdict).
fn kept(c: char) -> bool {
    go_quote(&c.to_string()) == format!("\"{c}\"")
}

fn cases() -> Vec<Case> {
    let mut actors: Vec<String> = ["", "order-7", "a\"b\\c", "it's", "\u{fffd}", "é日本🙂"]
        .map(String::from)
        .to_vec();

    // Every code point alone below U+3000, and in runs of RUN above.
    let chars: Vec<char> = all_chars().collect();
    let first_in_runs = chars.partition_point(|&c| (c as u32) < SINGLES_BELOW);
    actors.extend(chars[..first_in_runs].iter().map(char::to_string));
    actors.extend(
        chars[first_in_runs..]
            .chunks(RUN)
            .map(|run| run.iter().collect()),
    );

    // Both sides of every switch between kept and escaped, alone and among
    // ASCII, plus the ends of the code space.
    let mut edges = vec![
        '\0',
        '\u{d7ff}',
        '\u{e000}',
        '\u{ffff}',
        '\u{10000}',
        char::MAX,
    ];
    let mut previous: Option<(char, bool)> = None;
    for c in all_chars() {
        let now = kept(c);
        if let Some((before, was)) = previous {
            if was != now {
                edges.extend([before, c]);
            }
        }
        previous = Some((c, now));
    }
    for &c in &edges {
        actors.push(c.to_string());
        actors.push(format!("a{c}b"));
        actors.push(format!("{c}{c}\"{c}"));
    }

    // Random mixes of the kinds of characters that quote differently.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let specials = [
        '"', '\\', '\'', '\u{7}', '\u{8}', '\u{c}', '\n', '\r', '\t', '\u{b}', ' ',
    ];
    for _ in 0..MIXES {
        let len = rng.below(25);
        let actor = (0..len)
            .map(|_| match rng.below(8) {
                0 => char::from(0x20 + rng.below(0x5f) as u8),
                1 => rng.pick(&specials),
                2 => rng.char_below(0xa1),
                3 => rng.pick(&edges),
                4 => rng.char_below(0x3000),
                5 => rng.char_below(0x1_0000),
                6 => rng.char_below(0x2_0000),
                _ => rng.char_below(char::MAX as u32 + 1),
            })
            .collect();
        actors.push(actor);
    }

    let versions = [0, 1, 2, 3, -1, 10, 1 << 53, i64::MAX, i64::MIN];
    let mut cases: Vec<Case> = actors.into_iter().map(Case::new).collect();
    for case in cases.iter_mut().skip(1).step_by(7) {
        case.current = if rng.below(2) == 0 {
            rng.pick(&versions)
        } else {
            rng.next() as i64
        };
        case.attempted = rng.pick(&versions);
    }
    cases
}

/// A directory of its own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("go-quote-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Go keeps its build cache below $XDG_CACHE_HOME or $HOME/.cache; where that
/// cannot be written, a directory below the system's temporary one.
fn go_cache() -> Option<PathBuf> {
    if std::env::var_os("GOCACHE").is_some() {
        return None;
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")));
    match cache {
        Some(cache) if std::fs::create_dir_all(cache.join("go-build")).is_ok() => None,
        _ => Some(std::env::temp_dir().join("aether-eventstore-go-cache")),
    }
}

/// Splits Go's output into its messages: each is its length in bytes, a
/// newline and its bytes; "end\n" follows the last.
fn parse_messages(mut output: &[u8]) -> Vec<String> {
    let mut messages = Vec::new();
    loop {
        let newline = output
            .iter()
            .position(|&b| b == b'\n')
            .expect("a length line");
        let head = std::str::from_utf8(&output[..newline]).unwrap();
        output = &output[newline + 1..];
        if head == "end" {
            assert!(output.is_empty(), "output after the end: {output:?}");
            return messages;
        }
        let len: usize = head.parse().expect("a message length");
        assert!(output.len() >= len, "output ends inside a message");
        messages.push(String::from_utf8(output[..len].to_vec()).expect("UTF-8"));
        output = &output[len..];
    }
}

#[test]
fn conflict_messages_match_go_for_generated_actor_ids() {
    let cases = cases();
    let dir = TempDir::new();
    let input = dir.0.join("cases.jsonl");
    let mut lines = String::new();
    for case in &cases {
        let line = serde_json::json!({
            "actor": case.actor,
            "current": case.current,
            "attempted": case.attempted,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    std::fs::write(&input, lines).unwrap();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut go = Command::new("go");
    go.current_dir(root)
        .arg("run")
        .arg(root.join("tests/go/quote.go"))
        .arg(&input);
    if let Some(cache) = go_cache() {
        go.env("GOCACHE", cache);
    }
    let output = match go.output() {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::NotFound => panic!(
            "`go` is not on PATH, and this test compares with Go's fmt: install Go \
             (`apt-get install golang-go`; `npm run setup` does it)"
        ),
        Err(error) => panic!("could not run `go run tests/go/quote.go`: {error}"),
    };
    assert!(
        output.status.success(),
        "`go run tests/go/quote.go` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let go_messages = parse_messages(&output.stdout);
    assert_eq!(go_messages.len(), cases.len(), "one message per case");

    let mismatches: Vec<String> = cases
        .iter()
        .zip(&go_messages)
        .filter_map(|(case, go_message)| {
            let rust_message = case.rust_message();
            (rust_message != *go_message).then(|| {
                format!(
                    "actor {:?}\n  go:   {go_message:?}\n  rust: {rust_message:?}",
                    case.actor
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} messages differ from Go's; the first ones:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    eprintln!("{} conflict messages equal Go's", cases.len());
}
