//! The HTML audit report in a real browser: headless Chromium renders the sample report to a
//! screenshot and dumps the DOM it built. The page must show the verdict table and one sequence
//! diagram per card, no hostile string may have become a `<script>` element, and the screenshot
//! must be a PNG of the requested size showing the PASS and FAIL colours.
//!
//! Needs `chromium` (Debian package `chromium`; scripts/test-all.sh installs it; `CHROMIUM`
//! names another binary). Without it these tests FAIL: a report nobody looked at in a browser is
//! not checked. The screenshot stays at `<target>/tmp/audit-report.png` for a person to look at.

#[path = "support/audit_sample.rs"]
mod audit_sample;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use host_tools::audit::report::{self, Format};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2000;
/// Generous: Chromium's first start on a cold 2-core machine takes a few seconds.
const TIMEOUT_SECONDS: &str = "120";

/// The badge colours of the style sheet (`--pass`, `--fail`).
const PASS_RGB: [u8; 3] = [0x1a, 0x7f, 0x37];
const FAIL_RGB: [u8; 3] = [0xc6, 0x28, 0x28];

/// The browser: `CHROMIUM`, else `chromium` or `chromium-browser` in PATH. Missing, the test
/// fails and says how to get it.
fn chromium() -> PathBuf {
    let found = match std::env::var_os("CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
                .find(|p| p.is_file())
        }),
    };
    found.unwrap_or_else(|| {
        panic!(
            "chromium is required for the HTML report check and was not found (CHROMIUM={:?}, \
             else chromium in PATH). scripts/test-all.sh installs it (`apt-get install \
             chromium`), or set CHROMIUM to a Chromium or Chrome binary.",
            std::env::var_os("CHROMIUM")
        )
    })
}

/// Writes the sample report as `<target>/tmp/<name>.html` through `report::write`.
fn sample_page(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.html"));
    report::write(&path, &audit_sample::sample()).expect("write the HTML report");
    path
}

/// Runs headless Chromium on `page` with `args`, each run with its own profile directory so that
/// the two tests can run at once; fails with Chromium's output when it does not exit 0.
fn run_chromium(name: &str, page: &Path, args: &[&str]) -> Output {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-{name}"));
    let url = format!("file://{}", page.display());
    let output = Command::new("timeout")
        .arg(TIMEOUT_SECONDS)
        .arg(chromium())
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(&url)
        .output()
        .expect("run timeout + chromium");
    assert!(
        output.status.success(),
        "chromium {args:?} {url} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn chromium_builds_the_verdict_table_and_one_diagram_per_card() {
    let report = audit_sample::sample();
    let page = sample_page("audit-report-dom");
    let output = run_chromium("dom", &page, &["--dump-dom"]);
    let dom = String::from_utf8(output.stdout).expect("DOM is UTF-8");

    assert_eq!(
        dom.matches("<table class=\"verdicts\"").count(),
        1,
        "one verdict table"
    );
    let rows = dom
        .split("<tbody>")
        .nth(1)
        .and_then(|rest| rest.split("</tbody>").next())
        .expect("verdict table body");
    assert_eq!(rows.matches("<tr").count(), report.cards.len());
    assert_eq!(
        dom.matches("<figure class=\"seq\"").count(),
        report.cards.len(),
        "one sequence diagram per card"
    );
    let steps: usize = report.cards.iter().map(|c| c.exchange.len()).sum();
    assert_eq!(dom.matches("<li class=\"step").count(), steps);
    assert_eq!(dom.matches("FAULT injected by the test card").count(), 3);
    // The browser parsed the hostile strings as text: no element came from them.
    assert!(!dom.contains("<script"), "a <script> element in the DOM");
    assert!(!dom.contains("<img"), "an <img> element in the DOM");
    assert!(!dom.contains("<b>bold"), "a <b> element in the DOM");
    assert!(dom.contains("&lt;script&gt;document.body.remove()&lt;/script&gt;"));
    assert!(dom.contains("PASS") && dom.contains("FAIL"));
}

#[test]
fn chromium_screenshot_shows_the_report() {
    let page = sample_page("audit-report");
    let shot = page.with_extension("png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        "screenshot",
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            &format!("--window-size={WIDTH},{HEIGHT}"),
        ],
    );

    let file = std::fs::File::open(&shot).expect("chromium wrote the screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("PNG image data");
    assert_eq!(
        (frame.width, frame.height),
        (WIDTH, HEIGHT),
        "screenshot size"
    );
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let pixels: Vec<[u8; 3]> = buf[..frame.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();

    let distinct: std::collections::BTreeSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(
        distinct.len() > 50,
        "the page looks blank: {} distinct colours",
        distinct.len()
    );
    // The badges are solid fills: whole runs of exactly these colours (a small tolerance for
    // colour management).
    let near = |p: &[u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 3);
    let pass = pixels.iter().filter(|p| near(p, PASS_RGB)).count();
    let fail = pixels.iter().filter(|p| near(p, FAIL_RGB)).count();
    assert!(pass > 500, "PASS colour: {pass} pixels");
    assert!(fail > 500, "FAIL colour: {fail} pixels");
    eprintln!(
        "screenshot {}: {WIDTH}x{HEIGHT}, {} colours, {pass} PASS and {fail} FAIL pixels",
        shot.display(),
        distinct.len()
    );
    // The saved page must be what `render` gives.
    assert_eq!(
        std::fs::read_to_string(&page).expect("read page"),
        report::render(Format::Html, &audit_sample::sample())
    );
}

/// `desfire audit --in-process --model uid-only --now 2026-06-01 --report FILE`: the UID-only
/// model fails the audit (exit 1) and the report is written all the same.
fn uid_only_audit(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(file);
    let _ = std::fs::remove_file(&path);
    let run = Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(["audit", "--in-process", "--model", "uid-only"])
        .args(["--profile", "lab", "--now", "2026-06-01", "--report"])
        .arg(&path)
        .output()
        .expect("run desfire audit");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    path
}

/// A real audit, not the sample: the page an auditor would hand over. Chromium builds it with
/// one verdict row and one sequence diagram per card played (the JSON report of the same audit
/// says how many), and the critical failure is on it.
#[test]
fn chromium_renders_a_real_audit_report() {
    let json = std::fs::read_to_string(uid_only_audit("audit-uid-only.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cards = parsed["cards"].as_array().expect("cards");
    let failed: Vec<&str> = cards
        .iter()
        .filter(|c| c["pass"] == false)
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        failed.contains(&"T1") && failed.contains(&"T14"),
        "{failed:?}"
    );

    let page = uid_only_audit("audit-uid-only.html");
    let dom = String::from_utf8(run_chromium("real", &page, &["--dump-dom"]).stdout).unwrap();
    assert_eq!(dom.matches("<figure class=\"seq\"").count(), cards.len());
    let rows = dom
        .split("<tbody>")
        .nth(1)
        .and_then(|rest| rest.split("</tbody>").next())
        .expect("verdict table body");
    assert_eq!(rows.matches("<tr").count(), cards.len());
    assert!(dom.contains("critical: the reader trusts the UID"));
    // The UID-only model reads the UID and nothing else: no DESFire command in any diagram.
    assert!(!dom.contains("AuthenticateEV2First"));
}
